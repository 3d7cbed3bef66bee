package healthgraph

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Role is what a user is allowed to do, decided by the auth policy.
type Role string

// The roles of HealthGraph.
const (
	RoleAdmin        Role = "ADMIN"
	RolePractitioner Role = "PRACTITIONER"
	RoleReception    Role = "RECEPTION"
	RoleBilling      Role = "BILLING"
	RolePatient      Role = "PATIENT"
	RoleAnalyst      Role = "ANALYST"
)

// Roles lists every role, in a stable order.
var Roles = []Role{RoleAdmin, RolePractitioner, RoleReception, RoleBilling, RolePatient, RoleAnalyst}

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool {
	for _, known := range Roles {
		if r == known {
			return true
		}
	}
	return false
}

// UserStatus tells whether an account may log in.
type UserStatus string

// Account states.
const (
	UserActive   UserStatus = "ACTIVE"
	UserDisabled UserStatus = "DISABLED"
)

// User is an account that can log in.
type User struct {
	ID           uuid.UUID
	Email        string
	FullName     string
	PasswordHash string
	Role         Role
	Status       UserStatus
	// FailedLogins counts consecutive wrong passwords; LockedUntil is set
	// once they pass the lockout threshold.
	FailedLogins int
	LockedUntil  *time.Time
	// TokenVersion goes up with every role or password change; an access
	// token carrying an older version is refused.
	TokenVersion int
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// UserFilter narrows a list of users. Nil fields do not filter.
type UserFilter struct {
	Role *Role
}

// UserStore keeps accounts.
type UserStore interface {
	// CreateUser inserts u, filling ID and timestamps. CONFLICT when the email
	// is taken in any letter case.
	CreateUser(ctx context.Context, u *User) error
	// UserByID returns NOT_FOUND when there is no such user.
	UserByID(ctx context.Context, id uuid.UUID) (*User, error)
	// UsersByIDs returns the users that exist among ids, in no set order.
	UsersByIDs(ctx context.Context, ids []uuid.UUID) ([]*User, error)
	// UserByEmail matches case-insensitively; NOT_FOUND when absent.
	UserByEmail(ctx context.Context, email string) (*User, error)
	// ListUsers returns one page, newest first, and the total count.
	ListUsers(ctx context.Context, f UserFilter, p Page) ([]*User, int, error)
	// SetUserRole changes a role; NOT_FOUND when there is no such user. A
	// real change ends every session of the user: TokenVersion goes up and
	// every refresh token is revoked.
	SetUserRole(ctx context.Context, id uuid.UUID, role Role) (*User, error)
	// PasswordHash returns the user's current hash, never cached; NOT_FOUND
	// when there is no such user.
	PasswordHash(ctx context.Context, id uuid.UUID) (string, error)
	// SetPassword stores a new hash, clears failed logins and any lock, and
	// ends every session of the user as SetUserRole does. NOT_FOUND when
	// there is no such user.
	SetPassword(ctx context.Context, id uuid.UUID, hash string) (*User, error)
	// UpgradePasswordHash replaces the hash old with next, a new hash of the
	// same password at other parameters. Unlike SetPassword it ends no
	// session and touches nothing else. When the stored hash is no longer
	// old (the password changed meanwhile) it changes nothing and is not an
	// error. NOT_FOUND when there is no such user.
	UpgradePasswordHash(ctx context.Context, id uuid.UUID, old, next string) error
	// RecordLoginFailure increments the failure counter and locks the
	// account until lockUntil once the counter reaches threshold. It returns
	// the new counter.
	RecordLoginFailure(ctx context.Context, id uuid.UUID, threshold int, lockUntil time.Time) (int, error)
	// ResetLoginFailures clears the counter and any lock after a good login.
	ResetLoginFailures(ctx context.Context, id uuid.UUID) error
}

// RefreshToken is a stored, hashed refresh token. Tokens rotated from one
// login share a FamilyID so a reused token can revoke them all.
type RefreshToken struct {
	ID        uuid.UUID
	UserID    uuid.UUID
	FamilyID  uuid.UUID
	Hash      []byte
	ExpiresAt time.Time
	UsedAt    *time.Time
	RevokedAt *time.Time
	CreatedAt time.Time
}

// RefreshTokenStore keeps refresh tokens.
type RefreshTokenStore interface {
	// CreateRefreshToken inserts t, filling ID and CreatedAt.
	CreateRefreshToken(ctx context.Context, t *RefreshToken) error
	// UseRefreshToken atomically marks the token with this hash as used and
	// returns it as it was before. A token already used or revoked is
	// returned unchanged so the caller can detect reuse. NOT_FOUND when no
	// token has the hash.
	UseRefreshToken(ctx context.Context, hash []byte) (*RefreshToken, error)
	// RevokeRefreshFamily revokes every token of a family.
	RevokeRefreshFamily(ctx context.Context, familyID uuid.UUID) error
	// SessionState reads what an access token of user userID in session
	// familyID is checked against: from the source of truth, or from a
	// cache that every session end and account change reaches before it
	// returns (cache.Sessions). NOT_FOUND when there is no such user.
	SessionState(ctx context.Context, userID, familyID uuid.UUID) (*SessionState, error)
}

// SessionState is the server-side state that decides whether an access
// token still holds. A session is the family of refresh tokens one login
// rotates through; its ID is the FamilyID.
type SessionState struct {
	Role         Role
	Status       UserStatus
	TokenVersion int
	// Revoked is true once the session was logged out or its refresh token
	// was reused.
	Revoked bool
}

// AuditEvent records who did what to which entity. The store never updates
// or deletes one.
type AuditEvent struct {
	ID         uuid.UUID
	ActorID    *uuid.UUID
	ActorRole  Role
	Action     string
	EntityType string
	EntityID   *uuid.UUID
	PatientID  *uuid.UUID
	IP         string
	TraceID    string
	Detail     string
	CreatedAt  time.Time
}

// AuditSubject is what one item of a listed page disclosed.
type AuditSubject struct{ Entity, Patient uuid.UUID }

// AuditStore appends audit events.
type AuditStore interface {
	// Audit appends e, filling ID and CreatedAt.
	Audit(ctx context.Context, e *AuditEvent) error
	// AuditReads appends e naming every subject, each an entity and its
	// patient, as one event in one statement: a listed page is audited
	// whole or not at all. The view audit_disclosures reads the trail one
	// row per entity.
	AuditReads(ctx context.Context, e AuditEvent, subjects []AuditSubject) error
}
