package cache_test

import (
	"context"
	"errors"

	"sync/atomic"
	"testing"
	"time"

	"github.com/healthgraph/healthgraph/cache"
)

// flightTTL and refreshWindow: an entry lives an hour and is refreshed in
// its last minute; tests move an entry into that minute by shortening its
// TTL in Redis, not by waiting.
const (
	flightTTL     = time.Hour
	refreshWindow = time.Minute
)

// flightEnv is a Typed cache whose Gets report when they start waiting
// for a load, with loads that block until the test releases them.
type flightEnv struct {
	c       *cache.Client
	rows    *cache.Typed[row]
	waiting chan struct{}
	loads   atomic.Int64
}

func setupFlight(t *testing.T, c *cache.Client, opts ...cache.Option) *flightEnv {
	t.Helper()
	if c == nil {
		c = setup(t, "", "")
	}
	e := &flightEnv{c: c, waiting: make(chan struct{}, 64)}
	opts = append(opts, cache.Waiting(func() { e.waiting <- struct{}{} }))
	e.rows = cache.NewTyped[row](c, "claims_summary", 1, flightTTL, opts...)
	t.Cleanup(e.rows.Settle)
	return e
}

// gate is one load the test controls: it signals started, waits for
// release, and returns v and err, recording whether its context had ended.
type gate struct {
	started   chan struct{}
	release   chan struct{}
	cancelled atomic.Bool
}

func newGate() *gate {
	return &gate{started: make(chan struct{}, 8), release: make(chan struct{})}
}

func (e *flightEnv) load(g *gate, v row, err error) func(context.Context) (row, error) {
	return func(ctx context.Context) (row, error) {
		e.loads.Add(1)
		if g != nil {
			g.started <- struct{}{}
			<-g.release
		}
		if ctx.Err() != nil {
			if g != nil {
				g.cancelled.Store(true)
			}
			return row{}, ctx.Err()
		}
		return v, err
	}
}

// result is one Get's outcome.
type result struct {
	v   row
	err error
}

// getAsync runs n Gets of id and returns their outcomes once each has
// started waiting for a load.
func (e *flightEnv) getAsync(t *testing.T, ctx context.Context, n int, id string, load func(context.Context) (row, error)) <-chan result {
	t.Helper()
	out := make(chan result, n)
	for range n {
		go func() {
			v, err := e.rows.Get(ctx, id, load)
			out <- result{v, err}
		}()
	}
	for range n {
		<-e.waiting
	}
	return out
}

// mustGet reads id expecting want, with a load that fails the test.
func (e *flightEnv) mustGet(t *testing.T, id string, want string) {
	t.Helper()
	v, err := e.rows.Get(context.Background(), id, func(context.Context) (row, error) {
		t.Errorf("Get(%s) loaded, want a hit on %q", id, want)
		return row{}, nil
	})
	if err != nil || v.Name != want {
		t.Fatalf("Get(%s) = %v, %v; want %q from the cache", id, v, err, want)
	}
}

// missTogether has callers Get "payer" at once while its load waits at a
// gate, then opens it: every caller must get the one load's value.
func (e *flightEnv) missTogether(t *testing.T, ctx context.Context, callers int) {
	t.Helper()
	g := newGate()
	out := e.getAsync(t, ctx, callers, "payer", e.load(g, row{"sums"}, nil))
	close(g.release)
	for range callers {
		if r := <-out; r.err != nil || r.v.Name != "sums" {
			t.Errorf("Get = %v, %v; want sums", r.v, r.err)
		}
	}
	if n := e.loads.Load(); n != 1 {
		t.Fatalf("%d loads for %d concurrent misses, want 1", n, callers)
	}
}

func TestConcurrentMissesShareOneLoad(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const callers = 8

	t.Run("every caller gets the one load's value, which is cached", func(t *testing.T) {
		t.Parallel()
		e := setupFlight(t, nil)
		e.missTogether(t, ctx, callers)
		e.mustGet(t, "payer", "sums")
	})

	t.Run("every caller gets the load's error, which is not cached", func(t *testing.T) {
		t.Parallel()
		e := setupFlight(t, nil)
		boom := errors.New("boom")
		g := newGate()
		out := e.getAsync(t, ctx, callers, "payer", e.load(g, row{}, boom))
		close(g.release)
		for range callers {
			if r := <-out; !errors.Is(r.err, boom) {
				t.Errorf("Get error = %v, want boom", r.err)
			}
		}
		if n := e.loads.Load(); n != 1 {
			t.Fatalf("%d loads for %d concurrent misses, want 1", n, callers)
		}
		if v, err := e.rows.Get(ctx, "payer", e.load(nil, row{"retried"}, nil)); err != nil || v.Name != "retried" || e.loads.Load() != 2 {
			t.Fatalf("Get after the error = %v, %v with %d loads; want a fresh load", v, err, e.loads.Load())
		}
	})

	t.Run("a caller that gives up returns at once and the load goes on for the others", func(t *testing.T) {
		t.Parallel()
		e := setupFlight(t, nil)
		g := newGate()
		load := e.load(g, row{"sums"}, nil)
		first, cancel := context.WithCancel(ctx)
		gaveUp := e.getAsync(t, first, 1, "payer", load)
		<-g.started
		stayed := e.getAsync(t, ctx, 1, "payer", load)
		cancel()
		// The load is still held: this returns only if the caller does not
		// wait for it.
		if r := <-gaveUp; !errors.Is(r.err, context.Canceled) {
			t.Fatalf("cancelled caller got %v, %v; want context.Canceled", r.v, r.err)
		}
		close(g.release)
		if r := <-stayed; r.err != nil || r.v.Name != "sums" {
			t.Fatalf("remaining caller got %v, %v; want sums", r.v, r.err)
		}
		if g.cancelled.Load() || e.loads.Load() != 1 {
			t.Fatalf("load cancelled %v, ran %d times; want once, not cancelled", g.cancelled.Load(), e.loads.Load())
		}
		e.mustGet(t, "payer", "sums")
	})

	t.Run("a read after an Invalidate does not share a load begun before it", func(t *testing.T) {
		t.Parallel()
		e := setupFlight(t, nil)
		g := newGate()
		before := e.getAsync(t, ctx, 1, "payer", e.load(g, row{"before the write"}, nil))
		<-g.started
		e.rows.Invalidate(ctx, "payer")
		after := e.getAsync(t, ctx, 1, "payer", e.load(nil, row{"after the write"}, nil))
		close(g.release)
		if r := <-after; r.v.Name != "after the write" {
			t.Fatalf("read after the write got %q", r.v.Name)
		}
		<-before
		e.mustGet(t, "payer", "after the write")
	})

	t.Run("a panicking load fails its callers, not the process", func(t *testing.T) {
		t.Parallel()
		e := setupFlight(t, nil)
		_, err := e.rows.Get(ctx, "payer", func(context.Context) (row, error) { panic("bug") })
		if err == nil {
			t.Fatal("Get after a panicking load returned no error")
		}
	})

	t.Run("without Redis concurrent reads still share one load", func(t *testing.T) {
		t.Parallel()
		disabled, err := cache.Open(cache.Config{}, cache.Options{})
		if err != nil {
			t.Fatal(err)
		}
		setupFlight(t, disabled).missTogether(t, ctx, callers)
	})
}

// age moves the entry of id into its last minute by cutting its TTL in
// Redis, as time would.
func (e *flightEnv) age(t *testing.T, id string) {
	t.Helper()
	key := e.c.Key("hg:cache:claims_summary:v1:" + id)
	if ok, err := e.c.Redis().PExpire(context.Background(), key, refreshWindow/2).Result(); err != nil || !ok {
		t.Fatalf("PEXPIRE %s = %v, %v", key, ok, err)
	}
}

func TestRefreshAhead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// filled is an env with refresh ahead whose "payer" entry holds "old".
	filled := func(t *testing.T) *flightEnv {
		t.Helper()
		e := setupFlight(t, nil, cache.RefreshAhead(refreshWindow))
		if v, err := e.rows.Get(ctx, "payer", e.load(nil, row{"old"}, nil)); err != nil || v.Name != "old" {
			t.Fatalf("first Get = %v, %v", v, err)
		}
		return e
	}
	// refreshing ages e's entry into its last part and starts its refresh
	// with a Get, which returns "old"; the refresh, loading v, is held
	// until the returned gate is released.
	refreshing := func(t *testing.T, e *flightEnv, v string) (*gate, func(context.Context) (row, error)) {
		t.Helper()
		e.age(t, "payer")
		g := newGate()
		load := e.load(g, row{v}, nil)
		if got, err := e.rows.Get(ctx, "payer", load); err != nil || got.Name != "old" {
			t.Fatalf("Get that starts the refresh = %v, %v; want old", got, err)
		}
		<-g.started
		return g, load
	}

	t.Run("a hit far from expiry does not reload", func(t *testing.T) {
		t.Parallel()
		e := filled(t)
		e.mustGet(t, "payer", "old")
		e.rows.Settle()
		if n := e.loads.Load(); n != 1 {
			t.Fatalf("%d loads, want 1", n)
		}
	})

	t.Run("a hit in the last part serves the old value and reloads once in the background", func(t *testing.T) {
		t.Parallel()
		e := filled(t)
		g, load := refreshing(t, e, "new")
		for range 2 {
			// The refresh is held until release: these return without it.
			if v, err := e.rows.Get(ctx, "payer", load); err != nil || v.Name != "old" {
				t.Fatalf("Get during the refresh = %v, %v; want old", v, err)
			}
		}
		close(g.release)
		e.rows.Settle()
		if n := e.loads.Load(); n != 2 {
			t.Fatalf("%d loads, want the first and one refresh", n)
		}
		e.mustGet(t, "payer", "new")
		key := e.c.Key("hg:cache:claims_summary:v1:payer")
		if left, err := e.c.Redis().PTTL(ctx, key).Result(); err != nil || left <= refreshWindow {
			t.Fatalf("refreshed entry has %v left (%v), want a new TTL", left, err)
		}
	})

	t.Run("an entry that expires during its refresh waits for that refresh", func(t *testing.T) {
		t.Parallel()
		e := filled(t)
		g, load := refreshing(t, e, "new")
		if err := e.c.Redis().Del(ctx, e.c.Key("hg:cache:claims_summary:v1:payer")).Err(); err != nil {
			t.Fatal(err)
		}
		out := e.getAsync(t, ctx, 1, "payer", load)
		close(g.release)
		if r := <-out; r.err != nil || r.v.Name != "new" {
			t.Fatalf("Get after expiry = %v, %v; want the refresh's new", r.v, r.err)
		}
		e.rows.Settle()
		if n := e.loads.Load(); n != 2 {
			t.Fatalf("%d loads, want the first and one refresh", n)
		}
	})

	for _, c := range []struct {
		name       string
		invalidate func(*flightEnv)
	}{
		{"an Invalidate during a refresh is not undone by it", func(e *flightEnv) { e.rows.Invalidate(ctx, "payer") }},
		{"a flush during a refresh is not undone by it", func(e *flightEnv) {
			if err := e.c.FlushNamespace(ctx); err != nil {
				t.Error(err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := filled(t)
			g, _ := refreshing(t, e, "before the write")
			c.invalidate(e)
			close(g.release)
			e.rows.Settle()
			if v, _ := e.rows.Get(ctx, "payer", e.load(nil, row{"after the write"}, nil)); v.Name != "after the write" {
				t.Fatalf("Get after the write = %q: the refresh stored what it read before", v.Name)
			}
		})
	}
}
