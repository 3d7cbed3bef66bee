package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// Sample is one interval of a long run (-sample): what the clients saw and
// what the server's /metrics said at its end.
type Sample struct {
	Minute     float64 `json:"minute"` // since the start, at the interval's end
	Requests   int     `json:"requests"`
	PerSecond  float64 `json:"reqPerSec"`
	P99Ms      float64 `json:"p99Ms"`
	Errors     int     `json:"errors"`
	RSSMiB     float64 `json:"rssMiB"`
	Goroutines float64 `json:"goroutines"`
	OpenFDs    float64 `json:"openFDs"`
	PoolConns  float64 `json:"poolConns"`
}

// window collects every client's outcomes of the current interval.
type window struct {
	mu     sync.Mutex
	lat    []time.Duration
	errors int
}

func (w *window) record(d time.Duration, failed bool) {
	w.mu.Lock()
	w.lat = append(w.lat, d)
	if failed {
		w.errors++
	}
	w.mu.Unlock()
}

func (w *window) take() ([]time.Duration, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	lat, errs := w.lat, w.errors
	w.lat, w.errors = nil, 0
	return lat, errs
}

// sampler closes a window every interval, prints it to logw and keeps it.
func sampler(ctx context.Context, w *window, sc *scraper, every time.Duration, logw io.Writer) func() []Sample {
	ctx, cancel := context.WithCancel(ctx)
	var (
		wg  sync.WaitGroup
		out []Sample
	)
	start := time.Now()
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		last := start
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				lat, errs := w.take()
				slices.Sort(lat)
				s := Sample{Minute: now.Sub(start).Minutes(), Requests: len(lat), Errors: errs,
					PerSecond: float64(len(lat)) / now.Sub(last).Seconds(), P99Ms: ms(percentile(lat, 99))}
				last = now
				if m, err := sc.scrape(ctx); err == nil {
					s.RSSMiB = m.sum(mRSS) / (1 << 20)
					s.Goroutines = m.sum("go_goroutines")
					s.OpenFDs = m.sum("process_open_fds")
					s.PoolConns = m.sum("healthgraph_db_pool_total_connections")
				}
				out = append(out, s)
				fmt.Fprintf(logw, "%5.1f min  %6.1f req/s  p99 %7.1f ms  %d errors  RSS %5.1f MiB  %4.0f goroutines  %3.0f open fds  %2.0f pool connections\n",
					s.Minute, s.PerSecond, s.P99Ms, s.Errors, s.RSSMiB, s.Goroutines, s.OpenFDs, s.PoolConns)
			}
		}
	})
	return func() []Sample {
		cancel()
		wg.Wait()
		return out
	}
}

// pacer hands out one start per 1/rate seconds; a client takes one before
// each request, so the load is a rate, not as fast as the server answers.
func pacer(ctx context.Context, rate float64, clients int) <-chan struct{} {
	ch := make(chan struct{}, clients)
	go func() {
		t := time.NewTicker(time.Duration(float64(time.Second) / rate))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				select {
				case ch <- struct{}{}:
				default: // every client is busy: the server is behind
				}
			}
		}
	}()
	return ch
}

// writeSamples writes the samples as JSON.
func writeSamples(file string, s []Sample) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(file, append(b, '\n'), 0o600); err != nil { //nolint:gosec // the operator's own path
		return fmt.Errorf("write samples: %w", err)
	}
	return nil
}

// plotSVG draws one small chart per sampled series against minutes, one
// above the other, each scaled from zero to its own maximum (so a flat
// line is flat, not magnified noise).
func plotSVG(w io.Writer, title string, s []Sample) error {
	series := []struct {
		name string
		val  func(Sample) float64
	}{
		{"requests/s", func(x Sample) float64 { return x.PerSecond }},
		{"p99 (ms)", func(x Sample) float64 { return x.P99Ms }},
		{"errors", func(x Sample) float64 { return float64(x.Errors) }},
		{"RSS (MiB)", func(x Sample) float64 { return x.RSSMiB }},
		{"goroutines", func(x Sample) float64 { return x.Goroutines }},
		{"open file descriptors", func(x Sample) float64 { return x.OpenFDs }},
		{"Postgres pool connections", func(x Sample) float64 { return x.PoolConns }},
	}
	const (
		width, left, right = 720.0, 70.0, 20.0
		panel, gap, top    = 70.0, 28.0, 36.0
	)
	height := top + float64(len(series))*(panel+gap) + 10
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="11">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/><text x="%.0f" y="20" font-size="14">%s</text>`+"\n", left, escape(title))
	maxMin := 1.0
	for _, x := range s {
		maxMin = max(maxMin, x.Minute)
	}
	plotW := width - left - right
	for i, ser := range series {
		y0 := top + float64(i)*(panel+gap) + gap/2
		hi := 0.0
		for _, x := range s {
			hi = max(hi, ser.val(x))
		}
		scale := hi * 1.1
		if scale == 0 {
			scale = 1
		}
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f">%s (max %.4g)</text>`+"\n", left, y0-4, escape(ser.name), hi)
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.1f" width="%.0f" height="%.0f" fill="none" stroke="#bbb"/>`+"\n", left, y0, plotW, panel)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" text-anchor="end">%.4g</text><text x="%.0f" y="%.1f" text-anchor="end">0</text>`+"\n",
			left-4, y0+8, scale, left-4, y0+panel)
		var pts []string
		for _, x := range s {
			px := left + x.Minute/maxMin*plotW
			py := y0 + panel - ser.val(x)/scale*panel
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px, py))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="#1f6fb2" stroke-width="1.5" points="%s"/>`+"\n", strings.Join(pts, " "))
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="end">minutes (0–%.0f)</text>`+"\n", width-right, height-2, maxMin)
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
