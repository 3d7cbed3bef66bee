package cache

import (
	"context"
	"time"

	hg "github.com/healthgraph/healthgraph"
)

// Clock makes a Typed cache's local layer read the time from now, so tests
// move past the TTL without waiting for it.
func Clock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// FlushNamespace is what the client runs when Redis returns after an
// outage that overflowed its pending invalidations.
func (c *Client) FlushNamespace(ctx context.Context) error { return c.flushNamespace(ctx) }

// RedisOnlyPractitioners makes s cache practitioners in Redis alone, as it
// did before the local layer, for benchmarks to compare.
func RedisOnlyPractitioners(s *Store, c *Client) *Store {
	s.practitioners = NewTyped[hg.Practitioner](c, "practitioner", practitionerVersion, practitionerTTL)
	return s
}

// Waiting makes a Typed cache call f whenever a Get starts waiting for a
// load (its own or one it shares), so tests know every caller has joined
// before they let the load finish.
func Waiting(f func()) Option {
	return func(o *options) { o.waiting = f }
}

// Settle waits for the background refreshes running.
func (t *Typed[T]) Settle() { t.bg.Wait() }
