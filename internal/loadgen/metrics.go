package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// sample is one line of the Prometheus text format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// scrape is every sample of one /metrics answer.
type scrape []sample

// parseMetrics reads the Prometheus text exposition format: comments and
// blank lines are skipped, timestamps ignored, and a line that does not
// parse is an error (it means the endpoint is not what we think).
func parseMetrics(r io.Reader) (scrape, error) {
	var out scrape
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		s, err := parseSample(line)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d: %w", n, err)
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

func parseSample(line string) (sample, error) {
	s := sample{labels: map[string]string{}}
	i := strings.IndexAny(line, "{ ")
	if i < 0 {
		return s, fmt.Errorf("no value in %q", line)
	}
	s.name = line[:i]
	rest := line[i:]
	if rest[0] == '{' {
		var err error
		if rest, err = parseLabels(rest[1:], s.labels); err != nil {
			return s, err
		}
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return s, fmt.Errorf("no value for %s", s.name)
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return s, fmt.Errorf("value of %s: %w", s.name, err)
	}
	s.value = v
	return s, nil
}

// parseLabels reads name="value" pairs up to the closing brace into into
// and returns what follows it. Values may hold escaped quotes, backslashes
// and newlines.
func parseLabels(s string, into map[string]string) (string, error) {
	for {
		s = strings.TrimLeft(s, " ,")
		if strings.HasPrefix(s, "}") {
			return s[1:], nil
		}
		eq := strings.IndexByte(s, '=')
		if eq < 0 || len(s) < eq+2 || s[eq+1] != '"' {
			return "", fmt.Errorf("bad label in %q", s)
		}
		name := strings.TrimSpace(s[:eq])
		var val strings.Builder
		i := eq + 2
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
				switch s[i] {
				case 'n':
					val.WriteByte('\n')
				default:
					val.WriteByte(s[i])
				}
				continue
			}
			val.WriteByte(s[i])
		}
		if i >= len(s) {
			return "", fmt.Errorf("unterminated label value in %q", s)
		}
		into[name] = val.String()
		s = s[i+1:]
	}
}

// sum adds the samples named name whose labels include every pair of
// match ("k", "v", ...).
func (sc scrape) sum(name string, match ...string) float64 {
	var total float64
	for _, s := range sc {
		if s.name == name && hasLabels(s.labels, match) {
			total += s.value
		}
	}
	return total
}

func hasLabels(labels map[string]string, match []string) bool {
	for i := 0; i+1 < len(match); i += 2 {
		if labels[match[i]] != match[i+1] {
			return false
		}
	}
	return true
}

// ServerFigures are what the server's own metrics say about the run.
type ServerFigures struct {
	SQLStatements       float64 `json:"sqlStatements"`
	SQLPerRequest       float64 `json:"sqlPerRequest"`
	SQLMeanMs           float64 `json:"sqlMeanMs"`
	RedisCommands       float64 `json:"redisCommands"`
	RedisMeanMs         float64 `json:"redisMeanMs"`
	PoolAcquires        float64 `json:"poolAcquires"`
	PoolWaits           float64 `json:"poolWaits"`
	PoolWaitSeconds     float64 `json:"poolWaitSeconds"`
	CacheHits           float64 `json:"cacheHits"`
	CacheMisses         float64 `json:"cacheMisses"`
	CacheHitRatio       float64 `json:"cacheHitRatio"`
	RateLimited         float64 `json:"rateLimited"`
	CPUSeconds          float64 `json:"cpuSeconds"`
	CPUCores            float64 `json:"cpuCores"`
	CPUMsPerRequest     float64 `json:"cpuMsPerRequest"`
	RSSBeforeBytes      float64 `json:"rssBeforeBytes"`
	RSSAfterBytes       float64 `json:"rssAfterBytes"`
	RSSPeakBytes        float64 `json:"rssPeakBytes"`
	DataloaderBatches   float64 `json:"dataloaderBatches"`
	DataloaderAvgBatch  float64 `json:"dataloaderAvgBatch"`
	GraphQLServerErrors float64 `json:"graphqlServerErrors"`
}

const (
	mSQL          = "healthgraph_db_query_duration_seconds_count"
	mSQLSum       = "healthgraph_db_query_duration_seconds_sum"
	mRedis        = "healthgraph_redis_command_duration_seconds_count"
	mRedisSum     = "healthgraph_redis_command_duration_seconds_sum"
	mPoolAcquires = "healthgraph_db_pool_acquires_total"
	mPoolEmpty    = "healthgraph_db_pool_empty_acquires_total"
	mPoolWait     = "healthgraph_db_pool_empty_acquire_wait_seconds_total"
	mCache        = "healthgraph_cache_requests_total"
	mRateLimited  = "healthgraph_rate_limited_requests_total"
	mCPU          = "process_cpu_seconds_total"
	mRSS          = "process_resident_memory_bytes"
	mBatchCount   = "healthgraph_dataloader_batch_size_count"
	mBatchSum     = "healthgraph_dataloader_batch_size_sum"
	mGQLOps       = "healthgraph_graphql_operations_total"
)

// figures compares two scrapes taken elapsed apart around requests.
func figures(before, after scrape, requests int, elapsed time.Duration, rssPeak float64) ServerFigures {
	d := func(name string, match ...string) float64 {
		return after.sum(name, match...) - before.sum(name, match...)
	}
	f := ServerFigures{
		SQLStatements: d(mSQL), PoolAcquires: d(mPoolAcquires), PoolWaits: d(mPoolEmpty), PoolWaitSeconds: d(mPoolWait),
		CacheHits: d(mCache, "result", "hit"), CacheMisses: d(mCache, "result", "miss"), RateLimited: d(mRateLimited),
		CPUSeconds: d(mCPU), RSSBeforeBytes: before.sum(mRSS), RSSAfterBytes: after.sum(mRSS),
		RedisCommands: d(mRedis), DataloaderBatches: d(mBatchCount),
		GraphQLServerErrors: d(mGQLOps, "outcome", "server_error"),
	}
	f.RSSPeakBytes = max(rssPeak, f.RSSBeforeBytes, f.RSSAfterBytes)
	if requests > 0 {
		f.SQLPerRequest = f.SQLStatements / float64(requests)
		f.CPUMsPerRequest = f.CPUSeconds * 1000 / float64(requests)
	}
	// Statement and command times are as the server sees them: they
	// include waiting for the CPU to read the rows, so on a starved host
	// they exceed what Postgres or Redis spent.
	if f.SQLStatements > 0 {
		f.SQLMeanMs = d(mSQLSum) * 1000 / f.SQLStatements
	}
	if f.RedisCommands > 0 {
		f.RedisMeanMs = d(mRedisSum) * 1000 / f.RedisCommands
	}
	if n := f.CacheHits + f.CacheMisses; n > 0 {
		f.CacheHitRatio = f.CacheHits / n
	}
	if f.DataloaderBatches > 0 {
		f.DataloaderAvgBatch = d(mBatchSum) / f.DataloaderBatches
	}
	if elapsed > 0 {
		f.CPUCores = f.CPUSeconds / elapsed.Seconds()
	}
	return f
}

// scraper reads the server's /metrics.
type scraper struct {
	url  string
	http *http.Client
}

func (s *scraper) scrape(ctx context.Context) (scrape, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", s.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: status %d", s.url, resp.StatusCode)
	}
	return parseMetrics(resp.Body)
}

// rssPeak polls the server's RSS every interval until ctx ends and returns
// a function that stops polling and reports the highest value seen.
func (s *scraper) rssPeak(ctx context.Context, interval time.Duration) func() float64 {
	ctx, cancel := context.WithCancel(ctx)
	var (
		wg   sync.WaitGroup
		peak float64
	)
	wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if sc, err := s.scrape(ctx); err == nil {
					peak = max(peak, sc.sum(mRSS))
				}
			}
		}
	})
	return func() float64 {
		cancel()
		wg.Wait()
		return peak
	}
}
