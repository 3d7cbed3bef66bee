package nphies_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/internal/drill"
	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/nphies/mock"
	"github.com/healthgraph/healthgraph/postgres"
)

// Environment of a worker child process (see TestWorkerProcess).
const (
	envHelper     = "HG_TEST_OUTBOX_WORKER"
	envHelperDB   = "HG_TEST_OUTBOX_DB"
	envHelperURL  = "HG_TEST_OUTBOX_NPHIES"
	envHelperTO   = "HG_TEST_OUTBOX_TIMEOUT"
	envHelperMaxA = "HG_TEST_OUTBOX_MAX_ATTEMPTS"
)

// TestWorkerProcess is not a test: run by startWorkerProcess as a child
// process, it is one replica's outbox worker, delivering until it is
// signalled or killed.
func TestWorkerProcess(t *testing.T) {
	if os.Getenv(envHelper) != "1" {
		t.Skip("worker child process only")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	db, err := postgres.Open(ctx, os.Getenv(envHelperDB), postgres.Options{MaxConns: 6})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	to, _ := time.ParseDuration(os.Getenv(envHelperTO))
	maxA, _ := strconv.Atoi(os.Getenv(envHelperMaxA))
	client, err := nphies.NewClient(os.Getenv(envHelperURL), nphies.WithTimeout(to))
	if err != nil {
		t.Fatal(err)
	}
	w := &nphies.Worker{Store: db, Client: client, Interval: 20 * time.Millisecond, Concurrency: 4, Timeout: to,
		MaxAttempts: maxA, BackoffBase: 10 * time.Millisecond, BackoffCap: 200 * time.Millisecond}
	_ = w.Run(ctx)
}

// startWorkerProcess starts a worker replica as a child process.
func startWorkerProcess(t *testing.T, f *obFixture, timeout time.Duration, maxAttempts int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestWorkerProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envHelper+"=1", envHelperDB+"="+f.url, envHelperURL+"="+f.srv.URL,
		envHelperTO+"="+timeout.String(), envHelperMaxA+"="+strconv.Itoa(maxAttempts))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// claimCounts counts our claims by status.
func claimCounts(t *testing.T, db *postgres.DB) map[hg.ClaimStatus]int {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), `SELECT status, count(*) FROM claims GROUP BY status`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[hg.ClaimStatus]int{}
	for rows.Next() {
		var s hg.ClaimStatus
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		out[s] = n
	}
	return out
}

// waitSettled waits until no outgoing message is pending.
func waitSettled(t *testing.T, db *postgres.DB, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		n, _, err := db.OutboxBacklog(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the outbox did not settle in %s: %v", limit, claimCounts(t, db))
}

// assertExactlyOnce checks the mock's own counts: every claim arrived
// under one bundle id, was adjudicated once, and none conflicted.
func assertExactlyOnce(t *testing.T, f *obFixture, ids []uuid.UUID) {
	t.Helper()
	d := f.mock.Deliveries()
	for _, id := range ids {
		c, ok := d.Claims[f.claimKey(id)]
		if !ok || c.Processed != 1 || c.Bundles != 1 || c.Conflicts != 0 {
			t.Errorf("claim %s: mock counted %+v (present %v)", id, c, ok)
		}
	}
	if len(d.Claims) != len(ids) {
		t.Errorf("the mock knows %d claims, %d were queued", len(d.Claims), len(ids))
	}
}

func TestTwoWorkerProcessesNeverSendTheSameMessageAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts worker processes")
	}
	f := newOBFixture(t, mock.Options{})
	f.probe.set(func(p *probe) { p.delay = 15 * time.Millisecond })
	var ids []uuid.UUID
	for range 40 {
		c, _ := f.queue(t, fmt.Sprintf("M-PAIR-%d", obSeq.Add(1)))
		ids = append(ids, c.ID)
	}
	// A send timeout no busy machine reaches: a slow send that timed out
	// would be retried, a fault this test does not mean to inject.
	startWorkerProcess(t, f, 30*time.Second, 8)
	startWorkerProcess(t, f, 30*time.Second, 8)
	waitSettled(t, f.db, 60*time.Second)
	if got := claimCounts(t, f.db); got[hg.ClaimApproved] != len(ids) {
		t.Fatalf("claims by status %v", got)
	}
	assertExactlyOnce(t, f, ids)
	f.probe.mu.Lock()
	defer f.probe.mu.Unlock()
	if f.probe.maxInflight != 1 {
		t.Errorf("a bundle was in flight %d times at once", f.probe.maxInflight)
	}
	for b, n := range f.probe.seen {
		if n != 1 {
			t.Errorf("bundle %s sent %d times without any fault", b, n)
		}
	}
}

// TestFaultDrill is the delivery drill: NPHIES fails half the requests at
// random and swallows the answer of some after processing them; the worker
// replica is killed with SIGKILL in the middle and two others take over;
// every claim must still reach the payer exactly once.
func TestFaultDrill(t *testing.T) {
	drill.Gate(t)
	f := newOBFixture(t, mock.Options{FailRate: 0.5, TimeoutRate: 0.1, TimeoutSleep: 5 * time.Second})
	const claims = 60
	var ids []uuid.UUID
	for range claims {
		c, _ := f.queue(t, fmt.Sprintf("M-DRILL-%d", obSeq.Add(1)))
		ids = append(ids, c.ID)
	}
	start := time.Now()
	first := startWorkerProcess(t, f, time.Second, 40)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && claimCounts(t, f.db)[hg.ClaimQueued] > claims*2/3 {
		time.Sleep(20 * time.Millisecond)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	mid := claimCounts(t, f.db)
	t.Logf("killed the worker after %s with claims by status %v", time.Since(start).Round(time.Millisecond), mid)
	startWorkerProcess(t, f, time.Second, 40)
	startWorkerProcess(t, f, time.Second, 40)
	waitSettled(t, f.db, 120*time.Second)
	end := claimCounts(t, f.db)
	if end[hg.ClaimApproved] != claims {
		t.Fatalf("claims by status at the end %v, want all %d APPROVED (none lost, none stuck)", end, claims)
	}
	assertExactlyOnce(t, f, ids)
	d := f.mock.Deliveries()
	var attempts int
	if err := f.db.Pool.QueryRow(context.Background(), `SELECT coalesce(sum(attempts), 0) FROM nphies_messages WHERE direction = 'OUT'`).Scan(&attempts); err != nil {
		t.Fatal(err)
	}
	t.Logf("drill: %d claims delivered exactly once in %s; mock saw %d requests, injected %d failures and %d timeouts; %d attempts recorded; max in flight per bundle %d",
		claims, time.Since(start).Round(time.Millisecond), d.Requests, d.InjectedFailures, d.InjectedTimeouts, attempts, f.probe.maxInflight)
}

// TestFaultDrillInProcess is the same drill with the worker stopped by
// cancelling its context mid-flight, and two in-process workers with their
// own pools finishing the job.
func TestFaultDrillInProcess(t *testing.T) {
	t.Parallel()
	f := newOBFixture(t, mock.Options{FailRate: 0.5, TimeoutRate: 0.1, TimeoutSleep: 5 * time.Second})
	f.clientTO = time.Second
	client, err := nphies.NewClient(f.srv.URL, nphies.WithTimeout(f.clientTO))
	if err != nil {
		t.Fatal(err)
	}
	f.client = client
	const claims = 50
	var ids []uuid.UUID
	for range claims {
		c, _ := f.queue(t, fmt.Sprintf("M-DRILL-%d", obSeq.Add(1)))
		ids = append(ids, c.ID)
	}
	run := func(ctx context.Context, wg *sync.WaitGroup) {
		w := f.worker(f.open(t))
		w.MaxAttempts, w.BackoffCap = 40, 200*time.Millisecond
		wg.Go(func() { _ = w.Run(ctx) })
	}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	run(ctx, &wg)
	for claimCounts(t, f.db)[hg.ClaimQueued] > claims*2/3 {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	wg.Wait()
	ctx2, stop2 := context.WithCancel(context.Background())
	defer stop2()
	run(ctx2, &wg)
	run(ctx2, &wg)
	waitSettled(t, f.db, 120*time.Second)
	stop2()
	wg.Wait()
	if end := claimCounts(t, f.db); end[hg.ClaimApproved] != claims {
		t.Fatalf("claims by status at the end %v", end)
	}
	assertExactlyOnce(t, f, ids)
}

// TestMeasureOutbox measures the worker against the mock (no faults): the
// throughput draining a backlog, and the latency from queueing a claim to
// SUBMITTED while claims trickle in. It logs the figures; it asserts no
// timing, and runs only when asked (HG_NPHIES_MEASURE=1), to spare CI the
// load.
func TestMeasureOutbox(t *testing.T) {
	if os.Getenv("HG_NPHIES_MEASURE") != "1" {
		t.Skip("measurement: set HG_NPHIES_MEASURE=1")
	}
	f := newOBFixture(t, mock.Options{})
	ctx := context.Background()
	const backlog = 200
	for _, conc := range []int{1, 4, 8} {
		// A fresh backlog each time, so every send is a first delivery the
		// mock adjudicates.
		for range backlog {
			f.queue(t, fmt.Sprintf("M-BENCH-%d", obSeq.Add(1)))
		}
		w := f.worker(f.db)
		w.Concurrency = conc
		rctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		start := time.Now()
		go func() { _ = w.Run(rctx); close(done) }()
		waitSettled(t, f.db, 120*time.Second)
		took := time.Since(start)
		stop()
		<-done
		t.Logf("throughput: %d sends with %d sender(s) in %s = %.0f claims/s", backlog, conc, took.Round(time.Millisecond),
			float64(backlog)/took.Seconds())
	}

	for _, run := range []struct {
		interval time.Duration
		wake     bool
	}{{100 * time.Millisecond, false}, {time.Second, false}, {time.Second, true}} {
		w := f.worker(f.db)
		w.Interval = run.interval
		rctx, stop := context.WithCancel(ctx)
		if run.wake {
			w.Wake = f.db.ListenOutbox(rctx)
		}
		done := make(chan struct{})
		go func() { _ = w.Run(rctx); close(done) }()
		var ids []uuid.UUID
		for range 40 {
			c, _ := f.queue(t, fmt.Sprintf("M-LAT-%d", obSeq.Add(1)))
			ids = append(ids, c.ID)
			time.Sleep(37 * time.Millisecond)
		}
		waitSettled(t, f.db, 60*time.Second)
		stop()
		<-done
		var lat []time.Duration
		for _, id := range ids {
			hs, err := f.db.ClaimHistory(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			var queued, submitted time.Time
			for _, h := range hs {
				switch h.Status {
				case hg.ClaimQueued:
					queued = h.At
				case hg.ClaimSubmitted:
					submitted = h.At
				}
			}
			lat = append(lat, submitted.Sub(queued))
		}
		slices.Sort(lat)
		t.Logf("latency queue→SUBMITTED with a %s idle interval, LISTEN/NOTIFY wake-up %v: p50 %s, p95 %s, max %s (n=%d)",
			run.interval, run.wake,
			lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)*95/100].Round(time.Millisecond),
			lat[len(lat)-1].Round(time.Millisecond), len(lat))
	}
}
