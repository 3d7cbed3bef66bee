package seed_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/auth"
	"github.com/healthgraph/healthgraph/nphies/rules"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
	"github.com/healthgraph/healthgraph/seed"
	"github.com/healthgraph/healthgraph/server/servertest"
)

var clock = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

// hashCheaply hashes demo logins for real at the cheapest parameters, which
// keeps the race detector's slowdown of argon2id out of the suite.
var hashCheaply = (&auth.Accounts{Params: auth.TestParams}).HashPassword

func TestDemo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t, postgres.Options{})
	res, err := seed.Demo(ctx, db, hashCheaply, seed.Options{Seed: 7, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("demo: %+v", res.Summary)

	t.Run("a login per role whose password works", func(t *testing.T) {
		roles := map[hg.Role]bool{}
		for _, l := range res.Logins {
			roles[l.Role] = true
			u, err := db.UserByEmail(ctx, l.Email)
			var ok bool
			if err == nil {
				ok, err = auth.CheckPassword(ctx, u.PasswordHash, l.Password)
			}
			if err != nil || u.Role != l.Role || !ok {
				t.Errorf("login %s (%s): user %+v, %v; want the role and a working password", l.Email, l.Role, u, err)
			}
			if err := auth.ValidatePassword(l.Password, l.Email); err != nil {
				t.Errorf("demo password of %s breaks the policy: %v", l.Role, err)
			}
		}
		if len(roles) != len(hg.Roles) {
			t.Fatalf("logins cover %d roles, want %d", len(roles), len(hg.Roles))
		}
	})
	t.Run("the patient login sees its own record with visits before and after today", func(t *testing.T) {
		var patientLogin, doctorLogin seed.Login
		for _, l := range res.Logins {
			switch l.Role {
			case hg.RolePatient:
				patientLogin = l
			case hg.RolePractitioner:
				doctorLogin = l
			}
		}
		u, _ := db.UserByEmail(ctx, patientLogin.Email)
		self := hg.PatientScope{SelfUserID: &u.ID}
		ps, total, err := db.ListPatients(ctx, self, hg.PatientFilter{}, hg.Page{First: 10, Count: true})
		if err != nil || total != 1 || ps[0].ID != *patientLogin.PatientID {
			t.Fatalf("patient login sees %d patients (%v), want exactly its own", total, err)
		}
		appts, _, _ := db.ListAppointments(ctx, self, hg.AppointmentFilter{}, hg.Page{First: 50})
		var past, future int
		for _, a := range appts {
			if a.PractitionerID != *doctorLogin.PractitionerID {
				t.Errorf("demo patient's appointment is with %s, want the demo doctor", a.PractitionerID)
			}
			if a.StartsAt.Before(clock) {
				past++
			} else {
				future++
			}
		}
		if past == 0 || future == 0 {
			t.Fatalf("demo patient has %d past and %d future appointments, want both", past, future)
		}
		doc, _ := db.UserByEmail(ctx, doctorLogin.Email)
		care := hg.PatientScope{CareUserID: &doc.ID}
		if _, err := db.PatientByID(ctx, care, *patientLogin.PatientID); err != nil {
			t.Fatalf("demo doctor cannot see the demo patient: %v", err)
		}
	})
	t.Run("data satisfies the domain's own validation", func(t *testing.T) {
		ps, _, err := db.ListPatients(ctx, hg.PatientScope{All: true}, hg.PatientFilter{}, hg.Page{First: 200})
		if err != nil || len(ps) != 200 {
			t.Fatalf("%d patients, %v; want the first page of 200", len(ps), err)
		}
		var arabic int
		for _, p := range ps {
			in := hg.NewPatient{NationalID: p.NationalID, FirstName: p.FirstName, FamilyName: p.FamilyName,
				FirstNameAr: p.FirstNameAr, FamilyNameAr: p.FamilyNameAr, BirthDate: p.BirthDate, Gender: p.Gender,
				Phone: p.Phone, Email: p.Email}
			if err := in.Validate(clock); err != nil {
				t.Errorf("generated patient fails validation: %v", err)
			}
			if p.FirstNameAr != "" {
				arabic++
			}
		}
		if arabic != len(ps) {
			t.Errorf("%d of %d patients have Arabic names", arabic, len(ps))
		}
		var badCodes int
		db.Pool.QueryRow(ctx, `SELECT count(*) FROM medical_records WHERE kind = 'DIAGNOSIS' AND cardinality(codes) = 0`).Scan(&badCodes)
		if badCodes != 0 {
			t.Errorf("%d diagnoses without a code", badCodes)
		}
		var amended int
		db.Pool.QueryRow(ctx, `SELECT count(*) FROM medical_records WHERE superseded_by IS NOT NULL`).Scan(&amended)
		if amended != 1 {
			t.Errorf("%d amended records, want the one demo amendment", amended)
		}
	})
	t.Run("seeding twice is CONFLICT", func(t *testing.T) {
		_, err := seed.Demo(ctx, db, hashCheaply, seed.Options{Seed: 7, Now: clock})
		if hg.ErrorCode(err) != hg.ECONFLICT {
			t.Fatalf("second demo: %v, want CONFLICT", err)
		}
	})
}

// TestDemoWritesABelievableMonth checks the demo's month of billing: every
// invoice and claim status, each claim's NPHIES exchange, totals that add
// up, no double-booked patient, and analyst summaries with shown groups.
func TestDemoWritesABelievableMonth(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t, postgres.Options{})
	if _, err := seed.Demo(ctx, db, hashCheaply, seed.Options{Seed: 3, Now: clock}); err != nil {
		t.Fatal(err)
	}
	count := func(t *testing.T, query string, args ...any) map[string]int {
		t.Helper()
		rows, err := db.Pool.Query(ctx, query, args...)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for rows.Next() {
			var k string
			var n int
			if err := rows.Scan(&k, &n); err != nil {
				t.Fatal(err)
			}
			out[k] = n
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	t.Run("claims in every status, enough to show in a summary", func(t *testing.T) {
		got := count(t, `SELECT status, count(*) FROM claims GROUP BY status`)
		for _, s := range []hg.ClaimStatus{hg.ClaimDraft, hg.ClaimQueued, hg.ClaimSubmitted, hg.ClaimPending, hg.ClaimApproved,
			hg.ClaimPartial, hg.ClaimRejected, hg.ClaimError, hg.ClaimCancelled} {
			if got[string(s)] < hg.MinUtilizationGroup {
				t.Errorf("%d %s claims, want at least %d (all: %v)", got[string(s)], s, hg.MinUtilizationGroup, got)
			}
		}
	})
	t.Run("invoices in every status", func(t *testing.T) {
		got := count(t, `SELECT status, count(*) FROM invoices GROUP BY status`)
		for _, s := range []hg.InvoiceStatus{hg.InvoiceDraft, hg.InvoiceIssued, hg.InvoicePartiallyPaid, hg.InvoicePaid, hg.InvoiceVoid} {
			if got[string(s)] == 0 {
				t.Errorf("no %s invoice (all: %v)", s, got)
			}
		}
	})
	t.Run("every claim has its NPHIES messages", func(t *testing.T) {
		// Per claim status: claims lacking the messages that status needs.
		got := count(t, `SELECT c.status, count(*) FROM claims c
			LEFT JOIN LATERAL (SELECT
				count(*) FILTER (WHERE direction = 'OUT' AND event = 'claim-request') AS sent,
				count(*) FILTER (WHERE direction = 'IN' AND in_response_to IS NOT NULL AND event = 'claim-response') AS answered,
				count(*) FILTER (WHERE direction = 'OUT' AND event = 'cancel-request') AS cancel,
				count(*) FILTER (WHERE direction = 'IN' AND event = 'cancel-response') AS cancelled
				FROM nphies_messages m WHERE m.claim_id = c.id) m ON true
			WHERE CASE c.status
				WHEN 'DRAFT' THEN m.sent + m.answered <> 0
				WHEN 'QUEUED' THEN m.sent <> 1 OR m.answered <> 0
				WHEN 'SUBMITTED' THEN m.sent <> 1 OR m.answered <> 0
				WHEN 'ERROR' THEN m.sent <> 1 OR m.answered <> (CASE WHEN c.refused THEN 1 ELSE 0 END)
				WHEN 'CANCELLED' THEN m.sent <> 1 OR m.answered <> 1 OR m.cancel <> 1 OR m.cancelled <> 1
				ELSE m.sent <> 1 OR m.answered <> 1 END
			GROUP BY c.status`)
		if len(got) > 0 {
			t.Fatalf("claims without the messages their status needs, by status: %v", got)
		}
		pending := count(t, `SELECT delivery, count(*) FROM nphies_messages m JOIN claims c ON c.id = m.claim_id
			WHERE m.direction = 'OUT' AND c.status = 'QUEUED' GROUP BY delivery`)
		if pending["PENDING"] == 0 || len(pending) != 1 {
			t.Errorf("queued claims' bundles are %v, want all PENDING", pending)
		}
	})
	t.Run("claims sent carry their visit's findings and break no NPHIES rule", func(t *testing.T) {
		// The first 40 bundles: the rules take a while under the race
		// detector, and every bundle is built the same way.
		rows, _ := db.Pool.Query(ctx, `SELECT body FROM nphies_messages WHERE direction = 'OUT' AND event = 'claim-request'
			ORDER BY created_at, id LIMIT 40`)
		bodies, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
		if err != nil || len(bodies) == 0 {
			t.Fatalf("%d claim bundles: %v", len(bodies), err)
		}
		for _, body := range bodies {
			vs, err := rules.Check(body)
			if err != nil {
				t.Fatal(err)
			}
			if blocking := rules.Blocking(vs); len(blocking) > 0 {
				v := blocking[0]
				t.Fatalf("a demo claim breaks %d rules, first %s at %s: %s", len(blocking), v.Rule, v.Expression, v.Message)
			}
		}
		if got := count(t, `SELECT 'visits', count(DISTINCT appointment_id) FROM visit_findings`)["visits"]; got == 0 {
			t.Error("no visit has findings")
		}
	})
	t.Run("eligibility checks with every verdict, their messages, readable by the store", func(t *testing.T) {
		got := count(t, `SELECT status || ':' || coalesce(eligible::text, '-'), count(*) FROM eligibility_checks e
			WHERE EXISTS (SELECT 1 FROM nphies_messages m WHERE m.id = e.request_message_id AND m.direction = 'OUT'
				AND m.event = 'eligibility-request' AND m.eligibility_check_id = e.id)
			AND EXISTS (SELECT 1 FROM nphies_messages m WHERE m.id = e.response_message_id AND m.direction = 'IN'
				AND m.in_response_to = e.request_message_id)
			GROUP BY 1`)
		for _, v := range []string{"COMPLETE:true", "COMPLETE:false", "ERROR:-"} {
			if got[v] == 0 {
				t.Errorf("no %s eligibility check with its messages (all: %v)", v, got)
			}
		}
		var patient uuid.UUID
		if err := db.Pool.QueryRow(ctx, `SELECT patient_id FROM eligibility_checks LIMIT 1`).Scan(&patient); err != nil {
			t.Fatal(err)
		}
		if cs, err := db.EligibilityChecksByPatient(ctx, hg.PatientScope{All: true}, patient, 10); err != nil || len(cs) == 0 {
			t.Fatalf("the store reads %d checks of a checked patient, %v", len(cs), err)
		}
	})
	t.Run("invoice totals equal their lines and payments their paid amount", func(t *testing.T) {
		var badTotals, badPaid int
		if err := db.Pool.QueryRow(ctx, `SELECT
				count(*) FILTER (WHERE i.total <> (SELECT sum(total) FROM invoice_lines l WHERE l.invoice_id = i.id)),
				count(*) FILTER (WHERE i.paid <> (SELECT coalesce(sum(amount), 0) FROM payments p WHERE p.invoice_id = i.id))
			FROM invoices i`).Scan(&badTotals, &badPaid); err != nil {
			t.Fatal(err)
		}
		if badTotals != 0 || badPaid != 0 {
			t.Fatalf("%d invoices whose total is not their lines', %d whose paid is not their payments'", badTotals, badPaid)
		}
	})
	t.Run("no patient or practitioner is booked twice at once", func(t *testing.T) {
		got := count(t, `SELECT who, count(*) FROM (
			SELECT 'patient' AS who FROM appointments a JOIN appointments b ON a.patient_id = b.patient_id AND a.id < b.id
				AND tstzrange(a.starts_at, a.ends_at) && tstzrange(b.starts_at, b.ends_at)
			UNION ALL
			SELECT 'practitioner' FROM appointments a JOIN appointments b ON a.practitioner_id = b.practitioner_id AND a.id < b.id
				AND tstzrange(a.starts_at, a.ends_at) && tstzrange(b.starts_at, b.ends_at)) o GROUP BY who`)
		if len(got) > 0 {
			t.Fatalf("overlapping appointments: %v", got)
		}
	})
	t.Run("the desks' audit trail is there", func(t *testing.T) {
		got := count(t, `SELECT action, count(*) FROM audit_events WHERE actor_role = 'BILLING' OR action = 'eligibility.checked' GROUP BY action`)
		for _, a := range []string{"invoice.created", "invoice.issued", "invoice.payment_recorded", "invoice.voided", "claim.queued", "claim.cancel_requested", "eligibility.checked"} {
			if got[a] == 0 {
				t.Errorf("no %s audit event (all: %v)", a, got)
			}
		}
	})
	t.Run("payers paid and acknowledged, rejected claims came back corrected", func(t *testing.T) {
		// Claims by payment status; the decided claims paid twice.
		got := count(t, `SELECT CASE WHEN paid = 0 THEN 'unpaid' WHEN paid < approved THEN 'partly' WHEN paid = approved THEN 'paid'
				ELSE 'overpaid' END, count(*) FROM claims WHERE status IN ('APPROVED', 'PARTIAL') GROUP BY 1
			UNION ALL SELECT 'paid twice', count(*) FROM (SELECT claim_id FROM claim_payments GROUP BY 1 HAVING count(*) = 2) twice`)
		if got["paid"] == 0 || got["partly"] == 0 || got["unpaid"] == 0 || got["paid twice"] == 0 || got["overpaid"] != 0 {
			t.Errorf("claims by payment %v, want some paid in full, some in part, some twice, some not yet, none overpaid", got)
		}
		// Every reconciliation applied to claims we have, paid after the
		// claim was submitted and before today, and acknowledged by a
		// payment notice the outbox delivered.
		got = count(t, `SELECT 'reconciliations', count(*) FROM payment_reconciliations
			UNION ALL SELECT 'acknowledged', count(*) FROM payment_reconciliations pr
				JOIN nphies_messages m ON m.id = pr.notice_message_id AND m.event = 'payment-notice' AND m.delivery = 'SENT'
			UNION ALL SELECT 'anomalies', count(*) FROM claim_payments WHERE anomaly <> '' OR claim_id IS NULL
			UNION ALL SELECT 'paid too early or late', count(*) FROM claim_payments cp
				JOIN payment_reconciliations pr ON pr.id = cp.reconciliation_id JOIN claims c ON c.id = cp.claim_id
				WHERE pr.payment_date <= (c.created_at AT TIME ZONE 'Asia/Riyadh')::date OR pr.payment_date >= $1::date`, clock)
		if got["reconciliations"] == 0 || got["acknowledged"] != got["reconciliations"] || got["anomalies"] != 0 ||
			got["paid too early or late"] != 0 {
			t.Errorf("reconciliations %v", got)
		}
		// Resubmissions: each of a rejected claim, decided, and what they
		// won back is in the denial facts.
		got = count(t, `SELECT r.status || ' resubmitting ' || o.status, count(*) FROM claims r JOIN claims o ON o.id = r.resubmission_of
			GROUP BY 1 UNION ALL SELECT 'recovered', count(*) FROM claim_denial_facts WHERE denied AND gained > 0`)
		if len(got) != 2 || got["APPROVED resubmitting REJECTED"] == 0 || got["recovered"] == 0 {
			t.Errorf("resubmissions %v, want approved resubmissions of rejected claims that recovered denied items", got)
		}
	})
	from, to := clock.AddDate(0, -2, 0), clock.AddDate(0, 1, 0)
	t.Run("the analyst's summaries show groups", func(t *testing.T) {
		for _, by := range []string{"STATUS", "PAYER", "MONTH"} {
			gs, err := db.ClaimsSummary(ctx, from, to, by)
			if shown := shownClaims(gs); err != nil || shown == 0 {
				t.Errorf("claimsSummary by %s: %d shown groups of %d, %v", by, shown, len(gs), err)
			}
		}
		rs, err := db.RevenueSummary(ctx, from, to, "DAY")
		var shown int
		for _, g := range rs {
			if !g.Suppressed && g.Invoices > 0 && g.Billed > 0 {
				shown++
			}
		}
		if err != nil || shown == 0 {
			t.Errorf("revenueSummary by DAY: %d shown days of %d, %v", shown, len(rs), err)
		}
		us, err := db.AppointmentUtilization(ctx, from, to, hg.GroupBySpecialty)
		shown = 0
		for _, g := range us {
			if g.Booked > 0 && g.Completed > 0 {
				shown++
			}
		}
		if err != nil || shown == 0 {
			t.Errorf("appointmentUtilization by SPECIALTY: %d groups with figures of %d, %v", shown, len(us), err)
		}
	})
}

func shownClaims(gs []hg.ClaimsGroup) int {
	n := 0
	for _, g := range gs {
		if !g.Suppressed && g.Claims > 0 {
			n++
		}
	}
	return n
}

// TestDemoIsDeterministic seeds the same demo twice: the same seed and clock
// give the same claims, statuses, request bundles, payments and
// resubmissions.
func TestDemoIsDeterministic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	snapshot := func() []string {
		db := pgtest.New(t, postgres.Options{})
		if _, err := seed.Demo(ctx, db, hashCheaply, seed.Options{Seed: 11, Now: clock}); err != nil {
			t.Fatal(err)
		}
		// A resubmission is made by the desk, under an id and bundle of
		// its own (UUIDv7, as every claim the service makes): it is known
		// by the claim it resubmits. Payments are known by their date.
		rows, err := db.Pool.Query(ctx, `SELECT k.key || c.status || c.total || coalesce(c.approved, -1) || c.paid || i.number
				|| coalesce(CASE WHEN c.resubmission_of IS NULL THEN md5(m.body) END, '-')
				|| coalesce((SELECT string_agg(pr.payment_date || '=' || cp.gross, ',' ORDER BY pr.payment_date, cp.gross)
					FROM claim_payments cp JOIN payment_reconciliations pr ON pr.id = cp.reconciliation_id WHERE cp.claim_id = c.id), '')
			FROM claims c JOIN invoices i ON i.id = c.invoice_id
			CROSS JOIN LATERAL (SELECT coalesce(c.resubmission_of::text || ' resubmitted', c.id::text) AS key) k
			LEFT JOIN nphies_messages m ON m.claim_id = c.id AND m.direction = 'OUT' AND m.event = 'claim-request'
			ORDER BY k.key`)
		if err != nil {
			t.Fatal(err)
		}
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	a, b := snapshot(), snapshot()
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("%d and %d claims from the same seed", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("claim %d differs between runs: %q vs %q", i, a[i], b[i])
		}
	}
}

func TestPatientsScalesAndIsDeterministic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	type snapshot struct {
		sum      seed.Summary
		patients []uuid.UUID
		ids      []string
	}
	run := func() snapshot {
		db := pgtest.New(t, postgres.Options{})
		var calls int
		sum, err := seed.Patients(ctx, db, 2500, seed.Options{Seed: 42, Now: clock}, func(done, total int) {
			calls++
			if total != 2500 || done > total {
				t.Errorf("progress(%d, %d)", done, total)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if calls != 2 {
			t.Errorf("progress called %d times, want 2 (chunks of 2000)", calls)
		}
		// A second run on the same database adds, never collides.
		more, err := seed.Patients(ctx, db, 10, seed.Options{Seed: 42, Now: clock}, nil)
		if err != nil || more.Patients != 10 {
			t.Fatalf("second run: %+v, %v", more, err)
		}
		var s snapshot
		s.sum = sum
		rows, _ := db.Pool.Query(ctx, `SELECT id FROM patients ORDER BY id LIMIT 20`)
		ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			t.Fatal(err)
		}
		var clear int
		if err := db.Pool.QueryRow(ctx, `SELECT count(national_id) + count(phone) FROM patients`).Scan(&clear); err != nil || clear != 0 {
			t.Fatalf("%d national IDs or phones copied in clear (%v), want all sealed", clear, err)
		}
		for _, id := range ids { // national IDs are sealed: read them through the store
			p, err := db.PatientByID(ctx, hg.PatientScope{All: true}, id)
			if err != nil {
				t.Fatal(err)
			}
			s.patients, s.ids = append(s.patients, id), append(s.ids, p.NationalID)
		}
		return s
	}
	a, b := run(), run()
	t.Logf("2,500 patients: %+v", a.sum)
	if a.sum.Patients != 2500 || a.sum.Appointments < 2500 || a.sum.Records == 0 || a.sum.Coverages < 1800 {
		t.Fatalf("summary %+v, want 2500 patients, ≥1 appointment each on average, records and coverage", a.sum)
	}
	if a.sum != b.sum {
		t.Fatalf("same seed, different runs: %+v vs %+v", a.sum, b.sum)
	}
	for i := range a.patients {
		if a.patients[i] != b.patients[i] || a.ids[i] != b.ids[i] {
			t.Fatalf("same seed, different patient %d: %s/%s vs %s/%s", i, a.patients[i], a.ids[i], b.patients[i], b.ids[i])
		}
		if !hg.ValidNationalID(a.ids[i]) {
			t.Fatalf("national ID %q has the wrong format", a.ids[i])
		}
	}
}

// TestDemoBillingLoginSeesTheMonth logs in as the demo's BILLING user
// through the API: invoices, claims with their messages and history, and a
// claims summary with shown groups.
func TestDemoBillingLoginSeesTheMonth(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.New(t)
	res, err := seed.Demo(ctx, env.DB, hashCheaply, seed.Options{Seed: 5, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	var billing seed.Login
	for _, l := range res.Logins {
		if l.Role == hg.RoleBilling {
			billing = l
		}
	}
	var login struct {
		Login struct{ AccessToken string }
	}
	env.Do(t, "", `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`,
		map[string]any{"e": billing.Email, "p": billing.Password}).Decode(t, &login)
	var got struct {
		Invoices struct{ TotalCount int }
		Claims   struct {
			TotalCount int
			Edges      []struct {
				Node struct {
					Status   string
					Messages []struct{ Direction string }
					History  []struct{ Status string }
				}
			}
		}
		ClaimsSummary []struct {
			Key        string
			Suppressed bool
			Claims     *int
		}
	}
	env.Do(t, login.Login.AccessToken, `query($from: Time!, $to: Time!) {
		invoices(first: 1) { totalCount }
		claims(first: 50) { totalCount edges { node { status messages { direction } history { status } } } }
		claimsSummary(from: $from, to: $to, groupBy: STATUS) { key suppressed claims }
	}`, map[string]any{"from": clock.AddDate(0, -2, 0), "to": clock.AddDate(0, 1, 0)}).Decode(t, &got)
	if got.Invoices.TotalCount == 0 || got.Claims.TotalCount == 0 {
		t.Fatalf("billing sees %d invoices and %d claims, want the demo month", got.Invoices.TotalCount, got.Claims.TotalCount)
	}
	for _, e := range got.Claims.Edges {
		if n := e.Node; len(n.History) == 0 || n.Status != "DRAFT" && len(n.Messages) == 0 {
			t.Errorf("a %s claim has %d history steps and %d messages", n.Status, len(n.History), len(n.Messages))
		}
	}
	shown := map[string]int{}
	for _, g := range got.ClaimsSummary {
		if !g.Suppressed && g.Claims != nil {
			shown[g.Key] = *g.Claims
		}
	}
	if len(shown) < 9 {
		t.Fatalf("claimsSummary by STATUS shows %v, want all nine statuses", shown)
	}
}
