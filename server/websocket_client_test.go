package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
	"github.com/healthgraph/healthgraph/ratelimit"
	"github.com/healthgraph/healthgraph/server/servertest"
)

// TestGraphQLWSClientReauthenticatesWithoutLockingOutTheClinic runs the
// npm graphql-ws client, as frontends use it and as docs/security.md
// configures it (testdata/wsclient/client.mjs), against a server whose
// access tokens live 4 s and whose anonymous limit is 30 requests a minute
// per IP: a client that reconnected in a loop would spend it and lock the
// shared IP's logins out.
func TestGraphQLWSClientReauthenticatesWithoutLockingOutTheClinic(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("testdata", "wsclient")
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("skipping the graphql-ws client test: node is not installed")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "graphql-ws")); err != nil {
		t.Skip("skipping the graphql-ws client test: run `npm ci` in server/testdata/wsclient first")
	}
	cfg := servertest.Config()
	cfg.WebSocketSessionCheck = 100 * time.Millisecond
	cfg.RateLimits.Anonymous = ratelimit.PerMinute(30)
	cfg.RateLimits.Auth = ratelimit.PerMinute(10)
	env := servertest.StartWith(t, pgtest.New(t, postgres.Options{}), cfg, servertest.Options{
		RedisURL: servertest.RedisURL, RedisPrefix: servertest.NewPrefix(t), AccessTTL: 4 * time.Second})
	u, _ := env.User(t, "reception@clinic.test", hg.RoleReception)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "client.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HG_URL="+env.URL, "HG_EMAIL="+u.Email, "HG_PASSWORD="+servertest.Password)
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Fatalf("client.mjs failed: %v\n%s", err, exit.Stderr)
	} else if err != nil {
		t.Fatal(err)
	}
	type ending struct {
		Code     int
		Reason   string
		Connects int
	}
	var got struct {
		Expiry, Logout, DeadToken, Stock ending
		Refresh, RefreshAfterLogout      struct{ Code string }
		LoginAfter                       struct {
			Code string
			OK   bool
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("client.mjs printed %q: %v", out, err)
	}
	t.Logf("graphql-ws client saw %s", out)

	for _, c := range []struct {
		what string
		ok   bool
		got  any
		want string
	}{
		{"token expiry ends the subscription", got.Expiry.Code == 4401 && got.Expiry.Reason == "access token expired",
			got.Expiry, `4401 "access token expired"`},
		{"the client does not reconnect by itself on 4401", got.Expiry.Connects == 1, got.Expiry.Connects, "1 connect"},
		{"the refresh the documentation prescribes works", got.Refresh.Code == "", got.Refresh.Code, "no error"},
		{"logout ends the refreshed socket", got.Logout.Code == 4401 && got.Logout.Reason == "session ended",
			got.Logout, `4401 "session ended"`},
		{"one reconnect, with the refreshed token, between expiry and logout", got.Logout.Connects == 2, got.Logout.Connects, "2 connects in all"},
		{"after logout the refresh is refused", got.RefreshAfterLogout.Code == hg.EUNAUTHENTICATED, got.RefreshAfterLogout.Code, hg.EUNAUTHENTICATED},
		{"a reconnect with the dead token is refused with a re-authenticate code", got.DeadToken.Code == 4401 || got.DeadToken.Code == 4403,
			got.DeadToken, "4401 or 4403"},
		{"the documented client tries a dead token once", got.DeadToken.Connects == 1, got.DeadToken.Connects, "1 connect"},
		// graphql-ws's stock settings retry 4403 five times, with backoff
		// of 1+2+4+8+16 s (plus jitter): at most 6 connects a minute.
		{"a client on graphql-ws's stock settings stops after its retries", got.Stock.Connects >= 1 && got.Stock.Connects <= 6,
			got.Stock.Connects, "1 to 6 connects"},
		{"the shared IP can still log in", got.LoginAfter.OK && got.LoginAfter.Code == "", got.LoginAfter, "a token, no RATE_LIMITED"},
	} {
		if !c.ok {
			t.Errorf("%s: got %+v, want %s", c.what, c.got, c.want)
		}
	}
}
