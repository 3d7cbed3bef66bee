package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/auth"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/server"
	"github.com/healthgraph/healthgraph/server/servertest"
)

// closeWait bounds how long a test waits for a close frame that must come;
// it is a failure bound, not a measurement: the frames come within a
// second of their cause.
const closeWait = 20 * time.Second

// socketEnv starts a server whose sockets re-check their sessions every
// 50 ms, so a test waits for a close frame, not for the default interval.
func socketEnv(t *testing.T) *servertest.Env {
	t.Helper()
	return servertest.New(t, func(c *server.Config, _ *postgres.Options) { c.WebSocketSessionCheck = 50 * time.Millisecond })
}

// shortToken issues u a token that expires within ttl.
func shortToken(t *testing.T, u *hg.User, ttl time.Duration) string {
	t.Helper()
	tokens, err := auth.NewTokens(servertest.Key, ttl)
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := tokens.Issue(u)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// TestWebSocketOperationsAreAuthorizedWhenTheyRun sends operations on a
// socket opened before its user was demoted: they run with the session as
// it is now, so they are refused and the socket closes with 4401, as the
// same token is refused over HTTP.
func TestWebSocketOperationsAreAuthorizedWhenTheyRun(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	ctx := context.Background()
	_, admin := env.User(t, "admin@clinic.test", hg.RoleAdmin)
	patient, err := env.DB.CreatePatient(ctx, hg.NewPatient{NationalID: "1000000091", FirstName: "Salma", FamilyName: "Alotaibi",
		BirthDate: time.Date(1990, 1, 2, 0, 0, 0, 0, time.UTC), Gender: hg.GenderFemale, Phone: "+966500000091"})
	if err != nil {
		t.Fatal(err)
	}
	readPatient := `query($id: ID!) { patient(id: $id) { nationalId phone } }`
	for _, tc := range []struct {
		name        string
		role, to    hg.Role
		query       string
		vars        func(self *hg.User) map[string]any
		allowedOnce bool // the operation succeeds on the socket before the demotion
	}{
		{name: "a reception user demoted to patient no longer reads another patient", role: hg.RoleReception, to: hg.RolePatient,
			query: readPatient, vars: func(*hg.User) map[string]any { return map[string]any{"id": gid("Patient", patient.ID.String())} },
			allowedOnce: true},
		{name: "a demoted administrator cannot make themselves ADMIN again", role: hg.RoleAdmin, to: hg.RoleReception,
			query: `mutation($id: ID!) { setUserRole(userId: $id, role: ADMIN) { role } }`,
			vars:  func(self *hg.User) map[string]any { return map[string]any{"id": userID(self.ID)} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u, token := env.User(t, strings.ToLower(string(tc.role))+"-demoted@clinic.test", tc.role)
			ws, err := servertest.DialSocket(t, env.URL, nil, servertest.Bearer(token))
			if err != nil {
				t.Fatal(err)
			}
			if tc.allowedOnce {
				ws.Subscribe("before", tc.query, tc.vars(u))
				if m, err := ws.Next(5 * time.Second); err != nil || !strings.Contains(string(m.Payload), "1000000091") {
					t.Fatalf("before the demotion got %s %s (%v), want the patient", m.Type, m.Payload, err)
				}
				if m, err := ws.Next(5 * time.Second); err != nil || m.Type != "complete" {
					t.Fatalf("before the demotion got %s %s (%v), want complete", m.Type, m.Payload, err)
				}
			}
			env.Do(t, admin, `mutation($id: ID!, $r: Role!) { setUserRole(userId: $id, role: $r) { id } }`,
				map[string]any{"id": userID(u.ID), "r": tc.to}).Decode(t, &struct{}{})

			ws.Subscribe("after", tc.query, tc.vars(u))
			m, err := ws.Next(5 * time.Second)
			if err != nil {
				t.Fatalf("after the demotion: %v, want an UNAUTHENTICATED answer", err)
			}
			var got struct {
				Data   json.RawMessage
				Errors []servertest.Error
			}
			_ = json.Unmarshal(m.Payload, &got)
			if m.ID != "after" || len(got.Errors) == 0 || got.Errors[0].Extensions["code"] != hg.EUNAUTHENTICATED || len(got.Data) > 0 && string(got.Data) != "null" {
				t.Fatalf("after the demotion got %s %s, want UNAUTHENTICATED without data", m.Type, m.Payload)
			}
			if code, _ := ws.Ended(t, closeWait, "after the refusal"); code != 4401 {
				t.Fatalf("close code %d, want 4401", code)
			}
			if now, err := env.DB.UserByID(ctx, u.ID); err != nil || now.Role != tc.to {
				t.Fatalf("role now %v (%v), want %s", now, err, tc.to)
			}
		})
	}
}

// TestWebSocketClosesWith4401WhenItsTokenExpires holds a subscription open
// past its token's expiry, whichever way the token arrived.
func TestWebSocketClosesWith4401WhenItsTokenExpires(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	u, _ := env.User(t, "doctor@clinic.test", hg.RolePractitioner)
	for _, tc := range []struct {
		name   string
		header func(token string) http.Header
		init   func(token string) map[string]any
	}{
		{name: "token in connection_init", header: func(string) http.Header { return nil }, init: servertest.Bearer},
		{name: "token in the upgrade request's Authorization header",
			header: func(token string) http.Header { return http.Header{"Authorization": {"Bearer " + token}} },
			init:   func(string) map[string]any { return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			token := shortToken(t, u, 3*time.Second)
			ws, err := servertest.DialSocket(t, env.URL, tc.header(token), tc.init(token))
			if err != nil {
				t.Fatal(err)
			}
			ws.Subscribe("1", accountChanged, map[string]any{"id": userID(u.ID)})
			if code, reason := ws.Ended(t, closeWait, "a 3 s token"); code != 4401 {
				t.Fatalf("close %d %q, want 4401", code, reason)
			}
		})
	}
}

// TestWebSocketClosesWith4401WhenItsSessionEnds holds an idle subscription
// open while its session ends elsewhere: the socket closes on its own, with
// no operation sent.
func TestWebSocketClosesWith4401WhenItsSessionEnds(t *testing.T) {
	t.Parallel()
	env := socketEnv(t)
	_, admin := env.User(t, "admin@clinic.test", hg.RoleAdmin)
	for _, tc := range []struct {
		name string
		end  func(t *testing.T, u *hg.User, refresh string)
	}{
		{name: "logout", end: func(t *testing.T, _ *hg.User, refresh string) {
			env.Do(t, "", `mutation($t: String!) { logout(refreshToken: $t) }`, map[string]any{"t": refresh}).Decode(t, &struct{}{})
		}},
		{name: "role change", end: func(t *testing.T, u *hg.User, _ string) {
			env.Do(t, admin, `mutation($id: ID!) { setUserRole(userId: $id, role: BILLING) { id } }`,
				map[string]any{"id": userID(u.ID)}).Decode(t, &struct{}{})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u, _ := env.User(t, strings.ReplaceAll(tc.name, " ", "-")+"@clinic.test", hg.RoleReception)
			var out struct {
				Login struct{ AccessToken, RefreshToken string }
			}
			env.Do(t, "", `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken } }`,
				map[string]any{"e": u.Email, "p": servertest.Password}).Decode(t, &out)
			ws, err := servertest.DialSocket(t, env.URL, nil, servertest.Bearer(out.Login.AccessToken))
			if err != nil {
				t.Fatal(err)
			}
			ws.Subscribe("1", accountChanged, map[string]any{"id": userID(u.ID)})
			tc.end(t, u, out.Login.RefreshToken)
			if code, reason := ws.Ended(t, closeWait, "after "+tc.name); code != 4401 || reason != "session ended" {
				t.Fatalf("close %d %q, want 4401 \"session ended\"", code, reason)
			}
		})
	}
}

// TestWebSocketRefusesADeadTokenWithTheCodeThatSaysWhatToDo reconnects
// with tokens that no longer hold: an expired one is worth refreshing
// (4401), any other is not worth retrying (4403).
func TestWebSocketRefusesADeadTokenWithTheCodeThatSaysWhatToDo(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	u, _ := env.User(t, "doctor@clinic.test", hg.RolePractitioner)
	var out struct {
		Login struct{ AccessToken, RefreshToken string }
	}
	env.Do(t, "", `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken } }`,
		map[string]any{"e": u.Email, "p": servertest.Password}).Decode(t, &out)
	env.Do(t, "", `mutation($t: String!) { logout(refreshToken: $t) }`, map[string]any{"t": out.Login.RefreshToken}).Decode(t, &struct{}{})
	for _, tc := range []struct {
		name  string
		token string
		want  int
	}{
		{"expired a minute ago", shortToken(t, u, -time.Minute), 4401},
		{"logged out", out.Login.AccessToken, 4403},
		{"not a token", "not-a-token", 4403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := servertest.DialSocket(t, env.URL, nil, servertest.Bearer(tc.token))
			if got := websocket.CloseStatus(err); int(got) != tc.want {
				t.Fatalf("connection_init with a token %s: %v, want close %d", tc.name, err, tc.want)
			}
		})
	}
}

// TestWebSocketOriginMustMatchSchemeHostAndPort upgrades from browser
// origins around the allowed https://app.example.com.
func TestWebSocketOriginMustMatchSchemeHostAndPort(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	for _, tc := range []struct {
		origin string
		want   int
	}{
		{"https://app.example.com", http.StatusSwitchingProtocols},
		{"https://APP.example.com:443", http.StatusSwitchingProtocols},
		{"http://app.example.com", http.StatusForbidden},
		{"https://app.example.com:8443", http.StatusForbidden},
		{"wss://app.example.com", http.StatusForbidden},
		{"https://evil.example", http.StatusForbidden},
		{"https://app.example.com.evil.example", http.StatusForbidden},
		{"null", http.StatusForbidden},
		{env.URL, http.StatusSwitchingProtocols}, // the API's own host
		{"", http.StatusSwitchingProtocols},      // not a browser
	} {
		t.Run(fmt.Sprintf("origin %q", tc.origin), func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			if tc.origin != "" {
				h.Set("Origin", tc.origin)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(env.URL, "http")+"/graphql",
				&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}, HTTPHeader: h})
			if c != nil {
				c.CloseNow()
			}
			if resp == nil || resp.StatusCode != tc.want {
				t.Fatalf("upgrade from %q: %v (%v), want status %d", tc.origin, resp, err, tc.want)
			}
		})
	}
}
