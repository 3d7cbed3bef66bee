package nphies

import (
	"errors"
	"fmt"
	"strings"

	hg "github.com/healthgraph/healthgraph"
)

// SendFailure is what a failed Send comes to, decided once for every
// exchange: the words to record, whether resending the same bytes may
// succeed, whether NPHIES refused the message for good, and the answer as
// received. The outbox worker and the desk's synchronous checks both record
// it; only what they do next differs (the worker may retry later, the desk
// tells the person at once).
type SendFailure struct {
	// HTTPStatus is the answer's status, 0 when none arrived.
	HTTPStatus int
	// Reason says why the send failed, in words safe to store, show and
	// log: the kind, the status and NPHIES's error codes, never the body.
	Reason string
	// Issues are NPHIES's error codes, when it gave any.
	Issues []Issue
	// Retryable reports that resending the same bytes may succeed
	// (transport, server error, unreadable answer).
	Retryable bool
	// Refused reports that NPHIES rejected the message itself: its
	// identity is dead and resending it cannot help.
	Refused bool
	// Response is the answer as received, with Reason as its problem; nil
	// when no bytes and no parsed answer came.
	Response *hg.Received
}

// ClassifyFailure turns Send's error, and the response that may accompany
// it, into a SendFailure.
func ClassifyFailure(resp *Response, err error) SendFailure {
	f := SendFailure{Reason: describe(err), Retryable: Retryable(err), Refused: errors.Is(err, ErrRejected)}
	var ne *Error
	if errors.As(err, &ne) {
		f.HTTPStatus, f.Issues = ne.StatusCode, ne.Issues
		if len(ne.Raw) > 0 || resp != nil {
			f.Response = asReceived(resp, ne.Raw, f.Reason)
		}
	}
	return f
}

// asReceived is an answer to store as it came: raw (resp.Raw when raw is
// nil) with resp's identity, when it could be read, and why it could not
// be applied.
func asReceived(resp *Response, raw []byte, problem string) *hg.Received {
	r := &hg.Received{Body: raw, Problem: problem}
	if resp != nil {
		r.Event, r.BundleID, r.MessageHeaderID = resp.Event, resp.BundleID, resp.MessageHeaderID
		if r.Body == nil {
			r.Body = resp.Raw
		}
	}
	return r
}

// describe says why a send failed, in words safe to store and show: the
// kind, the status and NPHIES's error codes, never the body.
func describe(err error) string {
	var ne *Error
	if !errors.As(err, &ne) {
		return "the message could not be sent"
	}
	var s string
	switch {
	case errors.Is(err, ErrTransport):
		s = "NPHIES could not be reached or did not answer in time"
	case errors.Is(err, ErrServerError):
		s = fmt.Sprintf("NPHIES answered HTTP %d", ne.StatusCode)
	case errors.Is(err, ErrRejected):
		s = fmt.Sprintf("NPHIES rejected the message (HTTP %d)", ne.StatusCode)
	case errors.Is(err, ErrMalformed):
		s = "NPHIES answered with a message that cannot be read"
	case errors.Is(err, ErrUnexpected):
		s = "NPHIES answered with a message that does not answer this request"
	default:
		s = "the message could not be sent"
	}
	if codes := issueCodes(ne.Issues); codes != "" {
		s += ": " + codes
	}
	return s
}

// issueCodes lists NPHIES error codes with their code-list display texts,
// which name rules, not people.
func issueCodes(is []Issue) string {
	var parts []string
	for _, i := range is {
		if i.Code == "" {
			continue
		}
		p := i.Code
		if i.Display != "" {
			p += " " + i.Display
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}
