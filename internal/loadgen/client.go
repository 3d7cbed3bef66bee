package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// client speaks GraphQL over HTTP to one server.
type client struct {
	url  string // the /graphql endpoint
	http *http.Client
}

func newClient(baseURL string, conns int) *client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// One keep-alive connection per worker: without this the transport
	// keeps 2 idle connections and the rest reconnect on every request.
	tr.MaxIdleConns = conns * 2
	tr.MaxIdleConnsPerHost = conns * 2
	return &client{url: baseURL + "/graphql", http: &http.Client{Transport: tr}}
}

// gqlError is one GraphQL error; only its code matters here (messages may
// carry data and are never printed).
type gqlError struct {
	Extensions struct {
		Code string `json:"code"`
	} `json:"extensions"`
}

// outcome is what one request came back with. Code is empty on success:
// otherwise the first GraphQL error's extensions.code, or HTTP_<status>
// for a non-200 answer without one.
type outcome struct {
	Status int
	Code   string
	Data   json.RawMessage
}

// do posts one operation with token (empty for an anonymous call). A
// transport failure is returned as an error; answers of any status are an
// outcome.
func (c *client) do(ctx context.Context, token, query string, vars map[string]any) (outcome, error) {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return outcome{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return outcome{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return outcome{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return outcome{}, err
	}
	return parseAnswer(resp.StatusCode, raw), nil
}

// parseAnswer classifies a response body.
func parseAnswer(status int, raw []byte) outcome {
	var body struct {
		Data   json.RawMessage `json:"data"`
		Errors []gqlError      `json:"errors"`
	}
	out := outcome{Status: status}
	if err := json.Unmarshal(raw, &body); err != nil && status == http.StatusOK {
		out.Code = "BAD_RESPONSE"
		return out
	}
	out.Data = body.Data
	switch {
	case len(body.Errors) > 0:
		out.Code = body.Errors[0].Extensions.Code
		if out.Code == "" {
			out.Code = "UNSPECIFIED"
		}
	case status != http.StatusOK:
		out.Code = "HTTP_" + strconv.Itoa(status)
	}
	if status == http.StatusTooManyRequests && out.Code != "RATE_LIMITED" {
		out.Code = "RATE_LIMITED"
	}
	return out
}

// query runs an operation that must succeed and decodes its data into v.
func (c *client) query(ctx context.Context, token, query string, vars map[string]any, v any) error {
	out, err := c.do(ctx, token, query, vars)
	if err != nil {
		return err
	}
	if out.Code != "" {
		return fmt.Errorf("answered %d %s%s", out.Status, out.Code, hint(out.Code))
	}
	return json.Unmarshal(out.Data, v)
}

// hint explains the error codes a load run usually meets by mistake.
func hint(code string) string {
	switch code {
	case "RATE_LIMITED":
		return " (start the server with raised limits, e.g. HG_RATE_LIMIT_USER=0 HG_RATE_LIMIT_AUTH=0 HG_RATE_LIMIT_COMPLEXITY=0; 0 turns a policy off)"
	case "TRANSPORT":
		return " (no HTTP answer: the server is down, overloaded or closed the connection)"
	case "UNAUTHENTICATED":
		return " (wrong HG_SEED_PASSWORD, missing load accounts, or the access token expired: keep runs shorter than its lifetime)"
	}
	return ""
}
