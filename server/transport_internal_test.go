package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// TestResponsesAreWrittenAsJSONMarshalWritesThem: writeResponse writes the
// bytes gqlgen's transport writes (json.Marshal of the response), members,
// order, omissions and HTML escaping alike, without re-encoding the data,
// and declares their length.
func TestResponsesAreWrittenAsJSONMarshalWritesThem(t *testing.T) {
	t.Parallel()
	yes := true
	for _, tc := range []struct {
		name string
		resp graphql.Response
	}{
		{"data alone", graphql.Response{Data: json.RawMessage(`{"a":{"b":[1,2.5,null,true,"c"]}}`)}},
		{"text that json.Marshal escapes", graphql.Response{Data: json.RawMessage(`{"name":"<b>Al-Amir & Sons</b>\u2028\u2029 \"q\" \\ é"}`)}},
		{"one character json.Marshal escapes", graphql.Response{Data: json.RawMessage(`{"name":"Al-Amir & Sons"}`)}},
		{"a line separator alone", graphql.Response{Data: json.RawMessage("{\"name\":\"a\u2028b\"}")}},
		{"Arabic text, which it leaves", graphql.Response{Data: json.RawMessage(`{"name":"عبدالرحمن القحطاني"}`)}},
		{"no data", graphql.Response{}},
		{"errors with path and extensions", graphql.Response{
			Data: json.RawMessage(`{"patient":null}`),
			Errors: gqlerror.List{{Message: "patient <not> found", Path: ast.Path{ast.PathName("patient")},
				Extensions: map[string]any{"code": "NOT_FOUND", "field": "id"}}},
		}},
		{"errors without data", graphql.Response{Errors: gqlerror.List{{Message: "PersistedQueryNotFound",
			Extensions: map[string]any{"code": "PERSISTED_QUERY_NOT_FOUND"}}}}},
		{"every member", graphql.Response{Data: json.RawMessage(`{"x":1}`), Label: "l", Path: ast.Path{ast.PathName("a"), ast.PathIndex(2)},
			HasNext: &yes, Extensions: map[string]any{"z": 1, "a": "<&>"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want, err := json.Marshal(&tc.resp)
			if err != nil {
				t.Fatal(err)
			}
			got := httptest.NewRecorder()
			writeResponse(got, &tc.resp)
			if !bytes.Equal(got.Body.Bytes(), want) {
				t.Fatalf("writeResponse:\n got %s\nwant %s", got.Body.Bytes(), want)
			}
			if n := got.Header().Get("Content-Length"); n != strconv.Itoa(len(want)) {
				t.Errorf("Content-Length %s, want %d", n, len(want))
			}
		})
	}
}

// TestTakesPlainJSONAsGqlgenNegotiates: the transport answers itself only
// where gqlgen's would answer application/json.
func TestTakesPlainJSONAsGqlgenNegotiates(t *testing.T) {
	t.Parallel()
	for accept, want := range map[string]bool{
		"":                                  true,
		"application/json":                  true,
		"*/*":                               true,
		"application/*;q=0.8":               true,
		"text/html, application/json":       true,
		"application/graphql-response+json": false,
		"application/graphql-response+json, application/json": false,
		"text/html":   false,
		"%%%, */*":    true,
		"not a type/": false,
	} {
		if got := takesPlainJSON(accept); got != want {
			t.Errorf("takesPlainJSON(%q) = %v, want %v", accept, got, want)
		}
	}
}

// BenchmarkResponseWriting compares gqlgen's encoding of a response
// (json.Marshal) with writeResponse on a headline-sized page: 50
// appointments with their patients and practitioners.
func BenchmarkResponseWriting(b *testing.B) {
	row := `{"node":{"id":"QXBwb2ludG1lbnQ6MDE5MmQ3YTItNGM1Ni03YjNhLTk4ZTEtM2M0ZDVlNmY3YTli","startsAt":"2026-12-03T09:30:00Z","status":"BOOKED",` +
		`"patient":{"id":"UGF0aWVudDowMTkyZDdhMi00YzU2LTdiM2EtOThlMS0zYzRkNWU2ZjdhOWI","mrn":"MRN-0001234","firstName":"Abdulrahman","familyName":"Alqahtani","birthDate":"1985-04-12","gender":"MALE"},` +
		`"practitioner":{"id":"UHJhY3RpdGlvbmVyOjAxOTJkN2EyLTRjNTYtN2IzYS05OGUxLTNjNGQ1ZTZmN2E5Yg","license":"L-100","firstName":"Huda","familyName":"Alharbi","specialty":"Internal Medicine"}}}`
	data := `{"appointments":{"edges":[` + row + strings.Repeat(","+row, 49) + `]}}`
	resp := &graphql.Response{Data: json.RawMessage(data)}
	b.Run("json.Marshal", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			out, _ := json.Marshal(resp)
			_, _ = io.Discard.Write(out)
		}
	})
	b.Run("writeResponse", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			writeResponse(io.Discard, resp)
		}
	})
}
