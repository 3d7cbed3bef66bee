package cache_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/healthgraph/healthgraph/cache"
)

const localTTL = time.Minute

// clock is a settable time for the local layer.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// localEnv is a Typed cache with a local layer of max entries on a client
// of its own (Redis when c is nil), counting Redis reads and loads.
type localEnv struct {
	rows  *cache.Typed[row]
	c     *cache.Client
	mgets *atomic.Int64
	loads atomic.Int64
	clock *clock
}

func setupLocal(t *testing.T, c *cache.Client, maxEntries int) *localEnv {
	t.Helper()
	e := &localEnv{c: c, mgets: &atomic.Int64{}, clock: &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}}
	if c == nil {
		e.c, e.mgets = setupCounting(t)
	}
	e.rows = cache.NewTyped[row](e.c, "practitioner", 1, localTTL, cache.Local(maxEntries), cache.Clock(e.clock.Now))
	return e
}

// load returns a row named after each id, except "gone".
func (e *localEnv) load(_ context.Context, ids []string) (map[string]row, error) {
	e.loads.Add(1)
	out := map[string]row{}
	for _, id := range ids {
		if id != "gone" {
			out[id] = row{"p" + id}
		}
	}
	return out, nil
}

// batch asks for ids and checks that each existing one came back. It
// reports with Errorf, so goroutines may call it.
func (e *localEnv) batch(t *testing.T, ids ...string) {
	t.Helper()
	got, err := e.rows.GetMany(context.Background(), ids, e.load)
	if err != nil {
		t.Errorf("GetMany(%v): %v", ids, err)
		return
	}
	for _, id := range ids {
		if id != "gone" && got[id].Name != "p"+id {
			t.Errorf("GetMany(%v)[%s] = %v, want p%s", ids, id, got[id], id)
		}
	}
	if _, ok := got["gone"]; ok {
		t.Errorf("GetMany(%v) holds an id load did not return", ids)
	}
}

// expect checks how many Redis reads and loads happened so far.
func (e *localEnv) expect(t *testing.T, what string, mgets, loads int64) {
	t.Helper()
	if got, gotLoads := e.mgets.Load(), e.loads.Load(); got != mgets || gotLoads != loads {
		t.Fatalf("%s: %d Redis reads and %d loads, want %d and %d", what, got, gotLoads, mgets, loads)
	}
}

func TestLocalLayer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("a second batch is served from memory", func(t *testing.T) {
		t.Parallel()
		e := setupLocal(t, nil, 10)
		e.batch(t, "1", "2", "gone")
		e.expect(t, "first batch", 1, 1)
		e.batch(t, "2", "1", "1")
		e.expect(t, "second batch", 1, 1)
		e.batch(t, "1", "3")
		e.expect(t, "a batch with one new id", 2, 2)
	})
	t.Run("an id that does not exist is asked again", func(t *testing.T) {
		t.Parallel()
		e := setupLocal(t, nil, 10)
		e.batch(t, "gone")
		e.batch(t, "gone")
		e.expect(t, "two batches of a missing id", 2, 2)
	})
	t.Run("entries expire with the TTL", func(t *testing.T) {
		t.Parallel()
		e := setupLocal(t, nil, 10)
		e.batch(t, "1")
		e.clock.advance(localTTL - time.Nanosecond)
		e.batch(t, "1")
		e.expect(t, "just before the TTL", 1, 1)
		e.clock.advance(time.Nanosecond)
		e.batch(t, "1") // Redis's copy, on Redis's clock, still lives
		e.expect(t, "at the TTL", 2, 1)
		e.batch(t, "1")
		e.expect(t, "after the refill", 2, 1)
	})
	t.Run("when full the entry stored first makes room", func(t *testing.T) {
		t.Parallel()
		e := setupLocal(t, nil, 2)
		e.batch(t, "1")
		e.batch(t, "2")
		e.batch(t, "1") // a hit does not make 1 younger
		e.batch(t, "3")
		e.expect(t, "three ids into two places", 3, 3)
		e.batch(t, "2", "3")
		e.expect(t, "the two stored last", 3, 3)
		e.batch(t, "1")
		e.expect(t, "the evicted one", 4, 3)
	})
	t.Run("Invalidate drops the entry here and in Redis", func(t *testing.T) {
		t.Parallel()
		e := setupLocal(t, nil, 10)
		e.batch(t, "1", "2")
		e.rows.Invalidate(ctx, "1")
		e.batch(t, "1", "2")
		e.expect(t, "after Invalidate", 2, 2)
	})
	t.Run("a read racing Invalidate does not store what it read", func(t *testing.T) {
		t.Parallel()
		e := setupLocal(t, nil, 10)
		_, _ = e.rows.GetMany(ctx, []string{"1"}, func(ctx context.Context, ids []string) (map[string]row, error) {
			e.rows.Invalidate(ctx, "1") // the writer commits while the reader loads
			return map[string]row{"1": {"before the write"}}, nil
		})
		e.batch(t, "1")
		e.expect(t, "after the race", 2, 1)
	})
	t.Run("a flush of the cache namespace drops every entry", func(t *testing.T) {
		t.Parallel()
		e := setupLocal(t, nil, 10)
		e.batch(t, "1", "2")
		if err := e.c.FlushNamespace(ctx); err != nil {
			t.Fatal(err)
		}
		e.batch(t, "1", "2")
		e.expect(t, "after the flush", 2, 2)
	})
	t.Run("Get goes through the same layer and caches no error", func(t *testing.T) {
		t.Parallel()
		e := setupLocal(t, nil, 10)
		boom := errors.New("boom")
		if _, err := e.rows.Get(ctx, "1", func(context.Context) (row, error) { return row{}, boom }); !errors.Is(err, boom) {
			t.Fatalf("Get = %v, want boom", err)
		}
		for range 2 {
			v, err := e.rows.Get(ctx, "1", func(ctx context.Context) (row, error) {
				m, err := e.load(ctx, []string{"1"})
				return m["1"], err
			})
			if err != nil || v.Name != "p1" {
				t.Fatalf("Get = %v, %v", v, err)
			}
		}
		e.batch(t, "1")
		e.expect(t, "a failed Get, two Gets and a batch", 2, 1)
	})
	t.Run("without Redis memory still serves", func(t *testing.T) {
		t.Parallel()
		for name, c := range map[string]*cache.Client{"disabled": disabledClient(t), "nil": nil} {
			e := &localEnv{clock: &clock{}, mgets: &atomic.Int64{}}
			e.rows = cache.NewTyped[row](c, "practitioner", 1, localTTL, cache.Local(10), cache.Clock(e.clock.Now))
			e.batch(t, "1", "2")
			e.batch(t, "1", "2")
			e.expect(t, name+": two batches", 0, 1)
			e.rows.Invalidate(ctx, "1")
			e.batch(t, "1", "2")
			e.expect(t, name+": after Invalidate", 0, 2)
		}
	})
}

func disabledClient(t *testing.T) *cache.Client {
	t.Helper()
	c, err := cache.Open(cache.Config{}, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestLocalLayerUnderConcurrentBatches runs overlapping batches, evictions
// and invalidations at once, for the race detector; every batch must still
// get every id.
func TestLocalLayerUnderConcurrentBatches(t *testing.T) {
	t.Parallel()
	e := setupLocal(t, nil, 20)
	ids := make([]string, 40)
	for i := range ids {
		ids[i] = fmt.Sprint(i)
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 30 {
				start := (w*7 + i) % 20
				e.batch(t, ids[start:start+20]...)
				if i%10 == 0 {
					e.rows.Invalidate(context.Background(), ids[start])
				}
			}
		})
	}
	wg.Wait()
}
