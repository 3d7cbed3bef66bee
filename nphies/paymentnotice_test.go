package nphies_test

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/nphies/rules"
)

// TestPaymentNoticeMatchesTheOfficialExample: the payment notice we send
// for a reconciliation carries every element of NPHIES's example 13b, with
// the same profile, recipient and code systems, and breaks no validation
// rule the engine checks.
func TestPaymentNoticeMatchesTheOfficialExample(t *testing.T) {
	t.Parallel()
	b := &nphies.Builder{ProviderLicense: "PR-FHIR", ProviderName: "HealthGraph Test Clinic", BaseURL: "http://clinic.test"}
	now := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	msg, err := b.BuildPaymentNotice(nphies.PaymentNoticeInput{Envelope: nphies.NewEnvelope(now), NoticeID: uuid.New(),
		Created: now, PaymentDate: now.AddDate(0, 0, -1), AmountHalalas: 19355,
		Reconciliation: nphies.Identifier{System: "http://sni.com.sa/paymentreconciliation", Value: "929060"}})
	if err != nil {
		t.Fatal(err)
	}
	vs, err := rules.Check(msg.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if v.Severity == "error" {
			t.Errorf("%s at %s: %s", v.Rule, v.Expression, v.Message)
		}
	}
	raw, err := os.ReadFile("testdata/examples/13b-payment-notice.json")
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := focalObject(t, msg.Body), focalObject(t, raw)
	for k := range theirs {
		if _, ok := ours[k]; !ok {
			t.Errorf("our PaymentNotice lacks %q, which the official example has", k)
		}
	}
	for _, k := range []string{"meta", "recipient", "status"} {
		if compact(t, ours[k]) != compact(t, theirs[k]) {
			t.Errorf("%s = %s, example %s", k, ours[k], theirs[k])
		}
	}
	var status, exStatus nphies.CodeableConcept
	_ = json.Unmarshal(ours["paymentStatus"], &status)
	_ = json.Unmarshal(theirs["paymentStatus"], &exStatus)
	if status.Coding[0].System != exStatus.Coding[0].System || !slices.Contains([]string{"paid", "cleared"}, status.Coding[0].Code) {
		t.Errorf("paymentStatus %+v, example %+v", status, exStatus)
	}
}

// focalObject returns the focal resource of a message bundle as raw
// elements.
func focalObject(t *testing.T, body []byte) map[string]json.RawMessage {
	t.Helper()
	var b nphies.Bundle
	if err := json.Unmarshal(body, &b); err != nil || len(b.Entry) < 2 {
		t.Fatalf("bundle: %v", err)
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal(b.Entry[1].Resource, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// compact is raw JSON without insignificant whitespace.
func compact(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}
