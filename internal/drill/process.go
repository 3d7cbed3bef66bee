// Package drill holds what the failure drills (cmd/rollout-drill,
// cmd/redis-drill, cmd/failure-drill) share: real healthgraph processes on
// loopback, a database of their own, GraphQL requests that keep the error
// code, and latency percentiles. Only drills import it.
package drill

import (
	"bufio"
	"context"
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
)

// Process is one running healthgraph subcommand, usually `serve`.
type Process struct {
	Name, URL, Log string
	cmd            *exec.Cmd
	done           chan struct{} // closed when the process has exited
	exitCode       int
}

// FreeAddr finds a free loopback port by listening and closing. Another
// process could take it in between; on loopback in a drill that race is
// accepted, and the process then fails to become ready, which drills report.
func FreeAddr() (string, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// StartServe starts `bin serve` on a free loopback port with env, logging
// to logDir/name.log.
func StartServe(bin, name string, env []string, logDir string) (*Process, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	p, err := Start(bin, []string{"serve"}, name, append(append([]string(nil), env...), "HG_HTTP_ADDR="+addr), logDir)
	if err != nil {
		return nil, err
	}
	p.URL = "http://" + addr
	return p, nil
}

// Start starts bin with args and env, logging to logDir/name.log. It is not
// bound to a context on purpose: an interrupted drill must not SIGKILL
// processes mid-drain; Stop ends them.
func Start(bin string, args []string, name string, env []string, logDir string) (*Process, error) {
	logPath := filepath.Join(logDir, name+".log")
	f, err := os.Create(logPath) //nolint:gosec // a file in the drill's own directory
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...) //nolint:gosec,noctx // the binary under test
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	p := &Process{Name: name, Log: logPath, cmd: cmd, done: make(chan struct{}), exitCode: -1}
	go func() {
		_ = cmd.Wait()
		f.Close()
		p.exitCode = cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	return p, nil
}

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// ExitCode is the exit code once Done is closed (-1 for a signal).
func (p *Process) ExitCode() int { return p.exitCode }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

var probe = &http.Client{Timeout: 2 * time.Second}

// get fetches a path of the process's HTTP server.
func (p *Process) get(ctx context.Context, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+path, nil)
	if err != nil {
		return nil, err
	}
	return probe.Do(req) //nolint:gosec // a loopback process the drill started
}

// WaitReady polls /ready until it answers 200.
func (p *Process) WaitReady(ctx context.Context, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		if code, _ := p.Ready(ctx); code == http.StatusOK {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited with code %d before it was ready (see %s)", p.Name, p.exitCode, p.Log)
		case <-ctx.Done():
			return fmt.Errorf("%s not ready within %s (see %s)", p.Name, limit, p.Log)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Ready returns /ready's status (0 when unreachable) and its checks.
func (p *Process) Ready(ctx context.Context) (int, map[string]string) {
	resp, err := p.get(ctx, "/ready")
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var body struct{ Checks map[string]string }
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Checks
}

// Metrics scrapes /metrics into a map from series (name{labels}) to
// value; Sum adds series up.
func (p *Process) Metrics(ctx context.Context) (Series, error) {
	resp, err := p.get(ctx, "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := Series{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		// The value is the last field; label values may hold spaces.
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(line[i+1:], &v); err == nil {
			out[line[:i]] = v
		}
	}
	return out, sc.Err()
}

// Series are scraped samples by series.
type Series map[string]float64

// Sum adds up the series of metric name that carry every one of labels
// (each written as in the exposition, e.g. `result="hit"`).
func (s Series) Sum(name string, labels ...string) float64 {
	var t float64
	for series, v := range s {
		n, rest, _ := strings.Cut(series, "{")
		if n != name {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(rest, l)
		}
		if ok {
			t += v
		}
	}
	return t
}

// Terminate sends SIGTERM and waits up to limit for the exit, as the
// kubelet does with terminationGracePeriodSeconds; past it the process is
// killed and the exit code reports that.
func (p *Process) Terminate(limit time.Duration) (exitCode int, took time.Duration, err error) {
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return -1, 0, err
	}
	select {
	case <-p.done:
		return p.exitCode, time.Since(start), nil
	case <-time.After(limit):
		_ = p.cmd.Process.Kill()
		<-p.done
		return p.exitCode, time.Since(start), fmt.Errorf("%s did not exit within %s of SIGTERM and was killed", p.Name, limit)
	}
}

// Kill sends SIGKILL, as a node failure or the OOM killer would, and waits
// for the exit.
func (p *Process) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Stop ends a process that may still run when the drill ends: SIGTERM,
// then SIGKILL after five seconds.
func (p *Process) Stop() {
	if p.Exited() {
		return
	}
	_, _, _ = p.Terminate(5 * time.Second)
}

// LogLines returns the lines of the process's log that contain any of
// the needles, for reports.
func (p *Process) LogLines(needles ...string) []string {
	b, err := os.ReadFile(p.Log)
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
