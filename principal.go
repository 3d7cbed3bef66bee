package healthgraph

import (
	"context"

	"github.com/google/uuid"
)

// Principal is the authenticated caller of a request.
type Principal struct {
	UserID uuid.UUID
	Role   Role
	// SessionID is the session (refresh-token family) the access token
	// was issued in.
	SessionID uuid.UUID
	// TokenVersion is the account's token version when the access token
	// was issued; a password change moves the account past it.
	TokenVersion int
}

type principalKey struct{}

// WithPrincipal returns a context that carries p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller, or nil for an anonymous request.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// PatientScope says which patients a caller may see. The auth policy decides
// it from the caller's role; the store applies it inside the SQL of every
// list query and loader, so a nested field cannot reach past it.
type PatientScope struct {
	// All grants every patient (ADMIN, RECEPTION, BILLING for demographics).
	All bool
	// SelfUserID limits to the patient record linked to this user (PATIENT).
	SelfUserID *uuid.UUID
	// CareUserID limits to patients with an appointment with the
	// practitioner linked to this user, or an unexpired break-glass grant
	// of this user (PRACTITIONER).
	CareUserID *uuid.UUID
	// OwnerUserID, set only for a change, further limits it to what this
	// user owns: appointments with the practitioner linked to them, record
	// versions they authored. A row in scope but not owned is FORBIDDEN
	// (the caller may read it, so its existence is no secret). Reads
	// ignore it.
	OwnerUserID *uuid.UUID
}

// Nobody reports whether the scope admits no patient at all (ANALYST,
// anonymous).
func (s PatientScope) Nobody() bool {
	return !s.All && s.SelfUserID == nil && s.CareUserID == nil
}

// RequestMeta describes where a request came from, for the audit trail.
type RequestMeta struct {
	IP      string
	TraceID string
}

type requestMetaKey struct{}

// WithRequestMeta returns a context that carries m.
func WithRequestMeta(ctx context.Context, m RequestMeta) context.Context {
	return context.WithValue(ctx, requestMetaKey{}, m)
}

// RequestMetaFrom returns the request's origin, empty outside a request.
func RequestMetaFrom(ctx context.Context) RequestMeta {
	m, _ := ctx.Value(requestMetaKey{}).(RequestMeta)
	return m
}
