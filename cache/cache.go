package cache

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"github.com/redis/go-redis/v9"
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

// genTTL outlives any read that could race a write, so a generation
// counter never disappears under a reader.
const genTTL = time.Hour

// Typed is a read-through cache of one kind of value, stored as JSON under
// "<prefix>hg:cache:<kind>:v<version>:<id>". Bump version whenever the
// cached struct changes shape: old replicas and new ones then use disjoint
// keys during a rolling deploy, and old entries age out by TTL.
//
// With the Local option a bounded copy in process memory answers first,
// whatever Redis's state: its staleness is bounded by the TTL and this
// process's own Invalidate alone, with Redis or without.
type Typed[T any] struct {
	c       *Client
	kind    string
	version int
	ttl     time.Duration
	local   *local[T] // nil without the Local option
}

// NewTyped returns a cache of kind (a metric label constant such as "user")
// whose entries live at most ttl: the backstop for a write path that forgot
// to invalidate, or an invalidation lost in an outage.
func NewTyped[T any](c *Client, kind string, version int, ttl time.Duration, opts ...Option) *Typed[T] {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return &Typed[T]{c: c, kind: kind, version: version, ttl: ttl, local: newLocal[T](c, ttl, o)}
}

func (t *Typed[T]) key(id string) string {
	return t.c.Key(fmt.Sprintf("hg:cache:%s:v%d:%s", t.kind, t.version, id))
}

// Get returns the cached value for id, or calls load and caches what it
// returns. Errors from load are returned and never cached. When Redis is
// disabled, degraded or fails, Get simply calls load: slower, never wrong.
// Authorization is the caller's, after Get, on cached and fresh values
// alike.
func (t *Typed[T]) Get(ctx context.Context, id string, load func(context.Context) (T, error)) (T, error) {
	if t.local != nil {
		// One way through the local layer: a batch of one.
		found, err := t.GetMany(ctx, []string{id}, func(ctx context.Context, _ []string) (map[string]T, error) {
			v, err := load(ctx)
			if err != nil {
				return nil, err
			}
			return map[string]T{id: v}, nil
		})
		return found[id], err
	}
	if !t.c.Enabled() {
		return load(ctx)
	}
	if !t.c.Healthy() {
		t.c.metrics.CacheError(t.kind)
		return load(ctx)
	}
	key := t.key(id)
	vals, err := t.c.rdb.MGet(ctx, key, key+":gen").Result()
	if err != nil {
		t.c.Failed(t.kind, err)
		return load(ctx)
	}
	if s, ok := vals[0].(string); ok {
		var v T
		if err := json.Unmarshal([]byte(s), &v); err == nil {
			t.c.metrics.CacheLookup(t.kind, true)
			return v, nil
		}
		// An entry we cannot decode is treated as a miss and overwritten.
	}
	t.c.metrics.CacheLookup(t.kind, false)
	v, err := load(ctx)
	if err != nil {
		return v, err
	}
	gen, _ := vals[1].(string)
	if gen == "" {
		gen = "0"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return v, nil // not cacheable; the value itself is fine
	}
	if err := setIfCurrent.Run(ctx, t.c.rdb, []string{key, key + ":gen"}, gen, b, t.ttl.Milliseconds()).Err(); err != nil {
		t.c.Failed(t.kind, err)
	}
	return v, nil
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
