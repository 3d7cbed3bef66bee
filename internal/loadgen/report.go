package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
)

// printReport writes the results as a table followed by the server figures
// and a hint for each error code that usually means a misconfigured run.
func printReport(w io.Writer, r *Result) {
	fmt.Fprintf(w, "mix %s, %d clients, %.1fs\n\n", r.Mix, r.Clients, r.ElapsedSec)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "operation\trequests\treq/s\tp50 ms\tp95 ms\tp99 ms\tmax ms\terrors\tconflicts\tfirst error codes\t")
	var codes []string
	for _, o := range r.Operations {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t%d\t%s\t\n", o.Operation, o.Requests, o.PerSecond,
			o.P50Ms, o.P95Ms, o.P99Ms, o.MaxMs, o.Errors, o.Conflicts, strings.Join(o.ErrorCodes, " "))
		for _, c := range o.ErrorCodes {
			if !slices.Contains(codes, c) {
				codes = append(codes, c)
			}
		}
	}
	tw.Flush()
	for _, c := range codes {
		if h := hint(c); h != "" {
			fmt.Fprintf(w, "\n%s:%s\n", c, h)
		}
	}
	fmt.Fprintln(w)
	if r.Server == nil {
		fmt.Fprintf(w, "server metrics unavailable: %s\n", r.ServerNote)
		return
	}
	s := r.Server
	fmt.Fprintf(w, "server: %.0f SQL statements (%.2f per request, %.1f ms mean); pool %.0f acquires, %.0f waited (%.3fs in all)\n",
		s.SQLStatements, s.SQLPerRequest, s.SQLMeanMs, s.PoolAcquires, s.PoolWaits, s.PoolWaitSeconds)
	fmt.Fprintf(w, "server: cache %.0f hits / %.0f misses (hit ratio %.1f%%); %.0f Redis commands (%.1f ms mean); dataloader %.0f batches of %.1f keys on average\n",
		s.CacheHits, s.CacheMisses, 100*s.CacheHitRatio, s.RedisCommands, s.RedisMeanMs, s.DataloaderBatches, s.DataloaderAvgBatch)
	fmt.Fprintf(w, "server: CPU %.1fs (%.2f cores, %.2f ms per request); RSS %s before, %s after, %s peak; %.0f rate-limited, %.0f server errors\n",
		s.CPUSeconds, s.CPUCores, s.CPUMsPerRequest, mib(s.RSSBeforeBytes), mib(s.RSSAfterBytes), mib(s.RSSPeakBytes),
		s.RateLimited, s.GraphQLServerErrors)
}

func mib(b float64) string { return fmt.Sprintf("%.0f MiB", b/(1<<20)) }

func writeJSON(file string, r *Result) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(file, append(b, '\n'), 0o600); err != nil { //nolint:gosec // the operator's own -json path
		return fmt.Errorf("write results: %w", err)
	}
	return nil
}
