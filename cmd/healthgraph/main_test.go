package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/healthgraph/healthgraph/internal/eventually"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
)

// shutdownDelay is long enough that a busy machine still sees the replica
// report not ready before it starts draining.
var shutdownDelay = eventually.Scale(3 * time.Second)

// built is the real healthgraph binary, compiled once for the package's
// tests: linking it takes seconds, more on a busy machine.
var built struct {
	once sync.Once
	bin  string
	err  error
}

// buildBinary returns the path of the real healthgraph binary.
func buildBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "healthgraph-test-bin-")
		if err != nil {
			built.err = err
			return
		}
		built.bin = filepath.Join(dir, "healthgraph")
		if out, err := exec.Command("go", "build", "-o", built.bin, ".").CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.bin != "" {
		_ = os.RemoveAll(filepath.Dir(built.bin))
	}
	os.Exit(code)
}

// freshDatabaseURL names a database that does not exist yet, and drops it
// when the test ends.
func freshDatabaseURL(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("hg_fresh_%d", time.Now().UnixNano())
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), pgtest.ServerURL())
		if err == nil {
			_, _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			conn.Close(context.Background())
		}
	})
	u := pgtest.ServerURL()
	i := strings.LastIndex(u, "/")
	rest := ""
	if q := strings.Index(u[i:], "?"); q >= 0 {
		rest = u[i+q:]
	}
	return u[:i+1] + name + rest
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func gql(t *testing.T, base, token, query string) map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if out["errors"] != nil {
		t.Fatalf("%s: %v", query, out["errors"])
	}
	return out["data"].(map[string]any)
}

func TestFreshDatabaseToSessionAndGracefulStop(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	addr := freePort(t)
	env := append(os.Environ(),
		"HG_DATABASE_URL="+freshDatabaseURL(t),
		"HG_HTTP_ADDR="+addr,
		"HG_JWT_KEY=binary-test-signing-key-0123456789abcdef",
		"HG_AUTO_MIGRATE=false",
		"HG_LOG_LEVEL=warn",
		"HG_SHUTDOWN_DELAY="+shutdownDelay.String(),
	)
	run := func(args ...string) string {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("healthgraph %v: %v\n%s", args, err, out)
		}
		return string(out)
	}

	// migrate up creates the missing database and applies everything.
	if out := run("migrate", "up"); !strings.Contains(out, "applied") {
		t.Fatalf("migrate up printed %q", out)
	}
	if out := run("migrate", "status"); strings.Contains(out, "pending") {
		t.Fatalf("migrations still pending after up:\n%s", out)
	}

	srv := exec.Command(bin, "serve")
	srv.Env = env
	var logs bytes.Buffer
	srv.Stdout, srv.Stderr = &logs, &logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Process.Kill() })
	base := "http://" + addr
	if !eventually.Poll(func() bool { return exec.Command(bin, "healthcheck", "--url", base+"/health").Run() == nil }) {
		t.Fatalf("server never became healthy:\n%s", logs.String())
	}

	gql(t, base, "", `mutation { signup(input: {email: "huda@example.com", password: "fresh-start-2026", fullName: "Huda"}) { id } }`)
	login := gql(t, base, "", `mutation { login(email: "huda@example.com", password: "fresh-start-2026") { accessToken } }`)
	token := login["login"].(map[string]any)["accessToken"].(string)
	me := gql(t, base, token, `{ me { email role } }`)["me"].(map[string]any)
	if me["email"] != "huda@example.com" || me["role"] != "PATIENT" {
		t.Fatalf("me = %v", me)
	}

	// A slow in-flight request: its body trickles in while SIGTERM arrives.
	pr, pw := io.Pipe()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, base+"/graphql", pr)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	type result struct {
		status int
		body   string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- result{status: resp.StatusCode, body: string(b)}
	}()
	// The write returns once the client has sent the headers and read this
	// much of the body: the request is in flight.
	_, _ = io.WriteString(pw, `{"query": "{ me `)
	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// During HG_SHUTDOWN_DELAY the replica says it is not ready, so a load
	// balancer stops sending, yet it still answers what reaches it.
	status := func(path string) int {
		resp, err := http.Get(base + path)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	eventually.True(t, "/ready to answer 503 after SIGTERM", func() bool { return status("/ready") == http.StatusServiceUnavailable })
	if got := status("/health"); got != http.StatusOK {
		t.Fatalf("GET /health during the shutdown delay = %d, want 200", got)
	}
	// When the delay ends the listener closes and the drain begins, with
	// the request above still open.
	eventually.True(t, "the listener to close for the drain", func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	_, _ = io.WriteString(pw, `{ email } }"}`)
	pw.Close()

	r := <-done
	if r.err != nil || r.status != http.StatusOK || !strings.Contains(r.body, "huda@example.com") {
		t.Fatalf("in-flight request during shutdown: status %d body %q err %v", r.status, r.body, r.err)
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("server exited with %v, want 0\n%s", err, logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("server did not exit after SIGTERM\n%s", logs.String())
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("the server still accepts connections after exiting")
	}
}

// TestEveryCommandAnswersHelpWithoutSideEffects runs each command with -h or
// --help against a database nobody listens on: it must print its usage
// and flags and succeed, which it could not if it connected.
func TestEveryCommandAnswersHelpWithoutSideEffects(t *testing.T) {
	t.Setenv("HG_DATABASE_URL", "postgres://postgres@127.0.0.1:1/healthgraph?sslmode=disable&connect_timeout=2")
	t.Setenv("HG_REDIS_URL", "none")
	tests := []struct {
		args []string
		want []string // in the output
	}{
		{[]string{"-h"}, []string{"healthgraph migrate up|down", "healthgraph seed --demo"}},
		{[]string{"--help"}, []string{"healthgraph version"}},
		{[]string{"help"}, []string{"healthgraph phi genkey"}},
		{[]string{"serve", "-h"}, []string{"usage: healthgraph [serve]"}},
		{[]string{"serve", "--help"}, []string{"HG_*"}},
		{[]string{"migrate", "-h"}, []string{"usage: healthgraph migrate", "-steps"}},
		{[]string{"migrate", "up", "--help"}, []string{"-steps"}},
		{[]string{"healthcheck", "--help"}, []string{"usage: healthgraph healthcheck", "-url"}},
		{[]string{"admin", "-h"}, []string{"usage: healthgraph admin create", "-email", "-password-file"}},
		{[]string{"admin", "create", "--help"}, []string{"-role"}},
		{[]string{"seed", "--help"}, []string{"usage: healthgraph seed", "-demo", "-scale"}},
		{[]string{"seed", "--demo", "-h"}, []string{"-if-missing"}},
		{[]string{"phi", "-h"}, []string{"usage: healthgraph phi", "-batch"}},
		{[]string{"phi", "rotate", "--help"}, []string{"-batch"}},
		{[]string{"nphies-mock", "-h"}, []string{"usage: healthgraph nphies-mock", "-fail-rate"}},
		{[]string{"version", "--help"}, []string{"usage: healthgraph version"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out bytes.Buffer
			if err := run(context.Background(), tt.args, strings.NewReader(""), &out); err != nil {
				t.Fatalf("run: %v; want usage and success", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
	// The same database refuses a real command, so the cases above did
	// not reach it.
	if err := run(context.Background(), []string{"migrate", "status"}, strings.NewReader(""), io.Discard); err == nil {
		t.Fatal("migrate status succeeded against a database nobody listens on")
	}
}
