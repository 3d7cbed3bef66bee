package resolvers_test

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
)

func (b billingEnv) issue(t *testing.T, invoiceID string) {
	t.Helper()
	if r := b.Do(t, b.billing, `mutation($id: ID!) { issueInvoice(id: $id) { status } }`, map[string]any{"id": invoiceID}); r.Code() != "" {
		t.Fatalf("issue: %+v", r.Errors)
	}
}

const submitClaimMut = `mutation($in: SubmitClaimInput!) { submitClaim(input: $in) {
	id status use total { amount } payer { license }
	items { sequence net { amount } patientShare { amount } approved { amount } }
	messages { direction event bundleId deliveryStatus attempts body }
	history { status } } }`

func TestSubmitClaimQueuesTheClaimWithItsBundle(t *testing.T) {
	t.Parallel()
	b := newBillingEnv(t)
	inv := b.createInvoice(t, b.patient, b.coverage)
	b.issue(t, inv.ID)

	in := b.seenVisit(t, b.patient).claimInput(inv.ID, "e11.9", "I10")
	var out struct {
		SubmitClaim struct {
			ID, Status, Use string
			Total           money
			Payer           struct{ License string }
			Items           []struct{ Sequence int }
			Messages        []struct {
				Direction, Event, BundleID, DeliveryStatus, Body string
				Attempts                                         int
			}
			History []struct{ Status string }
		}
	}
	b.Do(t, b.billing, submitClaimMut, map[string]any{"in": in}).Decode(t, &out)
	c := out.SubmitClaim
	if c.Status != "QUEUED" || c.Use != "CLAIM" || c.Total.Amount != inv.Total.Amount || c.Payer.License != "7001463160" || len(c.Items) != 2 {
		t.Fatalf("claim = %+v", c)
	}
	if len(c.Messages) != 1 || c.Messages[0].Direction != "OUT" || c.Messages[0].DeliveryStatus != "PENDING" ||
		c.Messages[0].Event != "claim-request" || !strings.Contains(c.Messages[0].Body, c.Messages[0].BundleID) {
		t.Fatalf("outgoing message = %+v", c.Messages)
	}
	if len(c.History) == 0 || c.History[0].Status != "QUEUED" {
		t.Fatalf("history = %+v", c.History)
	}
	if r := b.Do(t, b.billing, submitClaimMut, map[string]any{"in": in}); r.Code() != hg.ECONFLICT {
		t.Fatalf("claiming the invoice twice: code %q, want CONFLICT", r.Code())
	}
	if n := b.Count(t, `SELECT count(*) FROM audit_events WHERE action = 'claim.queued'`); n != 1 {
		t.Fatalf("claim.queued audit rows = %d, want 1", n)
	}
	var list struct{ Claims struct{ TotalCount int } }
	b.Do(t, b.billing, `{ claims(filter: {status: QUEUED}) { totalCount } }`, nil).Decode(t, &list)
	if list.Claims.TotalCount != 1 {
		t.Fatalf("queued claims = %d, want 1", list.Claims.TotalCount)
	}
}

func TestBadClaimInputWritesNothing(t *testing.T) {
	t.Parallel()
	b := newBillingEnv(t)
	v := b.seenVisit(t, b.patient)
	draft := b.createInvoice(t, b.patient, b.coverage)
	selfPay := b.createInvoice(t, b.other, nil)
	b.issue(t, selfPay.ID)
	issued := b.createInvoice(t, b.patient, b.coverage)
	b.issue(t, issued.ID)

	tests := []struct {
		name      string
		in        map[string]any
		wantCode  string
		wantField string
	}{
		{"draft invoice", v.claimInput(draft.ID, "E11.9"), hg.EINVALID, "input.invoiceId"},
		{"self-pay invoice", v.claimInput(selfPay.ID, "E11.9"), hg.EINVALID, "input.invoiceId"},
		{"not an ICD-10 code", v.claimInput(issued.ID, "diabetes"), hg.EINVALID, "input.diagnoses"},
		{"no diagnosis", setTo(v.claimInput(issued.ID), "diagnoses", []string{}), hg.EINVALID, "input.diagnoses"},
		{"unknown practitioner", setTo(v.claimInput(issued.ID, "E11.9"), "practitionerId", gid("Practitioner", uuid.New())), hg.ENOTFOUND, ""},
		{"unknown invoice", v.claimInput(gid("Invoice", uuid.New()), "E11.9"), hg.ENOTFOUND, ""},
		{"malformed invoice id", v.claimInput("%%%", "E11.9"), hg.EINVALID, "input.invoiceId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.Do(t, b.billing, submitClaimMut, map[string]any{"in": tt.in})
			if r.Code() != tt.wantCode || r.Field() != tt.wantField {
				t.Fatalf("code %q field %q, want %q %q (%+v)", r.Code(), r.Field(), tt.wantCode, tt.wantField, r.Errors)
			}
		})
	}
	if r := b.Do(t, b.patientToken, submitClaimMut, map[string]any{"in": v.claimInput(issued.ID, "E11.9")}); r.Code() != hg.EFORBIDDEN {
		t.Fatalf("a patient submitting a claim: code %q, want FORBIDDEN", r.Code())
	}
	if n := b.Count(t, `SELECT (SELECT count(*) FROM claims) + (SELECT count(*) FROM nphies_messages)`); n != 0 {
		t.Fatalf("%d claim rows or messages written by refused input", n)
	}
}

// setTo is a copy of in with key set to value.
func setTo(in map[string]any, key string, value any) map[string]any {
	out := maps.Clone(in)
	out[key] = value
	return out
}

func TestRevenueSummarySuppressesSmallGroups(t *testing.T) {
	t.Parallel()
	b := newBillingEnv(t)
	_, analyst := b.User(t, "analyst@example.com", hg.RoleAnalyst)
	for range 5 {
		b.issue(t, b.createInvoice(t, b.patient, b.coverage).ID)
	}
	q := `query($from: Time!, $to: Time!) { revenueSummary(from: $from, to: $to, groupBy: MONTH) {
		key suppressed invoices billed { amount } insurerShare { amount } } }`
	vars := map[string]any{"from": time.Now().Add(-24 * time.Hour).Format(time.RFC3339), "to": time.Now().Add(time.Hour).Format(time.RFC3339)}
	var out struct {
		RevenueSummary []struct {
			Key        string
			Suppressed bool
			Invoices   *int
			Billed     *money
		}
	}
	b.Do(t, analyst, q, vars).Decode(t, &out)
	total := 0
	for _, g := range out.RevenueSummary {
		if !g.Suppressed {
			total += *g.Invoices
		}
	}
	if total != 5 {
		t.Fatalf("revenue groups %+v, want 5 invoices shown", out.RevenueSummary)
	}

	// One more invoice on a day of its own would be a group of one: hidden.
	day := `query($from: Time!, $to: Time!) { revenueSummary(from: $from, to: $to, groupBy: DAY) { key suppressed invoices } }`
	if _, err := b.DB.Pool.Exec(context.Background(), `UPDATE invoices SET issued_at = issued_at - interval '10 days'
		WHERE id = (SELECT id FROM invoices ORDER BY created_at LIMIT 1)`); err != nil {
		t.Fatal(err)
	}
	var days struct {
		RevenueSummary []struct {
			Key        string
			Suppressed bool
			Invoices   *int
		}
	}
	vars["from"] = time.Now().AddDate(0, 0, -20).Format(time.RFC3339)
	b.Do(t, analyst, day, vars).Decode(t, &days)
	for _, g := range days.RevenueSummary {
		if g.Invoices != nil && *g.Invoices < 5 || (g.Suppressed && g.Invoices != nil) {
			t.Fatalf("a group of fewer than 5 was shown: %+v", days.RevenueSummary)
		}
	}
	if r := b.Do(t, b.patientToken, q, vars); r.Code() != hg.EFORBIDDEN {
		t.Fatalf("a patient reading revenue: code %q, want FORBIDDEN", r.Code())
	}
	if r := b.Do(t, analyst, q, map[string]any{"from": vars["to"], "to": vars["from"]}); r.Field() != "to" {
		t.Fatalf("inverted range: %+v", r.Errors)
	}
}
