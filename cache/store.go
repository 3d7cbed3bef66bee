package cache

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
)

// userVersion is the cache version of hg.User; bump it when the struct
// changes shape.
const userVersion = 1

// practitionerVersion is the cache version of hg.Practitioner.
const practitionerVersion = 1

// practitionerTTL bounds staleness, in Redis and in each replica's memory,
// should an update path be added to PractitionerStore: today practitioners
// are never changed after creation (the store, the schema and the SQL have
// no update or delete), so nothing needs invalidating, and a replica may
// keep its own copy. Such a path must call Invalidate, which reaches Redis
// and this replica's copy; other replicas' copies would still live out
// their TTL, so it would also have to broadcast, as Sessions does.
const practitionerTTL = 5 * time.Minute

// maxLocalPractitioners bounds each replica's copy of practitioners: a
// clinic group has a few hundred to a few thousand.
const maxLocalPractitioners = 10_000

// userTTL is short on purpose: it bounds how long a missed invalidation can
// show an old role or status.
const userTTL = 60 * time.Second

// summaryVersion is the cache version of the analysts' aggregates: 2 since
// they are sums of suppressed cells over snapped windows.
const summaryVersion = 2

// summaryTTL is how stale an analyst's aggregate may be. Claims and
// invoices change outside this store too (the NPHIES worker and poller
// write to Postgres directly), so aggregates are never invalidated: they
// expire. Half a minute is invisible in a report over months and spares
// Postgres a scan of the claims table per dashboard refresh.
const summaryTTL = 30 * time.Second

// summaryRefresh is the last part of summaryTTL in which a read reloads the
// aggregate in the background: a year's aggregate takes most of a second
// on a large clinic group, and a grouping read steadily then never expires,
// so no analyst waits for it and no expiry sends every reader to Postgres.
const summaryRefresh = summaryTTL / 5

// Store is hg.Store with a read-through cache in front of the hot lookups.
// Every method it does not override goes straight to the wrapped store.
//
// The pattern for another kind (patient, practitioner, payer): add a Typed
// field, override the by-id lookup to go through it, and override every
// write method of that kind to call Invalidate after the wrapped write
// returns successfully. Lookups whose authorization lives in SQL (patients
// under a PatientScope) must cache only the row and re-run the scope check
// on every read, so a cached value never reaches a caller who may not see
// it.
type Store struct {
	hg.Store
	users         *Typed[hg.User]
	practitioners *Typed[hg.Practitioner]
	claimsSums    *Typed[[]hg.ClaimsGroup]
	revenueSums   *Typed[[]hg.RevenueGroup]
	events        *Broker
	// Sessions, when set, is told of every change that may end a user's
	// sessions (role, password), so that no replica serves them from memory.
	Sessions *Sessions
}

var _ hg.Store = (*Store)(nil)

// NewStore wraps s with the cache on c and announces account changes on
// events (nil announces nothing). A disabled c makes the cache a
// pass-through.
func NewStore(s hg.Store, c *Client, events *Broker) *Store {
	return &Store{Store: s, events: events,
		users:         NewTyped[hg.User](c, "user", userVersion, userTTL),
		practitioners: NewTyped[hg.Practitioner](c, "practitioner", practitionerVersion, practitionerTTL, Local(maxLocalPractitioners)),
		claimsSums:    NewTyped[[]hg.ClaimsGroup](c, "claims_summary", summaryVersion, summaryTTL, RefreshAhead(summaryRefresh)),
		revenueSums:   NewTyped[[]hg.RevenueGroup](c, "revenue_summary", summaryVersion, summaryTTL, RefreshAhead(summaryRefresh))}
}

// userChanged runs after a committed write to a user: the cache entry goes
// first, so a subscriber reacting to the event reads the new state.
func (s *Store) userChanged(ctx context.Context, id uuid.UUID) {
	s.users.Invalidate(ctx, id.String())
	if s.events != nil {
		// Publish falls back to local delivery by itself; an error means
		// the caller's context ended, and the write stands regardless.
		_ = s.events.Publish(ctx, hg.AccountTopic(id), []byte(id.String()))
	}
}

// UserByID returns the user through the cache. The result never carries
// the password hash, cached or not: hashes stay out of Redis, and
// credentials are checked through UserByEmail, which is not cached.
func (s *Store) UserByID(ctx context.Context, id uuid.UUID) (*hg.User, error) {
	u, err := s.users.Get(ctx, id.String(), func(ctx context.Context) (hg.User, error) {
		u, err := s.Store.UserByID(ctx, id)
		if err != nil {
			return hg.User{}, err
		}
		c := *u
		c.PasswordHash = ""
		return c, nil
	})
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// SetUserRole changes the role and invalidates the cached user and its
// sessions.
func (s *Store) SetUserRole(ctx context.Context, id uuid.UUID, role hg.Role) (*hg.User, error) {
	u, err := s.Store.SetUserRole(ctx, id, role)
	if err == nil {
		s.sessionsChanged(ctx, id)
		s.userChanged(ctx, id)
	}
	return u, err
}

// SetPassword stores a new password, which ends every session of the user.
func (s *Store) SetPassword(ctx context.Context, id uuid.UUID, hash string) (*hg.User, error) {
	u, err := s.Store.SetPassword(ctx, id, hash)
	if err == nil {
		s.sessionsChanged(ctx, id)
		s.userChanged(ctx, id)
	}
	return u, err
}

func (s *Store) sessionsChanged(ctx context.Context, id uuid.UUID) {
	if s.Sessions != nil {
		s.Sessions.UserChanged(ctx, id)
	}
}

// RecordLoginFailure counts a failure and invalidates the cached user,
// whose lock state may have changed.
func (s *Store) RecordLoginFailure(ctx context.Context, id uuid.UUID, threshold int, lockUntil time.Time) (int, error) {
	n, err := s.Store.RecordLoginFailure(ctx, id, threshold, lockUntil)
	if err == nil {
		s.userChanged(ctx, id)
	}
	return n, err
}

// ResetLoginFailures clears the counter and invalidates the cached user.
func (s *Store) ResetLoginFailures(ctx context.Context, id uuid.UUID) error {
	err := s.Store.ResetLoginFailures(ctx, id)
	if err == nil {
		s.userChanged(ctx, id)
	}
	return err
}

// PractitionerByID returns the practitioner through the cache.
// Practitioners are staff, not patient data: they take no scope.
func (s *Store) PractitionerByID(ctx context.Context, id uuid.UUID) (*hg.Practitioner, error) {
	p, err := s.practitioners.Get(ctx, id.String(), func(ctx context.Context) (hg.Practitioner, error) {
		p, err := s.Store.PractitionerByID(ctx, id)
		if err != nil {
			return hg.Practitioner{}, err
		}
		return *p, nil
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// PractitionersByIDs is the dataloader's batch, through the cache: from
// this replica's memory, then one Redis round trip for what it lacks, and
// Postgres only for the misses of both.
func (s *Store) PractitionersByIDs(ctx context.Context, ids []uuid.UUID) ([]*hg.Practitioner, error) {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = id.String()
	}
	found, err := s.practitioners.GetMany(ctx, keys, func(ctx context.Context, missing []string) (map[string]hg.Practitioner, error) {
		mids := make([]uuid.UUID, 0, len(missing))
		for _, m := range missing {
			id, err := uuid.Parse(m)
			if err != nil {
				return nil, fmt.Errorf("practitioner cache key %q: %w", m, err)
			}
			mids = append(mids, id)
		}
		ps, err := s.Store.PractitionersByIDs(ctx, mids)
		if err != nil {
			return nil, err
		}
		out := make(map[string]hg.Practitioner, len(ps))
		for _, p := range ps {
			out[p.ID.String()] = *p
		}
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]*hg.Practitioner, 0, len(found))
	for _, id := range keys {
		if p, ok := found[id]; ok {
			out = append(out, &p)
			delete(found, id) // a repeated id is returned once, as the store does
		}
	}
	return out, nil
}

// appointmentChanged announces a committed appointment write.
func (s *Store) appointmentChanged(ctx context.Context, a *hg.Appointment) {
	if s.events != nil && a != nil {
		_ = s.events.Publish(ctx, hg.AppointmentTopic(a.PractitionerID), []byte(a.ID.String()))
	}
}

// BookAppointment books and announces the appointment.
func (s *Store) BookAppointment(ctx context.Context, scope hg.PatientScope, a hg.NewAppointment) (*hg.Appointment, error) {
	out, err := s.Store.BookAppointment(ctx, scope, a)
	if err == nil {
		s.appointmentChanged(ctx, out)
	}
	return out, err
}

// RescheduleAppointment moves and announces the appointment.
func (s *Store) RescheduleAppointment(ctx context.Context, scope hg.PatientScope, id uuid.UUID, startsAt, endsAt time.Time) (*hg.Appointment, error) {
	out, err := s.Store.RescheduleAppointment(ctx, scope, id, startsAt, endsAt)
	if err == nil {
		s.appointmentChanged(ctx, out)
	}
	return out, err
}

// CancelAppointment cancels and announces the appointment.
func (s *Store) CancelAppointment(ctx context.Context, scope hg.PatientScope, id uuid.UUID, reason string) (*hg.Appointment, error) {
	out, err := s.Store.CancelAppointment(ctx, scope, id, reason)
	if err == nil {
		s.appointmentChanged(ctx, out)
	}
	return out, err
}

// UpdateAppointmentStatus moves the status and announces the appointment.
func (s *Store) UpdateAppointmentStatus(ctx context.Context, scope hg.PatientScope, id uuid.UUID, status hg.AppointmentStatus) (*hg.Appointment, error) {
	out, err := s.Store.UpdateAppointmentStatus(ctx, scope, id, status)
	if err == nil {
		s.appointmentChanged(ctx, out)
	}
	return out, err
}

// summaryKey names one aggregate query. Aggregates carry no patient's
// identity and their suppression of small groups happens in the store, so
// one entry serves every role the resolver lets through.
func summaryKey(from, to time.Time, groupBy string) string {
	return groupBy + ":" + from.UTC().Format(time.RFC3339Nano) + ":" + to.UTC().Format(time.RFC3339Nano)
}

// ClaimsSummary reads through the cache for summaryTTL, refreshed ahead of
// expiry while read.
func (s *Store) ClaimsSummary(ctx context.Context, from, to time.Time, groupBy string) ([]hg.ClaimsGroup, error) {
	return s.claimsSums.Get(ctx, summaryKey(from, to, groupBy), func(ctx context.Context) ([]hg.ClaimsGroup, error) {
		return s.Store.ClaimsSummary(ctx, from, to, groupBy)
	})
}

// RevenueSummary reads through the cache for summaryTTL, refreshed ahead
// of expiry while read.
func (s *Store) RevenueSummary(ctx context.Context, from, to time.Time, groupBy string) ([]hg.RevenueGroup, error) {
	return s.revenueSums.Get(ctx, summaryKey(from, to, groupBy), func(ctx context.Context) ([]hg.RevenueGroup, error) {
		return s.Store.RevenueSummary(ctx, from, to, groupBy)
	})
}

// claimChanged announces a committed change of a claim's status.
func (s *Store) claimChanged(ctx context.Context, c *hg.Claim) {
	if c != nil {
		publishClaims(ctx, s.events, c.ID)
	}
}

// QueueClaim queues and announces the claim.
func (s *Store) QueueClaim(ctx context.Context, n hg.NewClaim) (*hg.Claim, error) {
	out, err := s.Store.QueueClaim(ctx, n)
	if err == nil {
		s.claimChanged(ctx, out)
	}
	return out, err
}

// RetryClaim makes the claim due again and announces it.
func (s *Store) RetryClaim(ctx context.Context, id uuid.UUID) (*hg.Claim, error) {
	out, err := s.Store.RetryClaim(ctx, id)
	if err == nil {
		s.claimChanged(ctx, out)
	}
	return out, err
}

// QueueCancel queues the cancellation and announces the claim.
func (s *Store) QueueCancel(ctx context.Context, id uuid.UUID, msg hg.NPHIESMessage) (*hg.Claim, error) {
	out, err := s.Store.QueueCancel(ctx, id, msg)
	if err == nil {
		s.claimChanged(ctx, out)
	}
	return out, err
}

// publishClaims announces each claim once on the claims topic. The event
// carries the id only; subscribers read the claim under their own scope.
func publishClaims(ctx context.Context, events *Broker, ids ...uuid.UUID) {
	if events == nil {
		return
	}
	seen := make(map[uuid.UUID]bool, len(ids))
	for _, id := range ids {
		if id == uuid.Nil || seen[id] {
			continue
		}
		seen[id] = true
		// Publish falls back to local delivery by itself; an error means
		// ctx ended, and the write stands regardless.
		_ = events.Publish(ctx, hg.ClaimTopic(), []byte(id.String()))
	}
}

// ClaimEvents is the outbox the NPHIES worker and poller write through: it
// announces the claims each delivery or poll may have moved on. Most claim
// status changes happen there (SUBMITTED, the payer's decision, ERROR,
// CANCELLED), in the worker's own transactions, not through Store.
//
// The design is the simplest that reaches every replica: the worker and the
// poller run inside the serving process (cmd wires them beside the API), so
// they publish on the same broker, which fans out through Redis pub/sub.
// An event names a claim the exchange concerned, whether or not its status
// changed (a duplicate answer changes nothing): subscribers read the claim
// as it is, so an extra event costs a delivery, never a wrong state. It is
// published after the store call returns, that is after its transaction
// committed or rolled back.
type ClaimEvents struct {
	hg.Outbox
	Events *Broker
}

// DeliverNext sends the next due message and announces its claim and any
// claim its answer names.
func (o ClaimEvents) DeliverNext(ctx context.Context, send func(ctx context.Context, m *hg.NPHIESMessage) hg.Attempt) (bool, error) {
	var touched []uuid.UUID
	did, err := o.Outbox.DeliverNext(ctx, func(ctx context.Context, m *hg.NPHIESMessage) hg.Attempt {
		a := send(ctx, m)
		if m.ClaimID != nil {
			touched = append(touched, *m.ClaimID)
		}
		if a.Response != nil {
			touched = append(touched, receivedClaims(*a.Response)...)
		}
		return a
	})
	publishClaims(context.WithoutCancel(ctx), o.Events, touched...)
	return did, err
}

// RecordExchange records a poll and announces every claim the messages it
// delivered name.
func (o ClaimEvents) RecordExchange(ctx context.Context, sent *hg.NPHIESMessage, response *hg.Received, delivered []hg.Received) error {
	err := o.Outbox.RecordExchange(ctx, sent, response, delivered)
	if err == nil {
		var touched []uuid.UUID
		for _, r := range delivered {
			touched = append(touched, receivedClaims(r)...)
		}
		publishClaims(context.WithoutCancel(ctx), o.Events, touched...)
	}
	return err
}

// receivedClaims lists the claims a received message is about.
func receivedClaims(r hg.Received) []uuid.UUID {
	switch {
	case r.Claim != nil:
		return []uuid.UUID{r.Claim.ClaimID}
	case r.Cancel != nil:
		return []uuid.UUID{r.Cancel.ClaimID}
	case r.CommunicationRequest != nil:
		return r.CommunicationRequest.ClaimIDs
	case r.Payment != nil:
		var ids []uuid.UUID
		for _, l := range r.Payment.Lines {
			if l.ClaimID != nil {
				ids = append(ids, *l.ClaimID)
			}
		}
		return ids
	}
	return nil
}
