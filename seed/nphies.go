package seed

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/nphies/mock"
)

// DefaultClinic is the provider identity demo bundles are built with when
// Options.Clinic is not set: the service's default.
var DefaultClinic = nphies.Builder{ProviderLicense: "PR-FHIR", ProviderName: "HealthGraph Clinic", BaseURL: "http://localhost:8080",
	ProviderType: "5"}

var messagesTable = table{"nphies_messages", []string{"id", "claim_id", "direction", "event", "bundle_id", "message_header_id",
	"in_response_to", "body", "delivery", "attempts", "next_attempt_at", "sent_at", "http_status", "last_error", "created_at",
	"eligibility_check_id"}}

// exchange answers demo bundles with the mock NPHIES in process, so the
// stored responses are the ones the mock (and the outbox behind it) would
// have received, with the claim's scripted outcome.
type exchange struct {
	clinic *nphies.Builder
	mock   *mock.Server
	at     time.Time
	rows   [][]any
	// checks are the eligibility checks asked, written before rows.
	checks [][]any
	// decided are the claims the payer decided, with their bundles.
	decided []decidedClaim
	// queued are the messages of the claims still QUEUED, written last.
	queued [][]any
}

// owner is what a message belongs to: a claim or an eligibility check.
type owner struct{ claim, check *uuid.UUID }

func newExchange(clinic *nphies.Builder, seed uint64) *exchange {
	x := &exchange{clinic: clinic}
	x.mock = mock.New(mock.Options{Seed: seed | 1, Now: func() time.Time { return x.at }})
	return x
}

// outcomes maps a claim's final status to the mock outcome that answers
// it; PENDING and CANCELLED claims were queued at the payer first.
var outcomes = map[hg.ClaimStatus]mock.Outcome{
	hg.ClaimPending: mock.OutcomeQueued, hg.ClaimCancelled: mock.OutcomeQueued, hg.ClaimApproved: mock.OutcomeApproved,
	hg.ClaimPartial: mock.OutcomePartial, hg.ClaimRejected: mock.OutcomeRejected, hg.ClaimError: mock.OutcomeError,
}

// claim writes a claim's messages as the outbox would have left them: the
// claim bundle (PENDING while QUEUED, FAILED after a transport error, SENT
// otherwise), the answer received, and for a cancelled claim the cancel
// request and its answer. A DRAFT claim has none: it was never sent.
func (x *exchange) claim(g *gen, c claimed, p parties) error {
	if c.status == hg.ClaimDraft {
		return nil
	}
	msg, err := x.clinic.BuildClaim(claimInput(g, c, p))
	if err != nil {
		return fmt.Errorf("build demo claim bundle: %w", err)
	}
	sent := c.created.Add(time.Second)
	out, of := g.id(c.created), owner{claim: &c.id}
	switch {
	case c.status == hg.ClaimQueued:
		x.out(out, of, msg, hg.DeliveryPending, 0, &c.created, nil, 0, "", c.created)
		// Into the outbox after the settlement, whose worker would send it.
		x.queued, x.rows = append(x.queued, x.rows[len(x.rows)-1]), x.rows[:len(x.rows)-1]
		return nil
	case c.status == hg.ClaimError && !c.refused:
		x.out(out, of, msg, hg.DeliveryFailed, 8, nil, nil, 0, "connection timed out", c.created)
		return nil
	}
	x.out(out, of, msg, hg.DeliverySent, 1, nil, &sent, http.StatusOK, "", c.created)
	if c.status == hg.ClaimSubmitted {
		return nil // delivered; the answer has not come yet
	}
	if _, err := x.answer(g, out, of, msg, outcomes[c.status], sent); err != nil {
		return err
	}
	if c.status.Final() && c.status != hg.ClaimCancelled {
		x.decided = append(x.decided, decidedClaim{c, msg.Body})
	}
	if c.status != hg.ClaimCancelled {
		return nil
	}
	at := cancelRequested(c)
	cancel, err := x.clinic.BuildCancel(nphies.TaskInput{Envelope: envelope(g, at), TaskID: g.id(at), Created: at,
		Payer: nphies.Payer{License: c.cov.payer.license, Name: c.cov.payer.name}, Claim: x.clinic.ClaimIdentifier(c.id)})
	if err != nil {
		return fmt.Errorf("build demo cancel bundle: %w", err)
	}
	cancelID := g.id(at)
	x.out(cancelID, of, cancel, hg.DeliverySent, 1, nil, &at, http.StatusOK, "", at)
	_, err = x.answer(g, cancelID, of, cancel, "", at)
	return err
}

// answer sends msg to the mock at at and stores its answer as received.
func (x *exchange) answer(g *gen, out uuid.UUID, of owner, msg *nphies.Message, o mock.Outcome, at time.Time) (*nphies.Response, error) {
	x.at = at
	req := httptest.NewRequest(http.MethodPost, "/$process-message", bytes.NewReader(msg.Body))
	req.Header.Set("Content-Type", "application/fhir+json")
	if o != "" {
		req.Header.Set(mock.HeaderOutcome, string(o))
	}
	rec := httptest.NewRecorder()
	x.mock.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return nil, fmt.Errorf("the mock NPHIES answered a demo %s with %d", msg.Event, rec.Code)
	}
	resp, err := nphies.Parse(rec.Body.Bytes())
	if err != nil {
		return nil, fmt.Errorf("read the mock's answer to a demo %s: %w", msg.Event, err)
	}
	x.rows = append(x.rows, []any{g.id(at), of.claim, string(hg.Inbound), resp.Event, resp.BundleID, resp.MessageHeaderID,
		out, resp.Raw, nil, 0, nil, nil, nil, "", at, of.check})
	return resp, nil
}

func (x *exchange) out(id uuid.UUID, of owner, msg *nphies.Message, d hg.DeliveryStatus, attempts int, next, sent *time.Time,
	status int, lastErr string, at time.Time) {
	var httpStatus *int
	if status != 0 {
		httpStatus = &status
	}
	x.rows = append(x.rows, []any{id, of.claim, string(hg.Outbound), msg.Event, msg.BundleID.String(), msg.MessageHeaderID.String(),
		nil, msg.Body, string(d), attempts, next, sent, httpStatus, lastErr, at, of.check})
}

// write copies the eligibility checks, then every message, then links
// each check to its request and response (the two tables refer to each
// other).
func (x *exchange) write(ctx context.Context, tx pgx.Tx) error {
	for _, t := range []struct {
		table
		rows [][]any
	}{{checksTable, x.checks}, {messagesTable, x.rows}} {
		if len(t.rows) == 0 {
			continue
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, pgx.CopyFromRows(t.rows)); err != nil {
			return fmt.Errorf("copy %s: %w", t.name, err)
		}
	}
	_, err := tx.Exec(ctx, `UPDATE eligibility_checks e SET
			request_message_id = (SELECT id FROM nphies_messages m WHERE m.eligibility_check_id = e.id AND m.direction = 'OUT'),
			response_message_id = (SELECT id FROM nphies_messages m WHERE m.eligibility_check_id = e.id AND m.direction = 'IN')
		WHERE e.request_message_id IS NULL`)
	if err != nil {
		return fmt.Errorf("link eligibility messages: %w", err)
	}
	return nil
}

// envelope is a message identity drawn from the seeded source.
func envelope(g *gen, at time.Time) nphies.Envelope {
	return nphies.Envelope{BundleID: g.id(at), MessageHeaderID: g.id(at), Timestamp: at}
}

// parties are the demo records a claim bundle names, looked up from the
// rows the batch wrote.
type parties struct {
	patient      nphies.PatientInput
	coverage     nphies.CoverageInput
	practitioner nphies.PractitionerInput
	diagnoses    []string
}

// claimInput is the claim as nphies.NewClaimMessage would build it from
// the same records, under the demo's own id and envelope.
func claimInput(g *gen, c claimed, p parties) nphies.ClaimInput {
	in := nphies.ClaimInput{
		Envelope: envelope(g, c.created), ClaimID: c.id, Created: c.created, Type: nphies.ClaimTypeProfessional,
		Payer:   nphies.Payer{License: c.cov.payer.license, Name: c.cov.payer.name},
		Patient: p.patient, Coverage: p.coverage, Practitioner: p.practitioner,
		Encounter: &nphies.EncounterInput{ID: c.visit, Start: c.visitStart, End: c.visitEnd, Status: nphies.EncounterFinished},
		EpisodeID: c.invoiceNumber, TotalHalalas: int64(c.total), SupportingInfo: nphies.FindingsInfo(c.findings),
	}
	for _, code := range p.diagnoses {
		in.Diagnoses = append(in.Diagnoses, nphies.DiagnosisInput{Code: code})
	}
	for _, l := range c.lines {
		in.Items = append(in.Items, nphies.ItemInput{Sequence: int64(l.Sequence), ServiceCode: l.ServiceCode,
			System: l.CodeSystem.URL(), Display: l.Description,
			Quantity: int64(l.Quantity), UnitPriceHalalas: int64(l.UnitPrice), TaxHalalas: int64(l.VAT),
			PatientShareHalalas: int64(l.PatientShare), NetHalalas: int64(l.Total), ServicedDate: c.visitStart,
			PatientInvoice: c.invoiceNumber})
	}
	return in
}

// rowIndex finds the rows a batch wrote by their first column, the id.
func rowIndex(rows [][]any) map[uuid.UUID][]any {
	out := make(map[uuid.UUID][]any, len(rows))
	for _, r := range rows {
		out[r[0].(uuid.UUID)] = r
	}
	return out
}

// partiesOf looks up a claim's patient, coverage and practitioner in the
// batch's rows (see patientsTable, coveragesTable, practitionersTable).
func partiesOf(patients, coverages, practitioners map[uuid.UUID][]any, c claimed, practitionerID uuid.UUID, dx []string) parties {
	pt, cv, pr := patients[c.patientID], coverages[c.cov.id], practitioners[practitionerID]
	national := pt[1].(string)
	pat := &hg.Patient{ID: c.patientID, NationalID: national, FirstName: pt[2].(string), FamilyName: pt[3].(string),
		BirthDate: pt[6].(time.Time), Gender: hg.Gender(pt[7].(string)), Phone: pt[8].(string),
		Occupation: hg.Occupation(pt[12].(string)), MaritalStatus: hg.MaritalStatus(pt[13].(string))}
	cov := &hg.Coverage{ID: c.cov.id, MemberID: cv[4].(string), PolicyNumber: cv[5].(string), Class: cv[6].(string),
		MemberIDSystem: cv[11].(string), PlanName: cv[12].(string), Relationship: hg.RelationshipSelf}
	return parties{
		patient:  nphies.PatientOf(pat),
		coverage: nphies.CoverageOf(cov, nil),
		practitioner: nphies.PractitionerInput{ID: practitionerID, License: pr[6].(string), Name: pr[2].(string) + " " + pr[3].(string),
			SpecialtyCode: pr[4].(string)},
		diagnoses: dx,
	}
}
