package nphies_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/internal/eventually"
	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/nphies/mock"
)

func TestOutboxDeliversClaimOutcomes(t *testing.T) {
	t.Parallel()
	f := newOBFixture(t, mock.Options{})
	w := f.worker(f.db)
	cases := []struct {
		member   string
		status   hg.ClaimStatus
		outcomes []string
		reasons  [][]string
	}{
		{"M-APPROVE-1", hg.ClaimApproved, []string{"approved", "approved"}, [][]string{nil, nil}},
		{"PARTIAL-1", hg.ClaimPartial, []string{"partial", "approved"}, [][]string{{mock.ReasonPartial}, nil}},
		{"REJECT-1", hg.ClaimRejected, []string{"rejected", "rejected"}, [][]string{{mock.ReasonRejected}, {mock.ReasonRejected}}},
	}
	for _, tc := range cases {
		queued, n := f.queue(t, tc.member)
		if queued.Status != hg.ClaimQueued {
			t.Fatalf("%s: queued as %s", tc.member, queued.Status)
		}
		f.deliverAll(t, w)
		c := f.claim(t, queued.ID)
		if c.Status != tc.status {
			t.Fatalf("%s: status %s (%s), want %s", tc.member, c.Status, c.LastError, tc.status)
		}
		if got := f.history(t, c.ID); !equal(got, statuses(hg.ClaimQueued, hg.ClaimSubmitted, tc.status)) {
			t.Errorf("%s: history %v", tc.member, got)
		}
		var sum hg.Halalas
		for k, it := range c.Items {
			if it.Outcome != tc.outcomes[k] || !equal(it.Reasons, tc.reasons[k]) || it.Approved == nil {
				t.Errorf("%s item %d: outcome %q reasons %v approved %v", tc.member, it.Sequence, it.Outcome, it.Reasons, it.Approved)
				continue
			}
			sum += *it.Approved
		}
		if c.Approved == nil || *c.Approved != sum {
			t.Errorf("%s: approved %v, items sum to %d", tc.member, c.Approved, sum)
		}
		if tc.status == hg.ClaimRejected && sum != 0 || tc.status == hg.ClaimApproved && sum == 0 {
			t.Errorf("%s: approved sum %d", tc.member, sum)
		}
		ms := f.messages(t, c.ID)
		if len(ms) != 2 || ms[0].Direction != hg.Outbound || ms[0].Delivery != hg.DeliverySent || ms[0].Attempts != 1 ||
			ms[1].Direction != hg.Inbound || ms[1].Event != nphies.EventClaimResponse || len(ms[1].Body) == 0 {
			t.Fatalf("%s: messages %+v", tc.member, ms)
		}
		if string(ms[0].Body) != string(n.Message.Body) {
			t.Errorf("%s: the stored outgoing bundle is not the one built", tc.member)
		}
		got := f.mock.Deliveries().Claims[f.claimKey(c.ID)]
		if got.Processed != 1 || got.Bundles != 1 {
			t.Errorf("%s: mock counted %+v", tc.member, got)
		}
	}
}

func TestOutboxPayerErrorFreesTheInvoice(t *testing.T) {
	t.Parallel()
	f := newOBFixture(t, mock.Options{})
	ctx := context.Background()
	inv, p, c := f.invoice(t, "CLAIMERR-1")
	first, n := f.queueFor(t, inv, p, c)
	if _, err := f.db.QueueClaim(ctx, n); !isCode(err, hg.ECONFLICT) {
		t.Fatalf("second claim for the invoice: %v, want CONFLICT", err)
	}
	f.deliverAll(t, f.worker(f.db))
	got := f.claim(t, first.ID)
	if got.Status != hg.ClaimError || !strings.Contains(got.LastError, mock.ErrorPolicyExpired) {
		t.Fatalf("claim %s %q, want ERROR naming %s", got.Status, got.LastError, mock.ErrorPolicyExpired)
	}
	// NPHIES refused that identifier for good, so a corrected claim may go
	// under a new one.
	if _, _ = f.queueFor(t, inv, p, c); false {
		t.Fatal()
	}
}

func TestQueueClaimRefusesWhatCannotBeClaimed(t *testing.T) {
	t.Parallel()
	f := newOBFixture(t, mock.Options{})
	ctx := context.Background()
	inv, p, c := f.invoice(t, "M-1")
	build := func(inv *hg.Invoice) hg.NewClaim {
		n, err := nphies.NewClaimMessage(f.builder, hg.UseClaim, f.parties(t, inv, p, c), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	draft, err := f.db.CreateInvoice(ctx, obScope, hg.NewInvoice{PatientID: p.ID, CoverageID: &c.ID,
		Lines: []hg.NewInvoiceLine{{CodeSystem: hg.SystemServices, ServiceCode: "83600-00-10", Description: "a", Quantity: 1, UnitPrice: 10_000}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.QueueClaim(ctx, build(draft)); !isCode(err, hg.EINVALID) {
		t.Errorf("draft invoice: %v", err)
	}
	// A prior authorization may ask before the invoice is issued.
	pa, err := nphies.NewClaimMessage(f.builder, hg.UsePreAuth, f.parties(t, draft, p, c), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.QueueClaim(ctx, pa); err != nil {
		t.Errorf("prior authorization for a draft invoice: %v", err)
	}
	void, err := f.db.VoidInvoice(ctx, draft.ID, "entered twice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.QueueClaim(ctx, build(void)); !isCode(err, hg.EINVALID) {
		t.Errorf("void invoice: %v", err)
	}
	cash, err := f.db.CreateInvoice(ctx, obScope, hg.NewInvoice{PatientID: p.ID,
		Lines: []hg.NewInvoiceLine{{CodeSystem: hg.SystemServices, ServiceCode: "83600-00-10", Description: "a", Quantity: 1, UnitPrice: 10_000}}})
	if err != nil {
		t.Fatal(err)
	}
	if cash, err = f.db.IssueInvoice(ctx, cash.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.QueueClaim(ctx, build(cash)); !isCode(err, hg.EINVALID) {
		t.Errorf("invoice without coverage: %v", err)
	}
	bad := build(inv)
	bad.Claim.Items[0].Net++ // amounts that do not add up
	if _, err := f.db.QueueClaim(ctx, bad); !isCode(err, hg.EINVALID) {
		t.Errorf("items not adding up: %v", err)
	}
	zero := build(inv)
	zero.Claim.Items[0].Quantity = 0
	if _, err := f.db.QueueClaim(ctx, zero); !isCode(err, hg.EINVALID) {
		t.Errorf("zero quantity: %v", err)
	}
	// Nothing of the refused claims was written.
	var claims, msgs int
	if err := f.db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM claims), (SELECT count(*) FROM nphies_messages)`).Scan(&claims, &msgs); err != nil {
		t.Fatal(err)
	}
	if claims != 1 || msgs != 1 {
		t.Errorf("refused claims left %d claims and %d messages, want only the prior authorization's", claims, msgs)
	}
	if _, err := f.db.QueueClaim(ctx, build(inv)); err != nil {
		t.Fatalf("good claim: %v", err)
	}
	if _, err := f.db.QueueClaim(ctx, build(inv)); !isCode(err, hg.ECONFLICT) {
		t.Errorf("invoice already claimed: %v", err)
	}
}

func TestOutboxQueuedThenPolled(t *testing.T) {
	t.Parallel()
	f := newOBFixture(t, mock.Options{})
	ctx := context.Background()
	queued, _ := f.queue(t, "QUEUE-1")
	f.deliverAll(t, f.worker(f.db))
	if c := f.claim(t, queued.ID); c.Status != hg.ClaimPending || c.Approved != nil {
		t.Fatalf("after the send: %s approved %v, want PENDING", c.Status, c.Approved)
	}
	// The poller records the poll response and applies the deferred claim
	// response it carries.
	var recorded []hg.Received
	spy := &spyOutbox{Outbox: f.db, delivered: &recorded}
	p := f.poller(f.db)
	p.Store = spy
	if _, err := p.PollOnce(ctx); err != nil {
		t.Fatal(err)
	}
	c := f.claim(t, queued.ID)
	if c.Status != hg.ClaimApproved || c.Approved == nil || *c.Approved == 0 {
		t.Fatalf("after the poll: %s approved %v", c.Status, c.Approved)
	}
	want := statuses(hg.ClaimQueued, hg.ClaimSubmitted, hg.ClaimPending, hg.ClaimApproved)
	if got := f.history(t, c.ID); !equal(got, want) {
		t.Fatalf("history %v, want %v", got, want)
	}
	// The same response delivered again changes nothing.
	if len(recorded) != 1 {
		t.Fatalf("the poll delivered %d messages, want 1", len(recorded))
	}
	if err := f.db.RecordExchange(ctx, pollMessage(t, f), nil, recorded); err != nil {
		t.Fatal(err)
	}
	if got := f.history(t, c.ID); !equal(got, want) {
		t.Fatalf("history after a second delivery %v, want %v", got, want)
	}
	ins := 0
	for _, m := range f.messages(t, c.ID) {
		if m.Direction == hg.Inbound {
			ins++
		}
	}
	if ins != 2 {
		t.Errorf("%d received messages linked to the claim, want 2 (the pended answer and the polled one)", ins)
	}
}

func TestOutboxPayerCommunicationRequestIsStoredAndLinked(t *testing.T) {
	t.Parallel()
	f := newOBFixture(t, mock.Options{})
	ctx := context.Background()
	queued, _ := f.queue(t, "COMM-1")
	f.deliverAll(t, f.worker(f.db))
	if _, err := f.poller(f.db).PollOnce(ctx); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, m := range f.messages(t, queued.ID) {
		if m.Direction == hg.Inbound && m.Event == nphies.EventCommunicationRequest && len(m.Body) > 0 {
			found = true
		}
	}
	if !found {
		t.Fatal("the payer's communication request is not linked to the claim")
	}
	hs, err := f.db.ClaimHistory(ctx, queued.ID)
	if err != nil {
		t.Fatal(err)
	}
	last := hs[len(hs)-1]
	if last.Status != hg.ClaimPending || !strings.Contains(last.Note, "more information") {
		t.Fatalf("last history step %+v", last)
	}
}

func TestOutboxRetriesResendTheSameBundle(t *testing.T) {
	t.Parallel()
	f := newOBFixture(t, mock.Options{})
	f.probe.set(func(p *probe) { p.failFirst = 2 })
	queued, n := f.queue(t, "M-RETRY-1")
	f.deliverAll(t, f.worker(f.db))
	c := f.claim(t, queued.ID)
	if c.Status != hg.ClaimApproved {
		t.Fatalf("status %s %q", c.Status, c.LastError)
	}
	if got := f.probe.count(n.Message.BundleID); got != 3 {
		t.Errorf("the mock saw bundle %s %d times, want 3 (two 503s, one success)", n.Message.BundleID, got)
	}
	got := f.mock.Deliveries().Claims[f.claimKey(c.ID)]
	if got.Processed != 1 || got.Bundles != 1 || got.Conflicts != 0 {
		t.Errorf("mock claim count %+v, want one bundle processed once", got)
	}
	ms := f.messages(t, c.ID)
	if ms[0].Attempts != 3 || ms[0].Delivery != hg.DeliverySent {
		t.Errorf("outgoing message %d attempts, %s", ms[0].Attempts, ms[0].Delivery)
	}
}

func TestOutboxPermanentFailureThenRetryClaim(t *testing.T) {
	t.Parallel()
	f := newOBFixture(t, mock.Options{})
	ctx := context.Background()
	f.probe.set(func(p *probe) { p.failAll = true })
	queued, n := f.queue(t, "M-DOWN-1")
	w := f.worker(f.db)
	f.deliverAll(t, w)
	errStatus := hg.ClaimError
	list, total, err := f.db.ListClaims(ctx, obScope, hg.ClaimFilter{Status: &errStatus}, hg.Page{First: 10, Count: true})
	if err != nil {
		t.Fatal(err)
	}
	if total != 1 || len(list) != 1 || list[0].ID != queued.ID || !strings.Contains(list[0].LastError, "HTTP 503") {
		t.Fatalf("claims in ERROR: %d %+v", total, list)
	}
	if _, err := f.db.RetryClaim(ctx, queued.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.RetryClaim(ctx, queued.ID); !isCode(err, hg.ECONFLICT) {
		t.Fatalf("retrying a queued claim: %v, want CONFLICT", err)
	}
	f.probe.set(func(p *probe) { p.failAll = false })
	f.deliverAll(t, w)
	c := f.claim(t, queued.ID)
	if c.Status != hg.ClaimApproved || c.LastError != "" {
		t.Fatalf("after retryClaim: %s %q", c.Status, c.LastError)
	}
	if got := f.probe.count(n.Message.BundleID); got != w.MaxAttempts+1 {
		t.Errorf("the bundle went out %d times, want %d", got, w.MaxAttempts+1)
	}
	if got := f.mock.Deliveries().Claims[f.claimKey(c.ID)]; got.Bundles != 1 || got.Processed != 1 {
		t.Errorf("mock claim count %+v", got)
	}
	want := statuses(hg.ClaimQueued, hg.ClaimError, hg.ClaimQueued, hg.ClaimSubmitted, hg.ClaimApproved)
	if got := f.history(t, c.ID); !equal(got, want) {
		t.Errorf("history %v, want %v", got, want)
	}
}

func TestOutboxUnreadableAnswerIsStoredRawAndNothingApplied(t *testing.T) {
	t.Parallel()
	f := newOBFixture(t, mock.Options{})
	w := f.worker(f.db)
	malformed, _ := f.queue(t, "MALFORMED-1")
	f.deliverAll(t, w)
	c := f.claim(t, malformed.ID)
	if c.Status != hg.ClaimError || !strings.Contains(c.LastError, "cannot be read") || c.Approved != nil {
		t.Fatalf("malformed answer: %s %q approved %v", c.Status, c.LastError, c.Approved)
	}
	raw := 0
	for _, m := range f.messages(t, c.ID) {
		if m.Direction == hg.Inbound && len(m.Body) > 0 && m.LastError != "" {
			raw++
		}
	}
	if raw != w.MaxAttempts {
		t.Errorf("%d raw answers stored, want one per attempt (%d)", raw, w.MaxAttempts)
	}

	// An answer to another request: the client refuses it, the worker
	// stores it, gives up at once and applies nothing of it.
	other, _ := f.queue(t, "M-OTHER-1")
	f.deliverAll(t, w)
	f.probe.set(func(p *probe) { p.replaceWith = p.lastAnswer })
	victim, _ := f.queue(t, "M-VICTIM-1")
	f.deliverAll(t, w)
	f.probe.set(func(p *probe) { p.replaceWith = nil })
	v := f.claim(t, victim.ID)
	if v.Status != hg.ClaimError || !strings.Contains(v.LastError, "does not answer") || v.Items[0].Outcome != "" {
		t.Fatalf("unexpected answer: %s %q item %+v", v.Status, v.LastError, v.Items[0])
	}
	ms := f.messages(t, v.ID)
	if len(ms) != 2 || ms[0].Attempts != 1 || ms[0].Delivery != hg.DeliveryFailed || ms[1].Direction != hg.Inbound {
		t.Fatalf("messages %+v", ms)
	}
	if o := f.claim(t, other.ID); o.Status != hg.ClaimApproved || len(f.history(t, o.ID)) != 3 {
		t.Fatalf("the claim the stray answer was about changed: %s %v", o.Status, f.history(t, o.ID))
	}
}

func TestOutboxCancel(t *testing.T) {
	t.Parallel()
	f := newOBFixture(t, mock.Options{})
	ctx := context.Background()
	queued, _ := f.queue(t, "M-CANCEL-1")
	if _, err := f.db.QueueCancel(ctx, queued.ID, cancelMessage(t, f, queued)); !isCode(err, hg.ECONFLICT) {
		t.Fatalf("cancel of a queued claim: %v", err)
	}
	w := f.worker(f.db)
	f.deliverAll(t, w)
	// A cancellation that cannot be delivered leaves the decision as it
	// is, says so in the history, and may be requested again.
	f.probe.set(func(p *probe) { p.failAll = true })
	if _, err := f.db.QueueCancel(ctx, queued.ID, cancelMessage(t, f, queued)); err != nil {
		t.Fatal(err)
	}
	f.deliverAll(t, w)
	f.probe.set(func(p *probe) { p.failAll = false })
	hs, err := f.db.ClaimHistory(ctx, queued.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c := f.claim(t, queued.ID); c.Status != hg.ClaimApproved || !strings.Contains(hs[len(hs)-1].Note, "cancellation failed") {
		t.Fatalf("after a failed cancellation: %s, last step %+v", c.Status, hs[len(hs)-1])
	}
	if _, err := f.db.QueueCancel(ctx, queued.ID, cancelMessage(t, f, queued)); err != nil {
		t.Fatal(err)
	}
	f.deliverAll(t, w)
	if c := f.claim(t, queued.ID); c.Status != hg.ClaimCancelled {
		t.Fatalf("after the cancel: %s %q", c.Status, c.LastError)
	}
	// A cancelled claim frees the invoice.
	inv, err := f.db.InvoiceByID(ctx, obScope, *queued.InvoiceID)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.db.PatientByID(ctx, obScope, queued.PatientID)
	if err != nil {
		t.Fatal(err)
	}
	covs, err := f.db.CoveragesByPatientIDs(ctx, obScope, []uuid.UUID{queued.PatientID})
	if err != nil || len(covs) != 1 {
		t.Fatal(len(covs), err)
	}
	f.queueFor(t, inv, p, covs[0])
}

func TestOnlyOnePollerHoldsTheLock(t *testing.T) {
	t.Parallel()
	f := newOBFixture(t, mock.Options{})
	ctx := context.Background()
	a, b := f.open(t), f.open(t)
	la, ok, err := a.TryPollerLock(ctx)
	if err != nil || !ok {
		t.Fatalf("first lock: %v %v", ok, err)
	}
	if _, ok, err := b.TryPollerLock(ctx); err != nil || ok {
		t.Fatalf("second lock while the first is held: %v %v", ok, err)
	}
	if err := la.Check(ctx); err != nil {
		t.Fatal(err)
	}
	la.Release()
	la.Release()
	lb, ok, err := b.TryPollerLock(ctx)
	if err != nil || !ok {
		t.Fatalf("lock after release: %v %v", ok, err)
	}
	lb.Release()

	// Two pollers run; polls only ever come from one at a time.
	f.probe.set(func(p *probe) { p.delay = 5 * time.Millisecond })
	var polls countingOutbox
	pa, pb := f.poller(a), f.poller(b)
	pa.Store, pb.Store = polls.wrap(a, "a"), polls.wrap(b, "b")
	pa.LockRetry, pb.LockRetry = 10*time.Millisecond, 10*time.Millisecond
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{}, 2)
	go func() { _ = pa.Run(runCtx); done <- struct{}{} }()
	go func() { _ = pb.Run(runCtx); done <- struct{}{} }()
	// Enough polls that both pollers had their chance at the lock.
	eventually.True(t, "twenty polls", func() bool { by := polls.snapshot(); return by["a"]+by["b"] >= 20 })
	stop()
	<-done
	<-done
	by := polls.snapshot()
	if by["a"]+by["b"] == 0 || by["a"] > 0 && by["b"] > 0 {
		t.Fatalf("polls recorded by poller: %v, want all from one", by)
	}
	// Stopped pollers released the lock. A poller stopped while its lock
	// request was answered releases it by closing the session, which
	// Postgres completes a moment after the close: hence eventually.
	eventually.True(t, "the lock to be free after the pollers stopped", func() bool {
		l, ok, err := a.TryPollerLock(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			l.Release()
		}
		return ok
	})
}

func isCode(err error, code string) bool {
	var e *hg.Error
	return errors.As(err, &e) && e.Code == code
}

func TestPollerPollsAgainWhileMessagesAreQueued(t *testing.T) {
	t.Parallel()
	f := newOBFixture(t, mock.Options{})
	ctx := context.Background()
	var ids []uuid.UUID
	for k := range 3 {
		c, _ := f.queue(t, "QUEUE-MORE-"+string(rune('A'+k)))
		ids = append(ids, c.ID)
	}
	f.deliverAll(t, f.worker(f.db))
	p := f.poller(f.db)
	p.Count = 1
	var mores []bool
	for range 3 {
		more, err := p.PollOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		mores = append(mores, more)
	}
	if !equal(mores, []bool{true, true, false}) {
		t.Fatalf("queued-messages after each poll %v, want [true true false]", mores)
	}
	for _, id := range ids {
		if c := f.claim(t, id); c.Status != hg.ClaimApproved {
			t.Errorf("claim %s is %s after the polls", id, c.Status)
		}
	}
}

func TestOutboxWakesOnQueue(t *testing.T) {
	t.Parallel()
	f := newOBFixture(t, mock.Options{})
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	w := f.worker(f.db)
	w.Interval = time.Hour // only a wake-up can make it look again
	w.Wake = f.db.ListenOutbox(ctx)
	done := make(chan struct{})
	go func() { _ = w.Run(ctx); close(done) }()
	defer func() { stop(); <-done }()
	time.Sleep(200 * time.Millisecond) // the senders have looked once and sleep
	queued, _ := f.queue(t, "M-WAKE-1")
	deadline := time.Now().Add(10 * time.Second)
	for f.claim(t, queued.ID).Status == hg.ClaimQueued {
		if time.Now().After(deadline) {
			t.Fatal("the queued claim did not wake the worker")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestOutboxPriorAuthorizationApproved(t *testing.T) {
	t.Parallel()
	f := newOBFixture(t, mock.Options{})
	inv, p, c := f.invoice(t, "M-PA-1")
	n, err := nphies.NewClaimMessage(f.builder, hg.UsePreAuth, f.parties(t, inv, p, c), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	queued, err := f.db.QueueClaim(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	f.deliverAll(t, f.worker(f.db))
	got := f.claim(t, queued.ID)
	if got.Use != hg.UsePreAuth || got.Status != hg.ClaimApproved || got.PreAuthRef == "" || got.Approved == nil {
		t.Fatalf("prior authorization %s ref %q approved %v (%s)", got.Status, got.PreAuthRef, got.Approved, got.LastError)
	}
	ms := f.messages(t, got.ID)
	if len(ms) != 2 || ms[1].Event != nphies.EventPriorAuthResponse {
		t.Fatalf("messages %+v", ms)
	}
}

func TestPollerResendsAPollWhoseAnswerWasLost(t *testing.T) {
	t.Parallel()
	f := newOBFixture(t, mock.Options{})
	ctx := context.Background()
	queued, _ := f.queue(t, "QUEUE-LOST-1")
	f.deliverAll(t, f.worker(f.db))
	f.probe.set(func(p *probe) { p.swallowPolls = true })
	if _, err := f.poller(f.db).PollOnce(ctx); err == nil {
		t.Fatal("a poll without an answer succeeded")
	}
	if n := f.mock.QueueLength(f.builder.ProviderLicense); n != 0 {
		t.Fatalf("the mock still queues %d messages; the drill needs them taken", n)
	}
	if c := f.claim(t, queued.ID); c.Status != hg.ClaimPending {
		t.Fatalf("claim %s before the resend", c.Status)
	}
	saved, err := f.db.UnansweredPoll(ctx)
	if err != nil || saved == nil {
		t.Fatalf("unanswered poll %v %v", saved, err)
	}
	// A new poller, as after a restart, resends the saved poll as it is.
	f.probe.set(func(p *probe) { p.swallowPolls = false })
	if _, err := f.poller(f.db).PollOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if c := f.claim(t, queued.ID); c.Status != hg.ClaimApproved {
		t.Fatalf("claim %s after the resend, want APPROVED", c.Status)
	}
	if n := f.probe.count(saved.BundleID); n != 2 {
		t.Errorf("the saved poll went out %d times, want 2", n)
	}
	if again, err := f.db.UnansweredPoll(ctx); err != nil || again != nil {
		t.Errorf("unanswered poll after the answer was recorded: %v %v", again, err)
	}
}

// TestOutboxAnswerThatCannotBeAppliedBlocksNothing makes the database
// refuse what an answer would write (as a bug would): the answer is kept
// raw and the claim put in ERROR; when not even that can be written, the
// message steps back a minute; the other claims are delivered meanwhile.
func TestOutboxAnswerThatCannotBeAppliedBlocksNothing(t *testing.T) {
	t.Parallel()
	f := newOBFixture(t, mock.Options{})
	ctx := context.Background()
	refuseApproval, _ := f.queue(t, "M-BUG-1")
	refuseAll, _ := f.queue(t, "M-BUG-2")
	_, err := f.db.Pool.Exec(ctx, `CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.id = '`+refuseAll.ID.String()+`' OR (NEW.id = '`+refuseApproval.ID.String()+`' AND NEW.status = 'APPROVED') THEN
				RAISE EXCEPTION 'refused by the test' USING ERRCODE = 'check_violation';
			END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER test_refuse BEFORE UPDATE ON claims FOR EACH ROW EXECUTE FUNCTION test_refuse();`)
	if err != nil {
		t.Fatal(err)
	}
	var good []uuid.UUID
	for k := range 3 {
		c, _ := f.queue(t, "M-FINE-"+string(rune('A'+k)))
		good = append(good, c.ID)
	}
	w := f.worker(f.db)
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, _ = w.DeliverOnce(ctx) // errors are expected for refuseAll
		n, _, err := f.db.OutboxBacklog(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n <= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the outbox is blocked: %d pending", n)
		}
	}
	for _, id := range good {
		if c := f.claim(t, id); c.Status != hg.ClaimApproved {
			t.Errorf("claim %s is %s", id, c.Status)
		}
	}
	c := f.claim(t, refuseApproval.ID)
	if c.Status != hg.ClaimError || !strings.Contains(c.LastError, "could not be applied") || c.Items[0].Outcome != "" {
		t.Errorf("claim whose approval the database refused: %s %q %+v", c.Status, c.LastError, c.Items[0])
	}
	if ms := f.messages(t, c.ID); len(ms) != 2 || ms[1].Direction != hg.Inbound || len(ms[1].Body) == 0 {
		t.Errorf("its answer is not kept raw: %+v", ms)
	}
	ms := f.messages(t, refuseAll.ID)
	if c := f.claim(t, refuseAll.ID); c.Status != hg.ClaimQueued || len(ms) != 1 ||
		ms[0].Delivery != hg.DeliveryPending || time.Until(ms[0].NextAttemptAt) < 30*time.Second ||
		!strings.Contains(ms[0].LastError, "could not be recorded") {
		t.Errorf("claim the database refuses entirely: %s, message %+v", c.Status, ms[0])
	}
}

// traceSpy records what the worker reports.
type traceSpy struct {
	mu         sync.Mutex
	links      []string
	names      []string
	events     []string
	deliveries []string
	backlogs   int
}

func (s *traceSpy) OutboxDelivery(outcome string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deliveries = append(s.deliveries, outcome)
}

func (s *traceSpy) StartLinked(ctx context.Context, name, traceParent string) (context.Context, func(error)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.names, s.links = append(s.names, name), append(s.links, traceParent)
	return ctx, func(error) {}
}

func (s *traceSpy) NPHIESRequest(_ context.Context, event, outcome string, _ time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, event+"/"+outcome)
}

func (s *traceSpy) SetOutboxBacklog(int, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.backlogs++
}

func TestOutboxSendIsTracedLinkedToTheRequest(t *testing.T) {
	t.Parallel()
	f := newOBFixture(t, mock.Options{})
	ctx := context.Background()
	inv, p, c := f.invoice(t, "M-TRACE-1")
	n, err := nphies.NewClaimMessage(f.builder, hg.UseClaim, f.parties(t, inv, p, c), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	n.Message.TraceParent = parent
	if _, err := f.db.QueueClaim(ctx, n); err != nil {
		t.Fatal(err)
	}
	spy := &traceSpy{}
	w := f.worker(f.db)
	w.Observer = spy
	f.deliverAll(t, w)
	pl := f.poller(f.db)
	pl.Observer = spy
	if _, err := pl.PollOnce(ctx); err != nil {
		t.Fatal(err)
	}
	spy.mu.Lock()
	defer spy.mu.Unlock()
	if len(spy.links) != 2 || spy.links[0] != parent || spy.names[0] != "nphies.outbox.deliver" || spy.names[1] != "nphies.poll" {
		t.Fatalf("traces %v linked to %v", spy.names, spy.links)
	}
	if len(spy.events) != 2 || spy.events[0] != "claim-request/complete" || spy.events[1] != "poll-request/complete" {
		t.Errorf("exchanges recorded %v", spy.events)
	}
}

func TestOutboxOfflinePayerStoreAndForward(t *testing.T) {
	t.Parallel()
	f := newOBFixture(t, mock.Options{OfflinePayers: []string{"INS-FHIR"}})
	ctx := context.Background()
	queued, _ := f.queue(t, "M-OFFLINE-1")
	f.deliverAll(t, f.worker(f.db))
	if c := f.claim(t, queued.ID); c.Status != hg.ClaimPending {
		t.Fatalf("NPHIES's store-and-forward answer left the claim %s (%s), want PENDING", c.Status, c.LastError)
	}
	p := f.poller(f.db)
	for range 5 {
		if _, err := p.PollOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if f.claim(t, queued.ID).Status != hg.ClaimPending {
			break
		}
	}
	if c := f.claim(t, queued.ID); c.Status != hg.ClaimApproved {
		t.Fatalf("after polling: %s (%s), want APPROVED", c.Status, c.LastError)
	}
}

func TestOutboxReportsAGivenUpMessageAsAFailedDelivery(t *testing.T) {
	t.Parallel()
	f := newOBFixture(t, mock.Options{})
	f.probe.set(func(p *probe) { p.failAll = true })
	f.queue(t, "M-GIVEUP-1")
	spy := &traceSpy{}
	w := f.worker(f.db)
	w.Observer = spy
	f.deliverAll(t, w)
	spy.mu.Lock()
	defer spy.mu.Unlock()
	want := append(slices.Repeat([]string{"retry"}, w.MaxAttempts-1), "failed")
	if !slices.Equal(spy.deliveries, want) {
		t.Errorf("deliveries %v, want %v", spy.deliveries, want)
	}
}
