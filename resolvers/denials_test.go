package resolvers_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/server/servertest"
)

// assertDenialFactsCurrent fails unless claim_denial_facts, which triggers
// keep as claims are decided, reissued, resubmitted and paid, holds exactly
// the rows computed afresh from the tables now, and holds some.
func assertDenialFactsCurrent(t *testing.T, env *servertest.Env) {
	t.Helper()
	const fresh = `SELECT * FROM claim_denial_facts_of(ARRAY(SELECT id FROM claims))`
	stale := env.Count(t, `SELECT count(*) FROM ((SELECT * FROM claim_denial_facts EXCEPT ALL `+fresh+`)
		UNION ALL (`+fresh+` EXCEPT ALL SELECT * FROM claim_denial_facts)) d`)
	if kept := env.Count(t, `SELECT count(*) FROM claim_denial_facts`); stale != 0 || kept == 0 {
		t.Fatalf("%d denial facts kept, %d differ from the facts computed afresh", kept, stale)
	}
}

// TestDenialSummaryMatchesTheTables runs a scripted month of claims
// through the API, the outbox and the mock payer (five rejected and later
// resubmitted and approved, five partly approved, five approved and paid in
// two reconciliations each), then asks denialSummary as an analyst by every
// grouping: each grouping's totals equal the same figures computed by plain
// SQL over claims, claim_items and the payment tables, and the figures are
// the ones the script implies.
func TestDenialSummaryMatchesTheTables(t *testing.T) {
	t.Parallel()
	f := newPayerFlow(t, "M-1")
	f.poller.Count = 100
	_, analyst := f.User(t, "analyst@example.com", hg.RoleAnalyst)
	submit := func(member string) string {
		f.setMember(t, member)
		inv := f.createInvoice(t, f.patient, f.coverage)
		f.issue(t, inv.ID)
		var sub struct{ SubmitClaim struct{ ID string } }
		f.Do(t, f.billing, submitClaimMut, map[string]any{"in": f.visit.claimInput(inv.ID, "J06.9")}).Decode(t, &sub)
		return sub.SubmitClaim.ID
	}
	var rejected, partial, paid []string
	for range 5 {
		rejected = append(rejected, submit("REJECT-1"))
		partial = append(partial, submit("PARTIAL-1"))
		paid = append(paid, submit("PAYSPLIT-1"))
	}
	for _, ids := range [][]string{rejected, partial, paid} {
		for _, id := range ids {
			f.decided(t, id)
		}
	}
	f.setMember(t, "M-2") // corrected: the payer approves the resubmissions
	var resubmissions []string
	for _, id := range rejected {
		var out struct{ ResubmitClaim struct{ ID string } }
		f.Do(t, f.billing, `mutation($id: ID!, $p: ID!) { resubmitClaim(id: $id, input: {practitionerId: $p, diagnoses: ["J20.9"]}) { id } }`,
			map[string]any{"id": id, "p": f.visit.practitioner}).Decode(t, &out)
		if c := f.decided(t, out.ResubmitClaim.ID); c.Status != "APPROVED" {
			t.Fatalf("resubmission %s", c.Status)
		}
		resubmissions = append(resubmissions, out.ResubmitClaim.ID)
	}
	f.pollOnce(t) // the ten reconciliations
	// The paid claims were submitted twelve days before they were paid.
	ctx := context.Background()
	for _, id := range paid {
		if c := f.claim(t, id); c.PaymentStatus == nil || *c.PaymentStatus != "PAID" {
			t.Fatalf("claim %s not paid: %+v", id, c)
		}
		if _, err := f.DB.Pool.Exec(ctx, `UPDATE claim_status_history SET at = at - interval '12 days'
			WHERE claim_id = $1 AND status = 'SUBMITTED'`, rawID(t, id)); err != nil {
			t.Fatal(err)
		}
	}

	// The facts the figures are read from, kept by triggers through all of
	// that, are the facts computed afresh.
	assertDenialFactsCurrent(t, f.Env)

	// The same figures by plain SQL: every item of the original claims the
	// payer decided, joined to the item of an approved resubmission that
	// bills the same service (each service is billed once here).
	var want hg.DenialFigures
	err := f.DB.Pool.QueryRow(ctx, `SELECT count(DISTINCT c.id),
			count(DISTINCT c.id) FILTER (WHERE i.outcome IN ('rejected', 'partial') OR c.status = 'REJECTED'),
			sum(i.net - i.patient_share),
			coalesce(sum(i.net - i.patient_share - coalesce(i.approved, 0)) FILTER (WHERE i.outcome IN ('rejected', 'partial') OR c.status = 'REJECTED'), 0),
			coalesce(sum(least(i.net - i.patient_share - coalesce(i.approved, 0), r.approved - coalesce(i.approved, 0)))
				FILTER (WHERE (i.outcome IN ('rejected', 'partial') OR c.status = 'REJECTED') AND r.approved > coalesce(i.approved, 0)), 0)
		FROM claims c JOIN claim_items i ON i.claim_id = c.id
		LEFT JOIN claims rc ON rc.resubmission_of = c.id AND rc.status IN ('APPROVED', 'PARTIAL')
		LEFT JOIN claim_items r ON r.claim_id = rc.id AND r.code_system = i.code_system AND r.service_code = i.service_code
		WHERE c.use = 'claim' AND c.resubmission_of IS NULL AND c.status IN ('APPROVED', 'PARTIAL', 'REJECTED')`).
		Scan(&want.Claims, &want.Denied, &want.Claimed, &want.DeniedAmount, &want.Recovered)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.DB.Pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(d), 0) FROM (
			SELECT min(pr.payment_date) - min((h.at AT TIME ZONE 'Asia/Riyadh')::date) AS d
			FROM claims c JOIN claim_payments cp ON cp.claim_id = c.id JOIN payment_reconciliations pr ON pr.id = cp.reconciliation_id
			JOIN claim_status_history h ON h.claim_id = c.id AND h.status = 'SUBMITTED'
			WHERE c.resubmission_of IS NULL GROUP BY c.id) paid`).Scan(&want.Paid, &want.PaymentDays); err != nil {
		t.Fatal(err)
	}
	// What the script implies: 15 claims, 10 with a denial, the rejected
	// ones' whole denial recovered, 5 paid after 12 days.
	if want.Claims != 15 || want.Denied != 10 || want.Paid != 5 || want.PaymentDays != 60 || want.Recovered <= 0 ||
		want.Recovered >= want.DeniedAmount {
		t.Fatalf("the tables say %+v; the script went wrong", want)
	}

	now := time.Now()
	from, to := now.AddDate(0, 0, -1), now.AddDate(0, 0, 1)
	const q = `query($from: Time!, $to: Time!, $by: DenialGroupBy!) { denialSummary(from: $from, to: $to, groupBy: $by) {
		key label suppressed partial claims deniedClaims claimed { amount } denied { amount } recovered { amount }
		recoveredShare paidClaims averageDaysToPayment } }`
	type group struct {
		Key                  string
		Label                *string
		Suppressed, Partial  bool
		Claims, DeniedClaims *int
		Claimed, Denied      *money
		Recovered            *money
		RecoveredShare       *float64
		PaidClaims           *int
		AverageDaysToPayment *float64
	}
	ask := func(by string) []group {
		var out struct{ DenialSummary []group }
		f.Do(t, analyst, q, map[string]any{"from": from.Format(time.RFC3339), "to": to.Format(time.RFC3339), "by": by}).Decode(t, &out)
		return out.DenialSummary
	}
	sum := func(gs []group) hg.DenialFigures {
		var s hg.DenialFigures
		for _, g := range gs {
			if g.Suppressed || g.Claims == nil {
				t.Fatalf("group %+v suppressed: every group of the script has at least 5 claims", g)
			}
			s.Add(hg.DenialFigures{Claims: *g.Claims, Denied: *g.DeniedClaims, Claimed: halalas(t, *g.Claimed),
				DeniedAmount: halalas(t, *g.Denied), Recovered: halalas(t, *g.Recovered), Paid: *g.PaidClaims})
		}
		return s
	}
	whole := want
	whole.PaymentDays = 0
	for _, by := range []string{"PAYER", "MONTH", "PRACTITIONER"} {
		gs := ask(by)
		if len(gs) != 1 || sum(gs) != whole {
			t.Errorf("%s: %+v sums to %+v, want %+v", by, gs, sum(gs), whole)
			continue
		}
		g := gs[0]
		if *g.AverageDaysToPayment != 12 || *g.RecoveredShare != float64(want.Recovered)/float64(want.DeniedAmount) {
			t.Errorf("%s: days %v share %v", by, *g.AverageDaysToPayment, *g.RecoveredShare)
		}
		if by == "PRACTITIONER" && (g.Label == nil || *g.Label != "Faisal Al-Shehri") {
			t.Errorf("practitioner label %v", g.Label)
		}
	}
	// By reason only denied items count: CV-1-4 on the rejected claims (all
	// recovered), BE-1-3 on the partial ones (none recovered).
	reasons := map[string]group{}
	for _, g := range ask("REASON") {
		reasons[g.Key] = g
	}
	cv, be := reasons["CV-1-4"], reasons["BE-1-3"]
	if len(reasons) != 2 || cv.Claims == nil || *cv.Claims != 5 || be.Claims == nil || *be.Claims != 5 ||
		halalas(t, *cv.Recovered) != halalas(t, *cv.Denied) || halalas(t, *be.Recovered) != 0 ||
		halalas(t, *cv.Denied)+halalas(t, *be.Denied) != want.DeniedAmount {
		t.Errorf("by reason: %+v", reasons)
	}
	services := ask("SERVICE")
	var denied hg.Halalas
	for _, g := range services {
		denied += halalas(t, *g.Denied)
	}
	if denied != want.DeniedAmount {
		t.Errorf("by service the denied amounts sum to %s, want %s", denied, want.DeniedAmount)
	}
	if r := f.Do(t, analyst, q, map[string]any{"from": from.Format(time.RFC3339), "to": to.Format(time.RFC3339), "by": "PATIENT"}); r.Code() == "" {
		t.Error("grouping by patient was accepted")
	}

	// The metrics' series: the same figures, suppressed the same way (the
	// one payer and both reasons hold five claims each, so all stand alone).
	totals, err := f.DB.DenialTotals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	series := map[string]hg.DenialFigures{}
	for _, s := range totals {
		if s.Claims < hg.MinUtilizationGroup {
			t.Errorf("series %+v stands for fewer than %d claims", s, hg.MinUtilizationGroup)
		}
		series[s.Payer+"/"+s.Reason] = s.DenialFigures
	}
	if len(series) != 3 || series["/CV-1-4"].Claims != 5 || series["/BE-1-3"].Claims != 5 {
		t.Errorf("denial series %+v, want one payer and the two reasons", series)
	}
	for k, s := range series {
		if k[0] != '/' && (s.Claims != want.Claims || s.DeniedAmount != want.DeniedAmount || s.Recovered != want.Recovered) {
			t.Errorf("payer series %s = %+v, want %+v", k, s, want)
		}
	}

	assertDenialFactsFollowChanges(t, f, paid[0], partial[0], rejected[0], resubmissions[0])
}

// assertDenialFactsFollowChanges changes the decided claims behind the
// triggers' back, in plain SQL: bookkeeping updates of every claim leave
// the denial facts unwritten (no row gets a new version), and deleting a
// payment, a submission step, an item or a whole resubmission leaves the
// facts equal to the facts computed afresh, each delete changing the
// figure it feeds.
func assertDenialFactsFollowChanges(t *testing.T, f payerFlow, paid, partial, rejected, resubmission string) {
	t.Helper()
	ctx := context.Background()
	versions := func() string {
		var v string
		if err := f.DB.Pool.QueryRow(ctx, `SELECT string_agg(claim_id::text || sequence || ':' || xmin::text, ',' ORDER BY claim_id, sequence)
			FROM claim_denial_facts`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := f.DB.Pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	before := versions()
	exec(`UPDATE claims SET updated_at = now(), status_checked_at = now()`)
	exec(`UPDATE claims SET paid = paid WHERE id = $1`, rawID(t, paid))
	if after := versions(); after != before {
		t.Error("bookkeeping updates of claims rewrote denial facts")
	}
	assertDenialFactsCurrent(t, f.Env)

	gained := func(claim string) int {
		return f.Count(t, `SELECT coalesce(sum(gained), 0) FROM claim_denial_facts WHERE claim_id = $1`, rawID(t, claim))
	}
	steps := []struct {
		name    string
		sql     string
		claim   string
		changed func() bool
	}{
		{"a payment deleted", `DELETE FROM claim_payments WHERE claim_id = $1`, paid, func() bool {
			return f.Count(t, `SELECT count(*) FROM claim_denial_facts WHERE claim_id = $1 AND first_payment_date IS NOT NULL`, rawID(t, paid)) == 0
		}},
		{"a submission step deleted", `DELETE FROM claim_status_history WHERE claim_id = $1 AND status = 'SUBMITTED'`, partial, func() bool {
			return f.Count(t, `SELECT count(*) FROM claim_denial_facts WHERE claim_id = $1 AND submitted_at IS NOT NULL`, rawID(t, partial)) == 0
		}},
		// The claim's total follows in the same statement, as its
		// constraint wants; that update of claims touches no fact.
		{"an item deleted", `WITH gone AS (DELETE FROM claim_items WHERE claim_id = $1
				AND sequence = (SELECT max(sequence) FROM claim_items WHERE claim_id = $1) RETURNING net)
			UPDATE claims SET total = total - (SELECT net FROM gone) WHERE id = $1`, partial, func() bool {
			return f.Count(t, `SELECT count(*) FROM claim_denial_facts WHERE claim_id = $1`, rawID(t, partial)) ==
				f.Count(t, `SELECT count(*) FROM claim_items WHERE claim_id = $1`, rawID(t, partial))
		}},
	}
	for _, s := range steps {
		exec(s.sql, rawID(t, s.claim))
		if !s.changed() {
			t.Errorf("%s: the facts of the claim did not change", s.name)
		}
		assertDenialFactsCurrent(t, f.Env)
	}
	// A whole resubmission deleted: the original no longer recovers anything.
	if gained(rejected) == 0 {
		t.Fatal("the resubmitted claim recovered nothing to begin with")
	}
	tx, err := f.DB.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	id := rawID(t, resubmission)
	for _, sql := range []string{`DELETE FROM claim_items WHERE claim_id = $1`, `DELETE FROM claim_status_history WHERE claim_id = $1`,
		`DELETE FROM claim_payments WHERE claim_id = $1`, `DELETE FROM claim_communications WHERE claim_id = $1`,
		`DELETE FROM nphies_messages WHERE claim_id = $1`, `DELETE FROM claims WHERE id = $1`} {
		if _, err := tx.Exec(ctx, sql, id); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n := gained(rejected); n != 0 {
		t.Errorf("after its resubmission was deleted the original still recovers %d halalas", n)
	}
	assertDenialFactsCurrent(t, f.Env)
}

// TestRecoveredPairsItemsByService: what a corrected resubmission wins back
// is credited to the service the original was denied for, whatever line
// the correction puts it on. Two rejected claims for a consultation and two
// EEGs are resubmitted and approved: one with the lines reordered (every
// denied item recovered in full), one with the consultation replaced by a
// follow-up visit (the EEGs recovered, the consultation not).
func TestRecoveredPairsItemsByService(t *testing.T) {
	t.Parallel()
	f := newPayerFlow(t, "REJECT-7")
	reordered, replaced := f.submit(t), f.submit(t)
	for _, id := range []string{reordered, replaced} {
		if c := f.decided(t, id); c.Status != "REJECTED" {
			t.Fatalf("original %s, want REJECTED", c.Status)
		}
	}
	f.setMember(t, "M-7")
	followUp := f.CatalogueItem(t, hg.NewCatalogueItem{System: hg.SystemServices, Code: "83600-00-00", Display: "Follow-up visit",
		UnitPrice: 15000})
	resubmit := func(id string, items ...map[string]any) {
		t.Helper()
		var out struct{ ResubmitClaim struct{ ID string } }
		f.Do(t, f.billing, `mutation($id: ID!, $in: ResubmitClaimInput!) { resubmitClaim(id: $id, input: $in) { id } }`,
			map[string]any{"id": id, "in": map[string]any{"practitionerId": f.visit.practitioner, "diagnoses": []string{"J20.9"},
				"items": items}}).Decode(t, &out)
		if c := f.decided(t, out.ResubmitClaim.ID); c.Status != "APPROVED" {
			t.Fatalf("resubmission %s, want APPROVED", c.Status)
		}
	}
	eegs := map[string]any{"itemId": f.eeg, "quantity": 2}
	resubmit(reordered, eegs, map[string]any{"itemId": f.consultation, "quantity": 1})
	resubmit(replaced, eegs, map[string]any{"itemId": followUp, "quantity": 1})
	assertDenialFactsCurrent(t, f.Env)

	// Per original item: the service, what was denied and what came back,
	// as denialSummary reads it (recovered = least(shortfall, gained)).
	type item struct {
		code              string
		denied, recovered int64
	}
	items := func(id string) []item {
		rows, err := f.DB.Pool.Query(context.Background(), `SELECT service_code, shortfall, least(shortfall, gained)
			FROM claim_denial_facts WHERE claim_id = $1 AND denied ORDER BY sequence`, rawID(t, id))
		if err != nil {
			t.Fatal(err)
		}
		out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (item, error) {
			var it item
			return it, r.Scan(&it.code, &it.denied, &it.recovered)
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	got := items(reordered)
	if len(got) != 2 || got[0].code != "83600-00-10" || got[1].code != "11000-00-00" {
		t.Fatalf("denied items of the original %+v, want the consultation then the EEGs", got)
	}
	for _, it := range got {
		if it.denied <= 0 || it.recovered != it.denied {
			t.Errorf("reordered: %s denied %d, recovered %d; want all of it recovered", it.code, it.denied, it.recovered)
		}
	}
	got = items(replaced)
	if len(got) != 2 || got[0].recovered != 0 || got[1].recovered != got[1].denied || got[1].denied <= 0 {
		t.Errorf("replaced consultation: %+v, want the consultation unrecovered and the EEGs recovered in full", got)
	}
}
