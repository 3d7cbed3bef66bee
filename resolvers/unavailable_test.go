package resolvers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/server/servertest"
)

// TestResourceErrorsAnswerUnavailableAndWriteNothing makes Postgres fail a
// write the way a full disk, exhausted memory or a shutting-down server
// does (a trigger raising the SQLSTATE) and expects the mutation to answer
// UNAVAILABLE, which clients retry, never INTERNAL, with no row of the
// write and no audit row left behind.
func TestResourceErrorsAnswerUnavailableAndWriteNothing(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	ctx := context.Background()
	_, reception := env.User(t, "reception@unavailable.test", hg.RoleReception)
	_, billing := env.User(t, "billing@unavailable.test", hg.RoleBilling)
	patient, err := env.DB.CreatePatient(ctx, hg.NewPatient{NationalID: "1000000531", FirstName: "Sara", FamilyName: "Alqahtani",
		BirthDate: time.Date(1990, 1, 2, 0, 0, 0, 0, time.UTC), Gender: hg.GenderFemale})
	if err != nil {
		t.Fatal(err)
	}
	createPatient := func(n int) (string, string, map[string]any) {
		return reception, mCreatePatient, map[string]any{"in": map[string]any{"nationalId": fmt.Sprintf("20000005%02d", n),
			"firstName": "Khalid", "familyName": "Alotaibi", "birthDate": "1990-07-14", "gender": "MALE"}}
	}
	// The invoice's header is inserted before its lines: failing the lines
	// shows that the header does not survive alone.
	createInvoice := func(int) (string, string, map[string]any) {
		return billing, mCreateInvoice, map[string]any{"in": map[string]any{"patientId": gid("Patient", patient.ID),
			"lines": []map[string]any{{"serviceCode": "99213", "description": "Consultation", "quantity": 1, "unitPrice": "300.00"}}}}
	}
	tests := []struct {
		sqlstate, table string
		op              func(int) (token, query string, vars map[string]any)
		rows            string
	}{
		{"53100", "patients", createPatient, "SELECT count(*) FROM patients"},           // disk_full
		{"53200", "patients", createPatient, "SELECT count(*) FROM patients"},           // out_of_memory
		{"53300", "patients", createPatient, "SELECT count(*) FROM patients"},           // too_many_connections
		{"57P01", "patients", createPatient, "SELECT count(*) FROM patients"},           // admin_shutdown
		{"57P03", "patients", createPatient, "SELECT count(*) FROM patients"},           // cannot_connect_now
		{"08006", "patients", createPatient, "SELECT count(*) FROM patients"},           // connection_failure
		{"53100", "invoice_lines", createInvoice, "SELECT count(*) FROM invoices"},      // disk_full mid-invoice
		{"53400", "invoice_lines", createInvoice, "SELECT count(*) FROM invoice_lines"}, // configuration_limit_exceeded
	}
	// One at a time: the trigger is on a table the whole server shares.
	for i, tc := range tests {
		t.Run(tc.sqlstate+" on "+tc.table, func(t *testing.T) {
			exec(t, env, fmt.Sprintf(`CREATE FUNCTION fail_write() RETURNS trigger LANGUAGE plpgsql AS
				$$ BEGIN RAISE EXCEPTION 'drill: simulated resource error' USING ERRCODE = '%s'; END $$`, tc.sqlstate))
			exec(t, env, "CREATE TRIGGER fail_write BEFORE INSERT ON "+tc.table+" FOR EACH ROW EXECUTE FUNCTION fail_write()")
			t.Cleanup(func() {
				exec(t, env, "DROP TRIGGER fail_write ON "+tc.table)
				exec(t, env, "DROP FUNCTION fail_write()")
			})
			rows, audits := env.Count(t, tc.rows), env.Count(t, "SELECT count(*) FROM audit_events")
			token, query, vars := tc.op(i)
			resp := env.Do(t, token, query, vars)
			if got := resp.Code(); got != string(hg.EUNAVAILABLE) {
				t.Errorf("code = %q, want %s (errors %+v)", got, hg.EUNAVAILABLE, resp.Errors)
			}
			if got := env.Count(t, tc.rows); got != rows {
				t.Errorf("%s: %d rows after the failed write, want %d", tc.rows, got, rows)
			}
			if got := env.Count(t, "SELECT count(*) FROM audit_events"); got != audits {
				t.Errorf("%d audit rows after the failed write, want %d", got, audits)
			}
		})
	}
}

func exec(t *testing.T, env *servertest.Env, sql string) {
	t.Helper()
	if _, err := env.DB.Pool.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
