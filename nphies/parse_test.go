package nphies_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/healthgraph/healthgraph/nphies"
)

// readExample reads one official example bundle, skipping when absent.
func readExample(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(examplesDir, name))
	if errors.Is(err, os.ErrNotExist) {
		t.Fatal("official examples not found at " + examplesDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestParseEveryOfficialExample(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob(filepath.Join(examplesDir, "*.json"))
	if len(files) == 0 {
		t.Fatal("official examples not found at " + examplesDir)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r, err := nphies.Parse(raw)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		if !bytes.Equal(r.Raw, raw) || r.Event == "" || r.Kind == "" {
			t.Errorf("%s: raw kept %v, event %q, kind %q", filepath.Base(f), bytes.Equal(r.Raw, raw), r.Event, r.Kind)
		}
	}
}

func TestParseOfficialResponses(t *testing.T) {
	t.Parallel()
	t.Run("claim response approved", func(t *testing.T) {
		r := mustParse(t, "7b-claim-response.json")
		c := r.Claim
		if c.Status != nphies.ClaimApproved || c.Outcome != "complete" || c.Reissue != "correction" {
			t.Fatalf("got %s/%s reissue %q", c.Status, c.Outcome, c.Reissue)
		}
		if c.Request.Value != "req_299060" || len(c.Items) != 1 {
			t.Fatalf("request %+v items %d", c.Request, len(c.Items))
		}
		it := c.Items[0]
		if it.BenefitHalalas() != 17000 || it.Amounts["tax"] != 2550 || it.ApprovedQuantity == nil || *it.ApprovedQuantity != 100 {
			t.Errorf("item = %+v", it)
		}
		if c.Totals["benefit"] != 17000 {
			t.Errorf("totals = %v", c.Totals)
		}
	})
	t.Run("prior auth partially approved", func(t *testing.T) {
		c := mustParse(t, "2b-first-response-for-first-preauth-dental-request.json").Claim
		if c.Status != nphies.ClaimPartial || c.PreAuthRef == "" || c.PreAuthPeriod == nil {
			t.Errorf("got %s ref %q", c.Status, c.PreAuthRef)
		}
	})
	t.Run("eligible", func(t *testing.T) {
		e := mustParse(t, "14b-eligibility-response-ben-val.json").Eligibility
		if !e.Eligible() || e.Request.Value != "req_161490" {
			t.Errorf("got %+v", e)
		}
	})
	t.Run("eligibility error", func(t *testing.T) {
		e := mustParse(t, "15c-eligibility-response-discovery-outcome-error.json").Eligibility
		if e.Eligible() || e.Outcome != "error" || len(e.Errors) != 1 || e.Errors[0].Code != "1658" {
			t.Errorf("got %+v", e)
		}
	})
	t.Run("poll response with a nested claim response", func(t *testing.T) {
		r := mustParse(t, "12b-poll-response.json")
		if !r.QueuedMessages || r.SenderLicense != nphies.NPHIESLicense || len(r.Poll.Messages) != 1 {
			t.Fatalf("queued %v sender %q messages %d", r.QueuedMessages, r.SenderLicense, len(r.Poll.Messages))
		}
		pm := r.Poll.Messages[0]
		if pm.Err != nil || pm.Response.Claim == nil || pm.Response.Claim.Request.Value != "iMXbxXMGMR" {
			t.Errorf("nested = %+v, %v", pm.Response, pm.Err)
		}
	})
	t.Run("payment reconciliation with an array paymentIdentifier", func(t *testing.T) {
		p := mustParse(t, "13a-payment-reconciliation.json").PaymentReconciliation
		if p.AmountHalalas != 19355 || p.PaymentIdentifier.Value != "URN-987590432322" || len(p.Details) != 1 ||
			p.Details[0].NPHIESFeeHalalas != -195 || p.Details[0].Request.Value != "req_299060" {
			t.Errorf("got %+v", p)
		}
	})
	t.Run("cancel and status responses", func(t *testing.T) {
		if c := mustParse(t, "17b-cancel-response.json").Task; c.Status != "completed" || c.Code != "cancel" {
			t.Errorf("cancel = %+v", c)
		}
		if s := mustParse(t, "9c-statuscheck-response.json").Task; s.ClaimStatus != "complete" {
			t.Errorf("status = %+v", s)
		}
	})
	t.Run("communication request", func(t *testing.T) {
		c := mustParse(t, "18a-communication-request.json").CommunicationRequest
		if c.Identifier.Value != "CommReq_306278" || len(c.About) != 1 || len(c.Texts) != 1 {
			t.Errorf("got %+v", c)
		}
	})
	t.Run("pharmacy claim with a decimal sent as a string", func(t *testing.T) {
		raw := readExample(t, "9-claim-pharmacy-request.json")
		var b nphies.Bundle
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatal(err)
		}
		var c nphies.Claim
		if err := b.Entry[1].Decode(&c); err != nil {
			t.Fatalf("lenient decimal decoding failed: %v", err)
		}
	})
}

// mustParse parses an official example.
func mustParse(t *testing.T, name string) *nphies.Response {
	t.Helper()
	r, err := nphies.Parse(readExample(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return r
}

func TestParseRejectsGarbage(t *testing.T) {
	t.Parallel()
	for name, raw := range map[string]string{
		"empty":            ``,
		"not json":         `<html>502 Bad Gateway</html>`,
		"truncated":        `{"resourceType":"Bundle","type":"message","entry":[{"fullUrl":`,
		"not a bundle":     `{"resourceType":"Patient"}`,
		"collection":       `{"resourceType":"Bundle","type":"collection","entry":[]}`,
		"no header":        `{"resourceType":"Bundle","type":"message","entry":[{"resource":{"resourceType":"Claim"}}]}`,
		"no event":         `{"resourceType":"Bundle","type":"message","entry":[{"resource":{"resourceType":"MessageHeader"}}]}`,
		"focus wrong type": `{"resourceType":"Bundle","type":"message","entry":[{"resource":{"resourceType":"MessageHeader","eventCoding":{"code":"claim-response"}}},{"resource":{"resourceType":"Task"}}]}`,
		"bad amount":       `{"resourceType":"Bundle","type":"message","entry":[{"resource":{"resourceType":"MessageHeader","eventCoding":{"code":"claim-response"}}},{"resource":{"resourceType":"ClaimResponse","outcome":"complete","request":{"identifier":{"value":"x"}},"total":[{"amount":{"value":"1e999"}}]}}]}`,
		"unknown outcome":  `{"resourceType":"Bundle","type":"message","entry":[{"resource":{"resourceType":"MessageHeader","eventCoding":{"code":"claim-response"}}},{"resource":{"resourceType":"ClaimResponse","outcome":"maybe","request":{"identifier":{"value":"x"}}}}]}`,
	} {
		r, err := nphies.Parse([]byte(raw))
		if !errors.Is(err, nphies.ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
		if r == nil || string(r.Raw) != raw {
			t.Errorf("%s: raw bytes not kept", name)
		}
	}
}

func TestDecimal(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{
		`121.9`: 12190, `106`: 10600, `"30"`: 3000, `-1.95`: -195, `0.005`: 1, `-0.005`: -1, `1e2`: 10000, `0.001`: 0,
	} {
		var d nphies.Decimal
		if err := json.Unmarshal([]byte(in), &d); err != nil || d.Hundredths() != want {
			t.Errorf("%s → %d, %v; want %d", in, d.Hundredths(), err, want)
		}
	}
	for _, bad := range []string{`"abc"`, `"1/3"`, `"0x10"`, `1e999`, `"99999999999999999999"`, `true`} {
		var d nphies.Decimal
		if err := json.Unmarshal([]byte(bad), &d); err == nil {
			t.Errorf("%s accepted as %d", bad, d)
		}
	}
	for h, want := range map[int64]string{12190: "121.9", 10600: "106", -195: "-1.95", 5: "0.05", 0: "0", -50: "-0.5"} {
		if got := nphies.Decimal(h).String(); got != want {
			t.Errorf("Decimal(%d) = %s, want %s", h, got, want)
		}
	}
}

func TestBuilderRejectsBadInput(t *testing.T) {
	t.Parallel()
	b := testBuilder()
	tests := map[string]func(*nphies.ClaimInput){
		"zero quantity":                  func(in *nphies.ClaimInput) { in.Items[0].Quantity = 0 },
		"negative price":                 func(in *nphies.ClaimInput) { in.Items[0].UnitPriceHalalas = -1 },
		"net that does not add up":       func(in *nphies.ClaimInput) { in.Items[0].NetHalalas++ },
		"total that does not add up":     func(in *nphies.ClaimInput) { in.TotalHalalas-- },
		"duplicate sequence":             func(in *nphies.ClaimInput) { in.Items[1].Sequence = 1 },
		"no items":                       func(in *nphies.ClaimInput) { in.Items, in.TotalHalalas = nil, 0 },
		"missing bundle id":              func(in *nphies.ClaimInput) { in.BundleID = [16]byte{} },
		"missing timestamp":              func(in *nphies.ClaimInput) { in.Timestamp = time.Time{} },
		"professional without encounter": func(in *nphies.ClaimInput) { in.Encounter = nil },
		"unknown claim type":             func(in *nphies.ClaimInput) { in.Type = "dental" },
		"unknown patient id kind":        func(in *nphies.ClaimInput) { in.Patient.IDKind = "ssn" },
		"missing member id":              func(in *nphies.ClaimInput) { in.Coverage.MemberID = "" },
	}
	for name, mutate := range tests {
		in := claimInput("bad", "M-1")
		mutate(&in)
		if _, err := b.BuildClaim(in); !errors.Is(err, nphies.ErrInvalidInput) {
			t.Errorf("%s: err = %v, want ErrInvalidInput", name, err)
		}
	}
	if _, err := (&nphies.Builder{ProviderLicense: "X", BaseURL: "not a url"}).BuildClaim(claimInput("bad", "M-1")); !errors.Is(err, nphies.ErrInvalidInput) {
		t.Errorf("bad base URL: err = %v", err)
	}
}

// FuzzParseResponse checks that Parse never panics, always keeps the raw
// bytes and reports every failure as ErrMalformed. Seeds: the committed
// corpus in testdata/fuzz (official example responses) plus the examples
// directory when present.
func FuzzParseResponse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(examplesDir, "*.json"))
	for _, file := range files {
		if raw, err := os.ReadFile(file); err == nil && !strings.Contains(file, "request") {
			f.Add(raw)
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := nphies.Parse(raw)
		if r == nil {
			t.Fatal("Parse returned no Response")
		}
		if !bytes.Equal(r.Raw, raw) {
			t.Fatal("raw bytes not kept")
		}
		if err != nil && !errors.Is(err, nphies.ErrMalformed) {
			t.Fatalf("error %v is not ErrMalformed", err)
		}
		if err == nil && r.Kind == "" {
			t.Fatal("parsed without a kind")
		}
	})
}
