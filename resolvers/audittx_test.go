package resolvers_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
	"github.com/healthgraph/healthgraph/server/servertest"
)

// failAudits makes the test database refuse to insert audit rows of the
// actions listed in test_failing_audit, as a full disk or a revoked grant
// would refuse them in production.
func failAudits(t *testing.T, env *servertest.Env) {
	t.Helper()
	for _, sql := range []string{
		`CREATE TABLE test_failing_audit (action text PRIMARY KEY)`,
		`CREATE FUNCTION test_fail_audit() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF EXISTS (SELECT 1 FROM test_failing_audit WHERE action = NEW.action) THEN
				RAISE EXCEPTION 'audit insert refused by the test';
			END IF;
			RETURN NEW;
		END $$`,
		`CREATE TRIGGER test_fail_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION test_fail_audit()`,
	} {
		if _, err := env.DB.Pool.Exec(context.Background(), sql); err != nil {
			t.Fatal(err)
		}
	}
}

func setAuditFailing(t *testing.T, env *servertest.Env, action string, failing bool) {
	t.Helper()
	sql := `DELETE FROM test_failing_audit WHERE action = $1`
	if failing {
		sql = `INSERT INTO test_failing_audit VALUES ($1)`
	}
	if _, err := env.DB.Pool.Exec(context.Background(), sql, action); err != nil {
		t.Fatal(err)
	}
}

// TestAWriteAndItsAuditRowCommitTogether makes the audit insert of each
// mutation fail in the database and expects the mutation to answer an
// error and to have changed nothing; then, with audits working, the same
// mutation succeeds and leaves both the change and exactly one audit row.
// Before, the change committed first and the client was told it failed.
func TestAWriteAndItsAuditRowCommitTogether(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.New(t)
	failAudits(t, env)
	db, all := env.DB, hg.PatientScope{All: true}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	admin := tokenOf(env, t, "admin@clinic.example", hg.RoleAdmin)
	desk := tokenOf(env, t, "desk@clinic.example", hg.RoleReception)
	billing := tokenOf(env, t, "billing@clinic.example", hg.RoleBilling)
	drUser, doctor := env.User(t, "dr@clinic.example", hg.RolePractitioner)
	erUser, erDoctor := env.User(t, "er@clinic.example", hg.RolePractitioner)
	clerk, _ := env.User(t, "clerk@clinic.example", hg.RoleReception)
	nurseUser, nurse := env.User(t, "nurse@clinic.example", hg.RolePatient)
	pr, err := db.CreatePractitioner(ctx, hg.NewPractitioner{UserID: drUser.ID, FirstName: "Huda", FamilyName: "Alqahtani",
		SpecialtyCode: "08.00", Specialty: "Internal Medicine", License: "L-1"})
	must(err)
	_, err = db.CreatePractitioner(ctx, hg.NewPractitioner{UserID: erUser.ID, FirstName: "Omar", FamilyName: "Alharbi",
		SpecialtyCode: "08.00", Specialty: "Internal Medicine", License: "L-2"})
	must(err)
	amal, err := db.CreatePatient(ctx, hg.NewPatient{NationalID: "1000000201", FirstName: "Amal", FamilyName: "Alghamdi",
		BirthDate: time.Date(1975, 3, 9, 0, 0, 0, 0, time.UTC), Gender: hg.GenderFemale})
	must(err)
	today := hg.DateOf(time.Now())
	cov, err := db.AddCoverage(ctx, all, hg.NewCoverage{PatientID: amal.ID, PayerLicense: "7001463160", PayerName: "Bupa Arabia", MemberIDSystem: "http://payer.example/memberid", Class: "A",
		MemberID: "M-1", PolicyNumber: "POL-7", StartsOn: today.AddDate(0, -1, 0), EndsOn: today.AddDate(1, 0, 0)})
	must(err)
	slot := time.Now().Add(48 * time.Hour).Truncate(time.Hour)
	book := func(h int) *hg.Appointment {
		a, err := db.BookAppointment(ctx, all, hg.NewAppointment{PatientID: amal.ID, PractitionerID: pr.ID,
			StartsAt: slot.Add(time.Duration(h) * time.Hour), EndsAt: slot.Add(time.Duration(h)*time.Hour + 30*time.Minute)})
		must(err)
		return a
	}
	moved, checkedIn, cancelled := book(0), book(1), book(2)
	// The visit the claims below are for.
	seen, _, err := pgtest.Visit(ctx, db, amal.ID, pr, time.Now().Add(-2*time.Hour).Truncate(time.Hour))
	must(err)
	claimInput := func(invoice uuid.UUID) map[string]any {
		return map[string]any{"invoiceId": gid("Invoice", invoice), "practitionerId": gid("Practitioner", pr.ID),
			"appointmentId": gid("Appointment", seen.ID), "diagnoses": []string{"I10"}}
	}
	rec, err := db.AddRecord(ctx, all, hg.NewRecord{PatientID: amal.ID, AuthorID: drUser.ID, Kind: hg.RecordNote, Body: "Seen today"})
	must(err)
	invoice := func(issue bool) uuid.UUID {
		inv, err := db.CreateInvoice(ctx, all, hg.NewInvoice{PatientID: amal.ID, CoverageID: &cov.ID, Lines: []hg.NewInvoiceLine{
			{CodeSystem: hg.SystemServices, ServiceCode: "83600-00-10", Description: "Consultation", Quantity: 1, UnitPrice: 30000}}})
		must(err)
		if issue {
			_, err = db.IssueInvoice(ctx, inv.ID)
			must(err)
		}
		return inv.ID
	}
	draft, toPay, toVoid, toClaim := invoice(false), invoice(true), invoice(false), invoice(true)
	claim := func(status string) uuid.UUID {
		var out struct{ SubmitClaim idOut }
		env.Do(t, billing, mSubmitClaim, map[string]any{"in": claimInput(invoice(true))}).Decode(t, &out)
		id := rawID(t, out.SubmitClaim.ID)
		delivery := map[string]string{"ERROR": "FAILED", "SUBMITTED": "SENT"}[status]
		_, err := db.Pool.Exec(ctx, `UPDATE claims SET status = $2, last_error = 'payer unreachable' WHERE id = $1`, id, status)
		must(err)
		_, err = db.Pool.Exec(ctx, `UPDATE nphies_messages SET delivery = $2 WHERE claim_id = $1`, id, delivery)
		must(err)
		return id
	}
	failed, submitted := claim("ERROR"), claim("SUBMITTED")
	var nurseVersion int
	must(db.Pool.QueryRow(ctx, `SELECT token_version FROM users WHERE id = $1`, nurseUser.ID).Scan(&nurseVersion))

	for _, c := range []struct {
		name, token, query string
		vars               map[string]any
		action             string
		// changed counts the rows that show the change happened.
		changed string
		args    []any
	}{
		{"createPatient", desk, mCreatePatient, map[string]any{"in": map[string]any{"nationalId": "2000000203", "firstName": "Zaid",
			"familyName": "Alotaibi", "birthDate": "1990-07-14", "gender": "MALE"}},
			"patient.created", `SELECT count(*) FROM patients WHERE first_name = 'Zaid'`, nil},
		{"updatePatient", desk, mUpdatePatient, map[string]any{"id": gid("Patient", amal.ID), "in": map[string]any{"firstName": "Amala"}},
			"patient.updated", `SELECT count(*) FROM patients WHERE first_name = 'Amala'`, nil},
		{"addCoverage", desk, mAddCoverage, map[string]any{"in": map[string]any{"patientId": gid("Patient", amal.ID),
			"payerLicense": "7001463160", "payerName": "Bupa Arabia", "memberId": "M-2", "class": "A",
			"startsOn": today.Format(time.DateOnly), "endsOn": today.AddDate(1, 0, 0).Format(time.DateOnly)}},
			"coverage.added", `SELECT count(*) FROM coverages WHERE member_id = 'M-2'`, nil},
		{"bookAppointment", desk, mBook, map[string]any{"in": map[string]any{"patientId": gid("Patient", amal.ID),
			"practitionerId": gid("Practitioner", pr.ID), "startsAt": slot.Add(5 * time.Hour).Format(time.RFC3339),
			"endsAt": slot.Add(5*time.Hour + 30*time.Minute).Format(time.RFC3339)}},
			"appointment.booked", `SELECT count(*) FROM appointments WHERE starts_at = $1`, []any{slot.Add(5 * time.Hour)}},
		{"rescheduleAppointment", desk, `mutation($id: ID!, $s: Time!, $e: Time!) { rescheduleAppointment(id: $id, startsAt: $s, endsAt: $e) { id } }`,
			map[string]any{"id": gid("Appointment", moved.ID), "s": slot.Add(6 * time.Hour).Format(time.RFC3339),
				"e": slot.Add(6*time.Hour + 30*time.Minute).Format(time.RFC3339)},
			"appointment.rescheduled", `SELECT count(*) FROM appointments WHERE id = $1 AND starts_at = $2`, []any{moved.ID, slot.Add(6 * time.Hour)}},
		{"updateAppointmentStatus", desk, mStatus, map[string]any{"id": gid("Appointment", checkedIn.ID), "s": "CHECKED_IN"},
			"appointment.status_changed", `SELECT count(*) FROM appointments WHERE id = $1 AND status = 'CHECKED_IN'`, []any{checkedIn.ID}},
		{"cancelAppointment", desk, `mutation($id: ID!) { cancelAppointment(id: $id, reason: "Patient called to cancel") { id } }`,
			map[string]any{"id": gid("Appointment", cancelled.ID)},
			"appointment.cancelled", `SELECT count(*) FROM appointments WHERE id = $1 AND status = 'CANCELLED'`, []any{cancelled.ID}},
		{"addMedicalRecord", doctor, mAddRecord, map[string]any{"in": map[string]any{"patientId": gid("Patient", amal.ID),
			"kind": "NOTE", "body": "Written atomically"}},
			"record.added", `SELECT count(*) FROM medical_records WHERE body = 'Written atomically'`, nil},
		{"amendMedicalRecord", doctor, mAmendRecord, map[string]any{"id": gid("MedicalRecord", rec.ID), "in": map[string]any{"body": "Amended atomically"}},
			"record.amended", `SELECT count(*) FROM medical_records WHERE body = 'Amended atomically'`, nil},
		{"breakGlass", erDoctor, mBreakGlass, map[string]any{"id": gid("Patient", amal.ID)},
			"patient.break_glass", `SELECT count(*) FROM break_glass_grants`, nil},
		{"createInvoice", billing, mCreateInvoice, map[string]any{"in": map[string]any{"patientId": gid("Patient", amal.ID),
			"lines": []map[string]any{{"serviceCode": "85025", "description": "Atomic CBC", "quantity": 1, "unitPrice": "45.00"}}}},
			"invoice.created", `SELECT count(*) FROM invoice_lines WHERE description = 'Atomic CBC'`, nil},
		{"issueInvoice", billing, mIssueInvoice, map[string]any{"id": gid("Invoice", draft)},
			"invoice.issued", `SELECT count(*) FROM invoices WHERE id = $1 AND status <> 'DRAFT'`, []any{draft}},
		{"recordPayment", billing, mPayment, map[string]any{"id": gid("Invoice", toPay), "a": "10.00"},
			"invoice.payment_recorded", `SELECT count(*) FROM payments WHERE invoice_id = $1`, []any{toPay}},
		{"voidInvoice", billing, `mutation($id: ID!) { voidInvoice(id: $id, reason: "Entered twice") { id } }`,
			map[string]any{"id": gid("Invoice", toVoid)},
			"invoice.voided", `SELECT count(*) FROM invoices WHERE id = $1 AND status = 'VOID'`, []any{toVoid}},
		{"submitClaim", billing, mSubmitClaim, map[string]any{"in": claimInput(toClaim)},
			"claim.queued", `SELECT count(*) FROM claims WHERE invoice_id = $1`, []any{toClaim}},
		{"retryClaim", billing, `mutation($id: ID!) { retryClaim(id: $id) { id } }`, map[string]any{"id": gid("Claim", failed)},
			"claim.retried", `SELECT count(*) FROM claims WHERE id = $1 AND status = 'QUEUED'`, []any{failed}},
		{"cancelClaim", billing, `mutation($id: ID!) { cancelClaim(id: $id, reason: "Billed in error") { id } }`,
			map[string]any{"id": gid("Claim", submitted)},
			"claim.cancel_requested", `SELECT count(*) - 1 FROM nphies_messages WHERE claim_id = $1`, []any{submitted}},
		{"setUserRole", admin, `mutation($id: ID!) { setUserRole(userId: $id, role: BILLING) { id } }`,
			map[string]any{"id": gid("User", clerk.ID)},
			"user.role_changed", `SELECT count(*) FROM users WHERE id = $1 AND role = 'BILLING'`, []any{clerk.ID}},
		{"changePassword", nurse, `mutation($old: String!) { changePassword(currentPassword: $old, newPassword: "another-password-77") { accessToken } }`,
			map[string]any{"old": servertest.Password},
			"password.changed", `SELECT count(*) FROM users WHERE id = $1 AND token_version > $2`, []any{nurseUser.ID, nurseVersion}},
		{"signup", "", `mutation { signup(input: {email: "new@mail.example", password: "a-password-123", fullName: "New Patient"}) { id } }`, nil,
			"account.created", `SELECT count(*) FROM users WHERE email = 'new@mail.example'`, nil},
	} {
		t.Run(c.name+" changes nothing when its audit row cannot be written", func(t *testing.T) {
			audits := `SELECT count(*) FROM audit_events WHERE action = $1`
			before := env.Count(t, audits, c.action)
			setAuditFailing(t, env, c.action, true)
			if got := env.Do(t, c.token, c.query, c.vars).Code(); got != hg.EINTERNAL {
				t.Errorf("code %q, want %q", got, hg.EINTERNAL)
			}
			if n := env.Count(t, c.changed, c.args...); n != 0 {
				t.Errorf("%d rows show the change, want 0", n)
			}
			if n := env.Count(t, audits, c.action) - before; n != 0 {
				t.Errorf("%d new %s audit rows, want 0", n, c.action)
			}

			setAuditFailing(t, env, c.action, false)
			if r := env.Do(t, c.token, c.query, c.vars); r.Code() != "" {
				t.Fatalf("with audits working: code %q (%+v), want success", r.Code(), r.Errors)
			}
			if n := env.Count(t, c.changed, c.args...); n != 1 {
				t.Errorf("with audits working: %d rows show the change, want 1", n)
			}
			if n := env.Count(t, audits, c.action) - before; n != 1 {
				t.Errorf("with audits working: %d new %s audit rows, want 1", n, c.action)
			}
		})
	}
}

// tokenOf makes an account with role and returns its access token.
func tokenOf(env *servertest.Env, t *testing.T, email string, role hg.Role) string {
	_, tok := env.User(t, email, role)
	return tok
}

// TestAnEligibilityCheckIsStoredAndSentOnlyOnceAudited makes the audit
// insert of a check fail and expects no check stored, nothing sent to
// NPHIES and an error; with audits working, one check and one audit row.
func TestAnEligibilityCheckIsStoredAndSentOnlyOnceAudited(t *testing.T) {
	t.Parallel()
	e := newEligibilityEnv(t, true)
	failAudits(t, e.Env)
	vars := map[string]any{"p": gid("Patient", e.patient.ID), "c": gid("Coverage", e.coverage.ID)}
	const audits = `SELECT count(*) FROM audit_events WHERE action = 'eligibility.checked'`

	setAuditFailing(t, e.Env, "eligibility.checked", true)
	if got := e.Do(t, e.tokens[hg.RoleReception], checkEligibilityMut, vars).Code(); got != hg.EINTERNAL {
		t.Errorf("code %q, want %q", got, hg.EINTERNAL)
	}
	for _, sql := range []string{`SELECT count(*) FROM eligibility_checks`, `SELECT count(*) FROM nphies_messages`, audits} {
		if n := e.Count(t, sql); n != 0 {
			t.Errorf("%s: %d, want 0", sql, n)
		}
	}

	setAuditFailing(t, e.Env, "eligibility.checked", false)
	if r := e.Do(t, e.tokens[hg.RoleReception], checkEligibilityMut, vars); r.Code() != "" {
		t.Fatalf("with audits working: %+v", r.Errors)
	}
	for _, sql := range []string{`SELECT count(*) FROM eligibility_checks`, audits} {
		if n := e.Count(t, sql); n != 1 {
			t.Errorf("with audits working: %s: %d, want 1", sql, n)
		}
	}
}
