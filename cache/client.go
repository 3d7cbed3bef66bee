// Package cache is HealthGraph's one door to Redis: a go-redis client with a
// health state kept by a background pinger, a read-through cache with
// versioned keys, a pub/sub broker that fans events out across replicas, and
// a store for automatic persisted queries.
//
// Redis makes the service fast and shared; it is never the source of truth.
// Every user of this package survives Redis trouble by falling back to
// something slower but correct: the cache reads Postgres, the broker delivers
// to this replica only and tells subscribers about the gap, persisted queries
// live in an in-process LRU. With no Redis URL configured the Client is
// disabled and every fallback is the normal path, which is what a laptop runs.
package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Config is the Redis part of the service configuration.
type Config struct {
	// URL is a redis:// or rediss:// URL; empty disables Redis.
	URL string
	// PoolSize caps connections per replica; 0 keeps go-redis's default.
	PoolSize     int
	DialTimeout  time.Duration
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	// Prefix is put before every key and channel name, so tests (and
	// several deployments sharing one Redis) never see each other's data.
	Prefix string
	// PingInterval is how often the health pinger checks Redis; 1s when 0.
	PingInterval time.Duration
}

// Metrics is what the cache reports to; *observability.Metrics implements
// it. kind is a constant ("user", "apq", "ratelimit", "pubsub", ...).
type Metrics interface {
	CacheLookup(kind string, hit bool)
	CacheError(kind string)
	// CacheLoad counts a load from the source of truth, run once for every
	// Get that shares it; why is "miss" or "refresh" (ahead of expiry).
	CacheLoad(kind, why string)
}

// Options are the collaborators of a Client.
type Options struct {
	// Logger receives outage and recovery notices; nil discards them.
	Logger *slog.Logger
	// Metrics counts hits, misses and fallbacks; nil counts nothing.
	Metrics Metrics
	// Instrument, when set, is called once on the new go-redis client
	// before first use (tracing and command metrics).
	Instrument func(redis.UniversalClient) error
}

// Status values reported by Client.Status and shown by /ready.
const (
	StatusOK       = "ok"
	StatusDegraded = "degraded"
	StatusDisabled = "disabled"
)

// maxPending bounds the invalidations remembered during an outage; past it
// the whole cache namespace is flushed when Redis returns.
const maxPending = 10000

// Client is the process's one Redis client plus its health. All methods are
// safe for concurrent use, and every method works on a disabled Client.
type Client struct {
	rdb     *redis.Client
	prefix  string
	log     *slog.Logger
	metrics Metrics
	every   time.Duration
	timeout time.Duration

	healthy atomic.Bool
	wake    chan struct{}
	stop    context.CancelFunc
	done    chan struct{}

	// flushes counts starts and ends of flushes of the cache namespace,
	// which the local layers of Typed caches and their loads follow.
	flushes atomic.Uint64

	mu              sync.Mutex
	pending         map[string]struct{}
	pendingOverflow bool
	onRecover       []func()
}

// Open creates the client and starts its health pinger. An empty URL gives a
// disabled client. An unreachable Redis is not an error: the client starts
// degraded and recovers by itself; only a malformed URL or a failing
// instrumentation is.
func Open(cfg Config, o Options) (*Client, error) {
	c := &Client{prefix: cfg.Prefix, log: o.Logger, metrics: o.Metrics, every: cfg.PingInterval,
		wake: make(chan struct{}, 1), pending: map[string]struct{}{}}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.metrics == nil {
		c.metrics = noMetrics{}
	}
	if cfg.URL == "" {
		return c, nil
	}
	opt, err := redis.ParseURL(cfg.URL)
	if err != nil {
		// The URL may carry a password: never echo it.
		return nil, errors.New("redis URL is malformed")
	}
	if cfg.PoolSize > 0 {
		opt.PoolSize = cfg.PoolSize
	}
	if cfg.DialTimeout > 0 {
		opt.DialTimeout = cfg.DialTimeout
	}
	if cfg.ReadTimeout > 0 {
		opt.ReadTimeout = cfg.ReadTimeout
	}
	if cfg.WriteTimeout > 0 {
		opt.WriteTimeout = cfg.WriteTimeout
	}
	// go-redis retries a failed command on a fresh connection by default;
	// while Redis is down that only doubles the time before we fall back.
	opt.MaxRetries = -1
	if c.every <= 0 {
		c.every = time.Second
	}
	c.timeout = opt.ReadTimeout
	if c.timeout <= 0 {
		c.timeout = 3 * time.Second
	}
	c.rdb = redis.NewClient(opt)
	if o.Instrument != nil {
		if err := o.Instrument(c.rdb); err != nil {
			_ = c.rdb.Close()
			return nil, fmt.Errorf("instrument redis client: %w", err)
		}
	}
	c.check(context.Background(), true)
	ctx, cancel := context.WithCancel(context.Background())
	c.stop, c.done = cancel, make(chan struct{})
	go c.pinger(ctx)
	return c, nil
}

// Close stops the pinger and closes the connections.
func (c *Client) Close() error {
	if c.rdb == nil {
		return nil
	}
	c.stop()
	<-c.done
	if err := c.rdb.Close(); err != nil {
		return fmt.Errorf("close redis client: %w", err)
	}
	return nil
}

// Enabled reports whether a Redis URL is configured.
func (c *Client) Enabled() bool { return c != nil && c.rdb != nil }

// Healthy reports whether Redis answered the last health check and no
// command has failed since. Callers skip Redis while it is false, so an
// outage costs one timeout per replica, not one per request.
func (c *Client) Healthy() bool { return c.Enabled() && c.healthy.Load() }

// Status is "ok", "degraded" (configured but unreachable) or "disabled".
func (c *Client) Status() string {
	switch {
	case !c.Enabled():
		return StatusDisabled
	case c.Healthy():
		return StatusOK
	}
	return StatusDegraded
}

// Redis returns the go-redis client, nil when disabled. Packages that keep
// their own Redis data (the rate limiter) use it and report failures with
// Failed.
func (c *Client) Redis() *redis.Client {
	if c == nil {
		return nil
	}
	return c.rdb
}

// Key returns name under the client's prefix.
func (c *Client) Key(name string) string { return c.prefix + name }

// OnRecover registers f to run (in its own goroutine) each time Redis comes
// back after an outage.
func (c *Client) OnRecover(f func()) {
	c.mu.Lock()
	c.onRecover = append(c.onRecover, f)
	c.mu.Unlock()
}

// Failed reports that a Redis operation of the given kind failed. It counts
// the fallback, and when the failure means Redis is unreachable it marks
// the client degraded at once (the pinger restores it).
func (c *Client) Failed(kind string, err error) {
	c.metrics.CacheError(kind)
	if !isOutage(err) {
		c.log.Warn("redis operation failed; served without it", "kind", kind, "error", err.Error())
		return
	}
	if c.healthy.CompareAndSwap(true, false) {
		c.log.Warn("redis unreachable: cache bypassed, rate limits per replica, events local only", "kind", kind, "error", err.Error())
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// isOutage tells a connection failure from an answer: Redis's own error
// replies and the caller giving up are not outages.
func isOutage(err error) bool {
	var rerr redis.Error
	switch {
	case err == nil, errors.Is(err, redis.Nil), errors.Is(err, context.Canceled):
		return false
	case errors.As(err, &rerr):
		var nerr net.Error
		return errors.As(err, &nerr) // a wrapped network error still counts
	}
	return true
}

func (c *Client) pinger(ctx context.Context) {
	defer close(c.done)
	t := time.NewTicker(c.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-c.wake:
			// A command just failed: check again after one interval rather
			// than waiting for the tick already scheduled.
			t.Reset(c.every)
			continue
		}
		c.check(ctx, false)
	}
}

// check pings Redis and moves the health state, logging each transition
// once.
func (c *Client) check(ctx context.Context, first bool) {
	pctx, cancel := context.WithTimeout(ctx, c.timeout)
	err := c.rdb.Ping(pctx).Err()
	cancel()
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		if c.healthy.CompareAndSwap(true, false) || first {
			c.log.Warn("redis unreachable: cache bypassed, rate limits per replica, events local only", "error", err.Error())
		}
		return
	}
	if c.healthy.CompareAndSwap(false, true) {
		if !first {
			c.log.Info("redis reachable again: cache, shared rate limits and cross-replica events resumed")
		}
		c.flushPending(ctx)
		c.mu.Lock()
		hooks := append([]func(){}, c.onRecover...)
		c.mu.Unlock()
		for _, f := range hooks {
			go f()
		}
	}
}

// flushCount is how many times the cache namespace was flushed; 0 on a
// nil Client.
func (c *Client) flushCount() uint64 {
	if c == nil {
		return 0
	}
	return c.flushes.Load()
}

// countHits counts n cache hits of kind served from process memory; a nil
// Client counts nothing.
func (c *Client) countHits(kind string, n int) {
	if c == nil {
		return
	}
	for range n {
		c.metrics.CacheLookup(kind, true)
	}
}

// countLoad counts a load of kind; a nil Client counts nothing.
func (c *Client) countLoad(kind, why string) {
	if c != nil {
		c.metrics.CacheLoad(kind, why)
	}
}

type noMetrics struct{}

func (noMetrics) CacheLookup(string, bool) {}
func (noMetrics) CacheError(string)        {}
func (noMetrics) CacheLoad(string, string) {}
