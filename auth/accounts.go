package auth

import (
	"context"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
)

// Session is what a login or refresh hands the client.
type Session struct {
	AccessToken  string
	RefreshToken string
	ExpiresAt    time.Time
	User         *hg.User
}

// Accounts runs signup, login, refresh and logout.
type Accounts struct {
	Users  hg.UserStore
	Tokens hg.RefreshTokenStore
	Audit  hg.AuditStore
	Access *Tokens
	// RefreshTTL is how long a refresh token lives.
	RefreshTTL time.Duration
	// LockThreshold consecutive failures lock an account for LockDuration.
	LockThreshold int
	LockDuration  time.Duration
	// Cost is the bcrypt work factor of new password hashes; 0 means
	// DefaultCost.
	Cost int
}

// HashPassword returns a hash of password at the accounts' cost.
func (a *Accounts) HashPassword(password string) (string, error) {
	return HashPassword(password, a.Cost)
}

// checkPassword reports whether password matches hash. An empty hash (no
// such account) still spends the time of a comparison at the accounts' cost.
func (a *Accounts) checkPassword(hash, password string) bool {
	if hash == "" {
		CheckPassword(string(dummyHash(a.Cost)), password)
		return false
	}
	return CheckPassword(hash, password)
}

// errBadCredentials is the one answer for an unknown email, a wrong password
// and a locked account, so login reveals nothing about which accounts exist.
var errBadCredentials = hg.Errorf(hg.EUNAUTHENTICATED, "invalid email or password")

// NormalizeEmail validates an email address and returns it trimmed.
func NormalizeEmail(email string) (string, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return "", hg.Invalid("email", "email is required")
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || len(email) > 254 || !strings.Contains(email[strings.LastIndexByte(email, '@')+1:], ".") {
		return "", hg.Invalid("email", "email is not a valid address")
	}
	return email, nil
}

// ValidateFullName checks a person's display name.
func ValidateFullName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", hg.Invalid("fullName", "full name is required")
	} else if utf8.RuneCountInString(name) > 200 {
		return "", hg.Invalid("fullName", "full name must be at most 200 characters")
	}
	return name, nil
}

// Signup creates a PATIENT account. Every input is checked before anything
// is written.
func (a *Accounts) Signup(ctx context.Context, email, password, fullName string) (*hg.User, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	if fullName, err = ValidateFullName(fullName); err != nil {
		return nil, err
	}
	if err := ValidatePassword(password, email); err != nil {
		return nil, err
	}
	return a.Create(ctx, email, password, fullName, hg.RolePatient)
}

// Create makes an account with any role; the admin CLI and seed use it.
func (a *Accounts) Create(ctx context.Context, email, password, fullName string, role hg.Role) (*hg.User, error) {
	if !role.Valid() {
		return nil, hg.Invalid("role", "unknown role %q", role)
	}
	hash, err := a.HashPassword(password)
	if err != nil {
		return nil, err
	}
	u := &hg.User{Email: email, FullName: fullName, PasswordHash: hash, Role: role}
	// Audited in the insert's transaction; the new account is its actor.
	created := hg.WithAudit(ctx, hg.AuditEvent{ActorRole: role, Action: "account.created", EntityType: "User"})
	if err := a.Users.CreateUser(created, u); err != nil {
		return nil, err
	}
	return u, nil
}

// Login checks a password and opens a session. Failures are counted per
// account; at the threshold the account is locked for a while and audited.
func (a *Accounts) Login(ctx context.Context, email, password string) (*Session, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return nil, hg.Invalid("email", "email is required")
	} else if password == "" {
		return nil, hg.Invalid("password", "password is required")
	}
	u, err := a.Users.UserByEmail(ctx, email)
	if hg.ErrorCode(err) == hg.ENOTFOUND {
		a.checkPassword("", password)
		return nil, a.refuse(ctx, &hg.AuditEvent{Action: "login.failed", EntityType: "User", Detail: "unknown account"})
	} else if err != nil {
		return nil, err
	}
	ok := a.checkPassword(u.PasswordHash, password)
	locked := u.LockedUntil != nil && u.LockedUntil.After(time.Now())
	switch {
	case locked:
		return nil, a.refuse(ctx, &hg.AuditEvent{ActorID: &u.ID, ActorRole: u.Role, Action: "login.refused", EntityType: "User", EntityID: &u.ID, Detail: "account locked"})
	case !ok:
		n, err := a.Users.RecordLoginFailure(ctx, u.ID, a.LockThreshold, time.Now().Add(a.LockDuration))
		if err != nil {
			return nil, err
		}
		action := "login.failed"
		if n == a.LockThreshold {
			action = "account.locked"
		}
		return nil, a.refuse(ctx, &hg.AuditEvent{ActorID: &u.ID, ActorRole: u.Role, Action: action, EntityType: "User", EntityID: &u.ID})
	case u.Status != hg.UserActive:
		return nil, errBadCredentials
	}
	if err := a.Users.ResetLoginFailures(ctx, u.ID); err != nil {
		return nil, err
	}
	if err := a.audit(ctx, &hg.AuditEvent{ActorID: &u.ID, ActorRole: u.Role, Action: "login.succeeded", EntityType: "User", EntityID: &u.ID}); err != nil {
		return nil, err
	}
	return a.open(ctx, u, uuid.New())
}

// Refresh rotates a refresh token: the old one is spent and a new pair is
// issued in the same family. A token presented twice means it leaked, so
// the whole family is revoked and the caller must log in again.
func (a *Accounts) Refresh(ctx context.Context, token string) (*Session, error) {
	if token == "" {
		return nil, hg.Invalid("token", "refresh token is required")
	}
	old, err := a.Tokens.UseRefreshToken(ctx, hashRefreshToken(token))
	if hg.ErrorCode(err) == hg.ENOTFOUND {
		return nil, errBadRefresh
	} else if err != nil {
		return nil, err
	}
	if old.UsedAt != nil && old.RevokedAt == nil {
		if err := a.Tokens.RevokeRefreshFamily(ctx, old.FamilyID); err != nil {
			return nil, err
		}
		if err := a.audit(ctx, &hg.AuditEvent{ActorID: &old.UserID, Action: "refresh.reused", EntityType: "User", EntityID: &old.UserID, Detail: "token family revoked"}); err != nil {
			return nil, err
		}
		return nil, hg.Errorf(hg.EUNAUTHENTICATED, "refresh token was already used; please log in again")
	}
	if old.UsedAt != nil || old.RevokedAt != nil || !old.ExpiresAt.After(time.Now()) {
		return nil, errBadRefresh
	}
	// The token itself may predate a logout that raced its rotation; the
	// session's state says.
	st, err := a.Tokens.SessionState(ctx, old.UserID, old.FamilyID)
	if hg.ErrorCode(err) == hg.ENOTFOUND {
		return nil, errBadRefresh
	} else if err != nil {
		return nil, err
	}
	if st.Revoked || st.Status != hg.UserActive {
		return nil, errBadRefresh
	}
	u, err := a.Users.UserByID(ctx, old.UserID)
	if err != nil {
		return nil, err
	}
	// u may come from the cache; what the access token asserts comes from
	// Postgres.
	u.Role, u.TokenVersion = st.Role, st.TokenVersion
	return a.open(ctx, u, old.FamilyID)
}

var errBadRefresh = hg.Errorf(hg.EUNAUTHENTICATED, "invalid refresh token")

// Logout revokes the session the refresh token belongs to: its refresh
// tokens and, from the next request on, its access tokens. Logging out with
// an unknown or spent token is not an error: the session is gone either way.
func (a *Accounts) Logout(ctx context.Context, token string) error {
	if token == "" {
		return hg.Invalid("refreshToken", "refresh token is required")
	}
	t, err := a.Tokens.UseRefreshToken(ctx, hashRefreshToken(token))
	if hg.ErrorCode(err) == hg.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if err := a.Tokens.RevokeRefreshFamily(ctx, t.FamilyID); err != nil {
		return err
	}
	return a.audit(ctx, &hg.AuditEvent{ActorID: &t.UserID, Action: "logout", EntityType: "User", EntityID: &t.UserID})
}

// refuse audits a refused login and returns the one refusal error.
func (a *Accounts) refuse(ctx context.Context, e *hg.AuditEvent) error {
	if err := a.audit(ctx, e); err != nil {
		return err
	}
	return errBadCredentials
}

// open issues an access token and a refresh token in session family; the
// access token carries u's role and token version.
func (a *Accounts) open(ctx context.Context, u *hg.User, family uuid.UUID) (*Session, error) {
	access, exp, err := a.Access.issue(u, family)
	if err != nil {
		return nil, err
	}
	refresh, hash := newRefreshToken()
	rt := &hg.RefreshToken{UserID: u.ID, FamilyID: family, Hash: hash, ExpiresAt: time.Now().Add(a.RefreshTTL)}
	if err := a.Tokens.CreateRefreshToken(ctx, rt); err != nil {
		return nil, err
	}
	return &Session{AccessToken: access, RefreshToken: refresh, ExpiresAt: exp, User: u}, nil
}

// audit records an account event. It fails closed: an account change or
// login that cannot be audited does not happen.
func (a *Accounts) audit(ctx context.Context, e *hg.AuditEvent) error {
	return a.Audit.Audit(ctx, e)
}
