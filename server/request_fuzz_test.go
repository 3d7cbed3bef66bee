package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/server"
	"github.com/healthgraph/healthgraph/server/servertest"
)

// errorCodes are the only extensions.code values a response may carry.
var errorCodes = []string{hg.ENOTFOUND, hg.ECONFLICT, hg.EINVALID, hg.EUNAUTHENTICATED, hg.EFORBIDDEN,
	hg.ERATELIMITED, hg.EUNAVAILABLE}

// Fuzz request modes: the low bit picks GET over POST, the next one sends
// an administrator's token.
const (
	modeGET   = 1
	modeAdmin = 2
)

// FuzzGraphQLRequest sends raw POST bodies and query strings to the real
// handler, configured as in production (no open introspection), anonymous
// or as an administrator. Every answer is a JSON GraphQL response below 500
// whose errors all carry a code that is never INTERNAL; a refusal has
// errors and no data and never echoes the request; and nobody but staff
// gets an introspection answer.
func FuzzGraphQLRequest(f *testing.F) {
	env := servertest.New(f, func(c *server.Config, _ *postgres.Options) {
		c.Production, c.Introspection = true, false
	})
	_, admin := env.User(f, "fuzz-admin@example.com", hg.RoleAdmin)
	for _, seed := range []struct {
		mode  uint8
		body  string
		query string
	}{
		{0, `{"query":"{ me { id email } }"}`, ""},
		{modeAdmin, `{"query":"query($f: Int) { users(first: $f) { edges { cursor node { id } } } }","variables":{"f":2}}`, ""},
		{modeAdmin, `{"query":"query($id: ID!) { node(id: $id) { id } }","variables":{"id":"UGF0aWVudDox"}}`, ""},
		{modeAdmin, `{"query":"{ patients(first: 1, after: \"MTc2Mzc5ODQwMDow\") { edges { node { id } } } }"}`, ""},
		{modeAdmin, `{"query":"mutation($in: RecordPaymentInput!) { recordPayment(input: $in) { id } }","variables":{"in":{"invoiceId":"x","amount":"1.005","method":"CASH"}}}`, ""},
		{0, `{"query":"{ __schema { types { name } } }"}`, ""},
		{modeAdmin, `{"query":"{ __type(name: \"Patient\") { name } }"}`, ""},
		{0, `{"query":"{ ...F } fragment F on Query { a: __schema { queryType { name } } }"}`, ""},
		{0, `{"query":"{ me { id } }","variables":{"v":[[[[[]]]]]},"extensions":{"persistedQuery":{"version":1,"sha256Hash":"00"}}}`, ""},
		{0, `[{"query":"{ me { id } }"}]`, ""},
		{0, `{"query":"{ me { id } }", "patient": "Amal Alshehri 1000000001 1990-01-01"}`, ""},
		{0, `not json at all, Amal Alshehri 1000000001`, ""},
		{modeGET, "", "query=%7B+me+%7B+id+%7D+%7D"},
		{modeGET | modeAdmin, "", "query=%7B__schema%7BqueryType%7Bname%7D%7D%7D"},
		{modeGET, "", "query=mutation+%7B+login%28email%3A+%22a%40example.com%22%2C+password%3A+%22x%22%29+%7B+__typename+%7D+%7D"},
		{modeGET, "", "query=%7B+me+%7B+id+%7D+%7D&variables=%7Bnot-json"},
		{modeGET, "", "%zz&&=;query"},
	} {
		f.Add(seed.mode, []byte(seed.body), seed.query)
	}
	handler := env.Server.Config.Handler
	f.Fuzz(func(t *testing.T, mode uint8, body []byte, rawQuery string) {
		req := fuzzRequest(t, mode, body, rawQuery, admin)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		resp := checkGraphQLResponse(t, rec)
		checkNoEcho(t, rec.Body.Bytes(), body, []byte(rawQuery))
		if mode&modeAdmin == 0 && len(resp.Errors) == 0 && asksIntrospection(queryOf(mode, body, rawQuery)) {
			t.Fatalf("introspection answered to an anonymous caller: %s", rec.Body)
		}
	})
}

func fuzzRequest(t *testing.T, mode uint8, body []byte, rawQuery, admin string) *http.Request {
	method := http.MethodPost
	if mode&modeGET != 0 {
		method, body = http.MethodGet, nil
	}
	req, err := http.NewRequestWithContext(context.Background(), method, "http://hg.test/graphql", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.URL.RawQuery = rawQuery
	req.RemoteAddr = "192.0.2.10:40000"
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	if mode&modeAdmin != 0 {
		req.Header.Set("Authorization", "Bearer "+admin)
	}
	return req
}

type fuzzResponse struct {
	Data   json.RawMessage    `json:"data"`
	Errors []servertest.Error `json:"errors"`
}

func checkGraphQLResponse(t *testing.T, rec *httptest.ResponseRecorder) fuzzResponse {
	t.Helper()
	var resp fuzzResponse
	if rec.Code >= 500 {
		t.Fatalf("answered %d: %s", rec.Code, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatalf("answered %d with a body that is not a GraphQL response: %q", rec.Code, rec.Body)
	}
	for _, e := range resp.Errors {
		code, _ := e.Extensions["code"].(string)
		if !slices.Contains(errorCodes, code) {
			t.Fatalf("answered %d with an error coded %q: %s", rec.Code, code, rec.Body)
		}
	}
	refused := rec.Code != http.StatusOK
	if refused && (len(resp.Errors) == 0 || len(resp.Data) > 0 && string(resp.Data) != "null") {
		t.Fatalf("answered %d without an error or with data: %s", rec.Code, rec.Body)
	}
	return resp
}

// checkNoEcho fails when the answer quotes a whole request long enough to
// carry something worth hiding: patient data in a body must not come back,
// and a reflected body would let a caller multiply their bandwidth.
func checkNoEcho(t *testing.T, answer []byte, request ...[]byte) {
	t.Helper()
	for _, r := range request {
		if len(r) >= 32 && bytes.Contains(answer, r) {
			t.Fatalf("answer %s echoes the request %q", answer, r)
		}
	}
}

// queryOf returns the GraphQL document a request carries, as the
// transports read it.
func queryOf(mode uint8, body []byte, rawQuery string) string {
	if mode&modeGET != 0 {
		q, _ := url.ParseQuery(rawQuery)
		return q.Get("query")
	}
	var params struct {
		Query string `json:"query"`
	}
	_ = json.Unmarshal(body, &params)
	return params.Query
}

// asksIntrospection reports whether a document selects __schema or __type
// anywhere.
func asksIntrospection(query string) bool {
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	if err != nil {
		return false
	}
	var walk func(ast.SelectionSet) bool
	walk = func(set ast.SelectionSet) bool {
		for _, sel := range set {
			switch sel := sel.(type) {
			case *ast.Field:
				if sel.Name == "__schema" || sel.Name == "__type" || walk(sel.SelectionSet) {
					return true
				}
			case *ast.InlineFragment:
				if walk(sel.SelectionSet) {
					return true
				}
			}
		}
		return false
	}
	for _, op := range doc.Operations {
		if walk(op.SelectionSet) {
			return true
		}
	}
	for _, frag := range doc.Fragments {
		if walk(frag.SelectionSet) {
			return true
		}
	}
	return false
}
