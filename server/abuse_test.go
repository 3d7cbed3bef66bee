package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/server"
	"github.com/healthgraph/healthgraph/server/servertest"
)

// TestAbusiveRequestsAreRefusedCheaply sends the classic GraphQL attacks
// and checks each is refused with a clear code. It logs the time and the
// memory each refusal cost (figures for docs/security.md); the only bound
// asserted is a generous memory ceiling that an exponential walk or a
// reflected body would blow through.
func TestAbusiveRequestsAreRefusedCheaply(t *testing.T) {
	env := servertest.New(t, func(c *server.Config, _ *postgres.Options) {
		c.Production, c.Introspection = true, false
	})
	var laughs strings.Builder
	laughs.WriteString("{ ...F30 } fragment F0 on Query { me { id } } ")
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&laughs, "fragment F%d on Query { ...F%d a%d: __typename ...F%d } ", i, i-1, i, i-1)
	}
	aliases := make([]string, 1000)
	for i := range aliases {
		aliases[i] = fmt.Sprintf("a%d: me { id }", i)
	}
	hugeList := make([]string, 80_000)
	for i := range hugeList {
		hugeList[i] = "E11.9"
	}
	gql := func(query string, vars map[string]any) []byte {
		b, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
		return b
	}
	tests := []struct {
		name        string
		body        []byte
		contentType string
		wantStatus  int
		wantCode    string
		wantReason  string
	}{
		{"depth bomb", gql(strings.Repeat("{ a ", 6000)+strings.Repeat("}", 6000), nil), "", 422, hg.EINVALID, "GRAPHQL_PARSE_FAILED"},
		{"alias flood", gql("{ "+strings.Join(aliases, " ")+" }", nil), "", 422, hg.EINVALID, "FIELD_LIMIT_EXCEEDED"},
		{"fragments doubling 30 times", gql(laughs.String(), nil), "", 422, hg.EINVALID, "FIELD_LIMIT_EXCEEDED"},
		{"fragment cycle", gql("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }", nil), "", 422, hg.EINVALID, "GRAPHQL_VALIDATION_FAILED"},
		{"huge list in variables", gql(`mutation($in: SubmitClaimInput!) { submitClaim(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"invoiceId": "x", "practitionerId": "y", "appointmentId": "z", "diagnoses": hugeList}}), "", 200, hg.EUNAUTHENTICATED, ""},
		{"very long string", gql(`mutation($in: SignupInput!) { signup(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"email": "a@example.com", "password": "long-enough-1", "fullName": strings.Repeat("x", 900_000)}}), "", 200, hg.EINVALID, ""},
		{"deeply nested input JSON", []byte(`{"query":"{ me { id } }","variables":{"v":` + strings.Repeat("[", 50_000) + strings.Repeat("]", 50_000) + `}}`), "", 400, hg.EINVALID, "INVALID_REQUEST"},
		{"batched operations", []byte(`[{"query":"{ me { id } }"},{"query":"{ me { id } }"}]`), "", 400, hg.EINVALID, "INVALID_REQUEST"},
		{"body over the limit", bytes.Repeat([]byte("x"), 2<<20), "", 413, hg.EINVALID, ""},
		{"not JSON", []byte("{ me { id } }"), "text/plain", 400, hg.EINVALID, ""},
		{"introspection in production", gql("{ __schema { types { name } } }", nil), "", 422, hg.EINVALID, "INTROSPECTION_DISABLED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct := tt.contentType
			if ct == "" {
				ct = "application/json"
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			resp, err := http.Post(env.URL+"/graphql", ct, bytes.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			var out struct {
				Errors []struct {
					Message    string
					Extensions map[string]any
				}
			}
			if err := json.Unmarshal(raw, &out); err != nil || len(out.Errors) == 0 {
				t.Fatalf("status %d, body %.200q: want a GraphQL error", resp.StatusCode, raw)
			}
			e := out.Errors[0]
			if (tt.wantStatus != 200 && resp.StatusCode != tt.wantStatus) || e.Extensions["code"] != tt.wantCode ||
				(tt.wantReason != "" && e.Extensions["reason"] != tt.wantReason) {
				t.Fatalf("status %d code %v reason %v (%q); want %d %s %s", resp.StatusCode, e.Extensions["code"],
					e.Extensions["reason"], e.Message, tt.wantStatus, tt.wantCode, tt.wantReason)
			}
			if len(raw) > 4096 {
				t.Fatalf("the refusal is %d bytes: the request is being reflected", len(raw))
			}
			allocated := after.TotalAlloc - before.TotalAlloc
			if allocated > 256<<20 {
				t.Fatalf("refusing cost %d MiB of allocations", allocated>>20)
			}
			t.Logf("%-30s request %7d B  refused in %8s  allocated %6d KiB", tt.name, len(tt.body), elapsed.Round(time.Microsecond), allocated>>10)
		})
	}
	t.Run("introspection for an analyst in production", func(t *testing.T) {
		_, analyst := env.User(t, "analyst@example.com", hg.RoleAnalyst)
		_, patient := env.User(t, "patient@example.com", hg.RolePatient)
		if r := env.Do(t, analyst, "{ __schema { queryType { name } } }", nil); r.Code() != "" {
			t.Fatalf("analyst refused introspection: %+v", r.Errors)
		}
		if r := env.Do(t, patient, "{ __type(name: \"Patient\") { name } }", nil); r.Code() != hg.EINVALID {
			t.Fatalf("patient introspected in production: %+v", r.Errors)
		}
	})
	t.Run("no field suggestions in production", func(t *testing.T) {
		r := env.Do(t, "", "{ mee { id } }", nil)
		if r.Code() != hg.EINVALID || strings.Contains(r.Errors[0].Message, "Did you mean") {
			t.Fatalf("error %+v leaks the schema through a suggestion", r.Errors)
		}
	})
}
