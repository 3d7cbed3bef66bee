package failuredrill

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"

	"github.com/healthgraph/healthgraph/internal/drill"
)

// phase is one stretch of load and what it saw.
type phase struct {
	name string
	drill.Stats
}

// printPhases prints the per-phase table every drill starts its report with.
func printPhases(phases []phase) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\tsent\tfailed\tp50\tp99\tmax\tfailures by code\t")
	for _, p := range phases {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t\n", p.name, p.Sent, p.Failed, ms(p.Latency.Pct(50)), ms(p.Latency.Pct(99)),
			ms(p.Latency.Pct(100)), p.CodeList())
	}
	_ = tw.Flush()
	for _, p := range phases {
		if len(p.FirstErrors) > 0 {
			fmt.Printf("  first failure %s: %.200s\n", p.name, p.FirstErrors[0])
		}
	}
}

func ms(d time.Duration) string {
	if d >= 10*time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}

// internal lists the phases in which any request failed INTERNAL: a
// dependency failing must never look like a bug.
func internal(phases []phase) []string {
	var out []string
	for _, p := range phases {
		if n := p.Codes["INTERNAL_SERVER_ERROR"] + p.Codes["INTERNAL"]; n > 0 {
			out = append(out, fmt.Sprintf("%d INTERNAL errors %s", n, p.name))
		}
	}
	return out
}

// acks are the ids of writes the server acknowledged, and when the first
// success after a moment came back.
type acks struct {
	mu  sync.Mutex
	ids []string
	// successes are end times of successful requests, with their start.
	successes [][2]time.Time
}

// createPatients is a load's request: it creates a patient on the replica
// at url and counts the write as acknowledged when the server says so.
func (a *acks) createPatients(s *stack, url string) func(int) error {
	return func(int) error {
		start := time.Now()
		id, err := s.createPatient(url)
		if err == nil {
			a.add(id, start)
		}
		return err
	}
}

func (a *acks) add(id string, start time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ids = append(a.ids, id)
	a.successes = append(a.successes, [2]time.Time{start, time.Now()})
}

// firstSuccessAfter is the end of the first successful request that
// started after t, zero when none did.
func (a *acks) firstSuccessAfter(t time.Time) time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	var first time.Time
	for _, s := range a.successes {
		if s[0].After(t) && (first.IsZero() || s[1].Before(first)) {
			first = s[1]
		}
	}
	return first
}

// uuids decodes global IDs ("Type:uuid", base64) to row ids.
func uuids(global []string) []uuid.UUID {
	out := make([]uuid.UUID, 0, len(global))
	for _, g := range global {
		raw, err := base64.RawURLEncoding.DecodeString(g)
		if err != nil {
			continue
		}
		_, rest, _ := strings.Cut(string(raw), ":")
		if u, err := uuid.Parse(rest); err == nil {
			out = append(out, u)
		}
	}
	return out
}

// missing counts the acknowledged ids absent from table.
func (s *stack) missing(ctx context.Context, table string, ids []string) (int, error) {
	u := uuids(ids)
	n, err := s.count(ctx, "SELECT count(*) FROM "+table+" WHERE id = ANY($1)", u)
	return len(ids) - n, err
}

// readyLog polls a replica's /ready and keeps its transitions.
type readyLog struct {
	mu    sync.Mutex
	start time.Time
	steps []string
	last  int
	stop  context.CancelFunc
	done  chan struct{}
}

func watchReady(ctx context.Context, p *drill.Process) *readyLog {
	ctx, cancel := context.WithCancel(ctx)
	l := &readyLog{start: time.Now(), last: -1, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for ctx.Err() == nil {
			code, _ := p.Ready(ctx)
			l.mu.Lock()
			if code != l.last {
				l.steps = append(l.steps, fmt.Sprintf("%d at %.1fs", code, time.Since(l.start).Seconds()))
				l.last = code
			}
			l.mu.Unlock()
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return l
}

// end stops polling and returns the transitions, e.g. "200 at 0.0s → 503
// at 5.2s → 200 at 9.8s".
func (l *readyLog) end() (string, []string) {
	l.stop()
	<-l.done
	return strings.Join(l.steps, " → "), l.steps
}

// nationalIDs hands out distinct well-formed national IDs.
var nationalIDs atomic.Int64

func nextNationalID() string { return fmt.Sprintf("1%09d", 300_000_000+nationalIDs.Add(1)) }

const mCreatePatient = `mutation($in: CreatePatientInput!) { createPatient(input: $in) { id } }`

// createPatient registers a synthetic patient through url and returns the
// acknowledged id.
func (s *stack) createPatient(url string) (string, error) {
	data, err := s.gql(url, mCreatePatient, map[string]any{"in": map[string]any{"nationalId": nextNationalID(),
		"firstName": "Drill", "familyName": "Patient", "birthDate": "1985-03-04", "gender": "FEMALE"}})
	if err != nil {
		return "", err
	}
	return drill.ID(data, "createPatient"), nil
}
