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
