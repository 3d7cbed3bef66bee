package failuredrill

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/healthgraph/healthgraph/internal/drill"
	"github.com/healthgraph/healthgraph/postgres"
)

// parse adds the flags every drill takes to fs, parses o.args and checks
// the common ones.
func parse(fs *flag.FlagSet, o *options) error {
	pg := os.Getenv("HG_TEST_DATABASE_URL")
	if pg == "" {
		pg = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	fs.StringVar(&o.bin, "bin", "", "the healthgraph binary")
	fs.StringVar(&o.postgres, "postgres", pg, "a Postgres URL whose role may create databases (pg-restart and disk-full start their own)")
	fs.DurationVar(&o.phase, "phase", 5*time.Second, "length of each phase of load")
	fs.IntVar(&o.rate, "rate", 20, "requests per second")
	fs.BoolVar(&o.keep, "keep", false, "keep the database and the logs")
	if err := drill.ParseFlags(fs, o.args); err != nil {
		return err
	}
	if o.bin == "" {
		return fmt.Errorf("%w: -bin is required (make drill-<name> builds it)", drill.ErrUsage)
	}
	if o.rate < 1 || o.rate > 1000 || o.phase < time.Second || o.phase > 10*time.Minute {
		return errors.New("-rate must be 1..1000 and -phase 1s..10m")
	}
	return nil
}

// stack is a fresh database, migrated, with an administrator, and the
// replicas serving it.
type stack struct {
	o                 *options
	server, url, name string
	dir               string
	env               []string
	db                *postgres.DB // the drill's own pool: setup and checks
	replicas          []*drill.Process
	token             string // the administrator's
	client            *http.Client
}

const adminEmail, adminPassword = "admin@drill.test", "failure-drill-2026" //nolint:gosec // a throw-away account in the drill's own database

// newStack creates the database on serverURL and migrates it; env is added
// to every process's environment.
func newStack(ctx context.Context, o *options, serverURL string, env ...string) (*stack, error) {
	dir, err := os.MkdirTemp("", "failure-drill-")
	if err != nil {
		return nil, err
	}
	s := &stack{o: o, server: serverURL, name: "hg_drill_" + drill.RandomHex(4), dir: dir, client: &http.Client{Timeout: 15 * time.Second}}
	// On failure what was set up goes, so callers close only a stack they got.
	ready := false
	defer func() {
		if !ready {
			s.close()
		}
	}()
	if err := drill.CreateDatabase(ctx, serverURL, s.name); err != nil {
		return nil, err
	}
	s.url = drill.WithDatabase(serverURL, s.name)
	s.env = append(append(drill.BaseEnv(), "HG_DATABASE_URL="+s.url, "HG_JWT_KEY="+drill.RandomHex(32), "HG_LOG_LEVEL=info",
		"HG_REDIS_URL=none", "HG_AUTO_MIGRATE=false",
		"HG_RATE_LIMIT_USER=100000", "HG_RATE_LIMIT_ANON=100000", "HG_RATE_LIMIT_AUTH=10000"), env...)
	if err := s.cli(ctx, "migrate", "up"); err != nil {
		return nil, err
	}
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte(adminPassword), 0o600); err != nil {
		return nil, err
	}
	if err := s.cli(ctx, "admin", "create", "--email", adminEmail, "--role", "ADMIN", "--password-file", pw); err != nil {
		return nil, err
	}
	sep := "?"
	if strings.Contains(s.url, "?") {
		sep = "&"
	}
	// Named, so that counts of the replicas' connections leave it out.
	if s.db, err = postgres.Open(ctx, s.url+sep+"application_name=failure-drill", postgres.Options{MaxConns: 4}); err != nil {
		return nil, err
	}
	ready = true
	return s, nil
}

// cli runs a one-off healthgraph subcommand against the stack's database.
func (s *stack) cli(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, s.o.bin, args...) //nolint:gosec // the binary under test
	cmd.Env = s.env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %w: %s", args, err, out)
	}
	return nil
}

// serve starts a replica with extra environment and waits until it is
// ready; the first one also logs the administrator in.
func (s *stack) serve(ctx context.Context, name string, env ...string) (*drill.Process, error) {
	p, err := drill.StartServe(s.o.bin, name, append(append([]string(nil), s.env...), env...), s.dir)
	if err != nil {
		return nil, err
	}
	s.replicas = append(s.replicas, p)
	if err := p.WaitReady(ctx, 30*time.Second); err != nil {
		return nil, err
	}
	if s.token == "" {
		data, err := drill.PostGraphQL(s.client, p.URL, "", map[string]any{
			"query":     `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`,
			"variables": map[string]any{"e": adminEmail, "p": adminPassword}})
		if err != nil {
			return nil, fmt.Errorf("login: %w", err)
		}
		s.token = field(data["login"], "accessToken")
	}
	return p, nil
}

// gql sends one operation as the administrator.
func (s *stack) gql(url, query string, vars map[string]any) (map[string]json.RawMessage, error) {
	return drill.PostGraphQL(s.client, url, s.token, map[string]any{"query": query, "variables": vars})
}

// field is a string field of a JSON object, "" when absent.
func field(obj json.RawMessage, name string) string {
	var m map[string]any
	_ = json.Unmarshal(obj, &m)
	v, _ := m[name].(string)
	return v
}

// count runs a count query on the drill's own pool.
func (s *stack) count(ctx context.Context, sql string, args ...any) (int, error) {
	var n int
	err := s.db.Pool.QueryRow(ctx, sql, args...).Scan(&n)
	return n, err
}

// close stops the replicas and, unless -keep, drops the database.
func (s *stack) close() {
	for _, r := range s.replicas {
		r.Stop()
	}
	if s.db != nil {
		s.db.Close()
	}
	if s.o.keep {
		fmt.Printf("kept database %s and logs in %s\n", s.name, s.dir)
		return
	}
	_ = drill.DropDatabase(s.server, s.name)
	_ = os.RemoveAll(s.dir)
}
