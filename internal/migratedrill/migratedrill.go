// Package migratedrill is `hg-drill migrate`: it reverts and reapplies the
// real migrations, one at a time with the real runner (`healthgraph migrate
// down|up --steps 1`, as the chart's hook Job runs it), on a database seeded
// at the load-test scale while several clients keep writing to the tables
// those migrations lock, and reports the longest wait of any write during
// each migration.
//
// The writes are the ones the migrations could block: bookings (inserts into
// appointments, indexed by 0008 and checked by 0022's trigger), claims (inserted,
// counted by 0009's triggers) and patient updates (0008 changes a column's
// statistics target). Each client writes at a steady pace for -lead before a
// migration, during it and for -lead after; a write counts for a migration
// when it was in flight at any moment the migration ran.
//
// The drill exits 1 when a write failed or, with -max-wait above zero, when
// one waited longer than that. On a database it made it drops the database;
// on one given with -db it deletes the rows it wrote and leaves every
// migration applied, as it found it. docs/drills.md has the method and the
// figures.
package migratedrill

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/healthgraph/healthgraph/internal/drill"
)

// options are the drill's flags.
type options struct {
	bin, postgres, db, scale string
	clients, from, rate      int
	lead, maxWait            time.Duration
	keep                     bool
}

// Main runs the drill with args as its flags.
func Main(ctx context.Context, args []string) error {
	o, err := parse(args)
	if err != nil {
		return err
	}
	problems, err := run(ctx, o, os.Stdout)
	if err != nil {
		return err
	}
	return drill.Check(problems)
}

func parse(args []string) (options, error) {
	pg := os.Getenv("HG_TEST_DATABASE_URL")
	if pg == "" {
		pg = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	var o options
	fs := flag.NewFlagSet("hg-drill migrate", flag.ContinueOnError)
	fs.StringVar(&o.bin, "bin", "", "the healthgraph binary")
	fs.StringVar(&o.postgres, "postgres", pg, "a Postgres URL whose role may create databases")
	fs.StringVar(&o.db, "db", "", "drill on this database, already seeded and fully migrated, instead of a new one (the drill deletes the rows it wrote)")
	fs.StringVar(&o.scale, "scale", "large", "seed scale of a new database: small (10k patients) or large (200k patients, 2M appointments)")
	fs.IntVar(&o.from, "from", 8, "revert, then reapply, every migration from this version to the newest")
	fs.IntVar(&o.clients, "clients", 8, "concurrent writers")
	fs.IntVar(&o.rate, "rate", 20, "writes per second per client")
	fs.DurationVar(&o.lead, "lead", 2*time.Second, "writing before and after each migration")
	fs.DurationVar(&o.maxWait, "max-wait", time.Second, "fail when a write waits longer during a migration; 0 only reports")
	fs.BoolVar(&o.keep, "keep", false, "keep the new database")
	if err := drill.ParseFlags(fs, args); err != nil {
		return o, err
	}
	switch {
	case o.bin == "":
		return o, fmt.Errorf("%w: -bin is required (make drill-migrate builds it)", drill.ErrUsage)
	case o.scale != "small" && o.scale != "large":
		return o, fmt.Errorf("%w: -scale must be small or large", drill.ErrUsage)
	case o.clients < 1 || o.clients > 64 || o.rate < 1 || o.rate > 200:
		return o, fmt.Errorf("%w: -clients must be 1..64 and -rate 1..200", drill.ErrUsage)
	case o.lead < 0 || o.maxWait < 0:
		return o, fmt.Errorf("%w: -lead and -max-wait must not be negative", drill.ErrUsage)
	}
	return o, nil
}

// step is one migration run under writes, and what the writes saw.
type step struct {
	version     int
	name, dir   string
	took        time.Duration
	writes      []write // those in flight while the migration ran
	runnerLines string  // what the runner printed
}

func run(ctx context.Context, o options, out io.Writer) ([]string, error) {
	logDir, err := os.MkdirTemp("", "migrate-drill-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(logDir)
	url := o.db
	env := drill.BaseEnv()
	if url == "" {
		name := "hg_drill_" + drill.RandomHex(4)
		if err := drill.CreateDatabase(ctx, o.postgres, name); err != nil {
			return nil, err
		}
		url = drill.WithDatabase(o.postgres, name)
		if o.keep {
			fmt.Fprintf(out, "database %s is kept\n", name)
		} else {
			defer drill.DropDatabase(o.postgres, name) //nolint:errcheck // best effort on the way out
		}
		env = cliEnv(env, url)
		fmt.Fprintf(out, "seeding %s at scale %s (minutes for large)\n", name, o.scale)
		start := time.Now()
		if _, err := cli(ctx, o.bin, env, logDir, "migrate", "up"); err != nil {
			return nil, err
		}
		if _, err := cli(ctx, o.bin, append(env, "HG_SEED_PASSWORD="+drill.RandomHex(12)), logDir, "seed", "--scale", o.scale); err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "seeded in %s\n", time.Since(start).Round(time.Second))
	} else {
		env = cliEnv(env, url)
	}

	cfg, err := pgxpool.ParseConfig(withParam(url, "application_name=hg-drill-migrate"))
	if err != nil {
		return nil, err
	}
	// A connection per client: a write never waits for the pool, only for
	// the database.
	cfg.MaxConns = int32(o.clients) //nolint:gosec // at most 64
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	versions, err := drilled(ctx, pool, o.from)
	if err != nil {
		return nil, err
	}
	w, err := newWriters(ctx, pool, o.clients, o.rate)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := w.cleanUp(context.WithoutCancel(ctx)); err != nil {
			fmt.Fprintf(out, "deleting the drill's rows: %v\n", err)
		}
	}()
	fmt.Fprintf(out, "%s; %d clients writing %d/s each\n", w.describe(), o.clients, o.rate)

	// The baseline: the same writes with no migration running.
	baseline := step{name: "no migration", dir: "-"}
	baseline.writes = w.during(ctx, o.lead, func() error {
		t0 := time.Now()
		<-time.After(o.lead)
		baseline.took = time.Since(t0)
		return nil
	})
	steps := []step{baseline}
	var problems []string
	migrate := func(dir string, v version) bool {
		s := step{version: v.number, name: v.name, dir: dir}
		var runErr error
		s.writes = w.during(ctx, o.lead, func() error {
			t0 := time.Now()
			s.runnerLines, runErr = cli(ctx, o.bin, env, logDir, "migrate", dir, "--steps", "1")
			s.took = time.Since(t0)
			return runErr
		})
		steps = append(steps, s)
		if runErr != nil {
			problems = append(problems, fmt.Sprintf("migrate %s of %04d_%s: %v", dir, v.number, v.name, runErr))
			return false
		}
		return true
	}
	ok := true
	for i := len(versions) - 1; i >= 0 && ok; i-- {
		ok = migrate("down", versions[i])
	}
	for i := 0; i < len(versions) && ok; i++ {
		ok = migrate("up", versions[i])
	}
	report(out, steps)
	for _, s := range steps[1:] {
		problems = append(problems, s.problems(o.maxWait)...)
	}
	return problems, nil
}

// version is one applied migration the drill reverts and reapplies.
type version struct {
	number int
	name   string
}

// drilled lists the applied migrations from version from on, oldest first;
// every one of them must be applied, or reverting would skip some.
func drilled(ctx context.Context, pool *pgxpool.Pool, from int) ([]version, error) {
	rows, err := pool.Query(ctx, `SELECT version, name FROM schema_migrations WHERE version >= $1 ORDER BY version`, from)
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations (is the database migrated?): %w", err)
	}
	defer rows.Close()
	var out []version
	for rows.Next() {
		var v version
		if err := rows.Scan(&v.number, &v.name); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no migration from version %d is applied", from)
	}
	for i, v := range out {
		if v.number != out[0].number+i {
			return nil, fmt.Errorf("migration %d is not applied: migrate the database up first", out[0].number+i)
		}
	}
	return out, nil
}

// cliEnv is the runner's environment: the database, no Redis.
func cliEnv(base []string, url string) []string {
	return append(base, "HG_DATABASE_URL="+url, "HG_REDIS_URL=none", "HG_JWT_KEY="+drill.RandomHex(32), "HG_LOG_LEVEL=warn")
}

// cli runs `bin args...` and returns its standard output; its standard
// error goes to a log file, quoted when it fails.
func cli(ctx context.Context, bin string, env []string, logDir string, args ...string) (string, error) {
	logPath := filepath.Join(logDir, strings.Join(args[:min(2, len(args))], "-")+".log")
	f, err := os.Create(logPath) //nolint:gosec // a file in the drill's own directory
	if err != nil {
		return "", err
	}
	defer f.Close()
	cmd := exec.CommandContext(ctx, bin, args...) //nolint:gosec // the binary under test
	cmd.Env = env
	cmd.Stderr = f
	stdout, err := cmd.Output()
	if err != nil {
		logged, _ := os.ReadFile(logPath) //nolint:gosec // the file written just above
		return string(stdout), fmt.Errorf("healthgraph %s: %w\n%s", strings.Join(args, " "), err, tail(string(logged), 2000))
	}
	return strings.TrimSpace(string(stdout)), nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// withParam adds a query parameter to a Postgres URL.
func withParam(url, kv string) string {
	if strings.Contains(url, "?") {
		return url + "&" + kv
	}
	return url + "?" + kv
}

// problems are the step's broken expectations: a failed write, or one that
// waited longer than maxWait (when above zero).
func (s step) problems(maxWait time.Duration) []string {
	var out []string
	failed := 0
	var firstErr error
	for _, w := range s.writes {
		if w.err != nil {
			failed++
			if firstErr == nil {
				firstErr = w.err
			}
		}
	}
	if failed > 0 {
		out = append(out, fmt.Sprintf("%s: %d of %d writes failed, first: %v", s.label(), failed, len(s.writes), firstErr))
	}
	if longest := s.longest(); maxWait > 0 && longest.took > maxWait {
		out = append(out, fmt.Sprintf("%s: a write (%s) waited %s, over -max-wait %s", s.label(), longest.op, longest.took.Round(time.Millisecond), maxWait))
	}
	return out
}

func (s step) label() string {
	if s.version == 0 {
		return s.name
	}
	return fmt.Sprintf("%04d_%s %s", s.version, s.name, s.dir)
}

// longest is the write that waited longest.
func (s step) longest() write {
	var l write
	for _, w := range s.writes {
		if w.took > l.took {
			l = w
		}
	}
	return l
}

func report(out io.Writer, steps []step) {
	fmt.Fprintf(out, "\n%32s %9s %7s %7s %9s %9s %9s  %s\n", "migration", "took", "writes", "failed", "p50", "p99", "longest", "longest write")
	for _, s := range steps {
		lat := make([]time.Duration, 0, len(s.writes))
		failed := 0
		for _, w := range s.writes {
			lat = append(lat, w.took)
			if w.err != nil {
				failed++
			}
		}
		sorted := drill.Sorted(lat)
		fmt.Fprintf(out, "%32s %9s %7d %7d %9s %9s %9s  %s\n", s.label(), ms(s.took), len(s.writes), failed,
			ms(sorted.Pct(50)), ms(sorted.Pct(99)), ms(s.longest().took), s.longest().op)
	}
}

func ms(d time.Duration) string {
	if d >= 10*time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}

// errNoRows is returned when the seeded database lacks what the writes need.
var errNoRows = errors.New("the database lacks patients, practitioners or claims: seed it first (healthgraph seed --scale)")
