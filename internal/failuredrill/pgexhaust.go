package failuredrill

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/healthgraph/healthgraph/internal/drill"
)

// pgExhaust gives the replica a tiny pool (HG_DB_MAX_CONNS) and holds an
// ACCESS EXCLUSIVE lock on patients for -hold: createPatient requests take
// every pooled connection and wait on the lock, so `me` queries, which
// need no locked table, find no connection. The acquire bound must turn
// their wait into UNAVAILABLE, and goroutines, memory and Postgres
// connections must come back to where they were.
func pgExhaust(ctx context.Context, fs *flag.FlagSet, o *options) ([]string, error) {
	conns := fs.Int("conns", 2, "the replica's HG_DB_MAX_CONNS")
	hold := fs.Duration("hold", 10*time.Second, "how long the lock is held; more than the 5s acquire bound")
	if err := parse(fs, o); err != nil {
		return nil, err
	}
	s, err := newStack(ctx, o, o.postgres)
	if err != nil {
		return nil, err
	}
	defer s.close()
	r, err := s.serve(ctx, "replica", fmt.Sprintf("HG_DB_MAX_CONNS=%d", *conns))
	if err != nil {
		return nil, err
	}
	request := func(i int) error {
		if i%2 == 0 {
			_, err := s.createPatient(r.URL)
			return err
		}
		_, err := s.gql(r.URL, "query { me { id } }", nil)
		return err
	}
	fmt.Printf("pg-exhaust: 1 replica with HG_DB_MAX_CONNS=%d, %d req/s (half createPatient, half me), lock on patients held %s\n\n",
		*conns, o.rate, *hold)
	before := s.resources(ctx, r)
	phases := []phase{{"before", drill.Load(o.phase, o.rate, request)}}

	ready := watchReady(ctx, r)
	peak := s.sampleResources(ctx, r)
	tx, err := s.db.Pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE patients IN ACCESS EXCLUSIVE MODE"); err != nil {
		return nil, err
	}
	released := make(chan struct{})
	release := time.AfterFunc(*hold, func() {
		_ = tx.Rollback(context.Background())
		close(released)
	})
	phases = append(phases, phase{"locked", drill.Load(*hold, o.rate, request)})
	if release.Stop() {
		_ = tx.Rollback(ctx)
	} else {
		<-released // the timer's rollback ran or is running: wait, never touch tx alongside it
	}
	during := peak()
	phases = append(phases, phase{"after", drill.Load(o.phase, o.rate, request)})
	time.Sleep(2 * time.Second) // let finished requests' goroutines end
	after := s.resources(ctx, r)
	transitions, _ := ready.end()

	printPhases(phases)
	fmt.Printf("\n%-28s %8s %8s %8s\n", "", "before", "peak", "after")
	for _, k := range resourceNames {
		fmt.Printf("%-28s %8.0f %8.0f %8.0f\n", k, before[k], during[k], after[k])
	}
	fmt.Printf("/ready: %s\n", transitions)

	problems := internal(phases)
	locked := phases[1]
	if locked.Codes["UNAVAILABLE"] == 0 {
		problems = append(problems, "no request was refused UNAVAILABLE while the pool was exhausted")
	}
	if other := locked.Failed - locked.Codes["UNAVAILABLE"]; other > 0 {
		problems = append(problems, fmt.Sprintf("%d failures other than UNAVAILABLE while the pool was exhausted: %s", other, locked.CodeList()))
	}
	if phases[2].Failed > 0 {
		problems = append(problems, fmt.Sprintf("%d failures after the lock was released", phases[2].Failed))
	}
	// A pile-up leaves goroutines behind; a few come and go with idle
	// keep-alive connections.
	if after["goroutines"] > before["goroutines"]+20 {
		problems = append(problems, fmt.Sprintf("goroutines %0.f before, %0.f after", before["goroutines"], after["goroutines"]))
	}
	if after["postgres connections"] > before["postgres connections"] {
		problems = append(problems, fmt.Sprintf("Postgres connections %0.f before, %0.f after", before["postgres connections"], after["postgres connections"]))
	}
	return problems, nil
}

// resourceNames are what resources reports, in print order.
var resourceNames = []string{"goroutines", "RSS MiB", "postgres connections"}

// resources reads the replica's goroutines and memory from /metrics and
// counts its connections in pg_stat_activity (every backend of the drill's
// database but the drill's own pool: the replica's pool and the
// connections it holds outside it, such as the poller's).
func (s *stack) resources(ctx context.Context, r *drill.Process) map[string]float64 {
	out := map[string]float64{}
	if m, err := r.Metrics(ctx); err == nil {
		out["goroutines"] = m.Sum("go_goroutines")
		out["RSS MiB"] = m.Sum("process_resident_memory_bytes") / (1 << 20)
	}
	n, _ := s.count(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
		AND application_name <> 'failure-drill' AND pid <> pg_backend_pid()`)
	out["postgres connections"] = float64(n)
	return out
}

// sampleResources samples resources every 250ms until the returned
// function is called, which gives the peak of each.
func (s *stack) sampleResources(ctx context.Context, r *drill.Process) func() map[string]float64 {
	ctx, cancel := context.WithCancel(ctx)
	peak := map[string]float64{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			for k, v := range s.resources(ctx, r) {
				peak[k] = max(peak[k], v)
			}
			select {
			case <-ctx.Done():
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()
	return func() map[string]float64 { cancel(); <-done; return peak }
}
