package nphies_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/internal/drill"
	"github.com/healthgraph/healthgraph/internal/eventually"
	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/nphies/mock"
)

// TestPaymentsFaultDrill is the fault drill for money and corrections: a
// payer that pays every claim in two partial reconciliations (PAYSPLIT),
// the payment notice acknowledging each, and a corrected resubmission of
// every claim a payer rejected (REJECT). NPHIES fails half the requests
// and withholds some answers after processing them; polls go through the
// failures, and the worker replica delivering the notices and the
// resubmissions is killed with SIGKILL and replaced by two others. Every
// reconciliation must be applied once (each claim PAID exactly its
// approved benefit), every notice and every resubmission must reach NPHIES
// once, and every resubmission must have its decision applied once.
func TestPaymentsFaultDrill(t *testing.T) {
	drill.Gate(t)
	f := newOBFixture(t, mock.Options{FailRate: 0.5, TimeoutRate: 0.1, TimeoutSleep: 5 * time.Second})
	ctx := context.Background()
	const each = 15
	var paid, rejected []uuid.UUID
	for range each {
		c, _ := f.queue(t, fmt.Sprintf("PAYSPLIT-DRILL-%d", obSeq.Add(1)))
		paid = append(paid, c.ID)
		c, _ = f.queue(t, fmt.Sprintf("REJECT-DRILL-%d", obSeq.Add(1)))
		rejected = append(rejected, c.ID)
	}
	claims := startWorkerProcess(t, f, time.Second, 40)
	waitSettled(t, f.db, 120*time.Second)
	// Stopped before the polls, so the notices they queue and the
	// resubmissions wait for the replica killed below.
	if err := claims.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = claims.Wait()
	poller := f.poller(f.db)
	pollUntilQuiet(t, poller)
	if got := claimCounts(t, f.db); got[hg.ClaimApproved] != each || got[hg.ClaimRejected] != each {
		t.Fatalf("claims by status %v, want %d APPROVED and %d REJECTED", got, each, each)
	}

	// The corrections, queued while the payment notices are still pending,
	// for the visits the claims were for.
	desk := &nphies.Desk{Store: f.db, Builder: f.builder}
	var resubmissions []uuid.UUID
	for _, id := range rejected {
		c, err := desk.Resubmit(ctx, obScope, nphies.ResubmitRequest{ClaimID: id, PractitionerID: f.doctor.ID,
			Diagnoses: []string{"E11.65"}})
		if err != nil {
			t.Fatal(err)
		}
		resubmissions = append(resubmissions, c.ID)
	}
	backlog, _, err := f.db.OutboxBacklog(ctx)
	if err != nil || backlog != 2*each+each {
		t.Fatalf("%d messages pending (%v), want a notice per reconciliation and a resubmission per rejection (%d)", backlog, err, 3*each)
	}
	first := startWorkerProcess(t, f, time.Second, 40)
	eventually.Poll(func() bool {
		n, _, err := f.db.OutboxBacklog(ctx)
		return err != nil || n < backlog*2/3
	})
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	startWorkerProcess(t, f, time.Second, 40)
	startWorkerProcess(t, f, time.Second, 40)
	waitSettled(t, f.db, 120*time.Second)
	pollUntilQuiet(t, poller)

	// Money: each claim paid its approved benefit, in two reconciliations,
	// each applied once and acknowledged once.
	var fullyPaid, reconciliations, noticed int
	if err := f.db.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE paid = approved AND paid > 0 AND
			paid = (SELECT sum(gross) FROM claim_payments p WHERE p.claim_id = c.id))
		FROM claims c WHERE id = ANY($1)`, paid).Scan(&fullyPaid); err != nil {
		t.Fatal(err)
	}
	if err := f.db.Pool.QueryRow(ctx, `SELECT count(*), count(notice_message_id) FROM payment_reconciliations`).
		Scan(&reconciliations, &noticed); err != nil {
		t.Fatal(err)
	}
	if fullyPaid != each || reconciliations != 2*each || noticed != 2*each {
		t.Fatalf("%d of %d claims paid exactly their benefit; %d reconciliations, %d acknowledged; want %d each",
			fullyPaid, each, reconciliations, noticed, 2*each)
	}
	d := f.mock.Deliveries()
	rows, err := f.db.Pool.Query(ctx, `SELECT m.bundle_id FROM payment_reconciliations r
		JOIN nphies_messages m ON m.id = r.notice_message_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var bundle string
		if err := rows.Scan(&bundle); err != nil {
			t.Fatal(err)
		}
		if c := d.Bundles[bundle]; c.Processed != 1 {
			t.Errorf("payment notice %s: mock counted %+v", bundle, c)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	// Corrections: one resubmission per rejected claim, linked to it, sent
	// once and decided once.
	var linked, decided int
	if err := f.db.Pool.QueryRow(ctx, `SELECT count(DISTINCT resubmission_of),
			count(*) FILTER (WHERE status = 'REJECTED' AND
				(SELECT count(*) FROM claim_status_history h WHERE h.claim_id = c.id AND h.status = 'REJECTED') = 1)
		FROM claims c WHERE id = ANY($1) AND resubmission_of = ANY($2)`, resubmissions, rejected).Scan(&linked, &decided); err != nil {
		t.Fatal(err)
	}
	if linked != each || decided != each {
		t.Fatalf("%d resubmissions linked to their originals, %d decided once; want %d", linked, decided, each)
	}
	assertExactlyOnce(t, f, append(append(paid, rejected...), resubmissions...))
	t.Logf("payments drill: %d reconciliations applied and acknowledged once, %d resubmissions delivered once; mock saw %d requests, injected %d failures and %d timeouts",
		reconciliations, each, d.Requests, d.InjectedFailures, d.InjectedTimeouts)
}
