package cache

import (
	"container/list"
	"sync"
	"sync/atomic"
	"time"
)

// Option tunes a Typed cache.
type Option func(*options)

type options struct {
	localMax int
	now      func() time.Time
	ahead    time.Duration
	waiting  func()
}

// Local keeps up to maxEntries values in this process's memory in front of
// Redis, each for the cache's TTL, so that a hit costs neither a round trip
// nor a JSON decode. Only for kinds that are never changed, or whose TTL is
// an acceptable staleness: Invalidate and a flush of the cache namespace
// reach this process's copy, but another replica's Invalidate does not.
// When full, the entry stored first (the one closest to expiry) makes room.
func Local(maxEntries int) Option {
	return func(o *options) { o.localMax = maxEntries }
}

// local is the in-process layer of a Typed cache. Reads take the read lock
// only: eviction follows insertion order, not use, so a hit changes
// nothing.
type local[T any] struct {
	c   *Client
	max int
	ttl time.Duration
	now func() time.Time

	mu      sync.RWMutex
	entries map[string]*list.Element // of *localEntry[T]
	order   list.List                // front: stored first, expires first
	// gen counts drops: a value read before a drop is not stored after it,
	// so a fill racing an Invalidate or a flush cannot bring back what was
	// dropped.
	gen uint64
	// flushes is the client's flush count this layer last saw; written
	// under mu.
	flushes atomic.Uint64
}

type localEntry[T any] struct {
	id      string
	v       T
	expires time.Time
}

func newLocal[T any](c *Client, ttl time.Duration, o options) *local[T] {
	if o.localMax <= 0 {
		return nil
	}
	if o.now == nil {
		o.now = time.Now
	}
	l := &local[T]{c: c, max: o.localMax, ttl: ttl, now: o.now, entries: map[string]*list.Element{}}
	l.flushes.Store(c.flushCount())
	return l
}

// lookup puts the live entries among ids into out and returns the ids it
// does not hold, with the generation a later fill must present.
func (l *local[T]) lookup(ids []string, out map[string]T) (missing []string, gen uint64) {
	if f := l.c.flushCount(); f != l.flushes.Load() {
		l.forget(f)
	}
	now := l.now()
	l.mu.RLock()
	defer l.mu.RUnlock()
	for _, id := range ids {
		if el, ok := l.entries[id]; ok {
			if e := el.Value.(*localEntry[T]); now.Before(e.expires) {
				out[id] = e.v
				continue
			}
		}
		missing = append(missing, id)
	}
	return missing, l.gen
}

// forget drops everything after the client flushed the namespace.
func (l *local[T]) forget(flushes uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.flushes.Load() == flushes {
		return
	}
	l.flushes.Store(flushes)
	l.gen++
	clear(l.entries)
	l.order.Init()
}

// fill stores vals unless something was dropped since the lookup that
// returned gen.
func (l *local[T]) fill(vals map[string]T, gen uint64) {
	expires := l.now().Add(l.ttl)
	l.mu.Lock()
	defer l.mu.Unlock()
	if gen != l.gen {
		return
	}
	for id, v := range vals {
		if el, ok := l.entries[id]; ok {
			el.Value = &localEntry[T]{id, v, expires}
			l.order.MoveToBack(el)
			continue
		}
		if len(l.entries) >= l.max {
			oldest := l.order.Front()
			delete(l.entries, oldest.Value.(*localEntry[T]).id)
			l.order.Remove(oldest)
		}
		l.entries[id] = l.order.PushBack(&localEntry[T]{id, v, expires})
	}
}

// drop forgets ids.
func (l *local[T]) drop(ids []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gen++
	for _, id := range ids {
		if el, ok := l.entries[id]; ok {
			delete(l.entries, id)
			l.order.Remove(el)
		}
	}
}
