package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/auth"
	"github.com/healthgraph/healthgraph/internal/eventually"
	"github.com/healthgraph/healthgraph/internal/faultproxy"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
	"github.com/healthgraph/healthgraph/ratelimit"
	"github.com/healthgraph/healthgraph/server"
	"github.com/healthgraph/healthgraph/server/servertest"
)

// replicas starts two servers on one database and one Redis prefix: two
// replicas of one deployment.
func replicas(t *testing.T, modify func(*server.Config)) (a, b *servertest.Env) {
	t.Helper()
	cfg := servertest.Config()
	if modify != nil {
		modify(&cfg)
	}
	db := pgtest.New(t, postgres.Options{})
	o := servertest.Options{RedisURL: servertest.RedisURL, RedisPrefix: servertest.NewPrefix(t)}
	return servertest.StartWith(t, db, cfg, o), servertest.StartWith(t, db, cfg, o)
}

func userID(id uuid.UUID) string {
	return base64.RawURLEncoding.EncodeToString([]byte("User:" + id.String()))
}

// reply is a raw GraphQL HTTP exchange, for tests that need headers.
type reply struct {
	status int
	header http.Header
	body   struct {
		Data   map[string]any     `json:"data"`
		Errors []servertest.Error `json:"errors"`
	}
}

func (r reply) code() string {
	if len(r.body.Errors) == 0 {
		return ""
	}
	c, _ := r.body.Errors[0].Extensions["code"].(string)
	return c
}

func post(t testing.TB, url, token string, header map[string]string, body map[string]any) reply {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, url+"/graphql", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /graphql: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(raw, &r.body); err != nil {
		t.Fatalf("POST /graphql answered %d with non-JSON %q", resp.StatusCode, raw)
	}
	return r
}

func TestWriteOnOneReplicaIsReadFreshOnTheOther(t *testing.T) {
	t.Parallel()
	a, b := replicas(t, nil)
	_, admin := a.User(t, "admin@clinic.test", hg.RoleAdmin)
	u, token := a.User(t, "reception@clinic.test", hg.RoleReception)

	var got struct{ Me struct{ Role string } }
	for range 2 { // the second read is served from the cache
		b.Do(t, token, `{ me { role } }`, nil).Decode(t, &got)
	}
	if got.Me.Role != "RECEPTION" {
		t.Fatalf("role through B = %s, want RECEPTION", got.Me.Role)
	}
	if hits := metric(t, b, "healthgraph_cache_requests_total", "kind", "user", "result", "hit"); hits < 1 {
		t.Fatalf("B served no user lookup from the cache (hits %v)", hits)
	}
	a.Do(t, admin, `mutation($id: ID!) { setUserRole(userId: $id, role: BILLING) { role } }`,
		map[string]any{"id": userID(u.ID)}).Decode(t, &struct{}{})
	// A role change ends the user's sessions: B must refuse the old token
	// at once, and a new login there reads the new role.
	if code := b.Do(t, token, `{ me { role } }`, nil).Code(); code != hg.EUNAUTHENTICATED {
		t.Fatalf("after setUserRole through A, B answered the old token with %q, want %s: a stale cache entry was served", code, hg.EUNAUTHENTICATED)
	}
	b.Do(t, login(t, b, u.Email), `{ me { role } }`, nil).Decode(t, &got)
	if got.Me.Role != "BILLING" {
		t.Fatalf("after setUserRole through A, a new login on B reads role %s, want BILLING", got.Me.Role)
	}
}

// login signs in through env's API and returns the access token.
func login(t testing.TB, env *servertest.Env, email string) string {
	t.Helper()
	var out struct{ Login struct{ AccessToken string } }
	env.Do(t, "", `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`,
		map[string]any{"e": email, "p": servertest.Password}).Decode(t, &out)
	return out.Login.AccessToken
}

// metric sums the samples of a counter whose labels include the given
// name/value pairs.
func metric(t testing.TB, env *servertest.Env, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := env.Metrics.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue next
				}
			}
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

const accountChanged = `subscription($id: ID!) { accountChanged(userId: $id) { gap user { role } } }`

type accountEvent struct {
	Data struct {
		AccountChanged struct {
			Gap  bool
			User *struct{ Role string }
		}
	}
	Errors []servertest.Error
}

func TestSubscriptionOnOneReplicaReceivesChangesMadeOnTheOther(t *testing.T) {
	t.Parallel()
	a, b := replicas(t, nil)
	_, admin := a.User(t, "admin@clinic.test", hg.RoleAdmin)
	u, own := a.User(t, "doctor@clinic.test", hg.RolePractitioner)
	_, other := a.User(t, "patient@clinic.test", hg.RolePatient)

	t.Run("a wrong token in connection_init closes the connection", func(t *testing.T) {
		_, err := servertest.DialSocket(t, b.URL, nil, map[string]any{"Authorization": "Bearer not-a-token"})
		if websocket.CloseStatus(err) != 4403 {
			t.Fatalf("init with a bad token: %v, want close 4403", err)
		}
	})
	t.Run("the connection closes when its token expires", func(t *testing.T) {
		short, err := auth.NewTokens(servertest.Key, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		token, _, err := short.Issue(u)
		if err != nil {
			t.Fatal(err)
		}
		ws, err := servertest.DialSocket(t, b.URL, nil, map[string]any{"Authorization": "Bearer " + token})
		if err != nil {
			t.Fatal(err)
		}
		ws.Subscribe("1", accountChanged, map[string]any{"id": userID(u.ID)})
		ws.Ended(t, 10*time.Second, "a 2 s token")
	})
	t.Run("another user's account is refused at subscribe time", func(t *testing.T) {
		ws, err := servertest.DialSocket(t, b.URL, nil, map[string]any{"Authorization": "Bearer " + other})
		if err != nil {
			t.Fatal(err)
		}
		ws.Subscribe("1", accountChanged, map[string]any{"id": userID(u.ID)})
		m, err := ws.Next(5 * time.Second)
		if err != nil || m.Type != "error" && m.Type != "next" {
			t.Fatalf("got %s %s (%v), want an error", m.Type, m.Payload, err)
		}
		if !strings.Contains(string(m.Payload), hg.ENOTFOUND) {
			t.Fatalf("payload %s, want NOT_FOUND", m.Payload)
		}
	})
	t.Run("the account's owner cannot reconnect on B once A changed their role", func(t *testing.T) {
		ws, err := servertest.DialSocket(t, b.URL, nil, map[string]any{"Authorization": "Bearer " + own})
		if err != nil {
			t.Fatal(err)
		}
		ws.Subscribe("1", accountChanged, map[string]any{"id": userID(u.ID)})
		// A role change ends the user's sessions: a new connection with the
		// old token is refused. (One already open closes with 4401 at its
		// next operation or session check: websocket_test.go.)
		a.Do(t, admin, `mutation($id: ID!) { setUserRole(userId: $id, role: BILLING) { id } }`,
			map[string]any{"id": userID(u.ID)}).Decode(t, &struct{}{})
		if _, err := servertest.DialSocket(t, b.URL, nil, map[string]any{"Authorization": "Bearer " + own}); websocket.CloseStatus(err) != 4403 {
			t.Fatalf("reconnect with the revoked token: %v, want close 4403", err)
		}
	})
	for _, tc := range []struct{ name, token string }{{"administrator", admin}} {
		t.Run(tc.name+" on B sees setUserRole through A", func(t *testing.T) {
			ws, err := servertest.DialSocket(t, b.URL, nil, map[string]any{"Authorization": "Bearer " + tc.token})
			if err != nil {
				t.Fatal(err)
			}
			ws.Subscribe("1", accountChanged, map[string]any{"id": userID(u.ID)})
			// graphql-transport-ws has no subscribe acknowledgement: change
			// the role until the first event arrives, then check one exactly.
			roles := []string{"PRACTITIONER", "RECEPTION"}
			for i := 0; ; i++ {
				if i == 20 {
					t.Fatal("no event reached B's subscriber")
				}
				a.Do(t, admin, `mutation($id: ID!, $r: Role!) { setUserRole(userId: $id, role: $r) { id } }`,
					map[string]any{"id": userID(u.ID), "r": roles[i%2]}).Decode(t, &struct{}{})
				if _, err := ws.Next(500 * time.Millisecond); err == nil {
					break
				}
			}
			ws.Drain(300 * time.Millisecond)
			a.Do(t, admin, `mutation($id: ID!) { setUserRole(userId: $id, role: PRACTITIONER) { id } }`,
				map[string]any{"id": userID(u.ID)}).Decode(t, &struct{}{})
			m, err := ws.Next(5 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			var ev accountEvent
			if err := json.Unmarshal(m.Payload, &ev); err != nil || len(ev.Errors) > 0 {
				t.Fatalf("event %s: %v", m.Payload, err)
			}
			if c := ev.Data.AccountChanged; c.Gap || c.User == nil || c.User.Role != "PRACTITIONER" {
				t.Fatalf("event %s, want the account with role PRACTITIONER", m.Payload)
			}
		})
	}
}

func TestSubscriptionIsAuthorizedAgainForEveryEvent(t *testing.T) {
	t.Parallel()
	a, b := replicas(t, nil)
	_, admin := a.User(t, "admin@clinic.test", hg.RoleAdmin)
	watcher, watcherToken := a.User(t, "auditor@clinic.test", hg.RoleAdmin)
	u, _ := a.User(t, "doctor@clinic.test", hg.RolePractitioner)
	setRole := func(id uuid.UUID, role string) {
		a.Do(t, admin, `mutation($id: ID!, $r: Role!) { setUserRole(userId: $id, role: $r) { id } }`,
			map[string]any{"id": userID(id), "r": role}).Decode(t, &struct{}{})
	}
	ws, err := servertest.DialSocket(t, b.URL, nil, map[string]any{"Authorization": "Bearer " + watcherToken})
	if err != nil {
		t.Fatal(err)
	}
	watchUntilAnEvent(t, ws, func(i int) { setRole(u.ID, []string{"PRACTITIONER", "RECEPTION"}[i%2]) }, u.ID)
	// The watcher's token still says ADMIN; the account no longer does.
	setRole(watcher.ID, "RECEPTION")
	setRole(u.ID, "BILLING")
	wantCompleted(t, ws, "after the watcher was demoted")
}

func TestSubscriptionEndsWithItsSession(t *testing.T) {
	t.Parallel()
	a, b := replicas(t, nil)
	_, admin := a.User(t, "admin@clinic.test", hg.RoleAdmin)
	u, _ := a.User(t, "doctor@clinic.test", hg.RolePractitioner)
	a.User(t, "watcher@clinic.test", hg.RoleAdmin)
	var out struct {
		Login struct{ AccessToken, RefreshToken string }
	}
	a.Do(t, "", `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken } }`,
		map[string]any{"e": "watcher@clinic.test", "p": servertest.Password}).Decode(t, &out)
	ws, err := servertest.DialSocket(t, b.URL, nil, map[string]any{"Authorization": "Bearer " + out.Login.AccessToken})
	if err != nil {
		t.Fatal(err)
	}
	setRole := func(i int) {
		a.Do(t, admin, `mutation($id: ID!, $r: Role!) { setUserRole(userId: $id, role: $r) { id } }`,
			map[string]any{"id": userID(u.ID), "r": []string{"PRACTITIONER", "RECEPTION"}[i%2]}).Decode(t, &struct{}{})
	}
	watchUntilAnEvent(t, ws, setRole, u.ID)
	// The watcher logs out elsewhere; the open connection's token has not
	// expired, and the account itself is unchanged.
	a.Do(t, "", `mutation($t: String!) { logout(refreshToken: $t) }`, map[string]any{"t": out.Login.RefreshToken}).Decode(t, &struct{}{})
	setRole(1)
	wantCompleted(t, ws, "after the watcher logged out")
}

// watchUntilAnEvent subscribes ws to the account's changes and calls
// change until an event arrives, then drains what is still on its way.
func watchUntilAnEvent(t *testing.T, ws *servertest.Socket, change func(i int), account uuid.UUID) {
	t.Helper()
	ws.Subscribe("1", accountChanged, map[string]any{"id": userID(account)})
	for i := 0; ; i++ {
		if i == 20 {
			t.Fatal("no event reached the watcher")
		}
		change(i)
		if _, err := ws.Next(500 * time.Millisecond); err == nil {
			break
		}
	}
	ws.Drain(300 * time.Millisecond)
}

// wantCompleted fails the test unless the next message ends the
// subscription instead of delivering the event.
func wantCompleted(t *testing.T, ws *servertest.Socket, what string) {
	t.Helper()
	m, err := ws.Next(5 * time.Second)
	if err != nil || m.Type != "complete" {
		t.Fatalf("%s got %s %s (%v), want the subscription completed without the event", what, m.Type, m.Payload, err)
	}
}

func TestRateLimitIsSharedAcrossReplicas(t *testing.T) {
	t.Parallel()
	const n = 6
	a, b := replicas(t, func(c *server.Config) { c.RateLimits.Anonymous = ratelimit.PerMinute(n) })
	admitted := 0
	for i := range 2 * n {
		env := a
		if i%2 == 1 {
			env = b
		}
		r := post(t, env.URL, "", nil, map[string]any{"query": "{ __typename }"})
		switch r.status {
		case http.StatusOK:
			admitted++
		case http.StatusTooManyRequests:
			if r.code() != hg.ERATELIMITED {
				t.Fatalf("429 with code %q, want RATE_LIMITED", r.code())
			}
			if ra, _ := strconv.Atoi(r.header.Get("Retry-After")); ra < 1 || ra > 60 {
				t.Fatalf("Retry-After = %q", r.header.Get("Retry-After"))
			}
			if r.header.Get("X-RateLimit-Remaining") != "0" || r.header.Get("X-RateLimit-Limit") != strconv.Itoa(n) {
				t.Fatalf("X-RateLimit headers %v", r.header)
			}
		default:
			t.Fatalf("status %d", r.status)
		}
	}
	if admitted != n {
		t.Fatalf("two replicas admitted %d of %d requests, want %d in total", admitted, 2*n, n)
	}
}

func TestBruteForceIsThrottled(t *testing.T) {
	t.Parallel()
	const limit = 3
	login := func(env *servertest.Env, email, ip string) reply {
		return post(t, env.URL, "", map[string]string{"X-Forwarded-For": ip}, map[string]any{
			"query":     `mutation($e: String!) { login(email: $e, password: "wrong-password-1") { accessToken } }`,
			"variables": map[string]any{"e": email}})
	}
	t.Run("one account from many addresses", func(t *testing.T) {
		t.Parallel()
		a, b := replicas(t, func(c *server.Config) {
			c.RateLimits.Auth = ratelimit.PerMinute(limit)
			c.TrustedProxies, _ = ratelimit.ParseProxies([]string{"127.0.0.1/32", "::1/128"})
		})
		a.User(t, "victim@clinic.test", hg.RolePatient)
		for i := range limit + 3 {
			env := []*servertest.Env{a, b}[i%2]
			r := login(env, "Victim@Clinic.test", fmt.Sprintf("203.0.113.%d", i+1))
			want := hg.EUNAUTHENTICATED
			if i >= limit {
				want = hg.ERATELIMITED
			}
			if r.code() != want {
				t.Fatalf("attempt %d from a new address: code %q, want %s", i+1, r.code(), want)
			}
		}
	})
	t.Run("many accounts from one address", func(t *testing.T) {
		t.Parallel()
		// No trusted proxies: a forged X-Forwarded-For must not help.
		a, b := replicas(t, func(c *server.Config) { c.RateLimits.Auth = ratelimit.PerMinute(limit) })
		for i := range limit + 3 {
			env := []*servertest.Env{a, b}[i%2]
			r := login(env, fmt.Sprintf("user%d@clinic.test", i), fmt.Sprintf("198.51.100.%d", i+1))
			want := hg.EUNAUTHENTICATED
			if i >= limit {
				want = hg.ERATELIMITED
			}
			if r.code() != want {
				t.Fatalf("attempt %d on a new account: code %q, want %s", i+1, r.code(), want)
			}
			if want == hg.ERATELIMITED && r.status != http.StatusTooManyRequests {
				t.Fatalf("status %d, want 429", r.status)
			}
		}
	})
	t.Run("aliases count one attempt each", func(t *testing.T) {
		t.Parallel()
		env := servertest.New(t, func(c *server.Config, _ *postgres.Options) { c.RateLimits.Auth = ratelimit.PerMinute(limit) })
		var q strings.Builder
		q.WriteString("mutation {")
		for i := range limit + 1 {
			fmt.Fprintf(&q, ` a%d: login(email: "x%d@clinic.test", password: "p") { accessToken }`, i, i)
		}
		q.WriteString(" }")
		if r := post(t, env.URL, "", nil, map[string]any{"query": q.String()}); r.code() != hg.ERATELIMITED {
			t.Fatalf("%d logins in one operation: code %q, want RATE_LIMITED", limit+1, r.code())
		}
	})
}

func TestComplexityBudgetCatchesExpensiveQueries(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, func(c *server.Config, _ *postgres.Options) {
		c.RateLimits.Complexity = ratelimit.PerMinute(300) // a 50-user page costs about 200
	})
	_, admin := env.User(t, "admin@clinic.test", hg.RoleAdmin)
	expensive := map[string]any{"query": `{ users(first: 50) { edges { node { id email } } } }`}
	if r := post(t, env.URL, admin, nil, expensive); r.status != http.StatusOK || len(r.body.Errors) > 0 {
		t.Fatalf("first expensive query: %d %+v", r.status, r.body.Errors)
	}
	r := post(t, env.URL, admin, nil, expensive)
	if r.status != http.StatusTooManyRequests || r.code() != hg.ERATELIMITED || r.header.Get("Retry-After") == "" {
		t.Fatalf("second expensive query within the minute: %d %q, want 429 RATE_LIMITED with Retry-After", r.status, r.code())
	}
	if r.header.Get("X-RateLimit-Limit") != "300" {
		t.Fatalf("X-RateLimit-Limit = %q, want the complexity budget 300", r.header.Get("X-RateLimit-Limit"))
	}
}

func apqBody(query string, withText bool) map[string]any {
	sum := sha256.Sum256([]byte(query))
	body := map[string]any{"extensions": map[string]any{"persistedQuery": map[string]any{
		"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}}}
	if withText {
		body["query"] = query
	}
	return body
}

func TestPersistedQueriesRoundTripAcrossReplicas(t *testing.T) {
	t.Parallel()
	a, b := replicas(t, nil)
	q := "query Probe { __typename }"
	if r := post(t, b.URL, "", nil, apqBody(q, false)); len(r.body.Errors) == 0 || r.body.Errors[0].Message != "PersistedQueryNotFound" {
		t.Fatalf("unknown hash: %+v, want PersistedQueryNotFound", r.body.Errors)
	}
	if r := post(t, a.URL, "", nil, apqBody(q, true)); len(r.body.Errors) > 0 {
		t.Fatalf("registering through A: %+v", r.body.Errors)
	}
	r := post(t, b.URL, "", nil, apqBody(q, false))
	if len(r.body.Errors) > 0 || r.body.Data["__typename"] != "Query" {
		t.Fatalf("hash only through B: %+v %v, want the registered query to run", r.body.Errors, r.body.Data)
	}
}

func TestAllowListRunsOnlyRegisteredOperations(t *testing.T) {
	t.Parallel()
	allowed := "query Allowed { __typename }"
	file := filepath.Join(t.TempDir(), "operations.json")
	if err := os.WriteFile(file, []byte(`{"operations":[{"body":"query Allowed { __typename }"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ops, err := server.LoadAllowList(file)
	if err != nil {
		t.Fatal(err)
	}
	env := servertest.New(t, func(c *server.Config, _ *postgres.Options) { c.APQAllowList = ops })
	if r := post(t, env.URL, "", nil, apqBody(allowed, false)); len(r.body.Errors) > 0 {
		t.Fatalf("registered hash: %+v", r.body.Errors)
	}
	for name, body := range map[string]map[string]any{
		"unregistered text":           {"query": "{ me { id } }"},
		"unregistered hash with text": apqBody("query Other { __typename }", true),
	} {
		r := post(t, env.URL, "", nil, body)
		if len(r.body.Errors) == 0 || r.body.Errors[0].Extensions["reason"] != "PERSISTED_QUERY_NOT_ALLOWED" {
			t.Fatalf("%s: %+v, want PERSISTED_QUERY_NOT_ALLOWED", name, r.body.Errors)
		}
	}
}

// tcpProxy forwards to Redis and can cut every connection and refuse new
// ones: a Redis outage as the client sees it, without stopping the Redis
func readyRedis(t *testing.T, env *servertest.Env) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, env.URL+"/ready", nil)
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Body.Close()
	var body struct{ Checks map[string]string }
	_ = json.NewDecoder(r2.Body).Decode(&body)
	return r2.StatusCode, body.Checks["redis"]
}

func TestRedisOutageMakesTheServiceSlowerNeverBroken(t *testing.T) {
	t.Parallel()
	proxy, err := faultproxy.Start("127.0.0.1:6379")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	db := pgtest.New(t, postgres.Options{})
	cfg := servertest.Config()
	cfg.RateLimits.Anonymous = ratelimit.PerMinute(1000)
	env := servertest.StartWith(t, db, cfg, servertest.Options{
		RedisURL: "redis://" + proxy.Addr() + "/0", RedisPrefix: servertest.NewPrefix(t)})
	_, admin := env.User(t, "admin@clinic.test", hg.RoleAdmin)
	u, token := env.User(t, "reception@clinic.test", hg.RoleReception)
	// A role change ends the user's sessions, so the load changes the role
	// of another account than the one it reads with.
	other, _ := env.User(t, "billing@clinic.test", hg.RoleBilling)

	if code, redis := readyRedis(t, env); code != http.StatusOK || redis != "ok" {
		t.Fatalf("/ready = %d redis %q with Redis up, want 200 ok", code, redis)
	}
	exercise := func(phase string) {
		t.Helper()
		for i := range 5 {
			for _, c := range []struct {
				token, query string
				vars         map[string]any
			}{
				{token, `{ me { role } }`, nil},
				{"", `{ __typename }`, nil},
				{"", `mutation { login(email: "reception@clinic.test", password: "test-password-42") { accessToken } }`, nil},
				{admin, `mutation($id: ID!, $r: Role!) { setUserRole(userId: $id, role: $r) { role } }`,
					map[string]any{"id": userID(other.ID), "r": []string{"RECEPTION", "BILLING"}[i%2]}},
			} {
				r := post(t, env.URL, c.token, nil, map[string]any{"query": c.query, "variables": c.vars})
				if r.status != http.StatusOK || len(r.body.Errors) > 0 {
					t.Fatalf("%s: %s answered %d %+v", phase, c.query, r.status, r.body.Errors)
				}
			}
		}
		q := fmt.Sprintf("query P%d { __typename }", time.Now().UnixNano())
		if r := post(t, env.URL, "", nil, apqBody(q, true)); len(r.body.Errors) > 0 {
			t.Fatalf("%s: APQ registration: %+v", phase, r.body.Errors)
		}
		if r := post(t, env.URL, "", nil, apqBody(q, false)); len(r.body.Errors) > 0 {
			t.Fatalf("%s: APQ by hash: %+v", phase, r.body.Errors)
		}
	}
	exercise("before the outage")
	var me struct{ Me struct{ Role string } }
	env.Do(t, token, `{ me { role } }`, nil).Decode(t, &me) // cached as RECEPTION

	proxy.Cut()
	fallbacks := metric(t, env, "healthgraph_cache_errors_total", "kind", "ratelimit")
	exercise("during the outage")
	if code, redis := readyRedis(t, env); code != http.StatusOK || redis != "degraded" {
		t.Fatalf("/ready = %d redis %q during the outage, want 200 degraded", code, redis)
	}
	if got := metric(t, env, "healthgraph_cache_errors_total", "kind", "ratelimit"); got <= fallbacks {
		t.Fatal("the limiter did not count its fallback to the in-process store")
	}
	env.Do(t, admin, `mutation($id: ID!) { setUserRole(userId: $id, role: ANALYST) { role } }`,
		map[string]any{"id": userID(u.ID)}).Decode(t, &struct{}{})
	if code := env.Do(t, token, `{ me { role } }`, nil).Code(); code != hg.EUNAUTHENTICATED {
		t.Fatalf("the old token after a role change during the outage: %q, want %s", code, hg.EUNAUTHENTICATED)
	}
	token = login(t, env, u.Email)
	env.Do(t, token, `{ me { role } }`, nil).Decode(t, &me)
	if me.Me.Role != "ANALYST" {
		t.Fatalf("role %s after a change during the outage, want ANALYST", me.Me.Role)
	}

	proxy.Restore()
	eventually.True(t, "/ready to report redis ok after Redis returned", func() bool {
		_, redis := readyRedis(t, env)
		return redis == "ok"
	})
	hits := metric(t, env, "healthgraph_cache_requests_total", "kind", "user", "result", "hit")
	errs := metric(t, env, "healthgraph_cache_errors_total")
	// The entry cached before the outage says RECEPTION; the invalidation
	// lost during the outage must have been replayed.
	env.Do(t, token, `{ me { role } }`, nil).Decode(t, &me)
	if me.Me.Role != "ANALYST" {
		t.Fatalf("role %s after recovery, want ANALYST: a stale entry from before the outage was served", me.Me.Role)
	}
	exercise("after the outage")
	env.Do(t, token, `{ me { role } }`, nil).Decode(t, &me)
	env.Do(t, token, `{ me { role } }`, nil).Decode(t, &me)
	if got := metric(t, env, "healthgraph_cache_requests_total", "kind", "user", "result", "hit"); got <= hits {
		t.Fatal("the cache served no hit after Redis returned")
	}
	if got := metric(t, env, "healthgraph_cache_errors_total"); got != errs {
		t.Fatalf("%v fallbacks after Redis returned, want none", got-errs)
	}
}
