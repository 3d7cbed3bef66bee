package nphies_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/healthgraph/healthgraph/nphies"
)

func TestClassifyFailureDecidesEveryKindOnce(t *testing.T) {
	t.Parallel()
	raw := []byte(`{"resourceType":"OperationOutcome"}`)
	parsed := &nphies.Response{Raw: []byte(`{"resourceType":"Bundle"}`), Event: "claim-response", BundleID: "b-1", MessageHeaderID: "h-1"}
	issues := []nphies.Issue{{Code: "GE-00013", Display: "Payer offline"}, {Code: ""}, {Code: "BV-00163"}}
	tests := []struct {
		name                string
		resp                *nphies.Response
		err                 error
		reason              string
		status              int
		retryable, refused  bool
		wantBody            []byte // nil: no response stored
		wantEvent, wantHdrs string
	}{
		{name: "transport error is retried and stores nothing",
			err:    &nphies.Error{Kind: nphies.ErrTransport, Err: errors.New("dial tcp: refused")},
			reason: "NPHIES could not be reached or did not answer in time", retryable: true},
		{name: "server error is retried and keeps the answer with its codes",
			err:    &nphies.Error{Kind: nphies.ErrServerError, StatusCode: 503, Raw: raw, Issues: issues},
			reason: "NPHIES answered HTTP 503: GE-00013 Payer offline; BV-00163", status: 503, retryable: true, wantBody: raw},
		{name: "unreadable answer is retried and kept raw with what could be read",
			resp:   parsed,
			err:    &nphies.Error{Kind: nphies.ErrMalformed, StatusCode: 200, Raw: raw},
			reason: "NPHIES answered with a message that cannot be read", status: 200, retryable: true,
			wantBody: raw, wantEvent: "claim-response", wantHdrs: "b-1/h-1"},
		{name: "rejection is refused for good and keeps the outcome",
			err:    &nphies.Error{Kind: nphies.ErrRejected, StatusCode: 400, Raw: raw, Issues: issues[:1]},
			reason: "NPHIES rejected the message (HTTP 400): GE-00013 Payer offline", status: 400, refused: true, wantBody: raw},
		{name: "rejection with an empty body stores nothing",
			err:    &nphies.Error{Kind: nphies.ErrRejected, StatusCode: 403, Raw: []byte{}},
			reason: "NPHIES rejected the message (HTTP 403)", status: 403, refused: true},
		{name: "answer to another request is neither retried nor refused",
			resp:   parsed,
			err:    &nphies.Error{Kind: nphies.ErrUnexpected, StatusCode: 200, Raw: raw},
			reason: "NPHIES answered with a message that does not answer this request", status: 200,
			wantBody: raw, wantEvent: "claim-response", wantHdrs: "b-1/h-1"},
		{name: "a wrapped send error is classified by its kind",
			err:    fmt.Errorf("send: %w", &nphies.Error{Kind: nphies.ErrServerError, StatusCode: 429}),
			reason: "NPHIES answered HTTP 429", status: 429, retryable: true},
		{name: "an error that is not a send error is a plain failure",
			err:    errors.New("boom"),
			reason: "the message could not be sent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := nphies.ClassifyFailure(tt.resp, tt.err)
			if f.Reason != tt.reason || f.HTTPStatus != tt.status || f.Retryable != tt.retryable || f.Refused != tt.refused {
				t.Fatalf("got %q HTTP %d retryable %v refused %v, want %q HTTP %d retryable %v refused %v",
					f.Reason, f.HTTPStatus, f.Retryable, f.Refused, tt.reason, tt.status, tt.retryable, tt.refused)
			}
			if f.Retryable != nphies.Retryable(tt.err) {
				t.Fatalf("retryable %v disagrees with Retryable %v", f.Retryable, nphies.Retryable(tt.err))
			}
			if tt.wantBody == nil {
				if f.Response != nil {
					t.Fatalf("response %+v stored, want none", f.Response)
				}
				return
			}
			r := f.Response
			if r == nil || string(r.Body) != string(tt.wantBody) || r.Problem != tt.reason {
				t.Fatalf("response %+v, want body %s with the reason as its problem", r, tt.wantBody)
			}
			if r.Event != tt.wantEvent || (tt.wantHdrs != "" && r.BundleID+"/"+r.MessageHeaderID != tt.wantHdrs) {
				t.Fatalf("response identity %s %s/%s, want %s %s", r.Event, r.BundleID, r.MessageHeaderID, tt.wantEvent, tt.wantHdrs)
			}
		})
	}
}

func TestBuilderRefusalsAreInputErrorsWithAReason(t *testing.T) {
	t.Parallel()
	in := claimInput("typed", "M-1")
	in.Items[0].Quantity = 0
	_, err := testBuilder().BuildClaim(in)
	var ie *nphies.InputError
	if !errors.As(err, &ie) || !errors.Is(err, nphies.ErrInvalidInput) {
		t.Fatalf("err = %v, want an *InputError matching ErrInvalidInput", err)
	}
	if want := "item 1: quantity must be positive"; ie.Reason != want || err.Error() != nphies.ErrInvalidInput.Error()+": "+want {
		t.Fatalf("reason %q (%q), want %q", ie.Reason, err.Error(), want)
	}
}
