// Package redisdrill is `hg-drill redis`: it stops Redis in the middle of a
// bounded load run and reports what the clients saw. It starts two replicas
// of the healthgraph binary on a fresh database and one Redis reached
// through a TCP proxy it controls, drives a fixed request rate at both
// (reads through the cache, persisted queries, role changes that invalidate
// and publish), cuts the proxy for the middle phase, restores it, and prints
// requests sent and failed and latency per phase, the replicas' Redis
// readiness and cache counters, and whether any replica served a stale role
// at the end.
//
// Cutting a proxy rather than stopping Redis keeps the Redis other tests
// share untouched. `make drill-redis` builds the binary and runs this.
package redisdrill

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2" // load mix only: nothing secret is drawn
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/healthgraph/healthgraph/internal/drill"
	"github.com/healthgraph/healthgraph/internal/faultproxy"

	"github.com/redis/go-redis/v9"
)

// Main parses args and runs the drill.
func Main(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("hg-drill redis", flag.ContinueOnError)
	bin := fs.String("bin", "", "the healthgraph binary")
	pgURL := fs.String("postgres", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "a Postgres URL whose role may create databases")
	redisAddr := fs.String("redis", "127.0.0.1:6379", "the Redis to put the proxy in front of")
	phase := fs.Duration("phase", 10*time.Second, "length of each phase (before, during, after the outage)")
	rate := fs.Int("rate", 100, "requests per second, spread over both replicas")
	users := fs.Int("users", 20, "accounts: half whose `me` the load reads, half whose role it changes")
	if err := drill.ParseFlags(fs, args); err != nil {
		return err
	}
	if *bin == "" {
		return fmt.Errorf("%w: hg-drill redis -bin path/to/healthgraph [-phase 10s] [-rate 100]", drill.ErrUsage)
	}
	return run(ctx, *bin, *pgURL, *redisAddr, *phase, *rate, *users)
}

func run(ctx context.Context, bin, pgURL, redisAddr string, phase time.Duration, rate, nUsers int) error {
	stamp := time.Now().UnixNano()
	dbName := fmt.Sprintf("hg_drill_%d", stamp)
	prefix := fmt.Sprintf("drill:%d:", stamp)
	dbURL := drill.WithDatabase(pgURL, dbName)
	defer drill.DropDatabase(pgURL, dbName) //nolint:errcheck // best effort at the end
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	defer func() { // the drill's keys, even when interrupted
		ctx := context.WithoutCancel(ctx)
		iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Unlink(ctx, iter.Val())
		}
	}()

	proxy, err := faultproxy.Start(redisAddr)
	if err != nil {
		return err
	}
	defer proxy.Close() //nolint:errcheck // the drill is ending
	logDir, err := os.MkdirTemp("", "redis-drill-")
	if err != nil {
		return err
	}
	env := append(os.Environ(),
		"HG_DATABASE_URL="+dbURL,
		"HG_REDIS_URL=redis://"+proxy.Addr()+"/0",
		"HG_REDIS_PREFIX="+prefix,
		"HG_JWT_KEY=redis-drill-signing-key-0123456789abcdef",
		"HG_LOG_LEVEL=info",
		"HG_RATE_LIMIT_USER=100000", "HG_RATE_LIMIT_ANON=100000", "HG_RATE_LIMIT_AUTH=10000",
	)
	// Migrate once, so the two replicas do not race to.
	mig := exec.CommandContext(ctx, bin, "migrate", "up") //nolint:gosec // the binary under test, named by the operator
	mig.Env = env
	if out, err := mig.CombinedOutput(); err != nil {
		return fmt.Errorf("migrate: %w: %s", err, out)
	}
	var replicas []*drill.Process
	for i := range 2 {
		r, err := drill.StartServe(bin, fmt.Sprintf("replica-%c", 'a'+i), append(env, "HG_AUTO_MIGRATE=false"), logDir)
		if err != nil {
			return err
		}
		defer r.Stop()
		replicas = append(replicas, r)
	}
	for _, r := range replicas {
		if err := r.WaitReady(ctx, 30*time.Second); err != nil {
			return err
		}
	}

	// Accounts: an administrator (through the CLI) and users who log in.
	pw := "drill-password-1234"
	pwFile := filepath.Join(logDir, "pw")
	if err := os.WriteFile(pwFile, []byte(pw), 0o600); err != nil {
		return err
	}
	adm := exec.CommandContext(ctx, bin, "admin", "create", "--email", "admin@drill.test", "--role", "ADMIN", "--password-file", pwFile) //nolint:gosec // the binary under test
	adm.Env = env
	if out, err := adm.CombinedOutput(); err != nil {
		return fmt.Errorf("admin create: %w: %s", err, out)
	}
	admin, _, err := login(replicas[0].URL, "admin@drill.test", pw)
	if err != nil {
		return err
	}
	type account struct{ id, email, token string }
	var accounts []account
	for i := range nUsers {
		email := fmt.Sprintf("user%d@drill.test", i)
		if _, err := gql(replicas[0].URL, "", map[string]any{"query": `mutation($e: String!, $p: String!) { signup(input: {email: $e, password: $p, fullName: "Drill"}) { id } }`,
			"variables": map[string]any{"e": email, "p": pw}}); err != nil {
			return fmt.Errorf("signup: %w", err)
		}
		token, id, err := login(replicas[0].URL, email, pw)
		if err != nil {
			return err
		}
		accounts = append(accounts, account{id, email, token})
	}
	// A role change ends the account's sessions (tokens carry a version
	// Postgres checks), so the accounts whose role changes are not the ones
	// whose `me` the load reads; the stale check logs them in afresh.
	readers, targets := accounts[:max(nUsers/2, 1)], accounts[max(nUsers/2, 1):]
	if len(targets) == 0 {
		return fmt.Errorf("-users must be at least 2")
	}
	apqQuery := "query DrillProbe { __typename }"
	sum := sha256.Sum256([]byte(apqQuery))
	apqHash := hex.EncodeToString(sum[:])
	if _, err := gql(replicas[0].URL, "", map[string]any{"query": apqQuery, "extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": apqHash}}}); err != nil {
		return fmt.Errorf("register APQ: %w", err)
	}

	roles := []string{"PATIENT", "RECEPTION", "BILLING"}
	var lastRole sync.Map // account id → last role set
	request := func(i int) error {
		r := replicas[i%2]
		switch n := rand.IntN(10); { //nolint:gosec // load mix, not a secret
		case n < 7:
			a := readers[rand.IntN(len(readers))] //nolint:gosec // load mix, not a secret
			_, err := gql(r.URL, a.token, map[string]any{"query": "{ me { id role } }"})
			return err
		case n < 9:
			_, err := gql(r.URL, "", map[string]any{"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": apqHash}}})
			return err
		default:
			a := targets[rand.IntN(len(targets))] //nolint:gosec // load mix, not a secret
			role := roles[rand.IntN(len(roles))]  //nolint:gosec // load mix, not a secret
			lastRole.Store(a.id, role)
			_, err := gql(r.URL, admin, map[string]any{"query": `mutation($id: ID!, $r: Role!) { setUserRole(userId: $id, role: $r) { id } }`,
				"variables": map[string]any{"id": a.id, "r": role}})
			return err
		}
	}

	fmt.Printf("redis-drill: 2 replicas, %d req/s, %s per phase, %d accounts; logs in %s\n\n", rate, phase, nUsers, logDir)
	fmt.Printf("%-8s %6s %6s %9s %9s %9s %9s  %-17s %s\n", "phase", "sent", "failed", "p50", "p95", "p99", "max", "redis (a, b)", "cache hit/miss/fallback (a+b, in phase)")
	prev := counters(replicas)
	for _, ph := range []struct {
		name   string
		before func()
	}{
		{"before", func() {}},
		{"during", proxy.Cut},
		{"after", proxy.Restore},
	} {
		ph.before()
		st := drill.Load(phase, rate, request)
		now := counters(replicas)
		d := now.minus(prev)
		prev = now
		fmt.Printf("%-8s %6d %6d %9s %9s %9s %9s  %-17s %.0f/%.0f/%.0f\n", ph.name, st.Sent, st.Failed,
			ms(st.Latency.Pct(50)), ms(st.Latency.Pct(95)), ms(st.Latency.Pct(99)), ms(st.Latency.Pct(100)),
			redisState(replicas[0])+", "+redisState(replicas[1]), d.hit, d.miss, d.fallback)
		for _, e := range st.FirstErrors {
			fmt.Println("   error:", e)
		}
	}

	// Every replica must now show each account's last role: no entry cached
	// before or during the outage may survive it.
	stale := 0
	for _, a := range targets {
		want, ok := lastRole.Load(a.id)
		if !ok {
			continue
		}
		token, _, err := login(replicas[0].URL, a.email, pw)
		if err != nil {
			return err
		}
		for _, r := range replicas {
			data, err := gql(r.URL, token, map[string]any{"query": "{ me { role } }"})
			if err != nil || !strings.Contains(string(data["me"]), `"role":"`+want.(string)+`"`) {
				stale++
			}
		}
	}
	keys, _ := rdb.Keys(ctx, prefix+"hg:rl*").Result()
	fmt.Printf("\nstale reads after recovery: %d; shared rate-limit counters in Redis after recovery: %d\n", stale, len(keys))
	for _, r := range replicas {
		fmt.Printf("%s log: %d outage notices, %d recovery notices\n", r.Name,
			len(r.LogLines("redis unreachable", "in-process store")), len(r.LogLines("reachable again", "back on Redis")))
	}
	return nil
}

func ms(d time.Duration) string { return d.Round(10 * time.Microsecond).String() }

var client = &http.Client{Timeout: 10 * time.Second}

// gql posts one operation; any transport error, non-200 status or GraphQL
// error is a failure.
func gql(url, token string, body map[string]any) (map[string]json.RawMessage, error) {
	return drill.PostGraphQL(client, url, token, body)
}

func login(url, email, pw string) (token, id string, err error) {
	data, err := gql(url, "", map[string]any{"query": `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id } } }`,
		"variables": map[string]any{"e": email, "p": pw}})
	if err != nil {
		return "", "", fmt.Errorf("login: %w", err)
	}
	var out struct {
		AccessToken string //nolint:gosec // a drill account's token, never printed
		User        struct{ ID string }
	}
	if err := json.Unmarshal(data["login"], &out); err != nil {
		return "", "", err
	}
	return out.AccessToken, out.User.ID, nil
}

func redisState(r *drill.Process) string {
	code, checks := r.Ready(context.Background())
	if code == 0 {
		return "unreachable"
	}
	return fmt.Sprintf("%d %s", code, checks["redis"])
}

type cacheCounts struct{ hit, miss, fallback float64 }

func (c cacheCounts) minus(o cacheCounts) cacheCounts {
	return cacheCounts{c.hit - o.hit, c.miss - o.miss, c.fallback - o.fallback}
}

// counters scrapes the cache counters of every replica.
func counters(rs []*drill.Process) cacheCounts {
	var c cacheCounts
	for _, r := range rs {
		m, err := r.Metrics(context.Background())
		if err != nil {
			continue
		}
		c.hit += m.Sum("healthgraph_cache_requests_total", `result="hit"`)
		c.miss += m.Sum("healthgraph_cache_requests_total", `result="miss"`)
		c.fallback += m.Sum("healthgraph_cache_errors_total")
	}
	return c
}
