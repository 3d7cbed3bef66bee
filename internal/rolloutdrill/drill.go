package rolloutdrill

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/redis/go-redis/v9"

	"github.com/healthgraph/healthgraph/internal/drill"
)

// swap is the replacement of one old replica.
type swap struct {
	old, replacement string
	// ready is from starting the replacement to the proxy routing to it;
	// drain is from SIGTERM to the old process's exit; total covers the
	// whole swap, preStop included.
	ready, drain, total time.Duration
	exitCode            int
	// oldVersion and newVersion are what the two processes reported
	// serving.
	oldVersion, newVersion string
	shutdownLog            []string
}

// counts are requests sent and failed.
type counts struct{ sent, failed int }

// Report is the outcome of a drill.
type Report struct {
	Sent, Failed int
	ByPhase      [numPhases]counts
	PhaseLatency [numPhases]drill.Latencies
	ByKind       [numKinds]counts
	// Errors maps each distinct failure (kind, phase and message) to how
	// often it happened.
	Errors map[string]int

	InvoicesAcked, InvoicesFound int
	UsersAcked, UsersFound       int
	// Missing are acknowledged ids with no row; Unacknowledged counts rows
	// the load created whose request the client saw fail.
	Missing        []string
	Unacknowledged int

	Migration  time.Duration
	Swaps      []swap
	FinalExits []int
	// Proxy counters: queries sent again after a connection error,
	// mutations whose connection failed, requests with no ready replica.
	Retried, MutationConnErrors, NoBackend int64
	Elapsed                                time.Duration
}

// Problems lists what makes the drill a failure; empty means the upgrade
// had zero downtime.
func (r *Report) Problems() []string {
	var p []string
	if r.Failed > 0 {
		p = append(p, fmt.Sprintf("%d of %d requests failed", r.Failed, r.Sent))
	}
	if r.InvoicesAcked != r.InvoicesFound || r.UsersAcked != r.UsersFound {
		p = append(p, fmt.Sprintf("writes acknowledged %d, found %d", r.InvoicesAcked+r.UsersAcked, r.InvoicesFound+r.UsersFound))
	}
	for _, s := range r.Swaps {
		if s.exitCode != 0 {
			p = append(p, fmt.Sprintf("%s exited with code %d", s.old, s.exitCode))
		}
	}
	for i, c := range r.FinalExits {
		if c != 0 {
			p = append(p, fmt.Sprintf("replacement %d exited with code %d at the end", i+1, c))
		}
	}
	return p
}

// expandDDL stands for v2's migration: additive only, so v1 keeps working
// against it. A nullable column without a default is a catalog change in
// Postgres (no table rewrite); lock_timeout keeps the ALTER from queueing
// behind a long transaction and blocking every query behind it.
var expandDDL = []string{
	`SET LOCAL lock_timeout = '2s'`,
	`CREATE TABLE IF NOT EXISTS rollout_marker (
		version    text PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`,
	`ALTER TABLE invoices ADD COLUMN IF NOT EXISTS external_ref text`,
	`INSERT INTO rollout_marker (version) VALUES ('rollout-v2') ON CONFLICT DO NOTHING`,
}

// run performs the drill. Everything it starts — replicas, the proxy, the
// database, Redis keys — is stopped or removed before it returns, also on
// error, unless o.Keep asks to keep the database and logs.
func run(ctx context.Context, o Options) (rep *Report, err error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	started := time.Now()
	dir, err := os.MkdirTemp("", "rollout-drill-")
	if err != nil {
		return nil, err
	}
	defer func() {
		// Logs are kept when something went wrong: they hold the
		// replicas' side of it.
		if o.Keep || err != nil || rep != nil && len(rep.Problems()) > 0 {
			fmt.Fprintf(out, "logs kept in %s\n", dir)
			return
		}
		_ = os.RemoveAll(dir)
	}()

	binV1, binV2 := o.Bin, o.BinV2
	if binV1 == "" {
		fmt.Fprintln(out, "building healthgraph rollout-v1 and rollout-v2 ...")
		if binV1, err = drill.Build(ctx, dir, "rollout-v1"); err != nil {
			return nil, err
		}
		if binV2, err = drill.Build(ctx, dir, "rollout-v2"); err != nil {
			return nil, err
		}
	} else if binV2 == "" {
		binV2 = binV1
	}

	runID := drill.RandomHex(4)
	dbName := "hg_rollout_" + runID
	if err := drill.CreateDatabase(ctx, o.Postgres, dbName); err != nil {
		return nil, fmt.Errorf("create database: %w", err)
	}
	defer func() {
		if o.Keep {
			fmt.Fprintf(out, "database %s kept\n", dbName)
			return
		}
		if derr := drill.DropDatabase(o.Postgres, dbName); derr != nil {
			err = errors.Join(err, fmt.Errorf("drop database %s: %w", dbName, derr))
		}
	}()
	dbURL := drill.WithDatabase(o.Postgres, dbName)

	env := append(drill.BaseEnv(),
		"HG_DATABASE_URL="+dbURL,
		// The same key on every replica, old and new, so a token issued by
		// one is accepted by all.
		"HG_JWT_KEY="+drill.RandomHex(32),
		"HG_REDIS_URL="+o.Redis,
		"HG_AUTO_MIGRATE=false",
		"HG_NPHIES_WORKER=false",
		"HG_DB_MAX_CONNS=8",
		"HG_SHUTDOWN_TIMEOUT="+o.ShutdownTimeout.String(),
		"HG_RATE_LIMIT_ANON=1000000", "HG_RATE_LIMIT_USER=1000000", "HG_RATE_LIMIT_AUTH=1000000",
		"HG_RATE_LIMIT_COMPLEXITY=0",
		"HG_LOG_LEVEL=info",
	)
	if !strings.EqualFold(o.Redis, "none") {
		prefix := "rollout:" + runID + ":"
		env = append(env, "HG_REDIS_PREFIX="+prefix)
		defer cleanRedis(o.Redis, prefix)
	}

	// Migrations run once, before any replica, as the chart's pre-upgrade
	// hook does; replicas never migrate (HG_AUTO_MIGRATE=false).
	runBin := func(stdin string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, binV1, args...) //nolint:gosec // the binary under test
		cmd.Env = env
		cmd.Stdin = strings.NewReader(stdin)
		b, err := cmd.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("healthgraph %s: %w\n%s", strings.Join(args, " "), err, b)
		}
		return string(b), nil
	}
	if _, err := runBin("", "migrate", "up"); err != nil {
		return nil, err
	}
	if _, err := runBin("", "seed", "--patients", fmt.Sprint(o.Patients), "--seed", "7"); err != nil {
		return nil, err
	}
	const billingEmail, password = "billing@rollout.test", "rollout-drill-2026" //nolint:gosec // a throw-away account in the drill's own database
	if _, err := runBin(password+"\n", "admin", "create", "--email", billingEmail, "--role", "BILLING", "--name", "Rollout Drill"); err != nil {
		return nil, err
	}
	db, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer db.Close(context.Background())
	patients, err := patientIDs(ctx, db)
	if err != nil {
		return nil, err
	}

	// The cluster: v1 replicas behind the proxy.
	var mu sync.Mutex
	var running []*replica
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range running {
			r.Stop()
		}
	}()
	lb := newBalancer()
	pollCtx, stopPoll := context.WithCancel(context.Background())
	defer stopPoll()
	start := func(bin, name, version string) (*replica, error) {
		r, err := startReplica(bin, name, version, env, dir)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		running = append(running, r)
		mu.Unlock()
		if err := r.WaitReady(ctx, 30*time.Second); err != nil {
			return nil, err
		}
		if r.be, err = lb.add(name, r.URL); err != nil {
			return nil, err
		}
		return r, nil
	}
	var olds []*replica
	for i := range o.Replicas {
		r, err := start(binV1, fmt.Sprintf("v1-%d", i+1), "rollout-v1")
		if err != nil {
			return nil, err
		}
		olds = append(olds, r)
	}
	go lb.poll(pollCtx, o.Poll)
	var lc net.ListenConfig
	pl, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	psrv := &http.Server{Handler: lb, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = psrv.Serve(pl) }()
	defer psrv.Close()
	proxyURL := "http://" + pl.Addr().String()
	if err := waitFor(ctx, 10*time.Second, func() bool { return lb.readyCount() == o.Replicas }); err != nil {
		return nil, fmt.Errorf("the proxy never saw %d ready replicas: %w", o.Replicas, err)
	}

	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.Workers}}
	data, err := drill.PostGraphQL(client, proxyURL, "", map[string]any{
		"query":     `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`,
		"variables": map[string]any{"e": billingEmail, "p": password},
	})
	if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	var login struct{ AccessToken string } //nolint:gosec // the drill's own short-lived token, never printed
	if err := jsonField(data, "login", &login); err != nil || login.AccessToken == "" {
		return nil, fmt.Errorf("login answered no token: %w", err)
	}
	var invoicesBefore, usersBefore int
	if err := db.QueryRow(ctx, `SELECT (SELECT count(*) FROM invoices), (SELECT count(*) FROM users)`).Scan(&invoicesBefore, &usersBefore); err != nil {
		return nil, err
	}

	fmt.Fprintf(out, "rollout-drill: %d replicas (v1) behind the proxy at %s; database %s\n", o.Replicas, proxyURL, dbName)
	fmt.Fprintf(out, "load: %d workers, at most %d req/s, at least %s; preStop %s, HG_SHUTDOWN_TIMEOUT %s, grace %s, readiness poll %s, deregister %v\n\n",
		o.Workers, o.Rate, o.Duration, o.PreStop, o.ShutdownTimeout, o.Grace, o.Poll, o.Deregister)

	gen := &loadGen{url: proxyURL, token: login.AccessToken, patients: patients, client: client, runID: runID}
	loadCtx, stopLoad := context.WithCancel(context.Background())
	defer stopLoad()
	loadDone := make(chan struct{})
	loadStart := time.Now()
	go func() { gen.run(loadCtx, o.Workers, o.Rate); close(loadDone) }()

	rep = &Report{Errors: map[string]int{}}
	quarter := o.Duration / 4
	if err := sleep(ctx, quarter); err != nil {
		return nil, err
	}
	gen.phase.Store(phaseDuring)
	rollStart := time.Now()
	fmt.Fprintf(out, "%6.1fs  expand migration ...\n", time.Since(loadStart).Seconds())
	if err := expand(ctx, db); err != nil {
		return nil, fmt.Errorf("expand migration: %w", err)
	}
	rep.Migration = time.Since(rollStart)
	fmt.Fprintf(out, "%6.1fs  expand migration applied in %s\n", time.Since(loadStart).Seconds(), rep.Migration.Round(time.Millisecond))

	var news []*replica
	for i, old := range olds {
		s := swap{old: old.Name, replacement: fmt.Sprintf("v2-%d", i+1)}
		t0 := time.Now()
		nr, err := start(binV2, s.replacement, "rollout-v2")
		if err != nil {
			return nil, err
		}
		news = append(news, nr)
		// The old pod is deleted only once the surge pod is Ready and
		// in the endpoints: maxUnavailable 0.
		if err := waitFor(ctx, 10*time.Second, nr.be.routable); err != nil {
			return nil, fmt.Errorf("the proxy never routed to %s: %w", nr.Name, err)
		}
		s.ready = time.Since(t0)
		s.oldVersion, s.newVersion = old.servedVersion(), nr.servedVersion()
		if o.Deregister {
			old.be.terminating.Store(true)
		}
		if err := sleep(ctx, o.PreStop); err != nil {
			return nil, err
		}
		code, took, terr := old.Terminate(o.Grace - o.PreStop)
		s.exitCode, s.drain, s.total = code, took, time.Since(t0)
		s.shutdownLog = old.LogLines("shutting down", "stopped cleanly", "graceful shutdown", "level=ERROR", "level=WARN")
		lb.remove(old.be)
		rep.Swaps = append(rep.Swaps, s)
		fmt.Fprintf(out, "%6.1fs  %s -> %s: replacement ready in %s, old exited %d after %s of draining (swap %s)\n",
			time.Since(loadStart).Seconds(), s.old, s.replacement, s.ready.Round(time.Millisecond), code,
			took.Round(time.Millisecond), s.total.Round(time.Millisecond))
		if terr != nil {
			fmt.Fprintln(out, "        ", terr)
		}
	}
	gen.phase.Store(phaseAfter)
	rollEnd := time.Since(loadStart)
	if err := sleep(ctx, max(o.Duration-rollEnd, quarter)); err != nil {
		return nil, err
	}
	stopLoad()
	<-loadDone
	stopPoll()
	fmt.Fprintf(out, "%6.1fs  load stopped\n\n", time.Since(loadStart).Seconds())

	if err := verify(ctx, db, gen, rep, invoicesBefore, usersBefore); err != nil {
		return nil, err
	}
	rep.Retried, rep.MutationConnErrors, rep.NoBackend = lb.retried.Load(), lb.mutationErrors.Load(), lb.noBackend.Load()
	for _, r := range news {
		code, _, _ := r.Terminate(o.Grace)
		rep.FinalExits = append(rep.FinalExits, code)
	}
	rep.Elapsed = time.Since(started)
	rep.print(out, o)
	return rep, nil
}

// expand applies the additive migration, retrying when lock_timeout
// expires: giving up the lock quickly and trying again is what keeps
// requests flowing while the ALTER waits.
func expand(ctx context.Context, db *pgx.Conn) error {
	for attempt := 1; ; attempt++ {
		err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
			for _, stmt := range expandDDL {
				if _, err := tx.Exec(ctx, stmt); err != nil {
					return err
				}
			}
			return nil
		})
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "55P03" && attempt < 10 {
			continue
		}
		return err
	}
}

// verify compares the acknowledged writes with the database.
func verify(ctx context.Context, db *pgx.Conn, g *loadGen, rep *Report, invoicesBefore, usersBefore int) error {
	g.rec.mu.Lock()
	defer g.rec.mu.Unlock()
	for _, res := range g.rec.results {
		rep.Sent++
		rep.ByPhase[res.phase].sent++
		rep.ByKind[res.kind].sent++
		if res.err != "" {
			rep.Failed++
			rep.ByPhase[res.phase].failed++
			rep.ByKind[res.kind].failed++
			rep.Errors[fmt.Sprintf("%s/%s: %s", kindNames[res.kind], phaseNames[res.phase], res.err)]++
		}
	}
	for p := range numPhases {
		var rs []result
		for _, res := range g.rec.results {
			if res.phase == p {
				rs = append(rs, res)
			}
		}
		rep.PhaseLatency[p] = sorted(rs)
	}
	check := func(table, typ string, ids []string) (found int, missing []string, err error) {
		uuids := make([]string, 0, len(ids))
		for _, id := range ids {
			u, ok := decodeGlobalID(id, typ)
			if !ok {
				missing = append(missing, id+" (not a "+typ+" ID)")
				continue
			}
			uuids = append(uuids, u)
		}
		rows, err := db.Query(ctx, `SELECT a::text FROM unnest($1::uuid[]) a WHERE NOT EXISTS (SELECT 1 FROM `+table+` t WHERE t.id = a)`, uuids)
		if err != nil {
			return 0, nil, err
		}
		absent, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return 0, nil, err
		}
		for _, a := range absent {
			missing = append(missing, table+" "+a)
		}
		return len(uuids) - len(absent), missing, nil
	}
	rep.InvoicesAcked, rep.UsersAcked = len(g.rec.invoices), len(g.rec.users)
	var missing []string
	var err error
	if rep.InvoicesFound, missing, err = check("invoices", "Invoice", g.rec.invoices); err != nil {
		return err
	}
	rep.Missing = append(rep.Missing, missing...)
	if rep.UsersFound, missing, err = check("users", "User", g.rec.users); err != nil {
		return err
	}
	rep.Missing = append(rep.Missing, missing...)
	var invoicesNow, usersNow int
	if err := db.QueryRow(ctx, `SELECT (SELECT count(*) FROM invoices), (SELECT count(*) FROM users)`).Scan(&invoicesNow, &usersNow); err != nil {
		return err
	}
	rep.Unacknowledged = (invoicesNow - invoicesBefore - rep.InvoicesFound) + (usersNow - usersBefore - rep.UsersFound)
	return nil
}

// decodeGlobalID undoes the API's opaque ID (base64url of "Type:uuid").
// The drill reads it only to look the row up; clients never need to.
func decodeGlobalID(id, typ string) (string, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil {
		return "", false
	}
	t, u, ok := strings.Cut(string(raw), ":")
	return u, ok && t == typ
}

func patientIDs(ctx context.Context, db *pgx.Conn) ([]string, error) {
	rows, err := db.Query(ctx, `SELECT id::text FROM patients ORDER BY id`)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, errors.New("the seed made no patients")
	}
	for i, id := range ids {
		ids[i] = base64.RawURLEncoding.EncodeToString([]byte("Patient:" + id))
	}
	return ids, nil
}

func cleanRedis(url, prefix string) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		rdb.Unlink(ctx, iter.Val())
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func waitFor(ctx context.Context, limit time.Duration, cond func() bool) error {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", limit)
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}
