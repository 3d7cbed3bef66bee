package seed

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	hg "github.com/healthgraph/healthgraph"
)

var (
	invoicesTable = table{"invoices", []string{"id", "number", "patient_id", "coverage_id", "status", "copay_percent",
		"net", "vat", "total", "patient_share", "insurer_share", "paid", "issued_at", "void_reason", "created_at", "updated_at"}}
	invoiceLinesTable = table{"invoice_lines", []string{"invoice_id", "sequence", "code_system", "service_code", "description", "quantity",
		"unit_price", "net", "vat", "total", "patient_share", "insurer_share"}}
	paymentsTable = table{"payments", []string{"id", "invoice_id", "amount", "method", "reference", "received_at"}}
	claimsTable   = table{"claims", []string{"id", "use", "invoice_id", "patient_id", "coverage_id", "payer_license", "payer_name",
		"status", "total", "approved", "disposition", "last_error", "refused", "response_key", "created_at", "updated_at",
		"practitioner_id", "appointment_id"}}
	claimItemsTable = table{"claim_items", []string{"claim_id", "sequence", "code_system", "service_code", "description", "quantity",
		"unit_price", "vat", "net", "patient_share", "approved", "outcome", "reasons"}}
	claimHistoryTable = table{"claim_status_history", []string{"claim_id", "status", "note", "at"}}
)

// billing collects the money side of a batch.
type billing struct {
	invoices, invoiceLines, payments, claims, claimItems, claimHistory [][]any
	// final is the state each non-draft invoice moves to once its lines
	// are in.
	final []invoiceState
	// claimed describes each claim for the NPHIES exchange Demo writes.
	claimed []claimed
}

// claimed is what the NPHIES exchange of one claim is built from.
type claimed struct {
	id, invoiceID    uuid.UUID
	invoiceNumber    string
	invoiceCreated   time.Time
	patientID        uuid.UUID
	cov              *coverage
	lines            []hg.InvoiceLine
	total            hg.Halalas
	status           hg.ClaimStatus
	refused          bool
	created, updated time.Time
	// history is the claim's status steps, for the audit trail.
	history []claimStep
	// practitionerID treated the visit; diagnoses are its ICD-10 codes.
	practitionerID uuid.UUID
	diagnoses      []string
	// visit is the appointment billed, the claim's encounter; findings
	// its minimum data set, which the claim carries.
	visit                uuid.UUID
	visitStart, visitEnd time.Time
	findings             *hg.VisitFindings
}

// claimStep is one status change of a claim.
type claimStep struct {
	status hg.ClaimStatus
	at     time.Time
}

// invoiceState is an invoice's header after it left DRAFT.
type invoiceState struct {
	id         uuid.UUID
	status     hg.InvoiceStatus
	paid       hg.Halalas
	issuedAt   *time.Time
	voidReason string
	updatedAt  time.Time
}

// finishInvoices moves the batch's invoices from DRAFT to their state. The
// deferred trigger checks each header against its lines again at commit.
func (b *billing) finishInvoices(ctx context.Context, tx pgx.Tx) error {
	if len(b.final) == 0 {
		return nil
	}
	n := len(b.final)
	ids, statuses, paid := make([]uuid.UUID, n), make([]string, n), make([]int64, n)
	issued, reasons, updated := make([]*time.Time, n), make([]string, n), make([]time.Time, n)
	for i, s := range b.final {
		ids[i], statuses[i], paid[i], issued[i], reasons[i], updated[i] = s.id, string(s.status), int64(s.paid), s.issuedAt, s.voidReason, s.updatedAt
	}
	_, err := tx.Exec(ctx, `UPDATE invoices i SET status = u.status, paid = u.paid, issued_at = u.issued_at,
			void_reason = u.void_reason, updated_at = u.updated_at
		FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::timestamptz[], $5::text[], $6::timestamptz[])
			AS u (id, status, paid, issued_at, void_reason, updated_at)
		WHERE i.id = u.id`, ids, statuses, paid, issued, reasons, updated)
	if err != nil {
		return fmt.Errorf("finish invoices: %w", err)
	}
	return nil
}

// invoiceNumbers hands out invoice numbers in the store's format. The
// generator is sequential, so numbering is as repeatable as the rest.
type invoiceNumbers struct{ next int64 }

func (n *invoiceNumbers) take(at time.Time) string {
	n.next++
	return fmt.Sprintf("INV-%d-%06d", at.In(hg.ClinicZone).Year(), n.next-1)
}

// later returns a time up to max after t, never after the clock.
func (g *gen) later(t time.Time, max time.Duration) time.Time {
	t = t.Add(time.Duration(g.rng.Int64N(int64(max))) + time.Second)
	if t.After(g.now) {
		return g.now
	}
	return t
}

// addInvoice bills a completed visit: a consultation and sometimes extras,
// under the patient's coverage when it was in force that day, issued and
// paid as an invoice of its age would be, and claimed when covered.
func (g *gen) addInvoice(b *batch, numbers *invoiceNumbers, pt patient, visitEnd time.Time) {
	created := g.later(visitEnd, time.Hour)
	cov := pt.coverage
	if cov != nil && !cov.covers(visitEnd) {
		cov = nil
	}
	var coverageID *uuid.UUID
	copay := 100
	if cov != nil {
		coverageID, copay = &cov.id, cov.copay
	}
	in := []hg.NewInvoiceLine{g.serviceLine(pick(g, consultations))}
	for range g.rng.IntN(3) {
		in = append(in, g.serviceLine(pick(g, extras)))
	}
	lines, t := hg.PriceLines(in, copay)
	id, number := g.id(created), numbers.take(created)
	b.invoices = append(b.invoices, []any{id, number, pt.id, coverageID, string(hg.InvoiceDraft), copay,
		t.Net, t.VAT, t.Total, t.PatientShare, t.InsurerShare, 0, nil, "", created, created})
	for _, l := range lines {
		b.invoiceLines = append(b.invoiceLines, []any{id, l.Sequence, string(l.CodeSystem), l.ServiceCode, l.Description, l.Quantity,
			l.UnitPrice, l.Net, l.VAT, l.Total, l.PatientShare, l.InsurerShare})
	}
	st, ok := g.invoiceState(b, id, t, cov != nil, created)
	if !ok {
		return
	}
	b.final = append(b.final, st)
	if cov != nil && st.status != hg.InvoiceVoid {
		g.addClaim(b, claimed{invoiceID: id, invoiceNumber: number, invoiceCreated: created, patientID: pt.id, cov: cov,
			lines: lines, total: t.Total}, *st.issuedAt)
	}
}

func (g *gen) serviceLine(s service) hg.NewInvoiceLine {
	return hg.NewInvoiceLine{CodeSystem: s.system, ServiceCode: s.code, Description: s.description, Quantity: 1, UnitPrice: s.price}
}

// invoiceState picks how far an invoice got and writes its payment; false
// when it is still a DRAFT.
func (g *gen) invoiceState(b *batch, id uuid.UUID, t hg.InvoiceTotals, covered bool, created time.Time) (invoiceState, bool) {
	if g.now.Sub(created) < 24*time.Hour && g.chance(0.3) {
		return invoiceState{}, false
	}
	if g.chance(0.03) {
		return invoiceState{id: id, status: hg.InvoiceVoid, voidReason: pick(g, voidReasons), updatedAt: g.later(created, 2*time.Hour)}, true
	}
	issued := g.later(created, 30*time.Minute)
	s := invoiceState{id: id, status: hg.InvoiceIssued, issuedAt: &issued, updatedAt: issued}
	paidShare, partShare := 0.85, 0.05
	if covered {
		paidShare, partShare = 0.65, 0.1
	}
	switch r := g.rng.Float64(); {
	case t.PatientShare == 0: // nothing to pay: issuing settles it
		s.status = hg.InvoicePaid
		return s, true
	case r < paidShare || t.PatientShare == 1:
		s.status, s.paid = hg.InvoicePaid, t.PatientShare
	case r < paidShare+partShare:
		s.status, s.paid = hg.InvoicePartiallyPaid, t.PatientShare/2
	default:
		return s, true
	}
	s.updatedAt = g.later(issued, 3*24*time.Hour)
	method := pick(g, paymentMethods)
	ref := ""
	if method != hg.PaymentCash {
		ref = fmt.Sprintf("AUTH-%08d", g.rng.IntN(100_000_000))
	}
	b.payments = append(b.payments, []any{g.id(s.updatedAt), id, s.paid, string(method), ref, s.updatedAt})
	return s, true
}

// Claim outcomes as the payer's adjudication codes them (nphies and its
// mock use the same).
const (
	outcomeApproved = "approved"
	outcomePartial  = "partial"
	outcomeRejected = "rejected"
	reasonPartial   = "BE-1-3"
	reasonRejected  = "CV-1-4"
)

// claimStatus picks a claim's state from its age: young claims are still
// on their way, old ones mostly decided.
func (g *gen) claimStatus(age time.Duration) hg.ClaimStatus {
	if s, ok := g.plannedClaimStatus(age); ok {
		return s
	}
	type share struct {
		s hg.ClaimStatus
		p float64
	}
	mix := []share{{hg.ClaimPending, 0.06}, {hg.ClaimApproved, 0.60}, {hg.ClaimPartial, 0.15},
		{hg.ClaimRejected, 0.12}, {hg.ClaimError, 0.04}, {hg.ClaimCancelled, 0.03}}
	switch {
	case age < time.Hour:
		mix = []share{{hg.ClaimQueued, 0.3}, {hg.ClaimSubmitted, 0.3}, {hg.ClaimPending, 0.4}}
	case age < 3*24*time.Hour:
		mix = []share{{hg.ClaimSubmitted, 0.05}, {hg.ClaimPending, 0.35}, {hg.ClaimApproved, 0.4},
			{hg.ClaimPartial, 0.1}, {hg.ClaimRejected, 0.08}, {hg.ClaimError, 0.02}}
	}
	r := g.rng.Float64()
	for _, m := range mix {
		if r < m.p {
			return m.s
		}
		r -= m.p
	}
	return mix[len(mix)-1].s
}

// plannedClaimStatus takes the next status g.claimPlan still owes, when
// one fits a claim of this age: young claims take the ones still on their
// way (DRAFT, QUEUED, SUBMITTED), older ones the rest.
func (g *gen) plannedClaimStatus(age time.Duration) (hg.ClaimStatus, bool) {
	young := age < 3*24*time.Hour
	for i, s := range g.claimPlan {
		if onTheWay := s == hg.ClaimDraft || s == hg.ClaimQueued || s == hg.ClaimSubmitted; onTheWay == young {
			g.claimPlan = slices.Delete(g.claimPlan, i, i+1)
			return s, true
		}
	}
	return "", false
}

// addClaim claims an issued invoice's insurer share, with its items, the
// payer's adjudication when decided and the status history that led there.
func (g *gen) addClaim(b *batch, c claimed, issued time.Time) {
	invoiceID, cov, lines, total := c.invoiceID, c.cov, c.lines, c.total
	created := g.later(issued, 2*time.Hour)
	id := g.id(created)
	status := g.claimStatus(g.now.Sub(created))
	decided := status == hg.ClaimApproved || status == hg.ClaimPartial || status == hg.ClaimRejected
	var approved *hg.Halalas
	if decided {
		approved = new(hg.Halalas)
	}
	for i, l := range lines {
		var itemApproved *hg.Halalas
		outcome, reasons := "", []string{}
		if decided {
			a, o, r := adjudicate(status, i, l.Total, l.PatientShare)
			itemApproved, outcome, reasons = &a, o, r
			*approved += a
		}
		b.claimItems = append(b.claimItems, []any{id, l.Sequence, string(l.CodeSystem), l.ServiceCode, l.Description, l.Quantity, l.UnitPrice,
			l.VAT, l.Total, l.PatientShare, itemApproved, outcome, reasons})
	}
	lastErr, refused, disposition, responseKey := "", false, "", ""
	if status == hg.ClaimError {
		refused = g.chance(0.5)
		lastErr = "delivery to NPHIES failed after 8 attempts: connection timed out"
		if refused {
			lastErr = "NPHIES refused the claim: GE-00013"
		}
	}
	if decided || status == hg.ClaimPending {
		responseKey = fmt.Sprintf("http://%s.payer.example/claimresponse|%s", cov.payer.license, id)
	}
	if decided {
		disposition = map[hg.ClaimStatus]string{hg.ClaimApproved: "Claim approved in full",
			hg.ClaimPartial: "Claim partially approved", hg.ClaimRejected: "Claim rejected: service not covered"}[status]
	}
	steps := len(b.claimHistory)
	updated := g.addClaimHistory(b, id, status, lastErr, created)
	b.claims = append(b.claims, []any{id, string(hg.UseClaim), invoiceID, c.patientID, cov.id, cov.payer.license, cov.payer.name,
		string(status), total, approved, disposition, lastErr, refused, responseKey, created, updated,
		nil, nil}) // the practitioner and the visit: billVisit names them
	c.id, c.status, c.refused, c.created, c.updated = id, status, refused, created, updated
	for _, h := range b.claimHistory[steps:] {
		c.history = append(c.history, claimStep{hg.ClaimStatus(h[1].(string)), h[3].(time.Time)})
	}
	b.claimed = append(b.claimed, c)
}

// adjudicate decides item i of a claim the way the NPHIES mock does: all
// approved (the insurer share), all rejected, or for a partial claim the
// first item half-approved and the rest alternately approved and rejected.
func adjudicate(s hg.ClaimStatus, i int, net, patientShare hg.Halalas) (hg.Halalas, string, []string) {
	switch {
	case s == hg.ClaimRejected || (s == hg.ClaimPartial && i > 0 && i%2 == 0):
		return 0, outcomeRejected, []string{reasonRejected}
	case s == hg.ClaimPartial && i == 0:
		eligible := net / 2
		return eligible - min(patientShare, eligible), outcomePartial, []string{reasonPartial}
	}
	return net - patientShare, outcomeApproved, []string{}
}

// addClaimHistory writes the steps a claim of status s went through from
// created, and returns when the last happened.
func (g *gen) addClaimHistory(b *batch, id uuid.UUID, s hg.ClaimStatus, lastErr string, created time.Time) time.Time {
	at := created
	step := func(st hg.ClaimStatus, note string, within time.Duration) {
		if within > 0 {
			at = g.later(at, within)
		}
		b.claimHistory = append(b.claimHistory, []any{id, string(st), note, at})
	}
	if s == hg.ClaimDraft {
		step(hg.ClaimDraft, "prepared; not yet sent", 0)
		return at
	}
	step(hg.ClaimQueued, "queued for NPHIES", 0)
	switch s {
	case hg.ClaimQueued:
		return at
	case hg.ClaimError:
		step(hg.ClaimError, lastErr, time.Hour)
		return at
	}
	step(hg.ClaimSubmitted, "delivered to NPHIES", 10*time.Minute)
	switch s {
	case hg.ClaimSubmitted:
	case hg.ClaimCancelled:
		step(hg.ClaimSubmitted, "cancellation requested", 48*time.Hour)
		step(hg.ClaimCancelled, "payer decision: CANCELLED", time.Hour)
	case hg.ClaimPending:
		step(hg.ClaimPending, "queued at the payer; the answer comes by polling", time.Minute)
	default:
		if g.chance(0.4) {
			step(hg.ClaimPending, "queued at the payer; the answer comes by polling", time.Minute)
		}
		step(s, "payer decision: "+string(s), 72*time.Hour)
	}
	return at
}
