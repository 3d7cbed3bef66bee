package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// build compiles cmd/healthgraph with version stamped in, as a release
// would, into dir.
func build(ctx context.Context, dir, version string) (string, error) {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	bin := filepath.Join(dir, "healthgraph-"+version)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "-ldflags", "-X main.version="+version, "./cmd/healthgraph") //nolint:gosec // fixed arguments
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return bin, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// withDatabase replaces the database name in a Postgres URL.
func withDatabase(u, name string) string {
	i := strings.LastIndex(u, "/")
	rest := ""
	if q := strings.Index(u[i:], "?"); q >= 0 {
		rest = u[i+q:]
	}
	return u[:i+1] + name + rest
}

func createDatabase(ctx context.Context, serverURL, name string) error {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return fmt.Errorf("connect to Postgres: %w", err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	return err
}

// dropDatabase runs on a fresh context so that it still works after an
// interrupt cancelled the drill's.
func dropDatabase(serverURL, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}

// baseEnv is the process environment without any HG_ or OTEL_ setting of
// the caller's, so that only the drill's configuration reaches the
// replicas.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HG_") && !strings.HasPrefix(kv, "OTEL_") {
			env = append(env, kv)
		}
	}
	return env
}

// replica is one running `healthgraph serve`.
type replica struct {
	name, version, url, log string
	cmd                     *exec.Cmd
	done                    chan struct{} // closed when the process has exited
	exitCode                int
	be                      *backend
}

func freeAddr() (string, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// startReplica starts bin serve on a free loopback port. The port is found
// by listening and closing, so another process could take it in between;
// on loopback in a drill that race is accepted, and the replica then fails
// to become ready, which the drill reports.
func startReplica(bin, name, version string, env []string, logDir string) (*replica, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(logDir, name+".log")
	f, err := os.Create(logPath) //nolint:gosec // a file in the drill's own directory
	if err != nil {
		return nil, err
	}
	// Not CommandContext: an interrupt must not SIGKILL replicas mid-drain;
	// stop() ends them.
	cmd := exec.Command(bin, "serve") //nolint:gosec,noctx // the binary under test
	cmd.Env = append(append([]string(nil), env...), "HG_HTTP_ADDR="+addr)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	r := &replica{name: name, version: version, url: "http://" + addr, log: logPath, cmd: cmd, done: make(chan struct{}), exitCode: -1}
	go func() {
		_ = cmd.Wait()
		f.Close()
		r.exitCode = cmd.ProcessState.ExitCode()
		close(r.done)
	}()
	return r, nil
}

// waitReady polls the replica's own /ready until it answers 200.
func (r *replica) waitReady(ctx context.Context, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	c := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.url+"/ready", nil)
		if resp, err := c.Do(req); err == nil { //nolint:gosec // a loopback replica the drill started
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-r.done:
			return fmt.Errorf("%s exited with code %d before it was ready (see %s)", r.name, r.exitCode, r.log)
		case <-ctx.Done():
			return fmt.Errorf("%s not ready within %s (see %s)", r.name, limit, r.log)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// terminate sends SIGTERM and waits up to limit for the exit, as the
// kubelet does with terminationGracePeriodSeconds; past it the process is
// killed and the exit code reports that.
func (r *replica) terminate(limit time.Duration) (exitCode int, took time.Duration, err error) {
	start := time.Now()
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return -1, 0, err
	}
	select {
	case <-r.done:
		return r.exitCode, time.Since(start), nil
	case <-time.After(limit):
		_ = r.cmd.Process.Kill()
		<-r.done
		return r.exitCode, time.Since(start), fmt.Errorf("%s did not exit within %s of SIGTERM and was killed", r.name, limit)
	}
}

// kill ends a replica that is still running when the drill stops early.
func (r *replica) kill() {
	select {
	case <-r.done:
		return
	default:
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
}

// servedVersion is the version the replica's start-up line names, to show
// that the replacement really runs the new build.
func (r *replica) servedVersion() string {
	for _, l := range r.logLines("HealthGraph is serving") {
		var line struct{ Version string }
		if json.Unmarshal([]byte(l), &line) == nil && line.Version != "" {
			return line.Version
		}
	}
	return "unknown"
}

// logLines returns the lines of the replica's log that contain any of the
// needles, for the report.
func (r *replica) logLines(needles ...string) []string {
	b, err := os.ReadFile(r.log)
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		for _, n := range needles {
			if strings.Contains(line, n) {
				out = append(out, line)
				break
			}
		}
	}
	return out
}
