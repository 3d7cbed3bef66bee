package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/server/servertest"
)

// TestPOSTAnswersAsGqlgensTransport: what the server's POST transport
// answers itself (application/json) is, byte for byte, what gqlgen's own
// transport answers (it still serves application/graphql-response+json):
// data with text JSON escapes, field errors, and refused documents, with
// the status codes of each media type.
func TestPOSTAnswersAsGqlgensTransport(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	ctx := context.Background()
	u, token := e.User(t, "transport-admin@example.com", hg.RoleAdmin)
	if _, err := e.DB.CreatePractitioner(ctx, hg.NewPractitioner{UserID: u.ID, FirstName: "Huda", FamilyName: `Al-Amir & <Sons> "q"`,
		SpecialtyCode: "08.00", Specialty: "Internal Medicine", License: "L-TRANSPORT-1"}); err != nil {
		t.Fatal(err)
	}
	post := func(t *testing.T, accept, body string) (int, string, []byte) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.URL+"/graphql", bytes.NewReader([]byte(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("X-Request-Id", "transport-test") // errors carry it
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := e.Server.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), b
	}
	query := func(q string, vars map[string]any) string {
		b, _ := json.Marshal(map[string]any{"query": q, "variables": vars})
		return string(b)
	}
	for _, tc := range []struct {
		name, body string
		// status under application/json and under graphql-response+json
		plainStatus, gqlStatus int
	}{
		{"data", query(`{ practitioners(first: 5) { edges { node { id familyName license } } pageInfo { hasNextPage } } }`, nil), 200, 200},
		{"a field error", query(`query($id: ID!) { patient(id: $id) { id } }`, map[string]any{"id": "nope"}), 200, 200},
		{"a document that does not parse", query(`{ practitioners(`, nil), 422, 400},
		{"an unknown field", query(`{ nothing }`, nil), 422, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status, typ, plain := post(t, "application/json", tc.body)
			if status != tc.plainStatus || typ != "application/json" {
				t.Fatalf("application/json: %d %s, want %d application/json: %s", status, typ, tc.plainStatus, plain)
			}
			if status, typ, _ := post(t, "", tc.body); status != tc.plainStatus || typ != "application/json" {
				t.Fatalf("no Accept: %d %s, want %d application/json", status, typ, tc.plainStatus)
			}
			status, typ, gqlgens := post(t, "application/graphql-response+json", tc.body)
			if status != tc.gqlStatus || typ != "application/graphql-response+json" {
				t.Fatalf("graphql-response+json: %d %s, want %d: %s", status, typ, tc.gqlStatus, gqlgens)
			}
			if !bytes.Equal(plain, gqlgens) {
				t.Fatalf("bodies differ:\nours   %s\ngqlgen %s", plain, gqlgens)
			}
			if !json.Valid(plain) {
				t.Fatalf("not JSON: %s", plain)
			}
		})
	}
	// An undecodable body is gqlgen's to answer, under either media type.
	if status, typ, body := post(t, "application/json", `{"query": `); status != http.StatusBadRequest || typ != "application/json" || !json.Valid(body) {
		t.Fatalf("broken body: %d %s %s, want 400 application/json", status, typ, body)
	}
}
