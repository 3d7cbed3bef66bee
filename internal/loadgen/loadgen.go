// Package loadgen is `hg-drill load`: it puts a HealthGraph server under a
// mix of GraphQL requests modelled on the app's screens and reports, per
// operation, throughput, exact latency percentiles, errors and booking
// conflicts, together with what the server's own /metrics say about the
// run (SQL statements per request, pool waits, cache hit ratio, CPU and
// RSS).
//
//	HG_SEED_PASSWORD=... go run ./cmd/hg-drill load -url http://127.0.0.1:8080 -clients 32 -duration 15s -mix standard
//
// It logs in as load-<role>@scale.healthgraph.test for the roles reception,
// billing, analyst, admin and practitioner (healthgraph seed creates them),
// and finds patients, practitioners and name prefixes through the API.
//
// The server under load must run with its rate limits raised or off, or
// most requests come back RATE_LIMITED: HG_RATE_LIMIT_USER=0
// HG_RATE_LIMIT_AUTH=0 HG_RATE_LIMIT_COMPLEXITY=0 (0 turns a policy off;
// "1000000-M" style values raise it instead). RATE_LIMITED answers (429)
// count as errors and the report says how to fix them. A CONFLICT from
// bookAppointment (the slot was taken) is a conflict, not an error. The
// exit status is 1 when any request failed.
package loadgen

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/healthgraph/healthgraph/internal/drill"
)

// config is a run's settings, parsed from flags and the environment.
type config struct {
	URL        string
	MetricsURL string
	Clients    int
	Duration   time.Duration
	Mix        string
	Weights    map[string]int
	Domain     string
	Password   string
	Pages      int
	Seed       uint64
	JSONFile   string
	// Rate paces the clients to this many requests/s in all (0: each
	// client sends its next request as soon as the last one is answered).
	Rate float64
	// Sample, when set, closes an interval this often and records what
	// the clients saw and what the server's metrics said (a soak).
	Sample      time.Duration
	SamplesFile string
	PlotFile    string
}

// Main parses args, runs the load and prints the report; the error says
// when any request failed.
func Main(ctx context.Context, args []string) error {
	cfg, err := parseFlags(args, os.Getenv)
	if err != nil {
		return err
	}
	res, err := run(ctx, cfg, os.Stderr)
	if err != nil {
		return err
	}
	printReport(os.Stdout, res)
	if cfg.JSONFile != "" {
		if err := writeJSON(cfg.JSONFile, res); err != nil {
			return err
		}
	}
	if err := writeSoak(cfg, res); err != nil {
		return err
	}
	if n := res.Total().Errors; n > 0 {
		return fmt.Errorf("%d requests failed", n)
	}
	return nil
}

func parseFlags(args []string, getenv func(string) string) (config, error) {
	var c config
	fs := flag.NewFlagSet("hg-drill load", flag.ContinueOnError)
	fs.StringVar(&c.URL, "url", "http://127.0.0.1:8080", "the server's base URL")
	fs.StringVar(&c.MetricsURL, "metrics-url", "", "where the server's Prometheus metrics are (default: <url>/metrics)")
	fs.IntVar(&c.Clients, "clients", 32, "concurrent clients, each sending one request after another")
	fs.DurationVar(&c.Duration, "duration", 15*time.Second, "how long to send requests")
	fs.StringVar(&c.Mix, "mix", "standard", "the operation mix: standard, headline, or postgraphile (the headline shape against a PostGraphile server)")
	weights := fs.String("weights", "", "override mix weights, e.g. book=0,search=40 (operations: schedule, chart, search, claims, summary, login, book, headline, postgraphile)")
	fs.StringVar(&c.Domain, "domain", "scale.healthgraph.test", "email domain of the load-<role>@ accounts")
	fs.IntVar(&c.Pages, "discover-pages", 5, "pages of 100 patients and practitioners read at startup")
	fs.Uint64Var(&c.Seed, "seed", 0, "seeds the random choices; 0 takes the clock, so a rerun books other slots (the seed is printed, to repeat a run)")
	fs.StringVar(&c.JSONFile, "json", "", "also write the results as JSON to this file")
	fs.Float64Var(&c.Rate, "rate", 0, "requests/s over all clients (0: closed loop, as fast as the server answers)")
	fs.DurationVar(&c.Sample, "sample", 0, "print and keep one sample this often: requests/s, p99, errors, the server's RSS, goroutines, open fds and pool connections")
	fs.StringVar(&c.SamplesFile, "samples", "", "with -sample: write the samples as JSON to this file")
	fs.StringVar(&c.PlotFile, "plot", "", "with -sample: draw the samples as SVG into this file")
	if err := drill.ParseFlags(fs, args); err != nil {
		return c, err
	}
	if c.MetricsURL == "" {
		c.MetricsURL = c.URL + "/metrics"
	}
	if c.Clients < 1 || c.Duration <= 0 || c.Pages < 1 {
		return c, errors.New("-clients, -duration and -discover-pages must be positive")
	}
	if c.Rate < 0 || c.Sample < 0 {
		return c, errors.New("-rate and -sample must not be negative")
	}
	if (c.SamplesFile != "" || c.PlotFile != "") && c.Sample == 0 {
		return c, errors.New("-samples and -plot need -sample")
	}
	var err error
	if c.Seed == 0 {
		c.Seed = uint64(time.Now().UnixNano())
	}
	if c.Weights, err = mixWeights(c.Mix, *weights); err != nil {
		return c, err
	}
	if c.Password = getenv("HG_SEED_PASSWORD"); c.Password == "" {
		return c, errors.New("set HG_SEED_PASSWORD to the load accounts' password")
	}
	return c, nil
}

// Result is everything a run measured.
type Result struct {
	Mix        string         `json:"mix"`
	Clients    int            `json:"clients"`
	ElapsedSec float64        `json:"elapsedSec"`
	Operations []OpResult     `json:"operations"` // the last is the total
	Server     *ServerFigures `json:"server,omitempty"`
	// Samples are the intervals of a run with -sample.
	Samples []Sample `json:"samples,omitempty"`
	// ServerNote says why Server is missing.
	ServerNote string `json:"serverNote,omitempty"`
}

// Total is the row over all operations.
func (r *Result) Total() OpResult { return r.Operations[len(r.Operations)-1] }

// run logs in, discovers the data, sends the mix for cfg.Duration and
// measures. Progress goes to logw.
func run(ctx context.Context, cfg config, logw io.Writer) (*Result, error) {
	picker, err := newWeighted(cfg.Weights)
	if err != nil {
		return nil, err
	}
	c := newClient(cfg.URL, cfg.Clients)
	d := &dataset{domain: cfg.Domain, password: cfg.Password}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0))
	if err := d.login(ctx, c, neededRoles(picker)); err != nil {
		return nil, err
	}
	if needsData(picker) {
		if err := d.discover(ctx, c, d.tokens[roleAdmin], cfg.Pages, rng); err != nil {
			return nil, err
		}
		fmt.Fprintf(logw, "discovered %d patients, %d practitioners, %d name prefixes\n",
			len(d.patients), len(d.practitioners), len(d.prefixes))
	}

	sc := &scraper{url: cfg.MetricsURL, http: c.http}
	before, scrapeErr := sc.scrape(ctx)
	stopRSS := sc.rssPeak(ctx, time.Second)
	fmt.Fprintf(logw, "running mix %s with %d clients for %s (seed %d)\n", cfg.Mix, cfg.Clients, cfg.Duration, cfg.Seed)
	var (
		win         *window
		stopSamples func() []Sample
	)
	if cfg.Sample > 0 {
		win = &window{}
		stopSamples = sampler(ctx, win, sc, cfg.Sample, logw)
	}
	start := time.Now()
	rec := load(ctx, c, d, picker, cfg, win)
	elapsed := time.Since(start)
	peak := stopRSS()
	var samples []Sample
	if stopSamples != nil {
		samples = stopSamples()
	}

	ops := summarize(rec, elapsed)
	res := &Result{Mix: cfg.Mix, Clients: cfg.Clients, ElapsedSec: elapsed.Seconds(), Operations: ops, Samples: samples}
	after, err := sc.scrape(context.WithoutCancel(ctx))
	if err = errors.Join(scrapeErr, err); err != nil {
		res.ServerNote = err.Error()
	} else {
		f := figures(before, after, res.Total().Requests, elapsed, peak)
		res.Server = &f
	}
	return res, nil
}

// neededRoles are the roles whose tokens the mix uses, plus admin when
// it discovers.
func neededRoles(p weighted) []string {
	var need []string
	if needsData(p) {
		need = append(need, roleAdmin)
	}
	for _, n := range p.names {
		if r := operations[n].role; r != "" && !slices.Contains(need, r) {
			need = append(need, r)
		}
	}
	return need
}

// needsData reports whether the mix draws on discovered IDs or names.
func needsData(p weighted) bool {
	return slices.ContainsFunc(p.names, func(n string) bool { return operations[n].discovers })
}

// load runs cfg.Clients workers that start requests until cfg.Duration has
// passed or ctx ends. Requests under way at the deadline finish and count:
// cancelling them would show up as server errors.
func load(ctx context.Context, c *client, d *dataset, picker weighted, cfg config, win *window) recorder {
	deadline := time.Now().Add(cfg.Duration)
	var starts <-chan struct{}
	if cfg.Rate > 0 {
		pctx, stop := context.WithDeadline(ctx, deadline)
		defer stop()
		starts = pacer(pctx, cfg.Rate, cfg.Clients)
	}
	recs := make([]recorder, cfg.Clients)
	var wg sync.WaitGroup
	for i := range recs {
		recs[i] = recorder{}
		rng := rand.New(rand.NewPCG(cfg.Seed, uint64(i)+1))
		wg.Go(func() { work(ctx, deadline, c, d, picker, rng, recs[i], starts, win) })
	}
	wg.Wait()
	return merge(recs...)
}

// work sends one request after another until the deadline or ctx ends;
// with starts, each only once it takes a start. win, when set, sees every
// outcome too.
func work(ctx context.Context, deadline time.Time, c *client, d *dataset, picker weighted, rng *rand.Rand, rec recorder,
	starts <-chan struct{}, win *window) {
	for ctx.Err() == nil && time.Now().Before(deadline) {
		if starts != nil {
			select {
			case <-starts:
			case <-time.After(time.Until(deadline)):
				return
			case <-ctx.Done():
				return
			}
		}
		name := picker.pick(rng)
		op := operations[name]
		query, vars := op.build(d, rng, time.Now())
		start := time.Now()
		out, err := c.do(ctx, d.tokens[op.role], query, vars)
		took := time.Since(start)
		code := out.Code
		if err != nil {
			code = "TRANSPORT"
		}
		conflict := op.conflict && code == "CONFLICT"
		rec.record(name, took, code, conflict)
		if win != nil {
			win.record(took, code != "" && !conflict)
		}
	}
}

// writeSoak writes a sampled run's samples and picture, when asked.
func writeSoak(cfg config, res *Result) error {
	if cfg.SamplesFile != "" {
		if err := writeSamples(cfg.SamplesFile, res.Samples); err != nil {
			return err
		}
	}
	if cfg.PlotFile == "" {
		return nil
	}
	f, err := os.Create(cfg.PlotFile)
	if err != nil {
		return err
	}
	title := fmt.Sprintf("hg-drill load -mix %s, %d clients at %.0f requests/s for %s, one sample a %s", cfg.Mix, cfg.Clients, cfg.Rate, cfg.Duration, cfg.Sample)
	if err := plotSVG(f, title, res.Samples); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
