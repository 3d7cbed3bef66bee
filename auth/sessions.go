package auth

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
)

// Authenticate checks an access token and that its session still holds,
// and returns its principal. The signature is checked first, so a forged
// token costs no database work; then the token is compared with the
// user's current role, status and token version, and its session must not
// be revoked. The service wires Tokens so that this state comes from the
// replica's memory, kept exact by a broadcast between replicas, and from
// Postgres whenever that broadcast is not confirmed (cache.Sessions): a
// Redis outage can never let a revoked token in. A token that no longer
// holds is UNAUTHENTICATED; a store failure
// keeps its own code (UNAVAILABLE), so a client does not throw away a good
// token because the database blinked.
func (a *Accounts) Authenticate(ctx context.Context, token string) (*hg.Principal, error) {
	p, err := a.Access.Verify(token)
	if err != nil {
		return nil, err
	}
	if err := a.SessionLive(ctx, p); err != nil {
		return nil, err
	}
	return p, nil
}

// SessionLive refuses p when its session was logged out or revoked, the
// account is no longer active, its role changed or its password did.
// Authenticate asks it once per request; a subscription asks it before
// every event, since its connection outlives the token's checks.
func (a *Accounts) SessionLive(ctx context.Context, p *hg.Principal) error {
	s, err := a.Tokens.SessionState(ctx, p.UserID, p.SessionID)
	if hg.ErrorCode(err) == hg.ENOTFOUND {
		return errBadToken
	} else if err != nil {
		return err
	}
	if s.Revoked || s.Status != hg.UserActive || s.TokenVersion != p.TokenVersion || s.Role != p.Role {
		return errBadToken
	}
	return nil
}

// ChangePassword replaces the caller's password after checking the current
// one, ends every session of the account (this one included) and opens a
// fresh one. A wrong current password counts as a failed login, so this
// mutation is no way around the lockout.
func (a *Accounts) ChangePassword(ctx context.Context, p *hg.Principal, current, next string) (*Session, error) {
	if current == "" {
		return nil, hg.Invalid("currentPassword", "current password is required")
	}
	u, err := a.Users.UserByID(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	if err := ValidatePassword(next, u.Email); err != nil {
		return nil, asField(err, "newPassword")
	} else if next == current {
		return nil, hg.Invalid("newPassword", "new password must differ from the current one")
	}
	hash, err := a.Users.PasswordHash(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	ok, err := a.checkPassword(ctx, hash, current)
	if err != nil {
		return nil, err
	}
	if u.LockedUntil != nil && u.LockedUntil.After(time.Now()) {
		return nil, a.refusePasswordChange(ctx, u, "account locked")
	} else if !ok {
		if _, err := a.Users.RecordLoginFailure(ctx, u.ID, a.LockThreshold, time.Now().Add(a.LockDuration)); err != nil {
			return nil, err
		}
		return nil, a.refusePasswordChange(ctx, u, "wrong current password")
	}
	newHash, err := a.HashPassword(ctx, next)
	if err != nil {
		return nil, err
	}
	// Audited in the change's own transaction.
	changed := hg.WithAudit(ctx, hg.AuditEvent{ActorID: &u.ID, ActorRole: u.Role, Action: "password.changed",
		EntityType: "User", Detail: "all sessions ended"})
	if u, err = a.Users.SetPassword(changed, u.ID, newHash); err != nil {
		return nil, err
	}
	return a.open(ctx, u, uuid.New())
}

// refusePasswordChange audits a refused password change and says the
// current password is wrong, whatever the reason.
func (a *Accounts) refusePasswordChange(ctx context.Context, u *hg.User, why string) error {
	if err := a.audit(ctx, &hg.AuditEvent{ActorID: &u.ID, ActorRole: u.Role, Action: "password.change_refused",
		EntityType: "User", EntityID: &u.ID, Detail: why}); err != nil {
		return err
	}
	return hg.Invalid("currentPassword", "current password is wrong")
}

// asField returns err with its input field renamed, for a policy check
// reused under another argument name.
func asField(err error, field string) error {
	var e *hg.Error
	if !errors.As(err, &e) {
		return err
	}
	c := *e
	c.Field = field
	return &c
}
