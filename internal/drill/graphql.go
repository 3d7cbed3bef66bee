package drill

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"
)

// Error is a failed GraphQL request as a client sees it.
type Error struct {
	// Status is the HTTP status, 0 when no answer came.
	Status int
	// Code is the first GraphQL error's extensions.code, or "transport"
	// without an answer, or "HTTP <status>" for an answer that was not a
	// GraphQL result.
	Code string
	// Detail is the transport error or the start of the body.
	Detail string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Detail) }

// Code returns the failure's code for a report: the Error's Code, or
// "other" for an error that is not one.
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return "other"
}

// PostGraphQL sends one GraphQL operation. A transport error, a status
// other than 200 and any GraphQL error all count as failures, returned as
// *Error.
func PostGraphQL(c *http.Client, url, token string, body map[string]any) (map[string]json.RawMessage, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url+"/graphql", bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req) //nolint:gosec // the drill's own loopback servers
	if err != nil {
		return nil, &Error{Code: "transport", Detail: err.Error()}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, &Error{Status: resp.StatusCode, Code: "transport", Detail: "reading the body: " + err.Error()}
	}
	var out struct {
		Data   map[string]json.RawMessage `json:"data"`
		Errors []struct {
			Message    string         `json:"message"`
			Extensions map[string]any `json:"extensions"`
		} `json:"errors"`
	}
	jsonErr := json.Unmarshal(raw, &out)
	if len(out.Errors) > 0 {
		code, _ := out.Errors[0].Extensions["code"].(string)
		if code == "" {
			code = "no code"
		}
		return nil, &Error{Status: resp.StatusCode, Code: code, Detail: fmt.Sprintf("%.300s", bytes.TrimSpace(raw))}
	}
	if resp.StatusCode != http.StatusOK || jsonErr != nil {
		return nil, &Error{Status: resp.StatusCode, Code: fmt.Sprintf("HTTP %d", resp.StatusCode), Detail: fmt.Sprintf("%.200s", bytes.TrimSpace(raw))}
	}
	return out.Data, nil
}

// ID returns the id of the object a mutation answered under field.
func ID(data map[string]json.RawMessage, field string) string {
	var obj struct{ ID string }
	if json.Unmarshal(data[field], &obj) != nil {
		return ""
	}
	return obj.ID
}

// Latencies are sorted request latencies.
type Latencies []time.Duration

// Sorted sorts l in place and returns it.
func Sorted(l []time.Duration) Latencies {
	slices.Sort(l)
	return l
}

// Pct is the p-th percentile (nearest rank), 0 without samples.
func (l Latencies) Pct(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	i := int(float64(len(l))*p/100+0.5) - 1
	return l[min(max(i, 0), len(l)-1)]
}
