package cache

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"
)

// setIfCurrent stores a value read from Postgres only if no invalidation
// happened since the reader looked: KEYS[1] is the entry, KEYS[2] its
// generation counter, ARGV[1] the generation the reader saw. Without it a
// slow reader could write back a row that a concurrent writer had just
// changed and invalidated, and serve it until the TTL ran out.
var setIfCurrent = redis.NewScript(`
local gen = redis.call('GET', KEYS[2]) or '0'
if gen == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`)

// readWithTTL is MGET of KEYS[1] (an entry) and KEYS[2] (its generation)
// plus the entry's PTTL, in one command.
var readWithTTL = redis.NewScript(`
return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2]), redis.call('PTTL', KEYS[1])}`)

// genTTL outlives any read that could race a write, so a generation
// counter never disappears under a reader.
const genTTL = time.Hour

// loadTimeout bounds a load that runs for several callers or in the
// background, detached from any one caller's context. It is longer than
// the database's statement timeout (15 s by default), which fires first;
// this is for a load stuck elsewhere.
const loadTimeout = 30 * time.Second

// noGen is the generation of a flight that stores nothing: Redis is
// disabled or unreachable.
const noGen = ""

// Typed is a read-through cache of one kind of value, stored as JSON under
// "<prefix>hg:cache:<kind>:v<version>:<id>". Bump version whenever the
// cached struct changes shape: old replicas and new ones then use disjoint
// keys during a rolling deploy, and old entries age out by TTL.
//
// With the Local option a bounded copy in process memory answers first,
// whatever Redis's state: its staleness is bounded by the TTL and this
// process's own Invalidate alone, with Redis or without.
//
// Concurrent Gets of one id in a process share one load, so an expired
// entry costs the source one query however many requests want it; a value
// may thus reach several callers at once and is read-only, as the Local
// layer's values already are. With the RefreshAhead option an entry read
// steadily is reloaded before it expires.
type Typed[T any] struct {
	c       *Client
	kind    string
	version int
	ttl     time.Duration
	ahead   time.Duration // 0 without RefreshAhead
	local   *local[T]     // nil without the Local option
	waiting func()        // a test's hook: a caller waits for a flight

	flights singleflight.Group
	// epoch counts this process's Invalidate calls. A Get after one never
	// joins a load that began before it, even with Redis (which keeps the
	// per-id generations) disabled or unreachable.
	epoch atomic.Uint64

	mu         sync.Mutex
	refreshing map[string]bool // ids whose refresh is running
	bg         sync.WaitGroup  // the running refreshes
}

// NewTyped returns a cache of kind (a metric label constant such as "user")
// whose entries live at most ttl: the backstop for a write path that forgot
// to invalidate, or an invalidation lost in an outage.
func NewTyped[T any](c *Client, kind string, version int, ttl time.Duration, opts ...Option) *Typed[T] {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return &Typed[T]{c: c, kind: kind, version: version, ttl: ttl, ahead: o.ahead, waiting: o.waiting,
		local: newLocal[T](c, ttl, o), refreshing: map[string]bool{}}
}

// RefreshAhead makes a Get that finds an entry with less than window of its
// TTL left return it and reload it in the background, once per id and
// process at a time. An entry read steadily then never expires, and no
// request waits for its load. For kinds that expire rather than being
// invalidated and whose load is slow (the aggregates): each hit reads the
// entry's remaining TTL with it, through a script instead of an MGET.
func RefreshAhead(window time.Duration) Option {
	return func(o *options) { o.ahead = window }
}

func (t *Typed[T]) key(id string) string {
	return t.c.Key(fmt.Sprintf("hg:cache:%s:v%d:%s", t.kind, t.version, id))
}

// Get returns the cached value for id, or calls load and caches what it
// returns. Errors from load are returned and never cached. When Redis is
// disabled, degraded or fails, Get simply calls load: slower, never wrong.
// Authorization is the caller's, after Get, on cached and fresh values
// alike.
//
// A Get that misses while another Get of id in this process is loading it
// waits for that load instead of starting its own, unless it saw a newer
// generation of id (an Invalidate in between). The load runs under ctx's
// values but not its cancellation, bounded by loadTimeout: a caller that
// gives up returns ctx.Err() at once and the load goes on for the others
// and for the cache. Each waiter gets the load's error; none is cached.
func (t *Typed[T]) Get(ctx context.Context, id string, load func(context.Context) (T, error)) (T, error) {
	if t.local == nil {
		return t.get(ctx, id, load)
	}
	out := make(map[string]T, 1)
	missing, gen := t.local.lookup([]string{id}, out)
	if len(missing) == 0 {
		t.c.countHits(t.kind, 1)
		return out[id], nil
	}
	v, err := t.get(ctx, id, load)
	if err == nil {
		t.local.fill(map[string]T{id: v}, gen)
	}
	return v, err
}

// get is Get through Redis alone.
func (t *Typed[T]) get(ctx context.Context, id string, load func(context.Context) (T, error)) (T, error) {
	gen := noGen // stores nothing unless Redis answers
	switch {
	case !t.c.Enabled():
	case !t.c.Healthy():
		t.c.metrics.CacheError(t.kind)
	default:
		e, err := t.read(ctx, t.key(id))
		if err != nil {
			t.c.Failed(t.kind, err)
			break
		}
		if e.found {
			var v T
			if err := json.Unmarshal([]byte(e.val), &v); err == nil {
				t.c.metrics.CacheLookup(t.kind, true)
				if t.ahead > 0 && e.left >= 0 && e.left < t.ahead {
					t.refresh(ctx, id, e.gen, load)
				}
				return v, nil
			}
			// An entry we cannot decode is treated as a miss and overwritten.
		}
		t.c.metrics.CacheLookup(t.kind, false)
		gen = e.gen
	}
	return t.wait(ctx, t.flight(ctx, id, gen, loadMiss, load))
}

// entry is what one read of Redis tells about an id.
type entry struct {
	val   string
	found bool
	gen   string        // "0" until the first Invalidate
	left  time.Duration // the entry's remaining TTL, read with RefreshAhead only
}

// read fetches the entry under key with its generation and, for
// RefreshAhead, its remaining TTL. Redis's own TTL tells how old an entry
// is, read in the same script as the entry; storing the write time beside
// the value would change the format every replica reads. (A pipeline of
// MGET and PTTL added 2 KB and 21 allocations to a hit, the script 0.2 KB
// and 6.)
func (t *Typed[T]) read(ctx context.Context, key string) (entry, error) {
	var vals []any
	e := entry{left: -1}
	if t.ahead > 0 {
		r, err := readWithTTL.Run(ctx, t.c.rdb, []string{key, key + ":gen"}).Slice()
		if err != nil {
			return e, fmt.Errorf("read %s cache entry: %w", t.kind, err)
		}
		if len(r) != 3 {
			return e, fmt.Errorf("read %s cache entry: %d values, want 3", t.kind, len(r))
		}
		vals = r[:2]
		if ms, ok := r[2].(int64); ok && ms >= 0 {
			e.left = time.Duration(ms) * time.Millisecond
		}
	} else {
		var err error
		if vals, err = t.c.rdb.MGet(ctx, key, key+":gen").Result(); err != nil {
			return e, fmt.Errorf("read %s cache entry: %w", t.kind, err)
		}
	}
	e.val, e.found = vals[0].(string)
	if e.gen, _ = vals[1].(string); e.gen == "" {
		e.gen = "0"
	}
	return e, nil
}

// Why a flight runs load, as the cache's load metric reports it.
const (
	loadMiss    = "miss"
	loadRefresh = "refresh"
)

// flight starts the load of id, or joins the one running that began under
// the same generation gen, the same Invalidate count in this process and
// the same namespace flush count. A caller that follows a write therefore
// never shares a load that may have read the row before it. The load runs
// under ctx's values but not its cancellation, bounded by loadTimeout, and
// stores its value under gen unless gen is noGen.
func (t *Typed[T]) flight(ctx context.Context, id, gen, why string, load func(context.Context) (T, error)) <-chan singleflight.Result {
	flushes := t.c.flushCount()
	key := fmt.Sprintf("%d:%d:%s:%s", t.epoch.Load(), flushes, gen, id)
	return t.flights.DoChan(key, func() (v any, err error) {
		// The load runs on singleflight's goroutine, where a panic would
		// end the process rather than the request that caused it.
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("%s cache load panicked: %v", t.kind, p)
			}
		}()
		t.c.countLoad(t.kind, why)
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), loadTimeout)
		defer cancel()
		val, err := load(lctx)
		if err == nil && gen != noGen {
			t.store(lctx, id, gen, flushes, val)
		}
		return val, err
	})
}

// wait returns the flight's outcome, or ctx.Err() as soon as ctx ends.
func (t *Typed[T]) wait(ctx context.Context, ch <-chan singleflight.Result) (T, error) {
	if t.waiting != nil {
		t.waiting()
	}
	select {
	case r := <-ch:
		v, _ := r.Val.(T) // nil after a panic
		return v, r.Err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// store caches v as loaded under generation gen. setIfCurrent refuses it
// if id was invalidated since (by any replica); a flush of the namespace by
// this process since the load began drops it here, because a flush deletes
// the generations with the entries.
func (t *Typed[T]) store(ctx context.Context, id, gen string, flushes uint64, v T) {
	if t.c.flushCount() != flushes {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		return // not cacheable; the value itself is fine
	}
	key := t.key(id)
	if err := setIfCurrent.Run(ctx, t.c.rdb, []string{key, key + ":gen"}, gen, b, t.ttl.Milliseconds()).Err(); err != nil {
		t.c.Failed(t.kind, err)
	}
}

// refresh reloads id in the background unless its refresh is running
// already. gen is the generation the hit read, so what the refresh loads
// is dropped if id is invalidated meanwhile. A Get that misses meanwhile
// (the entry expired first) joins the refresh's flight.
func (t *Typed[T]) refresh(ctx context.Context, id, gen string, load func(context.Context) (T, error)) {
	t.mu.Lock()
	if t.refreshing[id] {
		t.mu.Unlock()
		return
	}
	t.refreshing[id] = true
	t.mu.Unlock()
	t.bg.Add(1)
	ch := t.flight(ctx, id, gen, loadRefresh, load)
	go func() {
		defer t.bg.Done()
		<-ch
		t.mu.Lock()
		delete(t.refreshing, id)
		t.mu.Unlock()
	}()
}

// GetMany is Get for a batch, as a dataloader asks: one MGET for all ids,
// one load for the misses. The result holds the ids that exist; ids load
// does not return are simply absent (and not cached).
func (t *Typed[T]) GetMany(ctx context.Context, ids []string, load func(ctx context.Context, ids []string) (map[string]T, error)) (map[string]T, error) {
	if t.local == nil {
		return t.getMany(ctx, ids, load)
	}
	out := make(map[string]T, len(ids))
	missing, gen := t.local.lookup(ids, out)
	t.c.countHits(t.kind, len(ids)-len(missing))
	if len(missing) == 0 {
		return out, nil
	}
	found, err := t.getMany(ctx, missing, load)
	if err != nil {
		return nil, err
	}
	t.local.fill(found, gen)
	maps.Copy(out, found)
	return out, nil
}

// getMany is GetMany through Redis alone.
func (t *Typed[T]) getMany(ctx context.Context, ids []string, load func(ctx context.Context, ids []string) (map[string]T, error)) (map[string]T, error) {
	if len(ids) == 0 {
		return map[string]T{}, nil
	}
	if !t.c.Enabled() {
		return load(ctx, ids)
	}
	if !t.c.Healthy() {
		t.c.metrics.CacheError(t.kind)
		return load(ctx, ids)
	}
	keys := make([]string, 0, 2*len(ids))
	for _, id := range ids {
		k := t.key(id)
		keys = append(keys, k, k+":gen")
	}
	vals, err := t.c.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		t.c.Failed(t.kind, err)
		return load(ctx, ids)
	}
	out := make(map[string]T, len(ids))
	var missing []string
	gens := map[string]string{}
	for i, id := range ids {
		if s, ok := vals[2*i].(string); ok {
			var v T
			if err := json.Unmarshal([]byte(s), &v); err == nil {
				t.c.metrics.CacheLookup(t.kind, true)
				out[id] = v
				continue
			}
		}
		t.c.metrics.CacheLookup(t.kind, false)
		missing = append(missing, id)
		gens[id], _ = vals[2*i+1].(string)
	}
	if len(missing) == 0 {
		return out, nil
	}
	loaded, err := load(ctx, missing)
	if err != nil {
		return nil, err
	}
	_, err = t.c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for id, v := range loaded {
			out[id] = v
			b, err := json.Marshal(v)
			if err != nil {
				continue
			}
			gen := gens[id]
			if gen == "" {
				gen = "0"
			}
			k := t.key(id)
			setIfCurrent.Eval(ctx, p, []string{k, k + ":gen"}, gen, b, t.ttl.Milliseconds())
		}
		return nil
	})
	if err != nil {
		t.c.Failed(t.kind, err)
	}
	return out, nil
}

// Invalidate drops the entries for ids; call it after every write that
// changes them has committed. It never fails the write: when Redis cannot
// be reached the keys are remembered and invalidated as soon as it
// returns (and past a bound the whole cache namespace is flushed), with the
// TTL as the last backstop.
func (t *Typed[T]) Invalidate(ctx context.Context, ids ...string) {
	t.epoch.Add(1)
	if t.local != nil {
		t.local.drop(ids)
	}
	if !t.c.Enabled() || len(ids) == 0 {
		return
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = t.key(id)
	}
	if !t.c.Healthy() {
		t.c.metrics.CacheError(t.kind)
		t.c.remember(keys)
		return
	}
	if err := t.c.invalidate(ctx, keys); err != nil {
		t.c.Failed(t.kind, err)
		t.c.remember(keys)
	}
}

// invalidate bumps each key's generation (refusing racing write-backs) and
// deletes it, atomically per batch.
func (c *Client) invalidate(ctx context.Context, keys []string) error {
	_, err := c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Incr(ctx, k+":gen")
			p.PExpire(ctx, k+":gen", genTTL)
			p.Del(ctx, k)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("invalidate %d cache keys: %w", len(keys), err)
	}
	return nil
}

// remember keeps invalidations that could not be sent.
func (c *Client) remember(keys []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		if len(c.pending) >= maxPending {
			c.pendingOverflow = true
			return
		}
		c.pending[k] = struct{}{}
	}
}

// flushPending replays invalidations lost during an outage. Entries cached
// before the outage may be stale now; this is what keeps them from being
// served once Redis is back.
func (c *Client) flushPending(ctx context.Context) {
	c.mu.Lock()
	keys := make([]string, 0, len(c.pending))
	for k := range c.pending {
		keys = append(keys, k)
	}
	overflow := c.pendingOverflow
	c.pending, c.pendingOverflow = map[string]struct{}{}, false
	c.mu.Unlock()
	if overflow {
		if err := c.flushNamespace(ctx); err != nil {
			c.log.Error("flushing the cache after an outage failed; stale entries live until their TTL", "error", err.Error())
		}
		return
	}
	for len(keys) > 0 {
		n := min(len(keys), 500)
		if err := c.invalidate(ctx, keys[:n]); err != nil {
			c.Failed("invalidate", err)
			c.remember(keys)
			return
		}
		keys = keys[n:]
	}
}

// flushNamespace deletes every cache entry (not rate limits or persisted
// queries) under the prefix. The local layers of this process's caches
// forget theirs when it returns, whether or not it got through: what they
// hold may be what the flush was for.
func (c *Client) flushNamespace(ctx context.Context) error {
	// Counted as it starts, so that a load racing it stores nothing, and
	// as it returns, so that a local layer filled meanwhile forgets.
	c.flushes.Add(1)
	defer c.flushes.Add(1)
	iter := c.rdb.Scan(ctx, 0, c.Key("hg:cache:*"), 1000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		if batch = append(batch, iter.Val()); len(batch) == 500 {
			if err := c.rdb.Unlink(ctx, batch...).Err(); err != nil {
				return fmt.Errorf("unlink cache keys: %w", err)
			}
			batch = batch[:0]
		}
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("scan cache keys: %w", err)
	}
	if len(batch) > 0 {
		if err := c.rdb.Unlink(ctx, batch...).Err(); err != nil {
			return fmt.Errorf("unlink cache keys: %w", err)
		}
	}
	return nil
}
