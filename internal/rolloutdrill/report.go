package rolloutdrill

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

func jsonField(data map[string]json.RawMessage, field string, v any) error {
	raw, ok := data[field]
	if !ok {
		return fmt.Errorf("no %q in the answer", field)
	}
	return json.Unmarshal(raw, v)
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

// print writes the report as plain text, in the order docs/rollout.md
// quotes it.
func (r *Report) print(w io.Writer, o Options) {
	fmt.Fprintf(w, "requests: %d sent, %d failed\n", r.Sent, r.Failed)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\tsent\tfailed\tp50\tp95\tp99\tmax\t")
	for p := range numPhases {
		l := r.PhaseLatency[p]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t\n", phaseNames[p], r.ByPhase[p].sent, r.ByPhase[p].failed,
			ms(l.Pct(50)), ms(l.Pct(95)), ms(l.Pct(99)), ms(l.Pct(100)))
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\tsent\tfailed\t")
	for k := range numKinds {
		fmt.Fprintf(tw, "%s\t%d\t%d\t\n", kindNames[k], r.ByKind[k].sent, r.ByKind[k].failed)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\nproxy: %d queries retried on another replica after a connection error, %d mutations with a failed connection (not retried), %d requests with no ready replica\n",
		r.Retried, r.MutationConnErrors, r.NoBackend)
	fmt.Fprintf(w, "writes: acknowledged %d (invoices %d, users %d), found %d (invoices %d, users %d); committed but not acknowledged: %d\n",
		r.InvoicesAcked+r.UsersAcked, r.InvoicesAcked, r.UsersAcked, r.InvoicesFound+r.UsersFound, r.InvoicesFound, r.UsersFound, r.Unacknowledged)
	for _, m := range r.Missing {
		fmt.Fprintln(w, "  missing:", m)
	}
	fmt.Fprintf(w, "expand migration: %s\n", r.Migration.Round(time.Millisecond))
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "swap\tversions\treplacement ready\tpreStop\tdrain (SIGTERM to exit)\tswap total\told exit code")
	for _, s := range r.Swaps {
		fmt.Fprintf(tw, "%s -> %s\t%s -> %s\t%s\t%s\t%s\t%s\t%d\n", s.old, s.replacement, s.oldVersion, s.newVersion, ms(s.ready), o.PreStop, ms(s.drain), ms(s.total), s.exitCode)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "replacements' exit codes at the end: %v\n", r.FinalExits)
	if len(r.Errors) > 0 {
		fmt.Fprintln(w, "\nfailures:")
		keys := make([]string, 0, len(r.Errors))
		for k := range r.Errors {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  %4d × %s\n", r.Errors[k], k)
		}
		fmt.Fprintln(w, "old replicas' shutdown logs:")
		for _, s := range r.Swaps {
			for _, l := range s.shutdownLog {
				fmt.Fprintf(w, "  %s: %s\n", s.old, strings.TrimSpace(l))
			}
		}
	}
	fmt.Fprintf(w, "\ndrill took %s\n", r.Elapsed.Round(100*time.Millisecond))
}
