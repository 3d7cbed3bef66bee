// Package resolvers implements the GraphQL schema. Resolvers are thin: they
// authorize through auth, validate input, call the store or a loader, and
// return domain errors that the server's presenter maps to error codes.
package resolvers

import (
	"context"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/auth"
	"github.com/healthgraph/healthgraph/graph"
	"github.com/healthgraph/healthgraph/graph/model"
	"github.com/healthgraph/healthgraph/nphies"
)

//go:generate go tool gqlgen generate
//go:generate go run ../internal/leanexec ../graph

// Resolver holds what every resolver needs; server wires it once.
type Resolver struct {
	Accounts *auth.Accounts
	Store    hg.Store
	// Events carries change notifications to subscribers on every
	// replica; the cache package's Broker implements it. Nil turns subscriptions off.
	Events Events
	// NPHIES builds the bundles claims are sent in.
	NPHIES *nphies.Builder
	// NPHIESClient sends the synchronous requests (eligibility checks) the
	// desk waits for; the outbox worker has its own. Nil makes them
	// UNAVAILABLE.
	NPHIESClient *nphies.Client
	// Business counts what the clinic bills, collects and claims for the
	// dashboards; *observability.Metrics implements it. Nil counts nothing.
	Business Business
}

// Business receives the business events the clinic's KPIs are built from.
// Amounts are halalas; no label ever names a person.
type Business interface {
	Billed(halalas int64)
	Paid(halalas int64)
	ClaimStatus(status string)
	AppointmentStatus(status string)
}

// business returns the configured counters, or ones that count nothing.
func (r *Resolver) business() Business {
	if r.Business == nil {
		return noBusiness{}
	}
	return r.Business
}

type noBusiness struct{}

func (noBusiness) Billed(int64)             {}
func (noBusiness) Paid(int64)               {}
func (noBusiness) ClaimStatus(string)       {}
func (noBusiness) AppointmentStatus(string) {}

// Events is the pub/sub the subscription resolvers listen on.
type Events interface {
	// Subscribe returns topic's messages (payloads and outage notices)
	// until ctx ends.
	Subscribe(ctx context.Context, topic string) (<-chan hg.EventMessage, error)
}

var _ graph.ResolverRoot = (*Resolver)(nil)

// authPayload maps a session, or the error that prevented it, to GraphQL.
func authPayload(s *auth.Session, err error) (*model.AuthPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.AuthPayload{AccessToken: s.AccessToken, RefreshToken: s.RefreshToken, ExpiresAt: s.ExpiresAt, User: s.User}, nil
}

// audit records that the caller did action to an entity, for the patient
// it concerns. It fails closed: a change that cannot be audited is an error.
func (r *Resolver) audit(ctx context.Context, action, entityType string, entityID uuid.UUID, patientID *uuid.UUID) error {
	e := actorEvent(ctx, action, entityType)
	e.EntityID, e.PatientID = &entityID, patientID
	return r.Store.Audit(ctx, &e)
}

// delivered audits an event a subscription is about to deliver to who: it
// discloses the entity and its patient as a read does. The role is the
// watcher's as it is now, which is what authorized the delivery. One row
// per delivered event, so the trail's cost follows what was shown.
func (r *Resolver) delivered(ctx context.Context, who *hg.User, action, entityType string, entity, patient uuid.UUID) error {
	return r.Store.Audit(ctx, &hg.AuditEvent{ActorID: &who.ID, ActorRole: who.Role, Action: action,
		EntityType: entityType, EntityID: &entity, PatientID: &patient})
}

// auditing returns ctx carrying the audit event of the caller's write of
// action on an entity of entityType. Pass it to the one store write: the
// store appends the event, naming what it wrote and its patient, in that
// write's transaction, so the change and its audit row commit together.
func auditing(ctx context.Context, action, entityType string) context.Context {
	return hg.WithAudit(ctx, actorEvent(ctx, action, entityType))
}

// auditPage audits every item of a listed page of PHI in one statement;
// subject names what an edge disclosed.
func auditPage[E any](ctx context.Context, r *Resolver, action, entityType string, edges []E, subject func(E) (entity, patient uuid.UUID)) error {
	subjects := make([]hg.AuditSubject, len(edges))
	for i, e := range edges {
		subjects[i].Entity, subjects[i].Patient = subject(e)
	}
	return r.Store.AuditReads(ctx, actorEvent(ctx, action, entityType), subjects)
}

// actorEvent is an audit event by the request's caller.
func actorEvent(ctx context.Context, action, entityType string) hg.AuditEvent {
	e := hg.AuditEvent{Action: action, EntityType: entityType}
	if p := hg.PrincipalFrom(ctx); p != nil {
		e.ActorID, e.ActorRole = &p.UserID, p.Role
	}
	return e
}
