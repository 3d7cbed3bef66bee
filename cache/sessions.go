package cache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	hg "github.com/healthgraph/healthgraph"
)

// Tuning of the session cache. sessionTTL is a safety net only: every
// change the service makes is broadcast, so an entry expires early only
// when the session's row was changed outside the service (by hand in SQL).
// sessionAckWait bounds how long an ending session waits for the other
// replicas to confirm they dropped it. sessionQuiet is how long the
// broadcast may be silent before the replica pings it, and twice that
// without an answer counts as cut.
const (
	sessionTTL      = 30 * time.Second
	sessionAckWait  = time.Second
	sessionQuiet    = time.Second
	maxSessions     = 100_000
	sessionsChannel = "hg:sessions"
)

// Sessions is the session check (SessionState) served from this replica's
// memory instead of a Postgres round trip per request, kept exact by a
// broadcast over Redis pub/sub: every replica that ends a session or
// changes an account (RevokeRefreshFamily here, role and password changes
// through Store) announces it after the commit, every replica drops what
// it holds of that session or user, and the announcer waits until each
// subscriber has confirmed before it answers. So a token logged out on one
// replica is refused by every replica on its next request.
//
// While this replica's subscription is not confirmed (Redis disabled,
// down, or the channel cut) it holds nothing and asks Postgres every time,
// as before; it forgets everything it held whenever the subscription is
// lost or re-established, since announcements may have been missed.
type Sessions struct {
	hg.RefreshTokenStore
	c       *Client
	channel string

	live atomic.Bool
	// gen counts what was dropped: a Postgres read is kept only if no drop
	// happened while it ran, so a read that raced an announcement is not
	// cached stale.
	gen atomic.Uint64

	mu      sync.RWMutex
	entries map[sessionKey]sessionEntry
	waiters map[string]*ackWaiter

	stop context.CancelFunc
	done chan struct{}
}

type sessionKey struct{ user, family uuid.UUID }

type sessionEntry struct {
	state   hg.SessionState
	expires time.Time
}

type ackWaiter struct {
	want, got int
	done      chan struct{}
}

var _ hg.RefreshTokenStore = (*Sessions)(nil)

// NewSessions wraps db's session check with the cache and starts listening
// to the broadcast on c. A disabled c caches nothing. Close stops it.
func NewSessions(db hg.RefreshTokenStore, c *Client) *Sessions {
	s := &Sessions{RefreshTokenStore: db, c: c, channel: c.Key(sessionsChannel),
		entries: map[sessionKey]sessionEntry{}, waiters: map[string]*ackWaiter{}, done: make(chan struct{})}
	if !c.Enabled() {
		close(s.done)
		s.stop = func() {}
		return s
	}
	ctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	go s.listen(ctx)
	return s
}

// Close stops listening; the session check goes to Postgres from then on.
func (s *Sessions) Close() {
	s.stop()
	<-s.done
}

// Live reports whether the broadcast is confirmed, so that sessions are
// served from memory.
func (s *Sessions) Live() bool { return s.live.Load() }

// SessionState answers from memory when the broadcast is live and the
// session was read before, and from Postgres otherwise.
func (s *Sessions) SessionState(ctx context.Context, userID, familyID uuid.UUID) (*hg.SessionState, error) {
	if !s.live.Load() {
		return s.RefreshTokenStore.SessionState(ctx, userID, familyID)
	}
	k := sessionKey{userID, familyID}
	now := time.Now()
	s.mu.RLock()
	e, ok := s.entries[k]
	s.mu.RUnlock()
	if ok && now.Before(e.expires) {
		s.c.metrics.CacheLookup("session", true)
		st := e.state
		return &st, nil
	}
	s.c.metrics.CacheLookup("session", false)
	gen := s.gen.Load()
	st, err := s.RefreshTokenStore.SessionState(ctx, userID, familyID)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.live.Load() && s.gen.Load() == gen {
		if len(s.entries) >= maxSessions {
			clear(s.entries)
		}
		s.entries[k] = sessionEntry{state: *st, expires: now.Add(sessionTTL)}
	}
	s.mu.Unlock()
	return st, nil
}

// RevokeRefreshFamily ends a session in Postgres, then on every replica.
func (s *Sessions) RevokeRefreshFamily(ctx context.Context, familyID uuid.UUID) error {
	if err := s.RefreshTokenStore.RevokeRefreshFamily(ctx, familyID); err != nil {
		return err
	}
	s.announce(ctx, "f", familyID)
	return nil
}

// UserChanged drops, on every replica, what is held of user id's sessions;
// call it after a committed change of the user's role, status, token
// version or sessions.
func (s *Sessions) UserChanged(ctx context.Context, id uuid.UUID) { s.announce(ctx, "u", id) }

// announce drops kind ("u" user, "f" session) id here, publishes it and
// waits until every subscriber confirmed or sessionAckWait passed. A
// replica that does not confirm in time has lost its subscription (and
// asks Postgres) or is about to handle the announcement.
func (s *Sessions) announce(ctx context.Context, kind string, id uuid.UUID) {
	s.drop(kind, id)
	if !s.c.Enabled() {
		return
	}
	n := nonce()
	w := &ackWaiter{done: make(chan struct{})}
	s.mu.Lock()
	s.waiters[n] = w
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.waiters, n)
		s.mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sessionAckWait)
	defer cancel()
	subscribers, err := s.c.rdb.Publish(ctx, s.channel, "r "+n+" "+kind+" "+id.String()).Result()
	if err != nil {
		// The other replicas learn it when their entries expire, or at
		// once if they lost the broadcast too (they then ask Postgres).
		s.c.Failed("sessions", err)
		return
	}
	s.mu.Lock()
	w.want = int(subscribers)
	complete := w.got >= w.want
	s.mu.Unlock()
	if complete {
		return
	}
	select {
	case <-w.done:
	case <-ctx.Done():
		s.c.log.Warn("session end not confirmed by every replica in time", "subscribers", subscribers)
	}
}

// drop forgets kind id and makes reads in flight uncacheable.
func (s *Sessions) drop(kind string, id uuid.UUID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen.Add(1)
	for k := range s.entries {
		if kind == "u" && k.user == id || kind == "f" && k.family == id {
			delete(s.entries, k)
		}
	}
}

// forget drops everything, when announcements may have been missed.
func (s *Sessions) forget() {
	s.mu.Lock()
	s.gen.Add(1)
	clear(s.entries)
	s.mu.Unlock()
}

// handle applies one broadcast message: "r <nonce> <kind> <id>" drops and
// confirms with "a <nonce>"; an "a" counts for its waiter here, if any.
func (s *Sessions) handle(ctx context.Context, payload string) {
	f := strings.Fields(payload)
	switch {
	case len(f) == 4 && f[0] == "r":
		id, err := uuid.Parse(f[3])
		if err != nil {
			return
		}
		s.drop(f[2], id)
		ctx, cancel := context.WithTimeout(ctx, sessionAckWait)
		defer cancel()
		if err := s.c.rdb.Publish(ctx, s.channel, "a "+f[1]).Err(); err != nil {
			s.c.Failed("sessions", err)
		}
	case len(f) == 2 && f[0] == "a":
		s.mu.Lock()
		if w, ok := s.waiters[f[1]]; ok {
			w.got++
			if w.want > 0 && w.got == w.want {
				close(w.done)
			}
		}
		s.mu.Unlock()
	}
}

// listen keeps one subscription to the broadcast, and the cache live
// exactly while it is confirmed and answering.
func (s *Sessions) listen(ctx context.Context) {
	defer close(s.done)
	defer s.live.Store(false)
	for ctx.Err() == nil {
		s.subscribe(ctx)
		s.live.Store(false)
		s.forget()
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// subscribe runs one subscription until it fails.
func (s *Sessions) subscribe(ctx context.Context) {
	ps := s.c.rdb.Subscribe(ctx, s.channel)
	defer ps.Close()
	heard := time.Now()
	for {
		msg, err := ps.ReceiveTimeout(ctx, sessionQuiet)
		var nerr net.Error
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && errors.As(err, &nerr) && nerr.Timeout() && time.Since(heard) < 2*sessionQuiet:
			if ps.Ping(ctx) != nil {
				return
			}
			continue
		case err != nil:
			s.c.Failed("sessions", err)
			return
		}
		heard = time.Now()
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				// Whatever was held may have missed announcements.
				s.forget()
				s.live.Store(true)
			}
		case *redis.Message:
			s.handle(ctx, m.Payload)
		}
	}
}

// nonce returns 16 random hex digits.
func nonce() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
