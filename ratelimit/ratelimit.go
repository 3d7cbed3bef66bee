// Package ratelimit decides whether a request may run: per client IP for
// anonymous callers, per user for authenticated ones, a strict policy for
// the credential mutations keyed by IP and by account, and a budget of
// GraphQL complexity points so one expensive query cannot hide under a
// request count.
//
// Counters live in Redis through ulule/limiter's Redis store, so a limit
// holds across replicas. While Redis is unreachable they fall back to
// limiter's in-process store, which makes each limit per replica until
// Redis returns; the switch is logged once each way and every fallback is
// counted. The package uses limiter's stores only, not its HTTP middleware,
// whose default error handler panics and whose default key is the raw
// client IP: keys and errors are decided here.
package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"
	sredis "github.com/ulule/limiter/v3/drivers/store/redis"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/cache"
)

// Policies, also the values of the rate-limited metric's label.
const (
	PolicyAnonymous  = "anonymous"
	PolicyUser       = "user"
	PolicyAuth       = "auth"
	PolicyComplexity = "complexity"
)

// Limits are the configured rates; a zero Limit switches that policy off.
type Limits struct {
	// Anonymous is requests per client IP without a token.
	Anonymous limiter.Rate
	// User is requests per authenticated user.
	User limiter.Rate
	// Auth is login, signup and refreshToken attempts, counted both per
	// client IP and per account (email or refresh token).
	Auth limiter.Rate
	// Complexity is GraphQL complexity points per caller.
	Complexity limiter.Rate
}

// ParseRate reads a rate as a whole number per minute ("600") or in
// limiter's "<limit>-<S|M|H|D>" form ("10-M", "1000-H"). "0" disables.
func ParseRate(s string) (limiter.Rate, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 {
			return limiter.Rate{}, fmt.Errorf("rate %q is negative", s)
		}
		return limiter.Rate{Formatted: s + "-M", Period: time.Minute, Limit: n}, nil
	}
	r, err := limiter.NewRateFromFormatted(s)
	if err != nil || r.Limit < 0 {
		return limiter.Rate{}, fmt.Errorf("rate %q is not a number per minute or <limit>-<S|M|H|D>", s)
	}
	return r, nil
}

// PerMinute returns a rate of n per minute.
func PerMinute(n int64) limiter.Rate {
	return limiter.Rate{Formatted: strconv.FormatInt(n, 10) + "-M", Period: time.Minute, Limit: n}
}

// Decision is the outcome of one check, with what the X-RateLimit headers
// report.
type Decision struct {
	Policy    string
	Allowed   bool
	Limit     int64
	Remaining int64
	Reset     time.Time
}

// RetryAfter is how long the caller should wait, at least a second.
func (d Decision) RetryAfter() time.Duration {
	return max(time.Until(d.Reset).Round(time.Second), time.Second)
}

// Err is the RATE_LIMITED error for a refused decision.
func (d Decision) Err() error {
	return hg.Errorf(hg.ERATELIMITED, "too many requests: try again in %d seconds", int(d.RetryAfter().Seconds()))
}

// Metrics is what the limiter reports to; *observability.Metrics
// implements it.
type Metrics interface {
	RateLimited(policy string)
	CacheError(kind string)
}

// Limiter checks the policies against the shared counters.
type Limiter struct {
	limits Limits
	store  *fallbackStore
	m      Metrics
}

// New returns a limiter keeping its counters on c (in process when c is
// disabled or unreachable).
func New(c *cache.Client, limits Limits, log *slog.Logger, m Metrics) *Limiter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Limiter{limits: limits, m: m, store: &fallbackStore{
		c: c, log: log, m: m,
		mem: memory.NewStoreWithOptions(limiter.StoreOptions{Prefix: "hg:rl", CleanUpInterval: time.Minute}),
	}}
}

// Limits returns the configured rates.
func (l *Limiter) Limits() Limits { return l.limits }

// Request counts one request against the caller: the user when p is set,
// else the client IP.
func (l *Limiter) Request(ctx context.Context, p *hg.Principal, ip string) Decision {
	if p != nil {
		return l.take(ctx, PolicyUser, l.limits.User, "u:"+p.UserID.String(), 1)
	}
	return l.take(ctx, PolicyAnonymous, l.limits.Anonymous, "ip:"+ipKey(ip), 1)
}

// Complexity charges points of GraphQL complexity to the caller.
func (l *Limiter) Complexity(ctx context.Context, p *hg.Principal, ip string, points int) Decision {
	who := "ip:" + ipKey(ip)
	if p != nil {
		who = "u:" + p.UserID.String()
	}
	return l.take(ctx, PolicyComplexity, l.limits.Complexity, who, int64(max(points, 1)))
}

// Auth counts one credential attempt against both the client IP and the
// account it names (an email, lower-cased, or a refresh token), so neither
// many accounts from one address nor one account from many addresses gets
// through. account may be empty (a malformed request). The stricter of the
// two decisions is returned.
func (l *Limiter) Auth(ctx context.Context, ip, account string) Decision {
	d := l.take(ctx, PolicyAuth, l.limits.Auth, "ip:"+ipKey(ip), 1)
	if account == "" {
		return d
	}
	a := l.take(ctx, PolicyAuth, l.limits.Auth, "acct:"+strings.ToLower(strings.TrimSpace(account)), 1)
	if !a.Allowed || a.Allowed == d.Allowed && a.Remaining < d.Remaining {
		return a
	}
	return d
}

// take charges n to key under one policy. Keys are hashed: they may hold an
// email or a token, which must not sit in Redis in clear.
func (l *Limiter) take(ctx context.Context, policy string, rate limiter.Rate, key string, n int64) Decision {
	if rate.Limit <= 0 {
		return Decision{Policy: policy, Allowed: true}
	}
	sum := sha256.Sum256([]byte(policy + "|" + key))
	lc, err := l.store.Increment(ctx, policy+":"+hex.EncodeToString(sum[:16]), n, rate)
	if err != nil {
		// Both stores failed (the caller's context ended): nothing was
		// counted, and refusing would turn our trouble into the caller's.
		return Decision{Policy: policy, Allowed: true, Limit: rate.Limit, Remaining: rate.Limit}
	}
	d := Decision{Policy: policy, Allowed: !lc.Reached, Limit: lc.Limit, Remaining: lc.Remaining, Reset: time.Unix(lc.Reset, 0)}
	if !d.Allowed {
		l.m.RateLimited(policy)
	}
	return d
}

// ipKey is the unit an IP is limited by: the address for IPv4, its /64
// for IPv6, since one subscriber holds a whole /64.
func ipKey(ip string) string {
	if strings.Contains(ip, ":") {
		if a, err := parseAddr(ip); err == nil && a.Is6() && !a.Is4In6() {
			p, _ := a.Prefix(64)
			return p.String()
		}
	}
	return ip
}

// fallbackStore counts in Redis while it is healthy and in process
// otherwise.
type fallbackStore struct {
	c   *cache.Client
	log *slog.Logger
	m   Metrics
	mem limiter.Store

	mu       sync.Mutex
	redis    limiter.Store
	fellBack atomic.Bool
}

// redisStore returns limiter's Redis store, created on first use because
// creating it loads Lua scripts, which needs Redis up.
func (s *fallbackStore) redisStore(ctx context.Context) limiter.Store {
	if !s.c.Healthy() {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.redis == nil {
		rs, err := sredis.NewStoreWithOptions(s.c.Redis(), limiter.StoreOptions{Prefix: s.c.Key("hg:rl")})
		if err != nil {
			s.c.Failed("ratelimit", err)
			return nil
		}
		s.redis = rs
	}
	return s.redis
}

// Increment implements the counting of limiter.Store.
func (s *fallbackStore) Increment(ctx context.Context, key string, n int64, rate limiter.Rate) (limiter.Context, error) {
	if rs := s.redisStore(ctx); rs != nil {
		lc, err := rs.Increment(ctx, key, n, rate)
		if err == nil {
			if s.fellBack.CompareAndSwap(true, false) {
				s.log.Info("rate limiter back on Redis: limits are shared across replicas again")
			}
			return lc, nil
		}
		if errors.Is(err, context.Canceled) {
			return lc, fmt.Errorf("rate limit: %w", err)
		}
		s.c.Failed("ratelimit", err)
	} else if s.c.Enabled() {
		s.m.CacheError("ratelimit")
	}
	if s.c.Enabled() && s.fellBack.CompareAndSwap(false, true) {
		s.log.Warn("rate limiter on its in-process store: limits are per replica until Redis returns")
	}
	lc, err := s.mem.Increment(ctx, key, n, rate)
	if err != nil {
		return lc, fmt.Errorf("rate limit in process: %w", err)
	}
	return lc, nil
}
