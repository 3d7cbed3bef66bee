package resolvers_test

import (
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/auth"
	"github.com/healthgraph/healthgraph/internal/eventually"
	"github.com/healthgraph/healthgraph/internal/faultproxy"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
	"github.com/healthgraph/healthgraph/server/servertest"
)

const (
	logoutMut   = `mutation($t: String!) { logout(refreshToken: $t) }`
	setRoleMut  = `mutation($id: ID!, $role: Role!) { setUserRole(userId: $id, role: $role) { role } }`
	changePwMut = `mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) {
		accessToken refreshToken user { role } } }`
)

// refused fails the test unless every access token is refused with 401
// UNAUTHENTICATED.
func refused(t *testing.T, env *servertest.Env, what string, tokens ...string) {
	t.Helper()
	for i, tok := range tokens {
		if r := env.Do(t, tok, meQuery, nil); r.Status != 401 || r.Code() != hg.EUNAUTHENTICATED {
			t.Fatalf("%s: access token %d answered %d %q, want 401 UNAUTHENTICATED", what, i, r.Status, r.Code())
		}
	}
}

// accepted fails the test unless every access token still reads me.
func accepted(t *testing.T, env *servertest.Env, what string, tokens ...string) {
	t.Helper()
	for i, tok := range tokens {
		if r := env.Do(t, tok, meQuery, nil); r.Code() != "" {
			t.Fatalf("%s: access token %d was refused: %+v", what, i, r.Errors)
		}
	}
}

// refreshRefused fails the test unless every refresh token is refused.
func refreshRefused(t *testing.T, env *servertest.Env, what string, tokens ...string) {
	t.Helper()
	for i, tok := range tokens {
		if r := env.Do(t, "", refreshMut, map[string]any{"t": tok}); r.Code() != hg.EUNAUTHENTICATED {
			t.Fatalf("%s: refresh token %d answered %q, want UNAUTHENTICATED", what, i, r.Code())
		}
	}
}

func refresh(t *testing.T, env *servertest.Env, token string) session {
	t.Helper()
	var out struct{ RefreshToken session }
	env.Do(t, "", refreshMut, map[string]any{"t": token}).Decode(t, &out)
	return out.RefreshToken
}

func TestLogoutEndsTheSessionsAccessTokensAtOnce(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	env.User(t, "l@example.com", hg.RolePatient)
	s := login(t, env, "l@example.com", servertest.Password)
	rotated := refresh(t, env, s.RefreshToken)
	other := login(t, env, "l@example.com", servertest.Password)
	accepted(t, env, "before logout", s.AccessToken, rotated.AccessToken)

	var out struct{ Logout bool }
	env.Do(t, rotated.AccessToken, logoutMut, map[string]any{"t": rotated.RefreshToken}).Decode(t, &out)
	refused(t, env, "replayed after logout", rotated.AccessToken, s.AccessToken)
	refreshRefused(t, env, "after logout", rotated.RefreshToken)
	accepted(t, env, "another session of the same user", other.AccessToken)
}

func TestStolenRefreshTokenEndsTheWholeSession(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	env.User(t, "v@example.com", hg.RolePatient)

	t.Run("thief replays after the victim rotated", func(t *testing.T) {
		victim := login(t, env, "v@example.com", servertest.Password)
		stolen := victim // the thief copied both tokens
		next := refresh(t, env, victim.RefreshToken)
		refreshRefused(t, env, "the thief's replay", stolen.RefreshToken)
		refused(t, env, "after reuse", next.AccessToken, stolen.AccessToken)
		refreshRefused(t, env, "the victim's rotated token", next.RefreshToken)
	})
	t.Run("victim replays after the thief rotated", func(t *testing.T) {
		victim := login(t, env, "v@example.com", servertest.Password)
		thief := refresh(t, env, victim.RefreshToken)
		accepted(t, env, "the thief's fresh token before detection", thief.AccessToken)
		refreshRefused(t, env, "the victim's now spent token", victim.RefreshToken)
		refused(t, env, "after reuse", thief.AccessToken, victim.AccessToken)
		refreshRefused(t, env, "the thief's rotated token", thief.RefreshToken)
	})
	if n := env.Count(t, `SELECT count(*) FROM audit_events WHERE action = 'refresh.reused'`); n != 2 {
		t.Fatalf("refresh.reused audit rows = %d, want 2", n)
	}
}

func TestRoleChangeEndsEverySessionOfTheUser(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	_, admin := env.User(t, "admin@example.com", hg.RoleAdmin)
	u, issued := env.User(t, "staff@example.com", hg.RoleReception)
	s := login(t, env, "staff@example.com", servertest.Password)
	setRole := func(role string) {
		t.Helper()
		env.Do(t, admin, setRoleMut, map[string]any{"id": gid("User", u.ID), "role": role}).Decode(t, &struct{}{})
	}

	setRole("RECEPTION") // no change: nobody is logged out
	accepted(t, env, "after setting the same role", issued, s.AccessToken)

	setRole("BILLING")
	refused(t, env, "after the role change", issued, s.AccessToken)
	refreshRefused(t, env, "after the role change", s.RefreshToken)
	accepted(t, env, "the admin who changed it", admin)

	var out struct {
		Login struct {
			AccessToken string
			User        struct{ Role string }
		}
	}
	env.Do(t, "", loginMut, map[string]any{"e": "staff@example.com", "p": servertest.Password}).Decode(t, &out)
	if out.Login.User.Role != "BILLING" {
		t.Fatalf("new login role = %s, want BILLING", out.Login.User.Role)
	}
	p, err := env.Tokens.Verify(out.Login.AccessToken)
	if err != nil || p.Role != hg.RoleBilling {
		t.Fatalf("new access token carries %+v (%v), want role BILLING", p, err)
	}
	var me struct{ Me struct{ Role string } }
	env.Do(t, out.Login.AccessToken, meQuery, nil).Decode(t, &me)
	if me.Me.Role != "BILLING" {
		t.Fatalf("me.role = %s, want BILLING", me.Me.Role)
	}
}

func TestChangePasswordEndsOtherSessionsAndOpensAFreshOne(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	u, issued := env.User(t, "p@example.com", hg.RolePatient)
	here := login(t, env, "p@example.com", servertest.Password)
	elsewhere := login(t, env, "p@example.com", servertest.Password)
	const newPassword = "a-brand-new-passw0rd"

	t.Run("refuses bad input and changes nothing", func(t *testing.T) {
		for _, tt := range []struct {
			name, current, next, wantField string
		}{
			{"wrong current password", "not-my-passw0rd", newPassword, "currentPassword"},
			{"weak new password", servertest.Password, "short1", "newPassword"},
			{"same password", servertest.Password, servertest.Password, "newPassword"},
			{"empty current password", "", newPassword, "currentPassword"},
		} {
			r := env.Do(t, here.AccessToken, changePwMut, map[string]any{"c": tt.current, "n": tt.next})
			if r.Code() != hg.EINVALID || r.Field() != tt.wantField {
				t.Fatalf("%s: code, field = %q, %q; want %q, %q", tt.name, r.Code(), r.Field(), hg.EINVALID, tt.wantField)
			}
		}
		accepted(t, env, "after refused changes", here.AccessToken, elsewhere.AccessToken, issued)
		if r := env.Do(t, "", changePwMut, map[string]any{"c": servertest.Password, "n": newPassword}); r.Code() != hg.EUNAUTHENTICATED {
			t.Fatalf("anonymous changePassword: code %q, want UNAUTHENTICATED", r.Code())
		}
	})

	var out struct{ ChangePassword session }
	env.Do(t, here.AccessToken, changePwMut, map[string]any{"c": servertest.Password, "n": newPassword}).Decode(t, &out)
	fresh := out.ChangePassword
	refused(t, env, "after the password change", here.AccessToken, elsewhere.AccessToken, issued)
	refreshRefused(t, env, "after the password change", here.RefreshToken, elsewhere.RefreshToken)
	accepted(t, env, "the fresh session", fresh.AccessToken)
	accepted(t, env, "the fresh session, refreshed", refresh(t, env, fresh.RefreshToken).AccessToken)

	if r := env.Do(t, "", loginMut, map[string]any{"e": "p@example.com", "p": servertest.Password}); r.Code() != hg.EUNAUTHENTICATED {
		t.Fatalf("login with the old password: code %q, want UNAUTHENTICATED", r.Code())
	}
	login(t, env, "p@example.com", newPassword)
	for action, want := range map[string]int{"password.changed": 1, "password.change_refused": 1} {
		if n := env.Count(t, `SELECT count(*) FROM audit_events WHERE action = $1 AND entity_id = $2`, action, u.ID); n != want {
			t.Fatalf("%s audit rows = %d, want %d", action, n, want)
		}
	}
}

// TestRevokedTokensStayRefusedThroughARedisOutage revokes sessions while
// Redis is unreachable, with the user already in the cache, and checks
// the tokens are refused during the outage and after Redis returns.
func TestRevokedTokensStayRefusedThroughARedisOutage(t *testing.T) {
	t.Parallel()
	proxy, err := faultproxy.Start("127.0.0.1:6379")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	env := servertest.StartWith(t, pgtest.New(t, postgres.Options{}), servertest.Config(), servertest.Options{
		RedisURL: "redis://" + proxy.Addr() + "/0", RedisPrefix: servertest.NewPrefix(t)})
	_, admin := env.User(t, "admin@example.com", hg.RoleAdmin)
	env.User(t, "leaving@example.com", hg.RoleReception)
	u, _ := env.User(t, "staff@example.com", hg.RoleReception)
	loggedOut := login(t, env, "leaving@example.com", servertest.Password)
	demoted := login(t, env, "staff@example.com", servertest.Password)
	accepted(t, env, "before the outage", loggedOut.AccessToken, demoted.AccessToken) // the user is now cached

	proxy.Cut()
	env.Do(t, "", logoutMut, map[string]any{"t": loggedOut.RefreshToken}).Decode(t, &struct{}{})
	env.Do(t, admin, setRoleMut, map[string]any{"id": gid("User", u.ID), "role": "BILLING"}).Decode(t, &struct{}{})
	refused(t, env, "during the outage", loggedOut.AccessToken, demoted.AccessToken)

	proxy.Restore()
	eventually.True(t, "Redis to come back through the proxy", env.Redis.Healthy)
	refused(t, env, "after Redis returned", loggedOut.AccessToken, demoted.AccessToken)
}

func TestLoginUpgradesABcryptHashWithoutEndingOtherSessions(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	u, _ := env.User(t, "legacy@example.com", hg.RolePatient)
	elsewhere := login(t, env, "legacy@example.com", servertest.Password)
	legacy, err := bcrypt.GenerateFromPassword([]byte(servertest.Password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	// A row as the service left it before argon2id: no session ends.
	if _, err := env.DB.Pool.Exec(t.Context(), `UPDATE users SET password_hash = $2 WHERE id = $1`, u.ID, string(legacy)); err != nil {
		t.Fatal(err)
	}
	here := login(t, env, "legacy@example.com", servertest.Password)
	if h, err := env.DB.PasswordHash(t.Context(), u.ID); err != nil || auth.NeedsRehash(h, auth.TestParams) {
		t.Fatalf("stored hash after login %q (%v), want argon2id at the test parameters", h, err)
	}
	accepted(t, env, "after the upgrade", elsewhere.AccessToken, here.AccessToken)
	if r := refresh(t, env, elsewhere.RefreshToken); r.AccessToken == "" {
		t.Fatal("the other session's refresh token was refused after the upgrade")
	}
}

// TestLoginCostsOnePasswordComparisonWhetherOrNotTheAccountExists is not
// parallel: it counts the process's password comparisons, which other
// tests would add to. The medians are reported, not asserted.
func TestLoginCostsOnePasswordComparisonWhetherOrNotTheAccountExists(t *testing.T) {
	env := servertest.New(t)
	env.User(t, "known@example.com", hg.RolePatient)
	const tries = 20
	measure := func(email string) time.Duration {
		before := auth.Comparisons()
		took := make([]time.Duration, tries)
		for i := range took {
			start := time.Now()
			r := env.Do(t, "", loginMut, map[string]any{"e": email, "p": "wrong-password-1"})
			took[i] = time.Since(start)
			if r.Code() != hg.EUNAUTHENTICATED {
				t.Fatalf("login as %s: code %q, want UNAUTHENTICATED", email, r.Code())
			}
		}
		if n := auth.Comparisons() - before; n != tries {
			t.Fatalf("%d logins as %s ran %d password comparisons, want %d", tries, email, n, tries)
		}
		slices.Sort(took)
		return took[tries/2]
	}
	unknown, wrong := measure("unknown@example.com"), measure("known@example.com")
	t.Logf("median login time over %d tries: unknown email %v, wrong password %v", tries, unknown, wrong)
}
