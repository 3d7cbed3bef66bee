package server_test

import (
	"testing"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/internal/eventually"
	"github.com/healthgraph/healthgraph/internal/faultproxy"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
	"github.com/healthgraph/healthgraph/server/servertest"
)

// session logs in through env's API and returns both tokens.
func session(t *testing.T, env *servertest.Env, email string) (access, refresh string) {
	t.Helper()
	var out struct {
		Login struct{ AccessToken, RefreshToken string }
	}
	env.Do(t, "", `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken } }`,
		map[string]any{"e": email, "p": servertest.Password}).Decode(t, &out)
	return out.Login.AccessToken, out.Login.RefreshToken
}

// readsMe fails the test unless token reads me on env (want true) or is
// refused with 401 UNAUTHENTICATED (want false).
func readsMe(t *testing.T, env *servertest.Env, token string, want bool, when string) {
	t.Helper()
	r := env.Do(t, token, `{ me { id } }`, nil)
	switch {
	case want && r.Code() != "":
		t.Fatalf("%s: me answered %d %q, want it read", when, r.Status, r.Code())
	case !want && (r.Status != 401 || r.Code() != hg.EUNAUTHENTICATED):
		t.Fatalf("%s: me answered %d %q, want 401 UNAUTHENTICATED", when, r.Status, r.Code())
	}
}

func sessionHits(t *testing.T, env *servertest.Env) float64 {
	t.Helper()
	return metric(t, env, "healthgraph_cache_requests_total", "kind", "session", "result", "hit")
}

// Replica B checks sessions from its memory, yet a logout on replica A
// refuses the token on B's very next request: A waits until B has dropped
// the session. With B's broadcast cut, B forgets what it held and asks
// Postgres, so a logout on A is refused there too; once the broadcast is
// back B serves from memory again.
func TestLogoutOnOneReplicaRefusesTheTokenOnTheOtherAtOnce(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t, postgres.Options{})
	prefix := servertest.NewPrefix(t)
	proxy, err := faultproxy.Start("127.0.0.1:6379")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	a := servertest.StartWith(t, db, servertest.Config(), servertest.Options{RedisURL: servertest.RedisURL, RedisPrefix: prefix})
	b := servertest.StartWith(t, db, servertest.Config(), servertest.Options{RedisURL: "redis://" + proxy.Addr() + "/0", RedisPrefix: prefix})
	a.User(t, "s@example.com", hg.RolePatient)
	live := func(env *servertest.Env, want bool) func() bool {
		return func() bool { return env.Sessions.Live() == want }
	}
	eventually.True(t, "replica A's session broadcast is live", live(a, true))
	eventually.True(t, "replica B's session broadcast is live", live(b, true))

	t.Run("broadcast live", func(t *testing.T) {
		access, refresh := session(t, a, "s@example.com")
		readsMe(t, b, access, true, "on B before logout")
		hits := sessionHits(t, b)
		readsMe(t, b, access, true, "on B again")
		if got := sessionHits(t, b); got != hits+1 {
			t.Fatalf("B's second request hit the session cache %v times, want 1: B must serve the session from memory", got-hits)
		}
		if r := a.Do(t, access, `mutation($t: String!) { logout(refreshToken: $t) }`, map[string]any{"t": refresh}); r.Code() != "" {
			t.Fatalf("logout on A: %+v", r.Errors)
		}
		readsMe(t, b, access, false, "on B right after the logout on A")
		readsMe(t, a, access, false, "on A after its logout")
	})

	t.Run("broadcast cut", func(t *testing.T) {
		access, refresh := session(t, a, "s@example.com")
		readsMe(t, b, access, true, "on B before the cut")
		proxy.Cut()
		eventually.True(t, "replica B notices its broadcast is cut", live(b, false))
		if r := a.Do(t, access, `mutation($t: String!) { logout(refreshToken: $t) }`, map[string]any{"t": refresh}); r.Code() != "" {
			t.Fatalf("logout on A: %+v", r.Errors)
		}
		readsMe(t, b, access, false, "on B, broadcast cut, after the logout on A")

		proxy.Restore()
		eventually.True(t, "replica B's broadcast is back", live(b, true))
		again, _ := session(t, a, "s@example.com")
		readsMe(t, b, again, true, "on B after the broadcast is back")
		hits := sessionHits(t, b)
		readsMe(t, b, again, true, "on B again")
		if got := sessionHits(t, b); got != hits+1 {
			t.Fatalf("B hit the session cache %v times after the broadcast came back, want 1", got-hits)
		}
	})
}

// A password change on one replica ends, on the other, every session of
// the account that the other holds in memory.
func TestPasswordChangeOnOneReplicaEndsSessionsHeldByTheOther(t *testing.T) {
	t.Parallel()
	a, b := replicas(t, nil)
	a.User(t, "p@example.com", hg.RolePatient)
	eventually.True(t, "both replicas' broadcasts are live", func() bool { return a.Sessions.Live() && b.Sessions.Live() })
	first, _ := session(t, a, "p@example.com")
	second, _ := session(t, a, "p@example.com")
	readsMe(t, b, first, true, "first session on B")
	readsMe(t, b, second, true, "second session on B")
	r := a.Do(t, second, `mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { accessToken } }`,
		map[string]any{"c": servertest.Password, "n": "another-passw0rd-77"})
	if r.Code() != "" {
		t.Fatalf("changePassword on A: %+v", r.Errors)
	}
	readsMe(t, b, first, false, "first session on B after the password change on A")
	readsMe(t, b, second, false, "second session on B after the password change on A")
}
