package failuredrill

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/healthgraph/healthgraph/internal/drill"
)

// pgRestart stops a private Postgres under a load of createPatient
// mutations, starts it again, and checks that every acknowledged patient
// is there, that clients saw UNAVAILABLE (not INTERNAL) meanwhile and that
// /ready went 503 and back to 200.
func pgRestart(ctx context.Context, fs *flag.FlagSet, o *options) ([]string, error) {
	pgbin := fs.String("pgbin", "/usr/lib/postgresql/15/bin", "directory of initdb and pg_ctl")
	port := fs.Int("port", 55432, "port of the drill's private Postgres")
	down := fs.Duration("down", 3*time.Second, "how long Postgres stays stopped")
	mode := fs.String("mode", "fast", `pg_ctl stop mode: "fast", or "immediate" for a crash`)
	if err := parse(fs, o); err != nil {
		return nil, err
	}
	c, err := startCluster(ctx, *pgbin, *port)
	if err != nil {
		return nil, err
	}
	defer c.destroy()
	s, err := newStack(ctx, o, c.URL())
	if err != nil {
		return nil, err
	}
	defer s.close()
	r, err := s.serve(ctx, "replica")
	if err != nil {
		return nil, err
	}
	var a acks
	write := a.createPatients(s, r.URL)
	fmt.Printf("pg-restart: 1 replica, %d createPatient/s, %s phases, Postgres stopped (-m %s) for %s\n\n", o.rate, o.phase, *mode, *down)
	ready := watchReady(ctx, r)
	phases := []phase{{"before", drill.Load(o.phase, o.rate, write)}}

	var stopped, started time.Time
	var outageErr error
	outage := make(chan struct{})
	go func() {
		defer close(outage)
		time.Sleep(o.phase / 5)
		stopped = time.Now()
		if outageErr = c.stop(ctx, *mode); outageErr != nil {
			return
		}
		time.Sleep(*down)
		outageErr = c.start(ctx)
		started = time.Now()
	}()
	phases = append(phases, phase{"outage", drill.Load(o.phase+*down, o.rate, write)})
	<-outage
	if outageErr != nil {
		return nil, outageErr
	}
	phases = append(phases, phase{"after", drill.Load(o.phase, o.rate, write)})
	// A last look once the load is over, so that a late recovery shows.
	time.Sleep(time.Second)
	transitions, steps := ready.end()

	missing, err := s.missing(ctx, "patients", a.ids)
	if err != nil {
		return nil, err
	}
	first := a.firstSuccessAfter(stopped)
	printPhases(phases)
	fmt.Printf("\nPostgres stopped (-m %s) for %s; pg_ctl start -w returned %s after the stop\n", *mode, *down, started.Sub(stopped).Round(time.Millisecond))
	if first.IsZero() {
		fmt.Println("first successful write after the stop: none")
	} else {
		fmt.Printf("first successful write: %s after the stop\n", first.Sub(stopped).Round(time.Millisecond))
	}
	fmt.Printf("/ready: %s\n", transitions)
	fmt.Printf("acknowledged patients: %d, missing afterwards: %d\n", len(a.ids), missing)

	problems := internal(phases)
	if missing > 0 {
		problems = append(problems, fmt.Sprintf("%d acknowledged patients missing", missing))
	}
	if first.IsZero() {
		problems = append(problems, "no write succeeded after the restart")
	}
	if !strings.Contains(transitions, "503") || !strings.HasPrefix(steps[len(steps)-1], "200") {
		problems = append(problems, "/ready did not go 503 and back to 200: "+transitions)
	}
	return problems, nil
}
