package cache

import (
	"context"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/lru"
)

// apqTTL keeps a registered query for a day after its last registration;
// clients re-register transparently after a PersistedQueryNotFound.
const apqTTL = 24 * time.Hour

// APQ stores automatic persisted queries in Redis, shared by every replica,
// with an in-process LRU in front. While Redis is away the LRU alone
// answers: a client whose hash this replica never saw gets
// PersistedQueryNotFound and re-sends the query, which is the protocol's
// normal recovery.
type APQ struct {
	c   *Client
	lru *lru.LRU[string]
}

var _ graphql.Cache[string] = (*APQ)(nil)

// NewAPQ returns the persisted-query store on c with an LRU of size
// entries.
func NewAPQ(c *Client, size int) *APQ {
	return &APQ{c: c, lru: lru.New[string](size)}
}

func (a *APQ) key(hash string) string { return a.c.Key("hg:apq:" + hash) }

// Get looks a query up by its SHA-256 hash.
func (a *APQ) Get(ctx context.Context, hash string) (string, bool) {
	if q, ok := a.lru.Get(ctx, hash); ok {
		return q, true
	}
	if !a.c.Enabled() {
		return "", false
	}
	if !a.c.Healthy() {
		a.c.metrics.CacheError("apq")
		return "", false
	}
	q, err := a.c.rdb.Get(ctx, a.key(hash)).Result()
	if err != nil {
		if isOutage(err) {
			a.c.Failed("apq", err)
		} else {
			a.c.metrics.CacheLookup("apq", false)
		}
		return "", false
	}
	a.c.metrics.CacheLookup("apq", true)
	a.lru.Add(ctx, hash, q)
	return q, true
}

// Add registers a query under its hash; gqlgen has checked the hash.
func (a *APQ) Add(ctx context.Context, hash, query string) {
	a.lru.Add(ctx, hash, query)
	if !a.c.Healthy() {
		return
	}
	if err := a.c.rdb.Set(ctx, a.key(hash), query, apqTTL).Err(); err != nil {
		a.c.Failed("apq", err)
	}
}
