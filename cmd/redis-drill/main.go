// Command redis-drill stops Redis in the middle of a bounded load run and
// reports what the clients saw. It starts two replicas of the healthgraph
// binary on a fresh database and one Redis reached through a TCP proxy it
// controls, drives a fixed request rate at both (reads through the cache,
// persisted queries, role changes that invalidate and publish), cuts the
// proxy for the middle phase, restores it, and prints requests sent and
// failed and latency per phase, the replicas' Redis readiness and cache
// counters, and whether any replica served a stale role at the end.
//
// Cutting a proxy rather than stopping Redis keeps the Redis other tests
// share untouched. scripts/redis-drill.sh builds the binary and runs this.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/healthgraph/healthgraph/faultproxy"
	"io"
	"math/rand/v2" // load mix only: nothing secret is drawn
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

func main() {
	bin := flag.String("bin", "", "the healthgraph binary")
	pgURL := flag.String("postgres", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "a Postgres URL whose role may create databases")
	redisAddr := flag.String("redis", "127.0.0.1:6379", "the Redis to put the proxy in front of")
	phase := flag.Duration("phase", 10*time.Second, "length of each phase (before, during, after the outage)")
	rate := flag.Int("rate", 100, "requests per second, spread over both replicas")
	users := flag.Int("users", 20, "accounts whose `me` the load reads")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "usage: redis-drill -bin path/to/healthgraph [-phase 10s] [-rate 100]")
		os.Exit(2)
	}
	if err := run(*bin, *pgURL, *redisAddr, *phase, *rate, *users); err != nil {
		fmt.Fprintln(os.Stderr, "redis-drill:", err)
		os.Exit(1)
	}
}

func run(bin, pgURL, redisAddr string, phase time.Duration, rate, nUsers int) error {
	ctx := context.Background()
	stamp := time.Now().UnixNano()
	dbName := fmt.Sprintf("hg_drill_%d", stamp)
	prefix := fmt.Sprintf("drill:%d:", stamp)
	dbURL := replaceDB(pgURL, dbName)
	defer dropDB(pgURL, dbName)
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	defer func() { // the drill's keys
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
	var replicas []*replica
	for i := range 2 {
		r, err := startReplica(bin, env, filepath.Join(logDir, fmt.Sprintf("replica-%c.log", 'a'+i)))
		if err != nil {
			return err
		}
		defer r.stop()
		replicas = append(replicas, r)
	}
	for _, r := range replicas {
		if err := r.waitReady(30 * time.Second); err != nil {
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
	admin, _, err := login(replicas[0].url, "admin@drill.test", pw)
	if err != nil {
		return err
	}
	type account struct{ id, token string }
	var accounts []account
	for i := range nUsers {
		email := fmt.Sprintf("user%d@drill.test", i)
		if _, err := gql(replicas[0].url, "", map[string]any{"query": `mutation($e: String!, $p: String!) { signup(input: {email: $e, password: $p, fullName: "Drill"}) { id } }`,
			"variables": map[string]any{"e": email, "p": pw}}); err != nil {
			return fmt.Errorf("signup: %w", err)
		}
		token, id, err := login(replicas[0].url, email, pw)
		if err != nil {
			return err
		}
		accounts = append(accounts, account{id, token})
	}
	apqQuery := "query DrillProbe { __typename }"
	sum := sha256.Sum256([]byte(apqQuery))
	apqHash := hex.EncodeToString(sum[:])
	if _, err := gql(replicas[0].url, "", map[string]any{"query": apqQuery, "extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": apqHash}}}); err != nil {
		return fmt.Errorf("register APQ: %w", err)
	}

	roles := []string{"PATIENT", "RECEPTION", "BILLING"}
	var lastRole sync.Map // account id → last role set
	request := func(i int) error {
		r := replicas[i%2]
		a := accounts[rand.IntN(len(accounts))] //nolint:gosec // load mix, not a secret
		switch n := rand.IntN(10); {            //nolint:gosec // load mix, not a secret
		case n < 7:
			_, err := gql(r.url, a.token, map[string]any{"query": "{ me { id role } }"})
			return err
		case n < 9:
			_, err := gql(r.url, "", map[string]any{"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": apqHash}}})
			return err
		default:
			role := roles[rand.IntN(len(roles))] //nolint:gosec // load mix, not a secret
			lastRole.Store(a.id, role)
			_, err := gql(r.url, admin, map[string]any{"query": `mutation($id: ID!, $r: Role!) { setUserRole(userId: $id, role: $r) { id } }`,
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
		st := load(phase, rate, request)
		now := counters(replicas)
		d := now.minus(prev)
		prev = now
		fmt.Printf("%-8s %6d %6d %9s %9s %9s %9s  %-17s %.0f/%.0f/%.0f\n", ph.name, st.sent, st.failed,
			pct(st.lat, 50), pct(st.lat, 95), pct(st.lat, 99), pct(st.lat, 100),
			replicas[0].redisState()+", "+replicas[1].redisState(), d.hit, d.miss, d.fallback)
		for _, e := range st.firstErrors {
			fmt.Println("   error:", e)
		}
	}

	// Every replica must now show each account's last role: no entry cached
	// before or during the outage may survive it.
	stale := 0
	for _, a := range accounts {
		want, ok := lastRole.Load(a.id)
		if !ok {
			continue
		}
		for _, r := range replicas {
			body, err := gql(r.url, a.token, map[string]any{"query": "{ me { role } }"})
			if err != nil || !strings.Contains(string(body), `"role":"`+want.(string)+`"`) {
				stale++
			}
		}
	}
	keys, _ := rdb.Keys(ctx, prefix+"hg:rl*").Result()
	fmt.Printf("\nstale reads after recovery: %d; shared rate-limit counters in Redis after recovery: %d\n", stale, len(keys))
	for _, r := range replicas {
		fmt.Printf("%s log: %d outage notices, %d recovery notices\n", filepath.Base(r.log),
			countLines(r.log, "redis unreachable")+countLines(r.log, "in-process store"), countLines(r.log, "reachable again")+countLines(r.log, "back on Redis"))
	}
	return nil
}

type stats struct {
	sent, failed int
	lat          []time.Duration
	firstErrors  []string
}

// load sends rate requests per second for d, each in its own goroutine
// (bounded by the rate and the client timeout), and collects the outcomes.
func load(d time.Duration, rate int, request func(int) error) stats {
	var mu sync.Mutex
	var st stats
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	end := time.Now().Add(d)
	for i := 0; time.Now().Before(end); i++ {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			err := request(i)
			took := time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			st.sent++
			st.lat = append(st.lat, took)
			if err != nil {
				st.failed++
				if len(st.firstErrors) < 3 {
					st.firstErrors = append(st.firstErrors, err.Error())
				}
			}
		}()
	}
	wg.Wait()
	slices.Sort(st.lat)
	return st
}

func pct(lat []time.Duration, p int) string {
	if len(lat) == 0 {
		return "-"
	}
	i := min(len(lat)*p/100, len(lat)-1)
	return lat[i].Round(10 * time.Microsecond).String()
}

var client = &http.Client{Timeout: 10 * time.Second}

func get(url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	return client.Do(req) //nolint:gosec // loopback replicas the drill started
}

// gql posts one operation; any transport error, non-200 status or GraphQL
// error is a failure.
func gql(url, token string, body map[string]any) ([]byte, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, url+"/graphql", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req) //nolint:gosec // loopback replicas the drill started
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || bytes.Contains(raw, []byte(`"errors"`)) {
		return raw, fmt.Errorf("status %d: %.200s", resp.StatusCode, raw)
	}
	return raw, nil
}

func login(url, email, pw string) (token, id string, err error) {
	raw, err := gql(url, "", map[string]any{"query": `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id } } }`,
		"variables": map[string]any{"e": email, "p": pw}})
	if err != nil {
		return "", "", fmt.Errorf("login: %w", err)
	}
	var out struct {
		Data struct {
			Login struct {
				AccessToken string //nolint:gosec // a drill account's token, never printed
				User        struct{ ID string }
			}
		}
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return "", "", err
	}
	return out.Data.Login.AccessToken, out.Data.Login.User.ID, nil
}

type replica struct {
	url, log string
	cmd      *exec.Cmd
}

func startReplica(bin string, env []string, logPath string) (*replica, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	f, err := os.Create(logPath) //nolint:gosec // a file in the drill's own temp directory
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(context.Background(), bin, "serve") //nolint:gosec // the binary under test
	cmd.Env = append(slices.Clone(env), "HG_HTTP_ADDR="+addr, "HG_AUTO_MIGRATE=false")
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &replica{url: "http://" + addr, log: logPath, cmd: cmd}, nil
}

func (r *replica) stop() {
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	_ = r.cmd.Wait()
}

func (r *replica) waitReady(d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if resp, err := get(r.url + "/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready within %s (see %s)", r.url, d, r.log)
}

func (r *replica) redisState() string {
	resp, err := get(r.url + "/ready")
	if err != nil {
		return "unreachable"
	}
	defer resp.Body.Close()
	var body struct{ Checks map[string]string }
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return fmt.Sprintf("%d %s", resp.StatusCode, body.Checks["redis"])
}

type cacheCounts struct{ hit, miss, fallback float64 }

func (c cacheCounts) minus(o cacheCounts) cacheCounts {
	return cacheCounts{c.hit - o.hit, c.miss - o.miss, c.fallback - o.fallback}
}

// counters scrapes the cache counters of every replica.
func counters(rs []*replica) cacheCounts {
	var c cacheCounts
	for _, r := range rs {
		resp, err := get(r.url + "/metrics")
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			line := sc.Text()
			var v float64
			fields := strings.Fields(line)
			if len(fields) < 2 {
				continue
			}
			_, _ = fmt.Sscan(fields[len(fields)-1], &v)
			switch {
			case strings.HasPrefix(line, "healthgraph_cache_requests_total{") && strings.Contains(line, `result="hit"`):
				c.hit += v
			case strings.HasPrefix(line, "healthgraph_cache_requests_total{") && strings.Contains(line, `result="miss"`):
				c.miss += v
			case strings.HasPrefix(line, "healthgraph_cache_errors_total{"):
				c.fallback += v
			}
		}
		resp.Body.Close()
	}
	return c
}

func countLines(path, needle string) int {
	b, _ := os.ReadFile(path) //nolint:gosec // a log the drill wrote
	return bytes.Count(b, []byte(needle))
}

func replaceDB(url, name string) string {
	i := strings.LastIndex(url, "/")
	rest := ""
	if q := strings.Index(url[i:], "?"); q >= 0 {
		rest = url[i+q:]
	}
	return url[:i+1] + name + rest
}

func dropDB(url, name string) {
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		return
	}
	defer conn.Close(context.Background())
	_, _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
}
