// Command healthgraph is the one HealthGraph binary: the API server and its
// operational commands.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/app"
	"github.com/healthgraph/healthgraph/auth"
	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/observability"
	"github.com/healthgraph/healthgraph/postgres"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `healthgraph — HealthGraph's API server and operational commands

usage:
  healthgraph [serve]                      run the API server (default)
  healthgraph migrate up|down|status       apply, revert (--steps N) or list migrations
  healthgraph healthcheck [--url URL]      exit 0 when a running server's /health answers
  healthgraph admin create --email E --role R [--name N] [--password-file F]
                                           create an account; the password is read from
                                           the file or the first line of standard input
  healthgraph seed --demo [--if-missing]   create a demo clinic and print a login per role (not in production)
  healthgraph seed --patients N [--seed S] add N synthetic patients for benchmarks, with a progress bar
  healthgraph seed --scale small|large [--seed S] [--now T] [--allow-existing]
                                           load a synthetic clinic for load tests (HG_SEED_PASSWORD
                                           is the password of its load-<role>@ logins)
  healthgraph phi status|rotate|reindex     count sealed patient identifiers by key; re-seal them under
                                           the current HG_PHI_KEYS key (rotate) or also recompute the
                                           national-ID index after HG_PHI_INDEX_KEY changed (reindex),
                                           in batches (--batch N), resumable
  healthgraph phi genkey [--id ID]         print a new random key for HG_PHI_KEYS (ID:KEY)
  healthgraph nphies-mock [--addr HOST:PORT] [--fail-rate P] [--timeout-rate P]
                                           serve the mock NPHIES (tests, compose, demos)
  healthgraph version                      print the version

Configuration comes from HG_* environment variables; see the README.
`

// usageError reports a command line a command cannot take, with its usage.
func usageError(usage string) error { return fmt.Errorf("%s", strings.TrimRight(usage, "\n")) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "healthgraph:", err)
		os.Exit(1)
	}
}

// Usage of the commands that have no usage of their own elsewhere; each
// subcommand's -h prints its line and its flags.
const (
	serveUsage       = "usage: healthgraph [serve]\n\nRun the API server. Configuration comes from HG_* environment variables; see the README."
	migrateUsage     = "usage: healthgraph migrate up [--steps N]|down [--steps N]|status"
	healthcheckUsage = "usage: healthgraph healthcheck [--url URL]\n\nExit 0 when a running server's /health answers 200 (the container's HEALTHCHECK)."
	adminUsage       = "usage: healthgraph admin create --email E --role R [--name N] [--password-file F]\n\n" +
		"Create an account; the password is read from the file or the first line of standard input."
	versionUsage = "usage: healthgraph version\n\nPrint the version."
)

// run runs the command args name. A command asked for -h or --help
// prints its usage and flags to stdout and succeeds, having opened
// nothing: flags are parsed before any connection.
func run(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	err := dispatch(ctx, args, stdin, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil // the usage is printed
	}
	return err
}

func dispatch(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) > 0 && (args[0] == "help" || isHelpFlag(args[0])) {
		_, err := fmt.Fprint(stdout, usage)
		return err
	}
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, stdout)
	case "migrate":
		return migrate(ctx, args, stdout)
	case "healthcheck":
		return healthcheck(ctx, args, stdout)
	case "admin":
		return admin(ctx, args, stdin, stdout)
	case "seed":
		return seedData(ctx, args, stdout)
	case "phi":
		return phiCommand(ctx, args, stdout)
	case "nphies-mock":
		return nphiesMock(ctx, args, stdout)
	case "version":
		if err := flagSet("version", versionUsage, args, stdout).Parse(args); err != nil {
			return err
		}
		_, err := fmt.Fprintln(stdout, version)
		return err
	}
	return fmt.Errorf("unknown command %q\n\n%s", cmd, usage)
}

func isHelpFlag(a string) bool { return a == "-h" || a == "-help" || a == "--help" }

// wantsHelp reports whether args ask for usage (before any "--").
func wantsHelp(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if isHelpFlag(a) {
			return true
		}
	}
	return false
}

// flagSet returns a command's flag set. Asked for help, it prints usage
// and the flags to stdout and Parse returns flag.ErrHelp; a bad flag's
// message goes to stderr.
func flagSet(name, usage string, args []string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	out := io.Writer(os.Stderr)
	if wantsHelp(args) {
		out = stdout
	}
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintln(out, usage)
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintln(out, "\nflags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// splitAction separates a command's action word ("up", "rotate") from the
// flags after it; "" when args start with a flag.
func splitAction(args []string) (string, []string) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return args[0], args[1:]
	}
	return "", args
}

func config() (Config, *slog.Logger, error) {
	cfg, err := loadConfig(func(name string) string {
		// The chart and compose set HG_REDIS_URL to "" to mean no Redis;
		// only an unset variable takes the local default.
		if v, set := os.LookupEnv(name); name == "HG_REDIS_URL" && set && strings.TrimSpace(v) == "" {
			return "none"
		}
		return os.Getenv(name)
	})
	if err != nil {
		return cfg, nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return cfg, observability.NewLogger(os.Stdout, cfg.LogLevel), nil
}

// openDB opens the pool on the configured database, creating the database
// first when it is missing and the role may.
func openDB(ctx context.Context, cfg Config, log *slog.Logger, o postgres.Options) (*postgres.DB, error) {
	if err := postgres.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
		log.Warn("could not make sure the database exists", "error", err.Error())
	}
	o.MaxConns = cfg.DBMaxConns
	o.PHI = cfg.PHIKeys
	return postgres.Open(ctx, cfg.DatabaseURL, o)
}

func serve(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flagSet("serve", serveUsage, args, stdout)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(serveUsage)
	}
	cfg, log, err := config()
	if err != nil {
		return err
	}
	log.Info("effective settings", cfg.Effective()...)
	percent, limit := tuneGC(os.Getenv, cgroupMemoryFiles)
	log.Info("garbage collector", "gc_percent", percent, "memory_limit_bytes", limit)
	if cfg.JWTKeyGenerated {
		log.Warn("HG_JWT_KEY is not set: using a random key for this process; tokens will not survive a restart or work across replicas")
	}
	if cfg.PHIKeysDevelopment {
		log.Warn("HG_PHI_KEYS is not set: patients' national IDs and phones are sealed with the public development keys, which protect nothing")
	}
	shutdownTracing, err := observability.Setup(ctx, observability.Config{
		ServiceName: "healthgraph", Version: version, Environment: cfg.Env, SampleRatio: cfg.TraceSampleRatio,
	})
	if err != nil {
		return fmt.Errorf("set up tracing: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := shutdownTracing(sctx); err != nil {
			log.Warn("flushing traces failed", "error", err.Error())
		}
	}()

	metrics := observability.NewMetrics()
	metrics.SetBuildInfo(version)
	db, err := openDB(ctx, cfg, log, postgres.Options{Tracer: metrics.PgxTracer(), StatementTimeout: cfg.DBStatementTimeout})
	if err != nil {
		return err
	}
	defer db.Close()
	metrics.ObservePool(db.Pool.Stat)
	go metrics.ObserveDenials(denialSnapshot(db)).Run(ctx, denialRefresh, log)
	if cfg.AutoMigrate {
		applied, err := db.MigrateUp(ctx)
		if err != nil {
			return fmt.Errorf("auto-migrate: %w", err)
		}
		log.Info("migrations applied", "versions", fmt.Sprint(applied))
	}

	// The client for the requests the desk waits on (checkEligibility). Its
	// timeout leaves a third of the write timeout to record the failure and
	// answer before the server cuts the response.
	deskTimeout := cfg.NPHIESTimeout
	if cfg.WriteTimeout > 0 {
		deskTimeout = min(deskTimeout, cfg.WriteTimeout*2/3)
	}
	// The desk's exchanges (eligibility) are recorded by its client; the
	// worker's and the poller's through their Observer.
	deskOpts := []nphies.Option{nphies.WithTimeout(deskTimeout), nphies.WithExchangeObserver(metrics),
		nphies.WithTransportWrapper(func(rt http.RoundTripper) http.RoundTripper { return metrics.RoundTripper(rt, "nphies") })}
	if cfg.NPHIESCertFile != "" || cfg.NPHIESKeyFile != "" {
		deskOpts = append(deskOpts, nphies.WithClientCertificate(cfg.NPHIESCertFile, cfg.NPHIESKeyFile))
	}
	nphiesClient, err := nphies.NewClient(cfg.NPHIESURL, deskOpts...)
	if err != nil {
		return fmt.Errorf("nphies client: %w", err)
	}
	if notAfter, ok := nphiesClient.CertificateExpiry(); ok {
		metrics.SetNPHIESClientCertExpiry(notAfter)
	}
	a, err := app.New(cfg.App(), app.Deps{DB: db, Logger: log, Metrics: metrics, NPHIESClient: nphiesClient})
	if err != nil {
		return err
	}
	defer func() {
		if err := a.Close(); err != nil {
			log.Warn("closing the redis client failed", "error", err.Error())
		}
	}()
	if !a.Redis.Enabled() {
		log.Info("no Redis configured: cache off, rate limits and events per process, persisted queries in memory")
	}

	// Deferred after db.Close, so it runs first: the worker and poller stop
	// (and the poller's lock is released) before the pool closes.
	stopNPHIES, err := startNPHIES(ctx, cfg, db, a.Outbox, log, metrics)
	if err != nil {
		return err
	}
	defer stopNPHIES()

	l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.HTTPAddr)
	if err != nil {
		return err
	}
	log.Info("HealthGraph is serving", "version", version, "env", cfg.Env,
		"playground", "http://"+displayAddr(l.Addr())+"/playground")
	if err := a.Server.Serve(ctx, l); err != nil {
		return err
	}
	log.Info("stopped cleanly")
	return nil
}

// displayAddr makes a listen address clickable: ":8080" becomes
// "localhost:8080".
func displayAddr(a net.Addr) string {
	host, port, _ := net.SplitHostPort(a.String())
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

func migrate(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flagSet("migrate", migrateUsage, args, stdout)
	steps := fs.Int("steps", 0, "how many migrations `up` applies (default all pending) or down reverts (default 1)")
	action, rest := splitAction(args)
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if action == "" {
		return usageError(migrateUsage)
	}
	cfg, log, err := config()
	if err != nil {
		return err
	}
	db, err := openDB(ctx, cfg, log, postgres.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	switch action {
	case "up":
		if *steps < 0 {
			return errors.New("--steps must not be negative")
		}
		applied, err := db.MigrateUpSteps(ctx, *steps)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "applied %d migration(s) %v\n", len(applied), applied)
		return err
	case "down":
		if *steps == 0 {
			*steps = 1
		}
		if *steps < 1 {
			return errors.New("--steps must be at least 1")
		}
		reverted, err := db.MigrateDown(ctx, *steps)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "reverted %d migration(s) %v\n", len(reverted), reverted)
		return err
	case "status":
		ms, err := db.MigrationStatus(ctx)
		if err != nil {
			return err
		}
		for _, m := range ms {
			state := "pending"
			if m.AppliedAt != nil {
				state = "applied " + m.AppliedAt.UTC().Format(time.RFC3339)
			}
			if _, err := fmt.Fprintf(stdout, "%04d_%-24s %s\n", m.Version, m.Name, state); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown migrate action %q: use up, down or status", action)
}

func healthcheck(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flagSet("healthcheck", healthcheckUsage, args, stdout)
	url := fs.String("url", "http://127.0.0.1:8080/health", "the /health URL of the server")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health check: %s answered %s", *url, resp.Status)
	}
	return nil
}

func admin(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flagSet("admin create", adminUsage, args, stdout)
	email := fs.String("email", "", "the account's email (required)")
	role := fs.String("role", string(hg.RoleAdmin), "the account's role")
	name := fs.String("name", "", "the person's name (defaults to the email)")
	pwFile := fs.String("password-file", "", "read the password from this file instead of standard input")
	action, rest := splitAction(args)
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if action != "create" || fs.NArg() > 0 {
		return usageError(adminUsage)
	}
	password, err := readPassword(*pwFile, stdin)
	if err != nil {
		return err
	}
	addr, err := auth.NormalizeEmail(*email)
	if err != nil {
		return errors.New(hg.ErrorMessage(err))
	}
	if err := auth.ValidatePassword(password, addr); err != nil {
		return errors.New(hg.ErrorMessage(err))
	}
	if *name == "" {
		*name = addr
	}
	cfg, log, err := config()
	if err != nil {
		return err
	}
	db, err := openDB(ctx, cfg, log, postgres.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	accounts := &auth.Accounts{Users: db, Tokens: db, Audit: db}
	u, err := accounts.Create(ctx, addr, password, *name, hg.Role(strings.ToUpper(*role)))
	if err != nil {
		if code := hg.ErrorCode(err); code != hg.EINTERNAL {
			return errors.New(hg.ErrorMessage(err))
		}
		return err
	}
	_, err = fmt.Fprintf(stdout, "created %s account %s (id %s)\n", u.Role, u.Email, u.ID)
	return err
}

// readPassword takes the password from a file or the first line of stdin,
// never from a flag, which would leak it into shell history and ps.
func readPassword(file string, stdin io.Reader) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read password file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	if line = strings.TrimRight(line, "\r\n"); line == "" {
		return "", errors.New("no password given: pipe it on standard input or use --password-file")
	}
	return line, nil
}
