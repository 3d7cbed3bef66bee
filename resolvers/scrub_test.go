package resolvers_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	hg "github.com/healthgraph/healthgraph"
)

// The pre-submission scrubber (issue 15): claimReadiness reports every
// NPHIES rule a claim breaks and where to mend it, and submitClaim and
// requestPriorAuthorization refuse a claim with blocking violations, naming
// the rules, with nothing queued.

const readinessQuery = `query($in: SubmitClaimInput!, $use: ClaimUse) { claimReadiness(input: $in, use: $use) {
	ready violations { rule message expression blocking part lineSequence } } }`

type violationOut struct {
	Rule, Message, Expression, Part string
	Blocking                        bool
	LineSequence                    *int
}

func (b billingEnv) readiness(t *testing.T, in map[string]any, use string) (bool, []violationOut) {
	t.Helper()
	var out struct {
		ClaimReadiness struct {
			Ready      bool
			Violations []violationOut
		}
	}
	b.Do(t, b.billing, readinessQuery, map[string]any{"in": in, "use": use}).Decode(t, &out)
	return out.ClaimReadiness.Ready, out.ClaimReadiness.Violations
}

// refusedRules submits in with mutation and returns the rule ids the
// refusal lists, failing unless it is BAD_USER_INPUT on invoiceId.
func (b billingEnv) refusedRules(t *testing.T, mutation string, in map[string]any) []string {
	t.Helper()
	r := b.Do(t, b.billing, mutation, map[string]any{"in": in})
	if r.Code() != hg.EINVALID || r.Field() != "input.invoiceId" {
		t.Fatalf("code %q field %q, want BAD_USER_INPUT on invoiceId (%+v)", r.Code(), r.Field(), r.Errors)
	}
	raw, _ := r.Errors[0].Extensions["rules"].([]any)
	var ids []string
	for _, id := range raw {
		s, _ := id.(string)
		ids = append(ids, s)
	}
	return ids
}

func findViolation(vs []violationOut, rule string) *violationOut {
	i := slices.IndexFunc(vs, func(v violationOut) bool { return v.Rule == rule })
	if i < 0 {
		return nil
	}
	return &vs[i]
}

func TestTheScrubberAndSubmitClaimNameTheRulesAClaimBreaks(t *testing.T) {
	t.Parallel()
	b := newBillingEnv(t)
	ctx := context.Background()
	seen := b.seenVisit(t, b.patient)
	claimFor := func(invoiceID string) map[string]any { return seen.claimInput(invoiceID, "I10") }

	// A CPT code under NPHIES's services system (which holds SBS codes):
	// the line's code is changed in the store, whatever the invoice was
	// billed from.
	cpt := b.createInvoice(t, b.patient, b.coverage)
	if _, err := b.DB.Pool.Exec(ctx, `UPDATE invoice_lines SET service_code = '99213' WHERE invoice_id = $1 AND sequence = 2`,
		rawID(t, cpt.ID)); err != nil {
		t.Fatal(err)
	}
	b.issue(t, cpt.ID)
	// The builder refuses a code not shaped as a code of its system before
	// any rule runs (the catalogue's check), so both answers name the
	// invoice and the code.
	for _, q := range []string{readinessQuery, submitClaimMut} {
		r := b.Do(t, b.billing, q, map[string]any{"in": claimFor(cpt.ID), "use": "CLAIM"})
		if r.Code() != hg.EINVALID || r.Field() != "input.invoiceId" || !strings.Contains(r.Errors[0].Message, "99213") {
			t.Fatalf("CPT code in the catalogue's place: %+v", r.Errors)
		}
	}

	// A visit whose vital signs were never recorded: the minimum data set
	// asks for them.
	unmeasured := b.bookVisit(t, b.patient)
	b.recordFindings(t, unmeasured, nil)
	b.complete(t, unmeasured)
	visit := b.createInvoice(t, b.patient, b.coverage)
	b.issue(t, visit.ID)
	_, vs := b.readiness(t, unmeasured.claimInput(visit.ID, "I10"), "CLAIM")
	if v := findViolation(vs, "BV-00773"); v == nil || !v.Blocking || v.Part != "VISIT" {
		t.Fatalf("no systolic blood pressure: BV-00773 %+v in %+v", v, vs)
	}
	if ids := b.refusedRules(t, submitClaimMut, unmeasured.claimInput(visit.ID, "I10")); !slices.Contains(ids, "BV-00773") {
		t.Fatalf("submitClaim refused for %v, want BV-00773", ids)
	}
	// The same for a prior authorization of the draft-stage services.
	preauth := b.createInvoice(t, b.patient, b.coverage)
	_, vs = b.readiness(t, unmeasured.claimInput(preauth.ID, "I10"), "PREAUTHORIZATION")
	if findViolation(vs, "BV-00773") == nil {
		t.Fatalf("prior authorization without vital signs: %+v", vs)
	}
	const preauthMut = `mutation($in: SubmitClaimInput!) { requestPriorAuthorization(input: $in) { id } }`
	if ids := b.refusedRules(t, preauthMut, unmeasured.claimInput(preauth.ID, "I10")); !slices.Contains(ids, "BV-00773") {
		t.Fatalf("requestPriorAuthorization refused for %v, want BV-00773", ids)
	}

	// A coverage that ended before the service (moved back in the store
	// after the invoice was billed to it): the payer's adjudication error
	// 1664.
	lapsed := b.createInvoice(t, b.patient, b.coverage)
	b.issue(t, lapsed.ID)
	today := hg.DateOf(time.Now())
	if _, err := b.DB.Pool.Exec(ctx, `UPDATE coverages SET starts_on = $2, ends_on = $3 WHERE id = $1`,
		b.coverage.ID, today.AddDate(-2, 0, 0), today.AddDate(0, 0, -1)); err != nil {
		t.Fatal(err)
	}
	_, vs = b.readiness(t, claimFor(lapsed.ID), "CLAIM")
	if v := findViolation(vs, "1664"); v == nil || !v.Blocking || v.Part != "COVERAGE" {
		t.Fatalf("expired coverage: 1664 %+v in %+v", v, vs)
	}
	if ids := b.refusedRules(t, submitClaimMut, claimFor(lapsed.ID)); !slices.Contains(ids, "1664") {
		t.Fatalf("submitClaim refused for %v, want 1664", ids)
	}

	if n := b.Count(t, `SELECT (SELECT count(*) FROM claims) + (SELECT count(*) FROM nphies_messages)`); n != 0 {
		t.Fatalf("%d claim rows or messages written for refused claims", n)
	}
	if n := b.Count(t, `SELECT count(*) FROM audit_events WHERE action = 'claim.readiness_checked' AND patient_id = $1`,
		b.patient.ID); n != 3 {
		t.Fatalf("readiness audit rows = %d, want 3", n)
	}
}
