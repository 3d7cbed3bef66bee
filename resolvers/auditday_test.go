package resolvers_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
	"github.com/healthgraph/healthgraph/server/servertest"
)

// staff is one person working through the API: an account and its token.
type staff struct {
	user  *hg.User
	token string
}

// audited is one audit row the ledger expects: who did action to which
// entity of which patient.
type audited struct {
	actor      uuid.UUID
	role       hg.Role
	action     string
	entityType string
	entity     uuid.UUID
	patient    uuid.UUID
}

func (a audited) String() string {
	return fmt.Sprintf("%s %s %s %s:%s patient %s", a.role, a.actor, a.action, a.entityType, a.entity, a.patient)
}

// row is the part of an expected audit row the script knows when it acts;
// the actor is whoever acts.
type row struct {
	action, entityType string
	entity, patient    uuid.UUID
}

// on is the audit row of an action on entity of type typ, for patient.
func on(action, typ string, entity, patient uuid.UUID) row {
	return row{action, typ, entity, patient}
}

// aboutPatient is the audit row of an action on a patient as a whole, such
// as reading their chart.
func aboutPatient(action string, patient uuid.UUID) row {
	return row{action, "Patient", patient, patient}
}

// clinicDay runs a day of clinic work through the real server and keeps its
// own ledger of every read and change of PHI it made, written from what
// each step does to whom rather than from the resolvers' code.
type clinicDay struct {
	t      *testing.T
	env    *servertest.Env
	ledger []audited
	// refusals counts each actor's refused attempts by action and code.
	refusals map[refusedAttempt]int
}

// refusedAttempt is what the trail counts of a refused attempt.
type refusedAttempt struct {
	actor        uuid.UUID
	action, code string
}

// ok performs query as who, expects success, decodes the answer into out
// (when not nil) and books the audit rows the step must leave.
func (d *clinicDay) ok(who staff, query string, vars map[string]any, out any, rows ...row) {
	d.t.Helper()
	if out == nil {
		out = &struct{}{}
	}
	d.env.Do(d.t, who.token, query, vars).Decode(d.t, out)
	d.expect(who, rows...)
}

// expect books audit rows for a step whose subject is known only from its
// answer.
func (d *clinicDay) expect(who staff, rows ...row) {
	for _, r := range rows {
		d.ledger = append(d.ledger, audited{who.user.ID, who.user.Role, r.action, r.entityType, r.entity, r.patient})
	}
}

// refused performs query as who and expects it refused with code on
// action (Type.field); it books no audit event, since a refused read
// discloses nothing, but counts the attempt, which the trail must count.
func (d *clinicDay) refused(who staff, action, code, query string, vars map[string]any) {
	d.t.Helper()
	if got := d.env.Do(d.t, who.token, query, vars).Code(); got != code {
		d.t.Fatalf("%s %s: code %q, want %q", who.user.Role, firstLine(query), got, code)
	}
	if d.refusals == nil {
		d.refusals = map[refusedAttempt]int{}
	}
	d.refusals[refusedAttempt{who.user.ID, action, code}]++
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// rawID decodes a global ID from an answer.
func rawID(t *testing.T, global string) uuid.UUID {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(global)
	_, id, ok := strings.Cut(string(raw), ":")
	u, err2 := uuid.Parse(id)
	if err != nil || !ok || err2 != nil {
		t.Fatalf("not a global ID: %q", global)
	}
	return u
}

// The day's operations.
const (
	qPatient       = `query($id: ID!) { patient(id: $id) { firstName phone coverages { memberId } } }`
	qChart         = `query($id: ID!) { patient(id: $id) { firstName latestRecords { body } upcomingAppointments { startsAt } } }`
	qRecords       = `query($id: ID!) { medicalRecords(patientId: $id, filter: {includeSuperseded: true}) { totalCount edges { node { body } } } }`
	qNode          = `query($id: ID!) { node(id: $id) { id } }`
	qNodeVisit     = `query($id: ID!) { node(id: $id) { ... on Appointment { startsAt patient { firstName phone } } } }`
	qEligibility   = `query($id: ID!) { eligibilityChecks(patientId: $id) { status } }`
	qInvoice       = `query($id: ID!) { invoice(id: $id) { number total { amount } patientShare { amount } } }`
	qClaim         = `query($id: ID!) { claim(id: $id) { status messages { body } } }`
	qSearch        = `query($s: String!) { patients(filter: {search: $s}) { edges { node { id phone } } } }`
	qDay           = `query($d: ID!) { appointments(filter: {practitionerId: $d}) { edges { node { id patient { firstName } } } } }`
	qMyVisits      = `{ appointments { edges { node { id startsAt } } } }`
	qClaims        = `{ claims { edges { node { id status } } } }`
	qInvoices      = `{ invoices { edges { node { id number } } } }`
	mCreatePatient = `mutation($in: CreatePatientInput!) { createPatient(input: $in) { id } }`
	mUpdatePatient = `mutation($id: ID!, $in: UpdatePatientInput!) { updatePatient(id: $id, input: $in) { id } }`
	mAddCoverage   = `mutation($in: AddCoverageInput!) { addCoverage(input: $in) { id } }`
	mBook          = `mutation($in: BookAppointmentInput!) { bookAppointment(input: $in) { id } }`
	mStatus        = `mutation($id: ID!, $s: AppointmentStatus!) { updateAppointmentStatus(id: $id, status: $s) { id } }`
	mAddRecord     = `mutation($in: AddMedicalRecordInput!) { addMedicalRecord(input: $in) { id } }`
	mAmendRecord   = `mutation($id: ID!, $in: AmendMedicalRecordInput!) { amendMedicalRecord(id: $id, input: $in) { id } }`
	mBreakGlass    = `mutation($id: ID!) { breakGlass(patientId: $id, reason: "Collapsed in the waiting room, unresponsive") { id } }`
	mCreateInvoice = `mutation($in: CreateInvoiceInput!) { createInvoice(input: $in) { id patientShare { amount } } }`
	mIssueInvoice  = `mutation($id: ID!) { issueInvoice(id: $id) { id } }`
	mPayment       = `mutation($id: ID!, $a: String!) { recordPayment(input: {invoiceId: $id, amount: $a, method: CARD}) { id } }`
	mSubmitClaim   = `mutation($in: SubmitClaimInput!) { submitClaim(input: $in) { id } }`
	qAggregates    = `query($f: Time!, $t: Time!) {
		claimsSummary(from: $f, to: $t, groupBy: PAYER) { key }
		revenueSummary(from: $f, to: $t, groupBy: DAY) { key }
		appointmentUtilization(from: $f, to: $t, groupBy: DAY) { key } }`
)

type idOut struct{ ID string }

// TestAuditTrailAccountsForADayOfClinicWork runs reception, a practitioner,
// an emergency practitioner, billing, a patient and an analyst through a
// day, then expects the audit trail, read one row per entity an event
// names (audit_disclosures), to hold exactly the day's ledger: one row
// per PHI read or change, with actor, role, action, entity and patient, and
// no row for the reads that were refused.
func TestAuditTrailAccountsForADayOfClinicWork(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.New(t)
	d := &clinicDay{t: t, env: env}

	person := func(email string, role hg.Role) staff {
		u, tok := env.User(t, email, role)
		return staff{u, tok}
	}
	reception, billing, analyst := person("desk@clinic.example", hg.RoleReception),
		person("billing@clinic.example", hg.RoleBilling), person("analyst@clinic.example", hg.RoleAnalyst)
	doctor, erDoctor := person("dr.huda@clinic.example", hg.RolePractitioner), person("dr.omar@clinic.example", hg.RolePractitioner)
	amalLogin := person("amal@mail.example", hg.RolePatient)
	practitioner := func(s staff, license string) uuid.UUID {
		p, err := env.DB.CreatePractitioner(ctx, hg.NewPractitioner{UserID: s.user.ID, FirstName: "Huda", FamilyName: "Alqahtani",
			SpecialtyCode: "08.00", Specialty: "Internal Medicine", License: license})
		if err != nil {
			t.Fatal(err)
		}
		return p.ID
	}
	doctorID := practitioner(doctor, "L-100")
	practitioner(erDoctor, "L-200")
	// Amal is a returning patient with her own login; Badr was registered
	// long ago and has no appointment with anyone today.
	returning := func(nid, first string, user *uuid.UUID) uuid.UUID {
		p, err := env.DB.CreatePatient(ctx, hg.NewPatient{NationalID: nid, FirstName: first, FamilyName: "Alghamdi",
			BirthDate: time.Date(1975, 3, 9, 0, 0, 0, 0, time.UTC), Gender: hg.GenderFemale, UserID: user})
		if err != nil {
			t.Fatal(err)
		}
		return p.ID
	}
	amal, badr := returning("1000000101", "Amal", &amalLogin.user.ID), returning("1000000102", "Badr", nil)

	before := auditIDs(t, env)
	today := hg.DateOf(time.Now())
	slot := time.Now().Add(2 * time.Hour).Truncate(time.Hour)

	// Reception registers a new patient, updates his phone, records Amal's
	// insurance card, books both and checks Amal in.
	var created struct{ CreatePatient idOut }
	d.ok(reception, mCreatePatient, map[string]any{"in": map[string]any{"nationalId": "2000000103", "firstName": "Khalid",
		"familyName": "Alotaibi", "birthDate": "1990-07-14", "gender": "MALE"}}, &created)
	khalid := rawID(t, created.CreatePatient.ID)
	d.expect(reception, on("patient.created", "Patient", khalid, khalid))
	d.ok(reception, mUpdatePatient, map[string]any{"id": gid("Patient", khalid), "in": map[string]any{"phone": "+966500000103"}}, nil,
		aboutPatient("patient.updated", khalid))
	var cov struct{ AddCoverage idOut }
	d.ok(reception, mAddCoverage, map[string]any{"in": map[string]any{"patientId": gid("Patient", amal), "payerLicense": "7001463160", "memberIdSystem": "http://payer.example/memberid", "class": "A",
		"payerName": "Bupa Arabia", "memberId": "M-101", "policyNumber": "POL-7", "startsOn": today.AddDate(0, -1, 0).Format(time.DateOnly),
		"endsOn": today.AddDate(1, 0, 0).Format(time.DateOnly)}}, &cov)
	coverage := rawID(t, cov.AddCoverage.ID)
	d.expect(reception, on("coverage.added", "Coverage", coverage, amal))
	book := func(patient uuid.UUID, start time.Time) uuid.UUID {
		var out struct{ BookAppointment idOut }
		d.ok(reception, mBook, map[string]any{"in": map[string]any{"patientId": gid("Patient", patient),
			"practitionerId": gid("Practitioner", doctorID), "startsAt": start.Format(time.RFC3339),
			"endsAt": start.Add(30 * time.Minute).Format(time.RFC3339)}}, &out)
		id := rawID(t, out.BookAppointment.ID)
		d.expect(reception, on("appointment.booked", "Appointment", id, patient))
		return id
	}
	amalVisit := book(amal, slot)
	khalidVisit := book(khalid, slot.Add(time.Hour))
	// Listed pages are audited item by item.
	d.ok(reception, qSearch, map[string]any{"s": "Amal"}, nil, aboutPatient("patient.list", amal))
	d.ok(reception, qDay, map[string]any{"d": gid("Practitioner", doctorID)}, nil,
		on("appointment.list", "Appointment", amalVisit, amal), on("appointment.list", "Appointment", khalidVisit, khalid))
	d.ok(reception, qPatient, map[string]any{"id": gid("Patient", amal)}, nil, aboutPatient("patient.read", amal))
	d.ok(reception, qNodeVisit, map[string]any{"id": gid("Appointment", amalVisit)}, nil,
		on("appointment.read", "Appointment", amalVisit, amal))
	d.ok(reception, qEligibility, map[string]any{"id": gid("Patient", amal)}, nil, aboutPatient("eligibility.read", amal))
	d.ok(reception, mStatus, map[string]any{"id": gid("Appointment", amalVisit), "s": "CHECKED_IN"}, nil,
		on("appointment.status_changed", "Appointment", amalVisit, amal))
	d.refused(reception, "Query.medicalRecords", hg.EFORBIDDEN, qRecords, map[string]any{"id": gid("Patient", amal)})

	// The practitioner opens Amal's chart, writes a diagnosis, corrects it,
	// reviews the history and one version, and completes the visit.
	d.ok(doctor, qChart, map[string]any{"id": gid("Patient", amal)}, nil,
		aboutPatient("patient.read", amal), aboutPatient("records.read", amal))
	var added struct{ AddMedicalRecord idOut }
	d.ok(doctor, mAddRecord, map[string]any{"in": map[string]any{"patientId": gid("Patient", amal), "kind": "DIAGNOSIS",
		"codes": []string{"I10"}, "body": "Essential hypertension"}}, &added)
	first := rawID(t, added.AddMedicalRecord.ID)
	d.expect(doctor, on("record.added", "MedicalRecord", first, amal))
	var amended struct{ AmendMedicalRecord idOut }
	d.ok(doctor, mAmendRecord, map[string]any{"id": gid("MedicalRecord", first), "in": map[string]any{"codes": []string{"I11.9"},
		"body": "Hypertensive heart disease"}}, &amended)
	second := rawID(t, amended.AmendMedicalRecord.ID)
	d.expect(doctor, on("record.amended", "MedicalRecord", second, amal))
	d.ok(doctor, qRecords, map[string]any{"id": gid("Patient", amal)}, nil, aboutPatient("records.read", amal))
	d.ok(doctor, qNode, map[string]any{"id": gid("MedicalRecord", first)}, nil, aboutPatient("records.read", amal))
	for _, in := range findingsInputs(gid("Appointment", amalVisit), fullVitals()) {
		d.ok(doctor, recordFindingsMut, map[string]any{"in": in}, nil)
	}
	versions, _ := env.DB.Pool.Query(ctx, `SELECT id FROM visit_findings WHERE appointment_id = $1 ORDER BY version`, amalVisit)
	findings, err := pgx.CollectRows(versions, pgx.RowTo[uuid.UUID])
	if err != nil || len(findings) != 2 {
		t.Fatalf("findings recorded: %v %v, want two versions", findings, err)
	}
	for _, f := range findings {
		d.expect(doctor, on("visit.findings.recorded", "VisitFindings", f, amal))
	}
	d.ok(doctor, mStatus, map[string]any{"id": gid("Appointment", amalVisit), "s": "COMPLETED"}, nil,
		on("appointment.status_changed", "Appointment", amalVisit, amal))
	// The visit took place before it is claimed (its services may not be
	// dated after the claim, BV-00061); it was booked ahead, as the API
	// books, so it is moved back.
	if _, err := pgtest.Happened(ctx, env.DB, amalVisit, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	d.refused(doctor, "Query.patient", hg.ENOTFOUND, qPatient, map[string]any{"id": gid("Patient", badr)})
	d.refused(doctor, "Query.medicalRecords", hg.ENOTFOUND, qRecords, map[string]any{"id": gid("Patient", badr)})

	// Badr collapses: a practitioner with no relationship to him is refused,
	// breaks the glass with a reason, then reads his chart.
	d.refused(erDoctor, "Query.medicalRecords", hg.ENOTFOUND, qRecords, map[string]any{"id": gid("Patient", badr)})
	d.ok(erDoctor, mBreakGlass, map[string]any{"id": gid("Patient", badr)}, nil, aboutPatient("patient.break_glass", badr))
	d.ok(erDoctor, qPatient, map[string]any{"id": gid("Patient", badr)}, nil, aboutPatient("patient.read", badr))
	d.ok(erDoctor, qRecords, map[string]any{"id": gid("Patient", badr)}, nil, aboutPatient("records.read", badr))
	d.refused(erDoctor, "Query.patient", hg.ENOTFOUND, qPatient, map[string]any{"id": gid("Patient", amal)})
	d.refused(reception, "Mutation.breakGlass", hg.EFORBIDDEN, mBreakGlass, map[string]any{"id": gid("Patient", amal)})

	// Billing invoices the visit, issues the invoice, looks at it, claims
	// the insurer's share, looks at the claim and takes Amal's co-pay.
	var inv struct {
		CreateInvoice struct {
			ID           string
			PatientShare struct{ Amount string }
		}
	}
	d.ok(billing, mCreateInvoice, map[string]any{"in": map[string]any{"patientId": gid("Patient", amal),
		"coverageId": gid("Coverage", coverage), "lines": []map[string]any{
			{"itemId": env.CatalogueItem(t, hg.NewCatalogueItem{System: hg.SystemServices, Code: "83600-00-10", Display: "Consultation", UnitPrice: 30000}), "quantity": 1}}}}, &inv)
	invoice := rawID(t, inv.CreateInvoice.ID)
	d.expect(billing, on("invoice.created", "Invoice", invoice, amal))
	d.ok(billing, mIssueInvoice, map[string]any{"id": gid("Invoice", invoice)}, nil, on("invoice.issued", "Invoice", invoice, amal))
	d.ok(billing, qInvoice, map[string]any{"id": gid("Invoice", invoice)}, nil, on("invoice.read", "Invoice", invoice, amal))
	var sub struct{ SubmitClaim idOut }
	d.ok(billing, mSubmitClaim, map[string]any{"in": map[string]any{"invoiceId": gid("Invoice", invoice),
		"practitionerId": gid("Practitioner", doctorID), "appointmentId": gid("Appointment", amalVisit), "diagnoses": []string{"I11.9"}}}, &sub)
	claim := rawID(t, sub.SubmitClaim.ID)
	d.expect(billing, on("claim.queued", "Claim", claim, amal))
	d.ok(billing, qClaim, map[string]any{"id": gid("Claim", claim)}, nil, on("claim.read", "Claim", claim, amal))
	d.ok(billing, mPayment, map[string]any{"id": gid("Invoice", invoice), "a": inv.CreateInvoice.PatientShare.Amount}, nil,
		on("invoice.payment_recorded", "Invoice", invoice, amal))
	d.ok(billing, qClaims, nil, nil, on("claim.list", "Claim", claim, amal))
	d.ok(billing, qInvoices, nil, nil, on("invoice.list", "Invoice", invoice, amal))
	d.refused(billing, "Query.medicalRecords", hg.EFORBIDDEN, qRecords, map[string]any{"id": gid("Patient", amal)})
	d.refused(billing, "Query.node", hg.EFORBIDDEN, qNode, map[string]any{"id": gid("MedicalRecord", first)})

	// Amal reads her own chart and invoice at home, and cannot read Khalid's.
	d.ok(amalLogin, qChart, map[string]any{"id": gid("Patient", amal)}, nil,
		aboutPatient("patient.read", amal), aboutPatient("records.read", amal))
	d.ok(amalLogin, qInvoice, map[string]any{"id": gid("Invoice", invoice)}, nil, on("invoice.read", "Invoice", invoice, amal))
	d.ok(amalLogin, qMyVisits, nil, nil, on("appointment.list", "Appointment", amalVisit, amal))
	d.refused(amalLogin, "Query.patient", hg.ENOTFOUND, qPatient, map[string]any{"id": gid("Patient", khalid)})
	d.refused(amalLogin, "Query.medicalRecords", hg.ENOTFOUND, qRecords, map[string]any{"id": gid("Patient", khalid)})

	// The analyst reads aggregates, which name no patient, and is refused
	// anything that does.
	d.ok(analyst, qAggregates, map[string]any{"f": slot.Add(-48 * time.Hour).Format(time.RFC3339),
		"t": slot.Add(48 * time.Hour).Format(time.RFC3339)}, nil)
	d.refused(analyst, "Query.patient", hg.EFORBIDDEN, qPatient, map[string]any{"id": gid("Patient", amal)})
	d.refused(analyst, "Query.medicalRecords", hg.EFORBIDDEN, qRecords, map[string]any{"id": gid("Patient", amal)})
	d.refused(analyst, "Query.invoice", hg.EFORBIDDEN, qInvoice, map[string]any{"id": gid("Invoice", invoice)})

	got := auditRowsSince(t, env, before)
	if missing, extra := diffLedger(d.ledger, got); len(missing)+len(extra) > 0 {
		t.Fatalf("audit trail does not match the day's ledger (%d expected, %d written)\nmissing:\n%s\nunexpected:\n%s",
			len(d.ledger), len(got), strings.Join(missing, "\n"), strings.Join(extra, "\n"))
	}
	counted := map[refusedAttempt]int{}
	rows, err := env.DB.Pool.Query(ctx, `SELECT actor_id, action, code, sum(attempts) FROM audit_refusals GROUP BY 1, 2, 3`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var r refusedAttempt
		var n int
		if err := rows.Scan(&r.actor, &r.action, &r.code, &n); err != nil {
			t.Fatal(err)
		}
		counted[r] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(counted, d.refusals) {
		t.Errorf("refused attempts counted %v, want the day's %v", counted, d.refusals)
	}
	if n := env.Count(t, `SELECT count(*) FROM audit_events WHERE ip = '' AND NOT id = ANY($1)`, slices.Collect(maps.Keys(before))); n != 0 {
		t.Errorf("%d of the day's audit rows lack the client's IP", n)
	}
}

// auditIDs returns the ids of the audit rows written so far.
func auditIDs(t *testing.T, env *servertest.Env) map[uuid.UUID]bool {
	t.Helper()
	rows, err := env.DB.Pool.Query(context.Background(), `SELECT id FROM audit_events`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	ids := map[uuid.UUID]bool{}
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids[id] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// auditRowsSince returns the audit rows not in before, one per entity
// disclosed (a listed page is one event naming many).
func auditRowsSince(t *testing.T, env *servertest.Env, before map[uuid.UUID]bool) []audited {
	t.Helper()
	rows, err := env.DB.Pool.Query(context.Background(), `SELECT id, coalesce(actor_id, '00000000-0000-0000-0000-000000000000'),
		actor_role, action, entity_type, coalesce(entity_id, '00000000-0000-0000-0000-000000000000'),
		coalesce(patient_id, '00000000-0000-0000-0000-000000000000') FROM audit_disclosures ORDER BY created_at`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []audited
	for rows.Next() {
		var id uuid.UUID
		var a audited
		if err := rows.Scan(&id, &a.actor, &a.role, &a.action, &a.entityType, &a.entity, &a.patient); err != nil {
			t.Fatal(err)
		}
		if !before[id] {
			out = append(out, a)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// diffLedger compares two multisets of audit rows and describes the rows
// only want holds (missing) and only got holds (extra).
func diffLedger(want, got []audited) (missing, extra []string) {
	count := map[audited]int{}
	for _, a := range want {
		count[a]++
	}
	for _, a := range got {
		count[a]--
	}
	for a, n := range count {
		for ; n > 0; n-- {
			missing = append(missing, "  "+a.String())
		}
		for ; n < 0; n++ {
			extra = append(extra, "  "+a.String())
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	return missing, extra
}
