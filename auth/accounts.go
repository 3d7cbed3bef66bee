package auth

import (
	"context"
	"errors"
	"log/slog"
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
	// Params are the argon2id costs of new password hashes; the zero value
	// means DefaultParams. Tests set TestParams.
	Params Params
	// Logger receives what goes wrong without failing a request (a hash
	// upgrade that was not stored); nil discards it.
	Logger *slog.Logger
	// Upgrades, when set, counts the hash upgrades logins attempt.
	Upgrades HashUpgrades
}

// HashUpgrades counts the password hashes logins re-hash at the current
// parameters.
type HashUpgrades interface {
	// PasswordHashUpgrade is told whether the new hash was stored.
	PasswordHashUpgrade(stored bool)
}

func (a *Accounts) params() Params {
	if a.Params == (Params{}) {
		return DefaultParams
	}
	return a.Params
}

func (a *Accounts) logger() *slog.Logger {
	if a.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return a.Logger
}

// HashPassword returns a hash of password at the accounts' parameters.
func (a *Accounts) HashPassword(ctx context.Context, password string) (string, error) {
	return HashPassword(ctx, password, a.params())
}

// checkPassword reports whether password matches hash. An empty hash (no
// such account) or a malformed one still spends the time of a comparison
// at the accounts' parameters, so neither answers faster than a wrong
// password. It fails only when ctx ends first.
func (a *Accounts) checkPassword(ctx context.Context, hash, password string) (bool, error) {
	if hash != "" {
		ok, err := CheckPassword(ctx, hash, password)
		if !errors.Is(err, ErrMalformedHash) {
			return ok, err
		}
		a.logger().WarnContext(ctx, "a stored password hash is malformed; its account cannot log in")
	}
	dummy, err := dummyHash(ctx, a.params())
	if err != nil {
		return false, err
	}
	if _, err := CheckPassword(ctx, dummy, password); err != nil {
		return false, err
	}
	return false, nil
}

// upgradeHash stores a new hash of a password that just matched when its
// stored hash is not argon2id at the accounts' parameters (a bcrypt hash,
// or older parameters). The account's sessions stay open. It never fails
// the login: a hash not stored is logged and counted, and the next login
// tries again.
func (a *Accounts) upgradeHash(ctx context.Context, u *hg.User, password string) {
	p := a.params()
	if !NeedsRehash(u.PasswordHash, p) {
		return
	}
	hash, err := HashPassword(ctx, password, p)
	if err == nil {
		err = a.Users.UpgradePasswordHash(ctx, u.ID, u.PasswordHash, hash)
	}
	if a.Upgrades != nil {
		a.Upgrades.PasswordHashUpgrade(err == nil)
	}
	if err != nil {
		a.logger().WarnContext(ctx, "password hash upgrade not stored; the login goes on", "error", err)
	}
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
	hash, err := a.HashPassword(ctx, password)
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
		if _, err := a.checkPassword(ctx, "", password); err != nil {
			return nil, err
		}
		return nil, a.refuse(ctx, &hg.AuditEvent{Action: "login.failed", EntityType: "User", Detail: "unknown account"})
	} else if err != nil {
		return nil, err
	}
	ok, err := a.checkPassword(ctx, u.PasswordHash, password)
	if err != nil {
		return nil, err
	}
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
	a.upgradeHash(ctx, u, password)
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
