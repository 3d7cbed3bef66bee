package seed

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	hg "github.com/healthgraph/healthgraph"
)

// demoBillRate is the share of the demo's completed visits invoiced: most,
// so a month of billing fills the analyst's summaries.
const demoBillRate = 0.9

// demoClaimPlan is the statuses the demo's first claims take, so every
// status shows up at least demoClaimsPerStatus times; the rest follow
// their age.
func demoClaimPlan() []hg.ClaimStatus {
	var plan []hg.ClaimStatus
	for _, s := range []hg.ClaimStatus{hg.ClaimDraft, hg.ClaimQueued, hg.ClaimSubmitted, hg.ClaimPending, hg.ClaimApproved,
		hg.ClaimPartial, hg.ClaimRejected, hg.ClaimError, hg.ClaimCancelled} {
		for range demoClaimsPerStatus {
			plan = append(plan, s)
		}
	}
	return plan
}

// defaultDiagnosis stands in when a visit left no diagnosis code: a claim
// needs one.
const defaultDiagnosis = "Z00.0"

// addDemoVisit books one demo appointment and bills it when it was
// completed, remembering for the claim who treated it and what was found.
func (g *gen) addDemoVisit(b *batch, numbers *invoiceNumbers, pt patient, pr practitioner, start, end time.Time) {
	records := len(b.records)
	if g.addAppointment(b, pt, pr, start, end) != hg.AppointmentCompleted || !g.chance(demoBillRate) {
		return
	}
	var dx []string
	for _, r := range b.records[records:] {
		if r[3] == string(hg.RecordDiagnosis) {
			dx = append(dx, r[4].([]string)...)
		}
	}
	if len(dx) == 0 {
		dx = []string{defaultDiagnosis}
	}
	if c := g.billVisit(b, numbers, pt, pr, end, dx[0]); c != nil {
		c.practitionerID, c.diagnoses = pr.id, dx
		c.visitStart, c.visitEnd = start, end
	}
}

// writeExchange writes the NPHIES messages of the batch's claims and the
// eligibility checks run before some of their visits, and returns the
// exchange: the checks' rows (see checksTable) and the decided claims.
func writeExchange(ctx context.Context, tx pgx.Tx, g *gen, o Options, b *batch, sum *Summary) (*exchange, error) {
	x := newExchange(&o.Clinic, o.Seed)
	patients, coverages, staff := rowIndex(b.patients), rowIndex(b.coverages), rowIndex(b.practitioners)
	for _, c := range b.claimed {
		p := partiesOf(patients, coverages, staff, c, c.practitionerID, c.diagnoses)
		if err := x.eligibility(g, c, p); err != nil {
			return nil, err
		}
		if err := x.claim(g, c, p); err != nil {
			return nil, err
		}
	}
	if err := x.write(ctx, tx); err != nil {
		return nil, err
	}
	sum.NPHIESMessages, sum.EligibilityChecks = len(x.rows)+len(x.queued), len(x.checks)
	return x, nil
}

var auditTable = table{"audit_events", []string{"id", "actor_id", "actor_role", "action", "entity_type", "entity_id", "patient_id", "created_at"}}

// writeAudit writes the audit trail the desks' mutations would have left:
// the billing clerk's on the batch's invoices and claims, reception's
// eligibility checks.
func writeAudit(ctx context.Context, tx pgx.Tx, g *gen, b *batch, checks [][]any, staff map[hg.Role]uuid.UUID, sum *Summary) error {
	var rows [][]any
	add := func(action, entity string, id, patient uuid.UUID, at time.Time) {
		rows = append(rows, []any{g.id(at), staff[hg.RoleBilling], string(hg.RoleBilling), action, entity, id, patient, at})
	}
	for _, c := range checks {
		at := c[14].(time.Time)
		rows = append(rows, []any{g.id(at), staff[hg.RoleReception], string(hg.RoleReception), "eligibility.checked",
			"EligibilityCheck", c[0], c[1], at})
	}
	patientOf := map[uuid.UUID]uuid.UUID{}
	for _, inv := range b.invoices {
		id, patient := inv[0].(uuid.UUID), inv[2].(uuid.UUID)
		patientOf[id] = patient
		add("invoice.created", "Invoice", id, patient, inv[14].(time.Time))
	}
	for _, st := range b.final {
		if st.issuedAt != nil {
			add("invoice.issued", "Invoice", st.id, patientOf[st.id], *st.issuedAt)
		}
		if st.status == hg.InvoiceVoid {
			add("invoice.voided", "Invoice", st.id, patientOf[st.id], st.updatedAt)
		}
	}
	for _, p := range b.payments {
		inv := p[1].(uuid.UUID)
		add("invoice.payment_recorded", "Invoice", inv, patientOf[inv], p[5].(time.Time))
	}
	for _, c := range b.claimed {
		if c.status != hg.ClaimDraft {
			add("claim.queued", "Claim", c.id, c.patientID, c.created)
		}
		if c.status == hg.ClaimCancelled {
			add("claim.cancel_requested", "Claim", c.id, c.patientID, cancelRequested(c))
		}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{auditTable.name}, auditTable.cols, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("copy %s: %w", auditTable.name, err)
	}
	sum.AuditEvents = len(rows)
	return nil
}

// cancelRequested is when a cancelled claim's cancellation was asked for:
// the step before the payer's decision.
func cancelRequested(c claimed) time.Time {
	if n := len(c.history); n >= 2 {
		return c.history[n-2].at
	}
	return c.updated
}
