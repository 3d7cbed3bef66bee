package resolvers_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/graph"
	"github.com/healthgraph/healthgraph/internal/eventually"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
	"github.com/healthgraph/healthgraph/server/servertest"
)

// The authorization matrix: every Query and Mutation field × every role ×
// a target that is the caller's own, related to them, or unrelated.
//
//   - own: patient P1 (a PATIENT's own record; in doctor 1's care through
//     an appointment) and an object doctor 1 owns (his appointment, his
//     record); for account operations the caller's own account.
//   - related: patient P1 again, but an object a colleague (doctor 2)
//     owns; for account operations P1's login.
//   - unrelated: patient P2, in nobody's care but doctor 2's; for account
//     operations a fresh account.
//
// Every case runs over HTTP and again over a graphql-transport-ws socket
// (the query or mutation sent as a subscribe message, as graphql-ws clients
// send it): both must answer as the row says, and alike. Subscription
// fields are rows too, run over the socket only. Every run has its own
// freshly built targets (a "world") inside one shared server, so allowed
// writes cannot disturb other cases and the subtests run in parallel.

// Roles as the matrix names callers; "anonymous" sends no token.
var matrixRoles = []string{"ADMIN", "PRACTITIONER", "RECEPTION", "BILLING", "PATIENT", "ANALYST", "anonymous"}

type target int

const (
	own target = iota
	related
	unrelated
)

var targetNames = [...]string{"own", "related", "unrelated"}

// Expected outcomes, one letter each.
const (
	allowed = '.' // succeeds, no error at all
	passes  = 'p' // passes authorization; the fixture cannot make it succeed (e.g. no NPHIES), any code but a refusal
	forbid  = 'F' // FORBIDDEN
	hidden  = 'N' // NOT_FOUND
	anon    = 'U' // UNAUTHENTICATED
)

var refusals = map[byte]string{forbid: hg.EFORBIDDEN, hidden: hg.ENOTFOUND, anon: hg.EUNAUTHENTICATED}

// matrixOp is one row of the table: a GraphQL field, how to call it on a
// target, and per role what each target must answer (three letters for
// own, related, unrelated; one for an operation without a target).
type matrixOp struct {
	field string // the schema field the row covers
	name  string // distinguishes several rows of one field
	query string
	vars  func(w *world, tg target) map[string]any
	// varsFor, when set instead of vars, makes the variables for the
	// caller's role.
	varsFor func(w *world, tg target, role string) map[string]any
	want    map[string]string
	// freshCaller runs the case as a new account of the role, for
	// operations that end the caller's sessions.
	freshCaller bool
}

// only expects the listed roles to pass on every target and the others to
// be refused with FORBIDDEN (UNAUTHENTICATED when anonymous). n is 3 for a
// targeted operation, 1 for one without a target.
func only(n int, roles ...string) map[string]string {
	want := map[string]string{}
	for _, r := range matrixRoles {
		switch {
		case r == "anonymous":
			want[r] = strings.Repeat(string(anon), n)
		case slices.Contains(roles, r):
			want[r] = strings.Repeat(string(allowed), n)
		default:
			want[r] = strings.Repeat(string(forbid), n)
		}
	}
	return want
}

// ownAccountOnly: administrators reach any account, everyone else only
// their own; another's is NOT_FOUND.
func ownAccountOnly() map[string]string {
	want := only(3, "ADMIN")
	for _, r := range matrixRoles[1:] {
		if r != "anonymous" {
			want[r] = ".NN"
		}
	}
	return want
}

// with overrides some roles' expectations.
func with(want map[string]string, role, codes string) map[string]string {
	want[role] = codes
	return want
}

// matrixFixture is the one server and the callers shared by every case.
type matrixFixture struct {
	env        *servertest.Env
	tokens     map[string]string
	userIDs    map[string]uuid.UUID
	emails     map[string]string
	doc1, doc2 *hg.Practitioner
	base       time.Time
	seq        atomic.Int64
	blocks     atomic.Int64 // two-hour blocks of the calendar handed out
}

func setupMatrix(t *testing.T) *matrixFixture {
	t.Helper()
	ctx := context.Background()
	f := &matrixFixture{env: servertest.New(t), tokens: map[string]string{}, userIDs: map[string]uuid.UUID{}, emails: map[string]string{},
		base: time.Now().Add(7 * 24 * time.Hour).Truncate(24 * time.Hour)}
	for _, r := range []hg.Role{hg.RoleAdmin, hg.RoleReception, hg.RoleBilling, hg.RoleAnalyst, hg.RolePractitioner} {
		u, tok := f.env.User(t, "matrix-"+strings.ToLower(string(r))+"@clinic.example", r)
		f.tokens[string(r)], f.userIDs[string(r)], f.emails[string(r)] = tok, u.ID, u.Email
	}
	doctor := func(userID uuid.UUID, license string) *hg.Practitioner {
		p, err := f.env.DB.CreatePractitioner(ctx, hg.NewPractitioner{UserID: userID, FirstName: "Sara", FamilyName: "Alzahrani",
			SpecialtyCode: "08.00", Specialty: "Internal Medicine", License: license})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	f.doc1 = doctor(f.userIDs["PRACTITIONER"], "L-M1")
	u2, _ := f.env.User(t, "matrix-doctor2@clinic.example", hg.RolePractitioner)
	f.doc2 = doctor(u2.ID, "L-M2")
	return f
}

// block is a two-hour block of the doctors' calendars of its own: the
// calendar takes bookings up to a year ahead, room for 4380 blocks.
func (f *matrixFixture) block() time.Time {
	return f.base.Add(time.Duration(f.blocks.Add(1)) * 2 * time.Hour)
}

// world is the fresh set of targets of one case, and what the case may
// have written, for the check that a refusal wrote nothing.
type world struct {
	t        *testing.T
	f        *matrixFixture
	n        int64
	slot     time.Time // a two-hour block of the doctors' calendars of this world alone
	p1, p2   *hg.Patient
	appt1    *hg.Appointment // P1 with doctor 1: the care relationship
	seen     *hg.Appointment // the completed visit a claim is for
	patient  *hg.User        // P1's login
	patTok   string
	other    *hg.User // the account an accountChanged case watches when unrelated
	patients []uuid.UUID
	users    []uuid.UUID
	emails   []string
	mrns     []string
}

var all = hg.PatientScope{All: true}

func (f *matrixFixture) world(t *testing.T) *world {
	t.Helper()
	n := f.seq.Add(1)
	w := &world{t: t, f: f, n: n, slot: f.block()}
	w.p1 = w.newPatient()
	w.appt1 = w.book(w.p1, f.doc1, 0)
	w.patient, w.patTok = w.account(hg.RolePatient)
	if _, err := f.env.DB.LinkPatientUser(context.Background(), w.p1.ID, w.patient.ID); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) newPatient() *hg.Patient {
	w.t.Helper()
	p, err := w.f.env.DB.CreatePatient(context.Background(), hg.NewPatient{MRN: w.mrn(), NationalID: w.nationalID(),
		FirstName: "Amal", FamilyName: "Alharbi", BirthDate: time.Date(1980, 5, 1, 0, 0, 0, 0, time.UTC), Gender: hg.GenderFemale})
	if err != nil {
		w.t.Fatal(err)
	}
	w.patients = append(w.patients, p.ID)
	return p
}

// nationalID is unique across the fixture: 1 then nine digits of a counter.
func (w *world) nationalID() string {
	return fmt.Sprintf("1%09d", w.f.seq.Add(1))
}

func (w *world) mrn() string {
	m := fmt.Sprintf("MX-%d", w.f.seq.Add(1))
	w.mrns = append(w.mrns, m)
	return m
}

func (w *world) email() string {
	e := fmt.Sprintf("m%d@clinic.example", w.f.seq.Add(1))
	w.emails = append(w.emails, e)
	return e
}

// account creates a login of role and returns it with an access token.
func (w *world) account(role hg.Role) (*hg.User, string) {
	u, tok := w.f.env.User(w.t, w.email(), role)
	w.users = append(w.users, u.ID)
	return u, tok
}

// session logs a fresh account in and returns its refresh token.
func (w *world) session() string {
	u, _ := w.account(hg.RolePatient)
	return login(w.t, w.f.env, u.Email, servertest.Password).RefreshToken
}

// book books pr for p in the world's block, offset by half hours.
func (w *world) book(p *hg.Patient, pr *hg.Practitioner, halfHour int) *hg.Appointment {
	w.t.Helper()
	start := w.slot.Add(time.Duration(halfHour) * 30 * time.Minute)
	a, err := w.f.env.DB.BookAppointment(context.Background(), all, hg.NewAppointment{PatientID: p.ID, PractitionerID: pr.ID,
		StartsAt: start, EndsAt: start.Add(30 * time.Minute), Reason: "Follow-up visit"})
	if err != nil {
		w.t.Fatal(err)
	}
	return a
}

// patientOf is the target's patient: P1 unless unrelated.
func (w *world) patientOf(tg target) *hg.Patient {
	if tg != unrelated {
		return w.p1
	}
	if w.p2 == nil {
		w.p2 = w.newPatient()
	}
	return w.p2
}

// doctorOf is who owns the target: doctor 1 for own, doctor 2 otherwise.
func (w *world) doctorOf(tg target) *hg.Practitioner {
	if tg == own {
		return w.f.doc1
	}
	return w.f.doc2
}

func (w *world) appointment(tg target) string {
	a := w.appt1
	switch tg {
	case related:
		a = w.book(w.p1, w.f.doc2, 1) // P1 is with doctor 1 in the first half hour
	case unrelated:
		a = w.book(w.patientOf(tg), w.f.doc2, 2)
	}
	return gid("Appointment", a.ID)
}

func (w *world) record(tg target) string {
	w.t.Helper()
	r, err := w.f.env.DB.AddRecord(context.Background(), all, hg.NewRecord{PatientID: w.patientOf(tg).ID,
		AuthorID: w.doctorOf(tg).UserID, Kind: hg.RecordNote, Body: "Seen in clinic"})
	if err != nil {
		w.t.Fatal(err)
	}
	return gid("MedicalRecord", r.ID)
}

func (w *world) coverage(tg target) *hg.Coverage {
	w.t.Helper()
	today := hg.DateOf(time.Now())
	c, err := w.f.env.DB.AddCoverage(context.Background(), all, hg.NewCoverage{PatientID: w.patientOf(tg).ID,
		PayerLicense: "7001463160", PayerName: "Bupa Arabia", MemberIDSystem: "http://payer.example/memberid", Class: "A", MemberID: fmt.Sprintf("M-%d", w.f.seq.Add(1)), PolicyNumber: "POL-77",
		StartsOn: today.AddDate(0, -1, 0), EndsOn: today.AddDate(1, 0, 0)})
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

func (w *world) invoice(tg target, issued bool) string {
	w.t.Helper()
	ctx := context.Background()
	c := w.coverage(tg)
	inv, err := w.f.env.DB.CreateInvoice(ctx, all, hg.NewInvoice{PatientID: w.patientOf(tg).ID, CoverageID: &c.ID,
		Lines: []hg.NewInvoiceLine{{CodeSystem: hg.SystemServices, ServiceCode: "83600-00-10", Description: "Consultation", Quantity: 1, UnitPrice: 30000}}})
	if err == nil && issued {
		_, err = w.f.env.DB.IssueInvoice(ctx, inv.ID)
	}
	if err != nil {
		w.t.Fatal(err)
	}
	return gid("Invoice", inv.ID)
}

func (w *world) claimInput(tg target) map[string]any {
	return map[string]any{"invoiceId": w.invoice(tg, true), "practitionerId": gid("Practitioner", w.doctorOf(tg).ID),
		"appointmentId": gid("Appointment", w.visit(tg).ID), "diagnoses": []string{"I10"}}
}

// visit is the target's visit that took place an hour ago, with its
// findings.
func (w *world) visit(tg target) *hg.Appointment {
	w.t.Helper()
	if w.seen == nil {
		a, _, err := pgtest.Visit(context.Background(), w.f.env.DB, w.patientOf(tg).ID, w.doctorOf(tg),
			time.Now().Add(-time.Hour))
		if err != nil {
			w.t.Fatal(err)
		}
		w.seen = a
	}
	return w.seen
}

func (w *world) claim(tg target) string {
	w.t.Helper()
	var out struct{ SubmitClaim struct{ ID string } }
	w.f.env.Do(w.t, w.f.tokens["BILLING"], `mutation($in: SubmitClaimInput!) { submitClaim(input: $in) { id } }`,
		map[string]any{"in": w.claimInput(tg)}).Decode(w.t, &out)
	return out.SubmitClaim.ID
}

// userOf is the target account: the caller's own, P1's login, or a fresh one.
func (w *world) userOf(tg target, role string) (string, string) {
	switch {
	case tg == own && w.f.userIDs[role] != uuid.Nil:
		return gid("User", w.f.userIDs[role]), role
	case tg == own && role == "PATIENT", tg == related:
		return gid("User", w.patient.ID), "PATIENT"
	}
	u, _ := w.account(hg.RolePatient)
	return gid("User", u.ID), "RECEPTION"
}

// fingerprint is every row the world's patients and accounts have, audit
// events aside: a refused operation must leave it unchanged.
func (w *world) fingerprint() string {
	w.t.Helper()
	var s string
	err := w.f.env.DB.Pool.QueryRow(context.Background(), `SELECT coalesce(string_agg(r, E'\n' ORDER BY r), '') FROM (
		SELECT x::text r FROM patients x WHERE x.id = ANY(@p) OR x.mrn = ANY(@mrns)
		UNION ALL SELECT x::text FROM appointments x WHERE x.patient_id = ANY(@p)
		UNION ALL SELECT x::text FROM medical_records x WHERE x.patient_id = ANY(@p)
		UNION ALL SELECT x::text FROM coverages x WHERE x.patient_id = ANY(@p)
		UNION ALL SELECT x::text FROM break_glass_grants x WHERE x.patient_id = ANY(@p)
		UNION ALL SELECT x::text FROM eligibility_checks x WHERE x.patient_id = ANY(@p)
		UNION ALL SELECT x::text FROM invoices x WHERE x.patient_id = ANY(@p)
		UNION ALL SELECT x::text FROM invoice_lines x JOIN invoices i ON i.id = x.invoice_id WHERE i.patient_id = ANY(@p)
		UNION ALL SELECT x::text FROM payments x JOIN invoices i ON i.id = x.invoice_id WHERE i.patient_id = ANY(@p)
		UNION ALL SELECT x::text FROM claims x WHERE x.patient_id = ANY(@p)
		UNION ALL SELECT x::text FROM users x WHERE x.id = ANY(@u) OR lower(x.email) = ANY(@emails)
		UNION ALL SELECT x::text FROM refresh_tokens x WHERE x.user_id = ANY(@u)) rows`,
		pgx.NamedArgs{"p": w.patients, "mrns": w.mrns, "u": w.users, "emails": w.emails}).Scan(&s)
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

// caller is the token a case runs with.
func (w *world) caller(op matrixOp, role string) string {
	switch {
	case role == "anonymous":
		return ""
	case op.freshCaller:
		_, tok := w.account(hg.Role(role))
		return tok
	case role == "PATIENT":
		return w.patTok
	}
	return w.f.tokens[role]
}

func idVar(id string) map[string]any { return map[string]any{"id": id} }

func soon(w *world, halfHours int) (string, string) {
	s := w.slot.Add(time.Duration(halfHours) * 30 * time.Minute)
	return s.Format(time.RFC3339), s.Add(30 * time.Minute).Format(time.RFC3339)
}

func window() map[string]any {
	return map[string]any{"from": time.Now().Add(-24 * time.Hour).Format(time.RFC3339), "to": time.Now().Format(time.RFC3339)}
}

func matrixOps() []matrixOp {
	clinicalWrite := func() map[string]string { // appointments: reception and admins any, a patient their own
		return with(only(3, "ADMIN", "RECEPTION"), "PATIENT", "..N")
	}
	readOwnPatient := func(roles ...string) map[string]string {
		w := with(only(3, roles...), "PATIENT", "..N")
		return with(w, "PRACTITIONER", "..N")
	}
	everyone := func(n int) map[string]string {
		return with(only(n, "ADMIN", "PRACTITIONER", "RECEPTION", "BILLING", "PATIENT", "ANALYST"), "anonymous", strings.Repeat(".", n))
	}
	signedIn := func(n int) map[string]string {
		return only(n, "ADMIN", "PRACTITIONER", "RECEPTION", "BILLING", "PATIENT", "ANALYST")
	}
	return []matrixOp{
		// Account.
		{field: "signup", query: `mutation($in: SignupInput!) { signup(input: $in) { id } }`,
			vars: func(w *world, _ target) map[string]any {
				return map[string]any{"in": map[string]any{"email": w.email(), "password": "a-good-passw0rd", "fullName": "Layla Alharbi"}}
			}, want: everyone(1)},
		{field: "login", query: loginMut, vars: func(w *world, _ target) map[string]any {
			u, _ := w.account(hg.RolePatient)
			return map[string]any{"e": u.Email, "p": servertest.Password}
		}, want: everyone(1)},
		{field: "refreshToken", query: refreshMut, vars: func(w *world, _ target) map[string]any {
			return map[string]any{"t": w.session()}
		}, want: everyone(1)},
		{field: "logout", query: `mutation($t: String!) { logout(refreshToken: $t) }`, vars: func(w *world, _ target) map[string]any {
			return map[string]any{"t": w.session()}
		}, want: everyone(1)},
		{field: "setUserRole", query: `mutation($id: ID!, $role: Role!) { setUserRole(userId: $id, role: $role) { role } }`,
			varsFor: setUserRoleVars, want: only(3, "ADMIN")},
		{field: "changePassword", query: `mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { accessToken } }`,
			vars: func(*world, target) map[string]any {
				return map[string]any{"c": servertest.Password, "n": "another-passw0rd-9"}
			}, want: signedIn(1), freshCaller: true},
		{field: "me", query: `{ me { id } }`, want: signedIn(1)},
		{field: "me", name: "profile", query: `{ me { patient { id } practitioner { id } } }`, want: signedIn(1)},
		// A fresh account claims a fresh record by its MRN and birth date.
		{field: "claimPatientRecord", query: `mutation($in: ClaimPatientRecordInput!) { claimPatientRecord(input: $in) { id } }`,
			vars: func(w *world, _ target) map[string]any {
				p := w.newPatient()
				return map[string]any{"in": map[string]any{"mrn": p.MRN, "birthDate": p.BirthDate.Format("2006-01-02")}}
			}, want: only(1, "PATIENT"), freshCaller: true},
		{field: "users", query: `{ users { totalCount } }`, want: only(1, "ADMIN")},

		// Patients and coverages.
		{field: "createPatient", query: `mutation($in: CreatePatientInput!) { createPatient(input: $in) { id } }`,
			vars: func(w *world, _ target) map[string]any {
				return map[string]any{"in": map[string]any{"mrn": w.mrn(), "nationalId": w.nationalID(), "firstName": "Huda",
					"familyName": "Alqahtani", "birthDate": "1990-01-01", "gender": "FEMALE"}}
			}, want: only(1, "ADMIN", "RECEPTION")},
		{field: "updatePatient", query: `mutation($id: ID!) { updatePatient(id: $id, input: {phone: "+966500000001"}) { id } }`,
			vars: func(w *world, tg target) map[string]any { return idVar(gid("Patient", w.patientOf(tg).ID)) },
			want: only(3, "ADMIN", "RECEPTION")},
		{field: "addCoverage", query: `mutation($in: AddCoverageInput!) { addCoverage(input: $in) { id } }`,
			vars: func(w *world, tg target) map[string]any {
				return map[string]any{"in": map[string]any{"patientId": gid("Patient", w.patientOf(tg).ID), "payerLicense": "7001463160",
					"payerName": "Bupa Arabia", "memberId": "NEW-1", "class": "A", "startsOn": "2026-01-01", "endsOn": "2027-12-31"}}
			}, want: only(3, "ADMIN", "RECEPTION")},
		{field: "patient", query: `query($id: ID!) { patient(id: $id) { id } }`,
			vars: func(w *world, tg target) map[string]any { return idVar(gid("Patient", w.patientOf(tg).ID)) },
			want: readOwnPatient("ADMIN", "RECEPTION", "BILLING")},
		{field: "patients", query: `{ patients { totalCount } }`, want: only(1, "ADMIN", "RECEPTION", "BILLING", "PRACTITIONER", "PATIENT")},
		{field: "practitioners", query: `{ practitioners { totalCount } }`, want: signedIn(1)},

		// Appointments.
		{field: "bookAppointment", query: `mutation($in: BookAppointmentInput!) { bookAppointment(input: $in) { id } }`,
			vars: func(w *world, tg target) map[string]any {
				from, to := soon(w, 3)
				return map[string]any{"in": map[string]any{"patientId": gid("Patient", w.patientOf(tg).ID),
					"practitionerId": gid("Practitioner", w.doctorOf(tg).ID), "startsAt": from, "endsAt": to}}
			}, want: clinicalWrite()},
		{field: "rescheduleAppointment", query: `mutation($id: ID!, $s: Time!, $e: Time!) { rescheduleAppointment(id: $id, startsAt: $s, endsAt: $e) { id } }`,
			vars: func(w *world, tg target) map[string]any {
				from, to := soon(w, 1)
				return map[string]any{"id": w.appointment(tg), "s": from, "e": to}
			}, want: clinicalWrite()},
		{field: "cancelAppointment", query: `mutation($id: ID!) { cancelAppointment(id: $id, reason: "The patient is travelling") { id } }`,
			vars: func(w *world, tg target) map[string]any { return idVar(w.appointment(tg)) }, want: clinicalWrite()},
		{field: "updateAppointmentStatus", query: `mutation($id: ID!) { updateAppointmentStatus(id: $id, status: CHECKED_IN) { id } }`,
			vars: func(w *world, tg target) map[string]any { return idVar(w.appointment(tg)) },
			want: with(only(3, "ADMIN", "RECEPTION"), "PRACTITIONER", ".FN")},
		{field: "appointments", query: `{ appointments { totalCount } }`, want: only(1, "ADMIN", "RECEPTION", "PRACTITIONER", "PATIENT")},
		{field: "practitionerSchedule", query: `query($id: ID!, $d: Date!) { practitionerSchedule(practitionerId: $id, date: $d) { free } }`,
			vars: func(w *world, tg target) map[string]any {
				return map[string]any{"id": gid("Practitioner", w.doctorOf(tg).ID), "d": w.slot.Format("2006-01-02")}
			}, want: only(3, "ADMIN", "RECEPTION", "PRACTITIONER", "PATIENT")},
		{field: "appointmentUtilization", query: `query($from: Time!, $to: Time!) { appointmentUtilization(from: $from, to: $to, groupBy: DAY) { key } }`,
			vars: func(*world, target) map[string]any { return window() }, want: only(1, "ADMIN", "ANALYST")},
		{field: "node", name: "user", query: `query($id: ID!) { node(id: $id) { id } }`,
			varsFor: func(w *world, tg target, role string) map[string]any {
				return idVar(gid("User", w.watched(tg, role).ID))
			},
			want: ownAccountOnly()},
		{field: "node", name: "patient", query: `query($id: ID!) { node(id: $id) { id } }`,
			vars: func(w *world, tg target) map[string]any { return idVar(gid("Patient", w.patientOf(tg).ID)) },
			// Through node(id:) a patient is found in the caller's patient
			// scope, which is empty to a caller who may not read patients:
			// NOT_FOUND, where patient(id:) refuses by role.
			want: with(with(readOwnPatient("ADMIN", "RECEPTION", "BILLING"), "ANALYST", "NNN"), "anonymous", "NNN")},
		{field: "node", name: "practitioner", query: `query($id: ID!) { node(id: $id) { id } }`,
			vars: func(w *world, tg target) map[string]any { return idVar(gid("Practitioner", w.doctorOf(tg).ID)) },
			want: signedIn(3)},
		{field: "node", name: "appointment", query: `query($id: ID!) { node(id: $id) { id } }`,
			vars: func(w *world, tg target) map[string]any { return idVar(w.appointment(tg)) },
			want: readOwnPatient("ADMIN", "RECEPTION")},

		// Medical records.
		{field: "addMedicalRecord", query: `mutation($in: AddMedicalRecordInput!) { addMedicalRecord(input: $in) { id } }`,
			vars: func(w *world, tg target) map[string]any {
				return map[string]any{"in": map[string]any{"patientId": gid("Patient", w.patientOf(tg).ID), "kind": "NOTE", "body": "Seen"}}
			}, want: with(only(3, "ADMIN"), "PRACTITIONER", "..N")},
		{field: "amendMedicalRecord", query: `mutation($id: ID!) { amendMedicalRecord(id: $id, input: {body: "Corrected"}) { id } }`,
			vars: func(w *world, tg target) map[string]any { return idVar(w.record(tg)) },
			want: with(only(3, "ADMIN"), "PRACTITIONER", ".FN")},
		{field: "recordVisitFindings", query: `mutation($in: RecordVisitFindingsInput!) { recordVisitFindings(input: $in) { version } }`,
			vars: func(w *world, tg target) map[string]any {
				return map[string]any{"in": map[string]any{"appointmentId": w.appointment(tg), "vitals": map[string]any{"pulsePerMinute": 70}}}
			}, want: with(only(3, "ADMIN"), "PRACTITIONER", "..N")},
		{field: "visitFindings", query: `query($id: ID!) { visitFindings(appointmentId: $id) { version } }`,
			vars: func(w *world, tg target) map[string]any { return idVar(w.appointment(tg)) },
			want: with(only(3, "ADMIN"), "PRACTITIONER", "..N")},
		{field: "breakGlass", query: `mutation($id: ID!) { breakGlass(patientId: $id, reason: "Unconscious in the emergency room") { id } }`,
			vars: func(w *world, tg target) map[string]any { return idVar(gid("Patient", w.patientOf(tg).ID)) },
			want: only(3, "PRACTITIONER")},
		{field: "medicalRecords", query: `query($id: ID!) { medicalRecords(patientId: $id) { totalCount } }`,
			vars: func(w *world, tg target) map[string]any { return idVar(gid("Patient", w.patientOf(tg).ID)) },
			want: readOwnPatient("ADMIN")},
		{field: "node", name: "record", query: `query($id: ID!) { node(id: $id) { id } }`,
			vars: func(w *world, tg target) map[string]any { return idVar(w.record(tg)) },
			want: readOwnPatient("ADMIN")},

		// Billing.
		{field: "createInvoice", query: `mutation($in: CreateInvoiceInput!) { createInvoice(input: $in) { id } }`,
			vars: func(w *world, tg target) map[string]any {
				return map[string]any{"in": map[string]any{"patientId": gid("Patient", w.patientOf(tg).ID), "lines": []map[string]any{
					{"serviceCode": "99213", "description": "Consultation", "quantity": 1, "unitPrice": "300.00"}}}}
			}, want: only(3, "ADMIN", "BILLING")},
		{field: "issueInvoice", query: `mutation($id: ID!) { issueInvoice(id: $id) { id } }`,
			vars: func(w *world, tg target) map[string]any { return idVar(w.invoice(tg, false)) }, want: only(3, "ADMIN", "BILLING")},
		{field: "recordPayment", query: `mutation($id: ID!) { recordPayment(input: {invoiceId: $id, amount: "10.00", method: CASH}) { id } }`,
			vars: func(w *world, tg target) map[string]any { return idVar(w.invoice(tg, true)) }, want: only(3, "ADMIN", "BILLING")},
		{field: "voidInvoice", query: `mutation($id: ID!) { voidInvoice(id: $id, reason: "Entered twice by mistake") { id } }`,
			vars: func(w *world, tg target) map[string]any { return idVar(w.invoice(tg, false)) }, want: only(3, "ADMIN", "BILLING")},
		{field: "invoices", query: `{ invoices { totalCount } }`, want: only(1, "ADMIN", "BILLING", "PATIENT")},
		{field: "catalogue", query: `{ catalogue { totalCount } }`, want: only(1, "ADMIN", "BILLING", "PRACTITIONER")},
		{field: "importCatalogue", query: `mutation($csv: String!) { importCatalogue(csv: $csv) { added } }`,
			vars: func(*world, target) map[string]any {
				return map[string]any{"csv": "system,code,display,price\nservices,83600-00-10,Consultation,300.00\n"}
			}, want: only(1, "ADMIN")},
		{field: "node", name: "invoice", query: `query($id: ID!) { node(id: $id) { id } }`,
			vars: func(w *world, tg target) map[string]any { return idVar(w.invoice(tg, false)) },
			want: with(only(3, "ADMIN", "BILLING"), "PATIENT", "..N")},
		{field: "invoice", query: `query($id: ID!) { invoice(id: $id) { id } }`,
			vars: func(w *world, tg target) map[string]any { return idVar(w.invoice(tg, false)) },
			want: with(only(3, "ADMIN", "BILLING"), "PATIENT", "..N")},

		// Claims and eligibility.
		{field: "submitClaim", query: `mutation($in: SubmitClaimInput!) { submitClaim(input: $in) { id } }`,
			vars: func(w *world, tg target) map[string]any { return map[string]any{"in": w.claimInput(tg)} },
			want: only(3, "ADMIN", "BILLING")},
		{field: "requestPriorAuthorization", query: `mutation($in: SubmitClaimInput!) { requestPriorAuthorization(input: $in) { id } }`,
			vars: func(w *world, tg target) map[string]any { return map[string]any{"in": w.claimInput(tg)} },
			want: only(3, "ADMIN", "BILLING")},
		{field: "claimReadiness", query: `query($in: SubmitClaimInput!) { claimReadiness(input: $in) { ready } }`,
			vars: func(w *world, tg target) map[string]any { return map[string]any{"in": w.claimInput(tg)} },
			want: only(3, "ADMIN", "BILLING")},
		{field: "retryClaim", query: `mutation($id: ID!) { retryClaim(id: $id) { id } }`,
			vars: func(w *world, tg target) map[string]any { return idVar(w.claim(tg)) },
			want: with(with(only(3), "ADMIN", "ppp"), "BILLING", "ppp")},
		{field: "cancelClaim", query: `mutation($id: ID!) { cancelClaim(id: $id, reason: "Billed to the wrong payer") { id } }`,
			vars: func(w *world, tg target) map[string]any { return idVar(w.claim(tg)) },
			want: with(with(only(3), "ADMIN", "ppp"), "BILLING", "ppp")},
		{field: "sendClaimCommunication", query: `mutation($id: ID!) {
			sendClaimCommunication(input: {claimId: $id, texts: ["The lab report follows."]}) { id } }`,
			vars: func(w *world, tg target) map[string]any { return idVar(w.claim(tg)) },
			want: with(with(only(3), "ADMIN", "ppp"), "BILLING", "ppp")},
		{field: "claims", query: `{ claims { totalCount } }`, want: only(1, "ADMIN", "BILLING")},
		{field: "claim", query: `query($id: ID!) { claim(id: $id) { id } }`,
			vars: func(w *world, tg target) map[string]any { return idVar(w.claim(tg)) }, want: only(3, "ADMIN", "BILLING")},
		{field: "node", name: "claim", query: `query($id: ID!) { node(id: $id) { id } }`,
			vars: func(w *world, tg target) map[string]any { return idVar(w.claim(tg)) }, want: only(3, "ADMIN", "BILLING")},
		{field: "claimsSummary", query: `query($from: Time!, $to: Time!) { claimsSummary(from: $from, to: $to, groupBy: PAYER) { key } }`,
			vars: func(*world, target) map[string]any { return window() }, want: only(1, "ADMIN", "BILLING", "ANALYST")},
		{field: "denialSummary", query: `query($from: Time!, $to: Time!) { denialSummary(from: $from, to: $to, groupBy: REASON) { key } }`,
			vars: func(*world, target) map[string]any { return window() }, want: only(1, "ADMIN", "BILLING", "ANALYST")},
		{field: "paymentReconciliations", query: `{ paymentReconciliations(anomalousOnly: true) { totalCount edges { node { identifier } } } }`,
			want: only(1, "ADMIN", "BILLING")},
		{field: "resubmitClaim", query: `mutation($id: ID!, $p: ID!) { resubmitClaim(id: $id, input: {practitionerId: $p, diagnoses: ["J06.9"]}) { id } }`,
			vars: func(w *world, tg target) map[string]any {
				return map[string]any{"id": w.claim(tg), "p": gid("Practitioner", w.doctorOf(tg).ID)}
			},
			// A claim just queued has no decision to correct: CONFLICT.
			want: with(with(only(3), "ADMIN", "ppp"), "BILLING", "ppp")},
		{field: "revenueSummary", query: `query($from: Time!, $to: Time!) { revenueSummary(from: $from, to: $to, groupBy: MONTH) { key } }`,
			vars: func(*world, target) map[string]any { return window() }, want: only(1, "ADMIN", "BILLING", "ANALYST")},
		{field: "checkEligibility", query: `mutation($p: ID!, $c: ID!) { checkEligibility(patientId: $p, coverageId: $c) { id } }`,
			vars: func(w *world, tg target) map[string]any {
				return map[string]any{"p": gid("Patient", w.patientOf(tg).ID), "c": gid("Coverage", w.coverage(tg).ID)}
			}, want: with(with(with(only(3), "ADMIN", "ppp"), "BILLING", "ppp"), "RECEPTION", "ppp")},
		{field: "discoverCoverage", query: `mutation($p: ID!) { discoverCoverage(patientId: $p, payerLicense: "7001463160", payerName: "Bupa Arabia") { id } }`,
			vars: func(w *world, tg target) map[string]any {
				return map[string]any{"p": gid("Patient", w.patientOf(tg).ID)}
			},
			want: with(with(with(only(3), "ADMIN", "ppp"), "BILLING", "ppp"), "RECEPTION", "ppp")},
		// No check exists in the matrix's world (no NPHIES): a permitted
		// caller gets NOT_FOUND, the others FORBIDDEN.
		{field: "addDiscoveredCoverage", query: `mutation($c: ID!) { addDiscoveredCoverage(checkId: $c, memberId: "DISC-1") { id } }`,
			vars: func(*world, target) map[string]any { return map[string]any{"c": gid("EligibilityCheck", uuid.New())} },
			want: with(with(only(1), "ADMIN", "N"), "RECEPTION", "N")},
		{field: "nullifyEligibilityCheck", query: `mutation($c: ID!) { nullifyEligibilityCheck(checkId: $c, reason: WRONG_INFORMATION) { id } }`,
			vars: func(*world, target) map[string]any { return map[string]any{"c": gid("EligibilityCheck", uuid.New())} },
			want: with(with(with(only(1), "ADMIN", "N"), "BILLING", "N"), "RECEPTION", "N")},
		{field: "node", name: "coverage", query: `query($id: ID!) { node(id: $id) { id ... on Coverage { memberId } } }`,
			vars: func(w *world, tg target) map[string]any { return idVar(gid("Coverage", w.coverage(tg).ID)) },
			want: readOwnPatient("ADMIN", "RECEPTION", "BILLING")},
		{field: "eligibilityChecks", query: `query($id: ID!) { eligibilityChecks(patientId: $id) { id } }`,
			vars: func(w *world, tg target) map[string]any { return idVar(gid("Patient", w.patientOf(tg).ID)) },
			want: only(3, "ADMIN", "BILLING", "RECEPTION")},
	}
}

// setUserRoleVars sets the target account's role to the one it has (the
// caller's, for their own), so that an allowed case ends nobody's session.
func setUserRoleVars(w *world, tg target, role string) map[string]any {
	id, newRole := w.userOf(tg, role)
	if role == "anonymous" && tg == own {
		id, newRole = w.userOf(unrelated, role)
	}
	return map[string]any{"id": id, "role": newRole}
}

// transport is a way a case reaches the server with a caller's token
// ("" for anonymous).
type transport struct {
	name string
	do   func(t *testing.T, env *servertest.Env, token, query string, vars map[string]any) servertest.Response
}

// transports: an HTTP POST, and a subscribe message on a graphql-transport-ws
// socket opened with the token in connection_init.
var transports = []transport{
	{"HTTP", func(t *testing.T, env *servertest.Env, token, query string, vars map[string]any) servertest.Response {
		return env.Do(t, token, query, vars)
	}},
	{"WebSocket", func(t *testing.T, env *servertest.Env, token, query string, vars map[string]any) servertest.Response {
		return env.Socket(t, token).Do(t, query, vars)
	}},
}

// TestEveryOperationIsAuthorized runs the matrix: each case answers as its
// row says over HTTP and over the WebSocket, with the same code both ways,
// and a refused one changes no row of its world.
func TestEveryOperationIsAuthorized(t *testing.T) {
	t.Parallel()
	f := setupMatrix(t)
	ops, subs := matrixOps(), subscriptionOps()
	var cases atomic.Int64
	t.Cleanup(func() {
		t.Logf("authorization matrix: %d cases (%d rows over HTTP and WebSocket, %d subscription rows over WebSocket)",
			cases.Load(), len(ops), len(subs))
	})
	for _, op := range ops {
		eachCase(t, op.field, op.name, op.want, func(t *testing.T, role string, tg target, exp byte) {
			codes := make([]string, len(transports))
			for i, tr := range transports {
				cases.Add(1)
				codes[i] = f.run(t, tr, op, role, tg, exp)
			}
			if codes[0] != codes[1] {
				t.Errorf("answered %q over HTTP and %q over the WebSocket, want the same", codes[0], codes[1])
			}
		})
	}
	for _, op := range subs {
		eachCase(t, op.field, "", op.want, func(t *testing.T, role string, tg target, exp byte) {
			cases.Add(1)
			f.subscribe(t, op, role, tg, exp)
		})
	}
}

// eachCase runs fn as a parallel subtest for every role and target of a
// row.
func eachCase(t *testing.T, field, variant string, want map[string]string, fn func(t *testing.T, role string, tg target, exp byte)) {
	name := field
	if variant != "" {
		name += "(" + variant + ")"
	}
	for _, role := range matrixRoles {
		codes := want[role]
		for i := range len(codes) {
			label := targetNames[i]
			if len(codes) == 1 {
				label = "none"
			}
			t.Run(name+"/"+role+"/"+label, func(t *testing.T) {
				t.Parallel()
				fn(t, role, target(i), codes[i])
			})
		}
	}
}

// run runs one case over tr in a world of its own, checks the answer
// against exp, and returns its code.
func (f *matrixFixture) run(t *testing.T, tr transport, op matrixOp, role string, tg target, exp byte) string {
	t.Helper()
	w := f.world(t)
	tok := w.caller(op, role)
	var vars map[string]any
	switch {
	case op.varsFor != nil:
		vars = op.varsFor(w, tg, role)
	case op.vars != nil:
		vars = op.vars(w, tg)
	}
	before := w.fingerprint()
	res := tr.do(t, f.env, tok, op.query, vars)
	got := res.Code()
	switch exp {
	case allowed:
		if got != "" {
			t.Fatalf("over %s: got %q (%+v), want success", tr.name, got, res.Errors)
		}
	case passes:
		if isRefusal(got) {
			t.Fatalf("over %s: got %q (%+v), want it past authorization", tr.name, got, res.Errors)
		}
		t.Logf("over %s: past authorization, answered %q", tr.name, got)
	default:
		if got != refusals[exp] {
			t.Fatalf("over %s: got %q (%+v), want %s", tr.name, got, res.Errors, refusals[exp])
		}
		if after := w.fingerprint(); after != before {
			t.Fatalf("a refused %s over %s wrote:\nbefore %s\nafter  %s", op.field, tr.name, before, after)
		}
	}
	return got
}

func isRefusal(code string) bool {
	return code == hg.EFORBIDDEN || code == hg.ENOTFOUND || code == hg.EUNAUTHENTICATED
}

// subscriptionOp is a row of Subscription fields: how to subscribe on a
// target, and how to make the target change, so that an allowed
// subscription proves it started by delivering an event.
type subscriptionOp struct {
	field string
	query string
	vars  func(w *world, tg target, role string) map[string]any
	// change makes the target of vars change once.
	change func(w *world, tg target, role string)
	want   map[string]string
}

func subscriptionOps() []subscriptionOp {
	return []subscriptionOp{
		{field: "accountChanged", query: `subscription($id: ID!) { accountChanged(userId: $id) { gap user { id } } }`,
			vars: func(w *world, tg target, role string) map[string]any {
				return idVar(gid("User", w.watched(tg, role).ID))
			},
			// A successful sign-in resets the account's failure count: a
			// change of the account that ends nobody's session.
			change: func(w *world, tg target, role string) {
				login(w.t, w.f.env, w.watched(tg, role).Email, servertest.Password)
			},
			want: ownAccountOnly()},
		{field: "appointmentChanged", query: `subscription($id: ID!) { appointmentChanged(practitionerId: $id) { gap appointment { id } } }`,
			vars: func(w *world, tg target, _ string) map[string]any {
				return idVar(gid("Practitioner", w.doctorOf(tg).ID))
			},
			change: func(w *world, tg target, _ string) {
				start := w.f.block()
				w.f.env.Do(w.t, w.f.tokens["RECEPTION"], `mutation($in: BookAppointmentInput!) { bookAppointment(input: $in) { id } }`,
					map[string]any{"in": map[string]any{"patientId": gid("Patient", w.p1.ID), "practitionerId": gid("Practitioner", w.doctorOf(tg).ID),
						"startsAt": start.Format(time.RFC3339), "endsAt": start.Add(30 * time.Minute).Format(time.RFC3339)}}).Decode(w.t, &struct{}{})
			},
			want: with(only(3, "ADMIN", "RECEPTION"), "PRACTITIONER", ".FF")},
		// Every claim, whoever's patient it is: billing sees all claims.
		{field: "claimUpdated", query: `subscription { claimUpdated { gap claim { id } } }`,
			vars:   func(*world, target, string) map[string]any { return nil },
			change: func(w *world, tg target, _ string) { w.claim(tg) },
			want:   only(3, "ADMIN", "BILLING")},
	}
}

// watched is the account an accountChanged case watches: the caller's own;
// related, P1's login (to P1 herself, her doctor's); or another account,
// made once per world.
func (w *world) watched(tg target, role string) *hg.User {
	w.t.Helper()
	switch {
	case tg == own && role == "PATIENT", tg == related && role != "PATIENT":
		return w.patient
	case tg == related:
		role = "PRACTITIONER"
		fallthrough
	case tg == own && w.f.userIDs[role] != uuid.Nil:
		return &hg.User{ID: w.f.userIDs[role], Email: w.f.emails[role]}
	}
	if w.other == nil {
		w.other, _ = w.account(hg.RolePatient)
	}
	return w.other
}

// subscribe runs one subscription case over a socket in a world of its
// own: a refused one answers its refusal code; an allowed one delivers an
// event once its target changes. graphql-transport-ws does not acknowledge
// a subscription, so the target changes until the first event arrives.
func (f *matrixFixture) subscribe(t *testing.T, op subscriptionOp, role string, tg target, exp byte) {
	t.Helper()
	w := f.world(t)
	ws := f.env.Socket(t, w.caller(matrixOp{}, role))
	ws.Subscribe("sub", op.query, op.vars(w, tg, role))
	if exp != allowed {
		m, err := ws.Next(eventually.Timeout())
		if err != nil {
			t.Fatalf("got %v, want %s", err, refusals[exp])
		}
		if got := servertest.Answer(t, m).Code(); got != refusals[exp] {
			t.Fatalf("got %s %s, want %s", m.Type, m.Payload, refusals[exp])
		}
		return
	}
	for deadline := time.Now().Add(eventually.Timeout()); ; {
		op.change(w, tg, role)
		m, err := ws.Next(500 * time.Millisecond)
		if errors.Is(err, servertest.ErrNoMessage) && time.Now().Before(deadline) {
			continue
		} else if err != nil {
			t.Fatalf("while its target changed the subscription delivered no event: %v", err)
		}
		if res := servertest.Answer(t, m); m.Type != "next" || len(res.Errors) > 0 || strings.Contains(string(res.Data), `"gap":true`) {
			t.Fatalf("got %s %s, want an event", m.Type, m.Payload)
		}
		return
	}
}

// TestMatrixCoversEverySchemaField fails when a Query, Mutation or
// Subscription field has no row in the matrix, so an operation cannot be added unauthorised and
// untested.
func TestMatrixCoversEverySchemaField(t *testing.T) {
	t.Parallel()
	covered := map[string]bool{}
	rows := map[string]map[string]string{}
	for _, op := range matrixOps() {
		covered["Query."+op.field], covered["Mutation."+op.field] = true, true
		rows[op.field+"("+op.name+")"] = op.want
	}
	for _, op := range subscriptionOps() {
		covered["Subscription."+op.field] = true
		rows[op.field] = op.want
		for _, r := range matrixRoles {
			if w := op.want[r]; len(w) != 3 || strings.Trim(w, string(allowed)+string(forbid)+string(hidden)+string(anon)) != "" {
				t.Errorf("subscription row %s: role %s expects %q; want 3 of allowed, FORBIDDEN, NOT_FOUND, UNAUTHENTICATED", op.field, r, w)
			}
		}
	}
	for name, want := range rows {
		for _, r := range matrixRoles {
			if w := want[r]; len(w) != 1 && len(w) != 3 {
				t.Errorf("row %s: role %s expects %q; want 1 or 3 outcomes", name, r, w)
			}
		}
	}
	schema := graph.NewExecutableSchema(graph.Config{}).Schema()
	for _, typ := range []string{"Query", "Mutation", "Subscription"} {
		for _, fd := range schema.Types[typ].Fields {
			if strings.HasPrefix(fd.Name, "__") {
				continue
			}
			if !covered[typ+"."+fd.Name] {
				t.Errorf("%s.%s has no row in the authorization matrix (matrixOps, subscriptionOps)", typ, fd.Name)
			}
		}
	}
}
