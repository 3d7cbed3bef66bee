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

// pollUntilQuiet polls through injected failures (each failed poll is
// resent with the same bytes) until a poll succeeds with nothing more
// queued.
func pollUntilQuiet(t *testing.T, p *nphies.Poller) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		more, err := p.PollOnce(context.Background())
		if err == nil && !more {
			return
		}
	}
	t.Fatal("polling did not get through in 60 s")
}

// TestFollowUpFaultDrill is the fault drill for the messages that follow a
// claim: status checks and answers to a payer's requests for information.
// NPHIES fails half the requests and withholds some answers after
// processing them; the worker replica is killed with SIGKILL while
// delivering them and two others take over. Every status check and every
// answer must reach the payer exactly once, and every claim must end
// APPROVED, its decision applied once.
func TestFollowUpFaultDrill(t *testing.T) {
	drill.Gate(t)
	f := newOBFixture(t, mock.Options{FailRate: 0.5, TimeoutRate: 0.1, TimeoutSleep: 5 * time.Second})
	ctx := context.Background()
	const each = 20
	var held, asking []uuid.UUID
	for range each {
		c, _ := f.queue(t, fmt.Sprintf("STATUS-DRILL-%d", obSeq.Add(1)))
		held = append(held, c.ID)
		c, _ = f.queue(t, fmt.Sprintf("COMM-DRILL-%d", obSeq.Add(1)))
		asking = append(asking, c.ID)
	}
	startWorkerProcess(t, f, time.Second, 40)
	waitSettled(t, f.db, 120*time.Second)
	poller := f.poller(f.db)
	poller.StatusCheckAfter = time.Hour
	pollUntilQuiet(t, poller)
	if got := claimCounts(t, f.db); got[hg.ClaimPending] != 2*each {
		t.Fatalf("claims by status %v, want all %d PENDING", got, 2*each)
	}

	// The follow-ups: a status check for each held claim (an hour later),
	// an answer to each payer request.
	if _, err := f.db.Pool.Exec(ctx, `UPDATE claims SET updated_at = now() - interval '2 hours'
		WHERE id = ANY($1)`, held); err != nil {
		t.Fatal(err)
	}
	if n, err := poller.QueueStatusChecks(ctx); err != nil || n != each {
		t.Fatalf("queued %d status checks (%v), want %d", n, err, each)
	}
	desk := &nphies.Desk{Store: f.db, Builder: f.builder}
	for _, id := range asking {
		comms, err := f.db.ClaimCommunications(ctx, id)
		if err != nil || len(comms) != 1 {
			t.Fatalf("claim %s has %d communications (%v), want the payer's request", id, len(comms), err)
		}
		if _, err := desk.Communicate(ctx, obScope, nphies.ClaimMessageRequest{ClaimID: id, InReplyTo: &comms[0].ID,
			Texts: []string{"The report is attached."}, Attachments: []hg.Attachment{{Title: "report",
				ContentType: "application/pdf", Data: []byte("%PDF-1.4 synthetic")}}}); err != nil {
			t.Fatal(err)
		}
	}
	first := startWorkerProcess(t, f, time.Second, 40)
	// Kill it mid-delivery: once a third is out, or at the timeout anyway.
	eventually.Poll(func() bool {
		n, _, err := f.db.OutboxBacklog(ctx)
		return err != nil || n < 2*each*2/3
	})
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	startWorkerProcess(t, f, time.Second, 40)
	startWorkerProcess(t, f, time.Second, 40)
	waitSettled(t, f.db, 120*time.Second)
	pollUntilQuiet(t, poller)
	if end := claimCounts(t, f.db); end[hg.ClaimApproved] != 2*each {
		t.Fatalf("claims by status at the end %v, want all %d APPROVED", end, 2*each)
	}

	// One bundle per follow-up, each processed once by the mock, and the
	// mock processed no bundle we did not store.
	d := f.mock.Deliveries()
	ours := map[string]bool{}
	rows, err := f.db.Pool.Query(ctx, `SELECT claim_id, event, bundle_id FROM nphies_messages WHERE direction = 'OUT'`)
	if err != nil {
		t.Fatal(err)
	}
	perClaim := map[string]int{}
	for rows.Next() {
		var claimID *uuid.UUID
		var event, bundle string
		if err := rows.Scan(&claimID, &event, &bundle); err != nil {
			t.Fatal(err)
		}
		ours[bundle] = true
		if event == nphies.EventStatusCheck || event == nphies.EventCommunication {
			perClaim[claimID.String()+" "+event]++
			if c := d.Bundles[bundle]; c.Processed != 1 {
				t.Errorf("%s bundle %s: mock counted %+v", event, bundle, c)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, id := range held {
		if n := perClaim[id.String()+" "+nphies.EventStatusCheck]; n != 1 {
			t.Errorf("claim %s: %d status checks", id, n)
		}
	}
	for _, id := range asking {
		if n := perClaim[id.String()+" "+nphies.EventCommunication]; n != 1 {
			t.Errorf("claim %s: %d answers", id, n)
		}
	}
	for b, c := range d.Bundles {
		if c.Processed > 0 && !ours[b] {
			t.Errorf("the mock processed bundle %s, which we never stored", b)
		}
	}
	assertExactlyOnce(t, f, append(held, asking...))
	var history int
	if err := f.db.Pool.QueryRow(ctx, `SELECT count(*) FROM claim_status_history WHERE status = 'APPROVED'`).Scan(&history); err != nil {
		t.Fatal(err)
	}
	if history != 2*each {
		t.Errorf("%d APPROVED history steps, want one decision applied per claim (%d)", history, 2*each)
	}
	t.Logf("follow-up drill: %d status checks and %d answers delivered exactly once; mock saw %d requests, injected %d failures and %d timeouts",
		each, each, d.Requests, d.InjectedFailures, d.InjectedTimeouts)
}
