package resolvers_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/server/servertest"
)

const claimMut = `mutation($in: ClaimPatientRecordInput!) { claimPatientRecord(input: $in) { id mrn } }`

// claimFixture is a clinic with one practitioner and a counter for fresh
// patients and accounts.
type claimFixture struct {
	env    *servertest.Env
	doctor *hg.Practitioner
	admin  string
	seq    atomic.Int64
}

func setupClaims(t *testing.T) *claimFixture {
	t.Helper()
	f := &claimFixture{env: servertest.New(t)}
	u, _ := f.env.User(t, "claims-doctor@clinic.example", hg.RolePractitioner)
	var err error
	f.doctor, err = f.env.DB.CreatePractitioner(context.Background(), hg.NewPractitioner{UserID: u.ID, FirstName: "Sara",
		FamilyName: "Alzahrani", SpecialtyCode: "08.00", Specialty: "Internal Medicine", License: "L-CLAIM"})
	if err != nil {
		t.Fatal(err)
	}
	_, f.admin = f.env.User(t, "claims-admin@clinic.example", hg.RoleAdmin)
	return f
}

var claimBirth = time.Date(1985, 3, 14, 0, 0, 0, 0, time.UTC)

// patient creates an unlinked patient born on claimBirth, with an
// appointment and an issued invoice: what they should see once claimed.
func (f *claimFixture) patient(t *testing.T) *hg.Patient {
	t.Helper()
	ctx := context.Background()
	n := f.seq.Add(1)
	p, err := f.env.DB.CreatePatient(ctx, hg.NewPatient{MRN: fmt.Sprintf("MC-%d", n), NationalID: fmt.Sprintf("2%09d", n),
		FirstName: "Noura", FamilyName: "Alotaibi", BirthDate: claimBirth, Gender: hg.GenderFemale})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(72 * time.Hour).Truncate(24 * time.Hour).Add(time.Duration(n) * time.Hour)
	if _, err := f.env.DB.BookAppointment(ctx, all, hg.NewAppointment{PatientID: p.ID, PractitionerID: f.doctor.ID,
		StartsAt: start, EndsAt: start.Add(30 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	inv, err := f.env.DB.CreateInvoice(ctx, all, hg.NewInvoice{PatientID: p.ID,
		Lines: []hg.NewInvoiceLine{{CodeSystem: hg.SystemServices, ServiceCode: "83600-00-10", Description: "Consultation", Quantity: 1, UnitPrice: 30000}}})
	if err == nil {
		_, err = f.env.DB.IssueInvoice(ctx, inv.ID)
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// account signs up a fresh PATIENT account and returns it with a token.
func (f *claimFixture) account(t *testing.T) (*hg.User, string) {
	t.Helper()
	return f.env.User(t, fmt.Sprintf("claimant%d@example.com", f.seq.Add(1)), hg.RolePatient)
}

func claimVars(mrn, nid string, birth time.Time) map[string]any {
	in := map[string]any{"birthDate": birth.Format("2006-01-02")}
	if mrn != "" {
		in["mrn"] = mrn
	}
	if nid != "" {
		in["nationalId"] = nid
	}
	return map[string]any{"in": in}
}

// seen is how many appointments and invoices the caller sees.
func seen(t *testing.T, env *servertest.Env, token string) (appointments, invoices int) {
	t.Helper()
	var out struct {
		Appointments, Invoices struct{ TotalCount int }
	}
	env.Do(t, token, `{ appointments { totalCount } invoices { totalCount } }`, nil).Decode(t, &out)
	return out.Appointments.TotalCount, out.Invoices.TotalCount
}

func (f *claimFixture) audits(t *testing.T, actor uuid.UUID, action string) int {
	t.Helper()
	return f.env.Count(t, `SELECT count(*) FROM audit_events WHERE actor_id = $1 AND action = $2`, actor, action)
}

func TestClaimingARecordShowsThePatientTheirOwnData(t *testing.T) {
	t.Parallel()
	f := setupClaims(t)
	for _, tc := range []struct {
		name    string
		mrn     bool
		nid     bool
		wantVia string
	}{
		{"by MRN and birth date", true, false, "mrn+birthDate"},
		{"by national ID and birth date", false, true, "nationalId+birthDate"},
		{"by MRN, national ID and birth date", true, true, "mrn+nationalId+birthDate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := f.patient(t)
			u, tok := f.account(t)
			if a, i := seen(t, f.env, tok); a != 0 || i != 0 {
				t.Fatalf("before claiming: %d appointments, %d invoices; want none", a, i)
			}
			var mrn, nid string
			if tc.mrn {
				mrn = p.MRN
			}
			if tc.nid {
				nid = p.NationalID
			}
			var out struct{ ClaimPatientRecord struct{ ID, Mrn string } }
			f.env.Do(t, tok, claimMut, claimVars(mrn, nid, claimBirth)).Decode(t, &out)
			if out.ClaimPatientRecord.ID != gid("Patient", p.ID) || out.ClaimPatientRecord.Mrn != p.MRN {
				t.Fatalf("claimed %+v, want patient %s", out.ClaimPatientRecord, p.MRN)
			}
			if a, i := seen(t, f.env, tok); a != 1 || i != 1 {
				t.Fatalf("after claiming: %d appointments, %d invoices; want 1 and 1", a, i)
			}
			if n := f.env.Count(t, `SELECT count(*) FROM audit_events WHERE actor_id = $1 AND action = 'patient.claimed'
				AND patient_id = $2 AND detail = $3`, u.ID, p.ID, tc.wantVia); n != 1 {
				t.Fatalf("patient.claimed audit rows = %d, want 1", n)
			}
		})
	}
}

func TestAWrongClaimGivesOneAnswerIsAuditedAndLimited(t *testing.T) {
	t.Parallel()
	f := setupClaims(t)
	p := f.patient(t)
	u, tok := f.account(t)
	other := f.patient(t) // a real record, but not born on the date given
	wrong := []struct {
		name string
		vars map[string]any
	}{
		{"unknown MRN", claimVars("MC-NOSUCH", "", claimBirth)},
		{"wrong birth date with the MRN", claimVars(p.MRN, "", claimBirth.AddDate(0, 0, 1))},
		{"wrong birth date with the national ID", claimVars("", p.NationalID, claimBirth.AddDate(-1, 0, 0))},
		{"MRN and national ID of two different records", claimVars(p.MRN, other.NationalID, claimBirth)},
		{"unknown national ID", claimVars("", "1999999999", claimBirth)},
	}
	var message string
	for i, tc := range wrong {
		res := f.env.Do(t, tok, claimMut, tc.vars)
		if res.Code() != hg.ENOTFOUND || res.Field() != "" {
			t.Fatalf("%s: got %q field %q (%+v), want NOT_FOUND naming no field", tc.name, res.Code(), res.Field(), res.Errors)
		}
		if i == 0 {
			message = res.Errors[0].Message
		} else if got := res.Errors[0].Message; got != message {
			t.Fatalf("%s: message %q, want the same as for an unknown MRN, %q", tc.name, got, message)
		}
		if got := f.audits(t, u.ID, hg.AuditClaimFailed); got != i+1 {
			t.Fatalf("after %s: %d failed-claim audit rows, want %d", tc.name, got, i+1)
		}
	}
	// The limit is reached: even the right details are refused now.
	res := f.env.Do(t, tok, claimMut, claimVars(p.MRN, "", claimBirth))
	if res.Code() != hg.ERATELIMITED {
		t.Fatalf("sixth attempt: got %q (%+v), want RATE_LIMITED", res.Code(), res.Errors)
	}
	if n := f.env.Count(t, `SELECT count(*) FROM patients WHERE user_id = $1`, u.ID); n != 0 {
		t.Fatalf("a refused claim linked %d records", n)
	}
	if n := f.env.Count(t, `SELECT count(*) FROM audit_events WHERE actor_id = $1 AND action = $2 AND detail LIKE 'limit reached%'`,
		u.ID, hg.AuditClaimRefused); n != 1 {
		t.Fatalf("refused-claim audit rows = %d, want 1", n)
	}
	// Another account is not limited by this one's failures.
	_, tok2 := f.account(t)
	f.env.Do(t, tok2, claimMut, claimVars(p.MRN, "", claimBirth)).Decode(t, &struct{}{})
}

// Concurrent wrong attempts of one account cannot slip past the limit.
func TestConcurrentWrongClaimsStopAtTheLimit(t *testing.T) {
	t.Parallel()
	f := setupClaims(t)
	u, tok := f.account(t)
	const attempts = 12
	codes := make([]string, attempts)
	var wg sync.WaitGroup
	for i := range attempts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = f.env.Do(t, tok, claimMut, claimVars(fmt.Sprintf("MC-GUESS-%d", i), "", claimBirth)).Code()
		}()
	}
	wg.Wait()
	count := map[string]int{}
	for _, c := range codes {
		count[c]++
	}
	if want := hg.ClaimAttemptLimit.Max; count[hg.ENOTFOUND] != want || count[hg.ERATELIMITED] != attempts-want {
		t.Fatalf("answers %v, want %d NOT_FOUND and %d RATE_LIMITED", count, want, attempts-want)
	}
	if got := f.audits(t, u.ID, hg.AuditClaimFailed) + f.audits(t, u.ID, hg.AuditClaimRefused); got != attempts {
		t.Fatalf("%d claim audit rows, want one per attempt, %d", got, attempts)
	}
}

func TestClaimingALinkedRecordOrWithALinkedAccountConflicts(t *testing.T) {
	t.Parallel()
	f := setupClaims(t)
	p, q := f.patient(t), f.patient(t)
	_, first := f.account(t)
	f.env.Do(t, first, claimMut, claimVars(p.MRN, "", claimBirth)).Decode(t, &struct{}{})
	u2, second := f.account(t)
	for _, tc := range []struct {
		name  string
		token string
		vars  map[string]any
	}{
		{"a record already linked to another account", second, claimVars(p.MRN, "", claimBirth)},
		{"an account already linked to a record", first, claimVars(q.MRN, "", claimBirth)},
		{"an account claiming its own record again", first, claimVars("", p.NationalID, claimBirth)},
	} {
		res := f.env.Do(t, tc.token, claimMut, tc.vars)
		if res.Code() != hg.ECONFLICT {
			t.Fatalf("%s: got %q (%+v), want CONFLICT", tc.name, res.Code(), res.Errors)
		}
	}
	if n := f.env.Count(t, `SELECT count(*) FROM patients WHERE user_id = $1 OR id = $2 AND user_id IS NOT NULL`, u2.ID, q.ID); n != 0 {
		t.Fatalf("a conflicting claim linked %d records", n)
	}
	if got := f.audits(t, u2.ID, hg.AuditClaimRefused); got != 1 {
		t.Fatalf("refused-claim audit rows of the second account = %d, want 1", got)
	}
}

func TestMalformedClaimsNameTheirField(t *testing.T) {
	t.Parallel()
	f := setupClaims(t)
	_, tok := f.account(t)
	for _, tc := range []struct {
		name, mrn, nid, field string
	}{
		{"neither MRN nor national ID", "", "", "input.mrn"},
		{"a national ID of the wrong form", "", "12345", "input.nationalId"},
		{"an MRN of the wrong form", "MRN 1; --", "", "input.mrn"},
	} {
		res := f.env.Do(t, tok, claimMut, claimVars(tc.mrn, tc.nid, claimBirth))
		if res.Code() != hg.EINVALID || res.Field() != tc.field {
			t.Errorf("%s: got %q field %q, want BAD_USER_INPUT naming %s", tc.name, res.Code(), res.Field(), tc.field)
		}
	}
}

func TestMeShowsTheCallersPatientOrPractitionerProfile(t *testing.T) {
	t.Parallel()
	f := setupClaims(t)
	p := f.patient(t)
	_, patientTok := f.account(t)
	f.env.Do(t, patientTok, claimMut, claimVars(p.MRN, "", claimBirth)).Decode(t, &struct{}{})
	doctorTok := login(t, f.env, "claims-doctor@clinic.example", servertest.Password).AccessToken
	_, unlinkedTok := f.account(t)
	for _, tc := range []struct {
		name                      string
		token                     string
		wantPatient, wantPractice string
	}{
		{"a patient who claimed their record", patientTok, gid("Patient", p.ID), ""},
		{"a patient who has not", unlinkedTok, "", ""},
		{"a practitioner", doctorTok, "", gid("Practitioner", f.doctor.ID)},
		{"an administrator", f.admin, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out struct {
				Me struct {
					Patient      *struct{ ID, Mrn string }
					Practitioner *struct{ ID string }
				}
			}
			f.env.Do(t, tc.token, `{ me { patient { id mrn } practitioner { id } } }`, nil).Decode(t, &out)
			var gotPatient, gotPractice string
			if out.Me.Patient != nil {
				gotPatient = out.Me.Patient.ID
			}
			if out.Me.Practitioner != nil {
				gotPractice = out.Me.Practitioner.ID
			}
			if gotPatient != tc.wantPatient || gotPractice != tc.wantPractice {
				t.Fatalf("me: patient %q practitioner %q, want %q and %q", gotPatient, gotPractice, tc.wantPatient, tc.wantPractice)
			}
		})
	}
}
