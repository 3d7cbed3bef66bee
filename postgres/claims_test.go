package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	hg "github.com/healthgraph/healthgraph"
)

// queueTestClaim queues a claim for a fresh issued invoice of p on c,
// with a stand-in bundle (the store keeps bytes, it does not read them).
func queueTestClaim(t *testing.T, db interface {
	CreateInvoice(context.Context, hg.PatientScope, hg.NewInvoice) (*hg.Invoice, error)
	IssueInvoice(context.Context, uuid.UUID) (*hg.Invoice, error)
	QueueClaim(context.Context, hg.NewClaim) (*hg.Claim, error)
}, p *hg.Patient, c *hg.Coverage) *hg.Claim {
	t.Helper()
	ctx := context.Background()
	inv, err := db.CreateInvoice(ctx, everyone, hg.NewInvoice{PatientID: p.ID, CoverageID: &c.ID,
		Lines: []hg.NewInvoiceLine{{CodeSystem: hg.SystemServices, ServiceCode: "83600-00-10", Description: "Consultation", Quantity: 1, UnitPrice: 20_000}}})
	if err != nil {
		t.Fatal(err)
	}
	if inv, err = db.IssueInvoice(ctx, inv.ID); err != nil {
		t.Fatal(err)
	}
	id := uuid.Must(uuid.NewV7())
	claim := hg.Claim{ID: id, Use: hg.UseClaim, InvoiceID: &inv.ID, PatientID: p.ID, CoverageID: c.ID,
		PayerLicense: c.PayerLicense, PayerName: c.PayerName, Total: inv.Total}
	for _, l := range inv.Lines {
		claim.Items = append(claim.Items, hg.ClaimItem{Sequence: l.Sequence, ServiceCode: l.ServiceCode,
			Description: l.Description, Quantity: l.Quantity, UnitPrice: l.UnitPrice, VAT: l.VAT, Net: l.Total,
			PatientShare: l.PatientShare})
	}
	out, err := db.QueueClaim(ctx, hg.NewClaim{Claim: claim, Message: hg.NPHIESMessage{Direction: hg.Outbound,
		Event: "claim-request", BundleID: uuid.NewString(), MessageHeaderID: uuid.NewString(),
		Body: []byte(fmt.Sprintf(`{"resourceType":"Bundle","id":%q}`, id))}})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestListClaimsPagesAndScopes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p, c := billingSetup(t)
	var ids []uuid.UUID
	for range 5 {
		ids = append(ids, queueTestClaim(t, db, p, c).ID)
		time.Sleep(time.Millisecond)
	}
	var seen []uuid.UUID
	page := hg.Page{First: 2, Count: true}
	for {
		cs, total, err := db.ListClaims(ctx, everyone, hg.ClaimFilter{PatientID: &p.ID}, page)
		if err != nil {
			t.Fatal(err)
		}
		if total != 5 {
			t.Fatalf("total %d", total)
		}
		for _, cl := range cs {
			if len(cl.Items) != 1 || cl.Status != hg.ClaimQueued {
				t.Fatalf("claim %+v", cl)
			}
			seen = append(seen, cl.ID)
		}
		if len(cs) < page.First {
			break
		}
		last := cs[len(cs)-1]
		page.After = &hg.Cursor{Key: []string{last.CreatedAt.Format(time.RFC3339Nano)}, ID: last.ID}
	}
	if len(seen) != 5 || seen[0] != ids[4] || seen[4] != ids[0] {
		t.Fatalf("pages gave %v, want newest first of %v", seen, ids)
	}
	someone := uuid.New()
	stranger := hg.PatientScope{SelfUserID: &someone}
	if cs, total, err := db.ListClaims(ctx, stranger, hg.ClaimFilter{}, hg.Page{First: 10, Count: true}); err != nil || total != 0 || len(cs) != 0 {
		t.Fatalf("out-of-scope list: %d %d %v", len(cs), total, err)
	}
	if _, err := db.ClaimByID(ctx, stranger, ids[0]); err == nil {
		t.Fatal("an out-of-scope claim was returned")
	}
	queued := hg.ClaimQueued
	if _, total, err := db.ListClaims(ctx, everyone, hg.ClaimFilter{Status: &queued}, hg.Page{First: 1, Count: true}); err != nil || total != 5 {
		t.Fatalf("status filter: %d %v", total, err)
	}
	ms, err := db.ClaimMessages(ctx, ids[0])
	if err != nil || len(ms) != 1 || ms[0].Delivery != hg.DeliveryPending || ms[0].Attempts != 0 {
		t.Fatalf("messages %+v %v", ms, err)
	}
	hs, err := db.ClaimHistory(ctx, ids[0])
	if err != nil || len(hs) != 1 || hs[0].Status != hg.ClaimQueued {
		t.Fatalf("history %+v %v", hs, err)
	}
	if n, _, err := db.OutboxBacklog(ctx); err != nil || n != 5 {
		t.Fatalf("backlog %d %v", n, err)
	}
}

func TestDatabaseRefusesClaimsThatContradictThemselves(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p, c := billingSetup(t)
	cl := queueTestClaim(t, db, p, c)
	for name, sql := range map[string]string{
		"unknown status":          `UPDATE claims SET status = 'LOST' WHERE id = $1`,
		"error without a reason":  `UPDATE claims SET status = 'ERROR', last_error = '' WHERE id = $1`,
		"second live claim":       `INSERT INTO claims (id, use, invoice_id, patient_id, coverage_id, payer_license, status, total) SELECT gen_random_uuid(), use, invoice_id, patient_id, coverage_id, payer_license, 'QUEUED', total FROM claims WHERE id = $1`,
		"item net off":            `UPDATE claim_items SET net = net + 1 WHERE claim_id = $1`,
		"outbound without state":  `INSERT INTO nphies_messages (id, claim_id, direction, bundle_id, message_header_id, body) VALUES (gen_random_uuid(), $1, 'OUT', 'b', 'h', '')`,
		"inbound with a delivery": `INSERT INTO nphies_messages (id, claim_id, direction, body, delivery) VALUES (gen_random_uuid(), $1, 'IN', '', 'SENT')`,
	} {
		if _, err := db.Pool.Exec(ctx, sql, cl.ID); err == nil {
			t.Errorf("%s: the database accepted it", name)
		}
	}
}

// TestClaimCountsFollowEveryChange checks the claims page's totalCount,
// read from the counts the claims triggers append, against count(*) after
// inserts, single and bulk status changes, changes that leave the status,
// folds racing writers, and TRUNCATE.
func TestClaimCountsFollowEveryChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p, c := billingSetup(t)
	statuses := []*hg.ClaimStatus{nil}
	for _, s := range []hg.ClaimStatus{hg.ClaimQueued, hg.ClaimSubmitted, hg.ClaimPending, hg.ClaimError} {
		statuses = append(statuses, &s)
	}
	check := func(what string) {
		t.Helper()
		for _, s := range statuses {
			_, total, err := db.ListClaims(ctx, everyone, hg.ClaimFilter{Status: s}, hg.Page{First: 1, Count: true})
			if err != nil {
				t.Fatal(err)
			}
			var want int
			if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM claims WHERE $1::text IS NULL OR status = $1`, s).Scan(&want); err != nil {
				t.Fatal(err)
			}
			if total != want {
				t.Fatalf("%s: totalCount %d for status %v, count(*) says %d", what, total, s, want)
			}
		}
	}
	check("no claims")
	var ids []uuid.UUID
	for range 4 {
		ids = append(ids, queueTestClaim(t, db, p, c).ID)
	}
	check("4 queued")
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := db.Pool.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`UPDATE claims SET status = 'SUBMITTED' WHERE id = $1`, ids[0])
	check("one submitted")
	exec(`UPDATE claims SET status = 'PENDING' WHERE id = ANY($1)`, ids[1:3])
	exec(`UPDATE claims SET updated_at = now()`)
	check("two pending in one statement, then a change that keeps every status")
	// Writers toggle statuses while readers count and fold: appended rows
	// pass the fold threshold many times over.
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 150 {
				from, to := "PENDING", "ERROR"
				if i%2 == 1 {
					from, to = to, from
				}
				_, err := db.Pool.Exec(ctx, `UPDATE claims SET status = $2, last_error = 'drill' WHERE id = $1 AND status = $3`,
					ids[1+w%2], to, from)
				if err != nil {
					t.Error(err)
					return
				}
				if _, _, err := db.ListClaims(ctx, everyone, hg.ClaimFilter{}, hg.Page{First: 1, Count: true}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	check("after 600 racing changes and folds")
	var rows int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM claim_status_counts`).Scan(&rows); err != nil || rows > 300 {
		t.Fatalf("%d count rows (%v): folding did not keep them bounded", rows, err)
	}
	exec(`TRUNCATE claims CASCADE`)
	check("truncated")
}

// Migration 0009 counts the claims already there without locking claims
// out: reapplied while writers insert claims and change their statuses,
// its counts end equal to count(*) for every status.
func TestClaimCountsMigrationCountsExactlyUnderWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p, c := billingSetup(t)
	var ids []uuid.UUID
	for range 3 {
		ids = append(ids, queueTestClaim(t, db, p, c).ID)
	}
	_, steps := versionOf(t, "claim_counts")
	if _, err := db.MigrateDown(ctx, steps); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				_, err := db.Pool.Exec(ctx, `UPDATE claims SET status = CASE status WHEN 'ERROR' THEN 'PENDING' ELSE 'ERROR' END,
					last_error = 'drill' WHERE id = $1`, id)
				if err == nil && i%3 == 0 {
					err = pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
						claim := uuid.New()
						if _, err := tx.Exec(ctx, `INSERT INTO claims (id, use, patient_id, coverage_id, payer_license, payer_name, status, total)
							VALUES ($1, 'preauthorization', $2, $3, $4, $5, 'DRAFT', 10000)`, claim, p.ID, c.ID, c.PayerLicense, c.PayerName); err != nil {
							return err
						}
						_, err := tx.Exec(ctx, `INSERT INTO claim_items (claim_id, sequence, service_code, description, quantity, unit_price, vat, net, patient_share)
							VALUES ($1, 1, 'DRILL', 'drill', 1, 10000, 0, 10000, 0)`, claim)
						return err
					})
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	_, err := db.MigrateUp(ctx)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	var wrong []string
	rows, _ := db.Pool.Query(ctx, `SELECT coalesce(a.status, b.status), coalesce(a.n, 0), coalesce(b.n, 0)
		FROM (SELECT status, count(*) AS n FROM claims GROUP BY status) a
		FULL JOIN (SELECT status, sum(delta) AS n FROM claim_status_counts GROUP BY status) b USING (status)`)
	var status string
	var counted, summed int64
	if _, err := pgx.ForEachRow(rows, []any{&status, &counted, &summed}, func() error {
		if counted != summed {
			wrong = append(wrong, fmt.Sprintf("%s: %d claims, counts say %d", status, counted, summed))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(wrong) > 0 {
		t.Fatalf("counts after the migration under writes: %v", wrong)
	}
}
