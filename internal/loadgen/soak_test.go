package loadgen

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestSoakPlotIsWellFormedSVGWithOneLinePerSeries(t *testing.T) {
	t.Parallel()
	samples := []Sample{
		{Minute: 1, PerSecond: 10, P99Ms: 120, RSSMiB: 80, Goroutines: 30, OpenFDs: 40, PoolConns: 10},
		{Minute: 2, PerSecond: 11, P99Ms: 140, Errors: 1, RSSMiB: 81, Goroutines: 31, OpenFDs: 41, PoolConns: 10},
	}
	var b strings.Builder
	if err := plotSVG(&b, "soak <&> test", samples); err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(strings.NewReader(b.String()))
	lines := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, b.String())
		}
		if el, ok := tok.(xml.StartElement); ok && el.Name.Local == "polyline" {
			lines++
		}
	}
	if lines != 7 {
		t.Errorf("%d polylines, want one for each of the 7 series", lines)
	}
}

func TestWindowHandsOverEachIntervalOnce(t *testing.T) {
	t.Parallel()
	var w window
	w.record(10*time.Millisecond, false)
	w.record(20*time.Millisecond, true)
	lat, errs := w.take()
	if len(lat) != 2 || errs != 1 {
		t.Fatalf("first interval: %d latencies, %d errors; want 2 and 1", len(lat), errs)
	}
	if lat, errs := w.take(); len(lat) != 0 || errs != 0 {
		t.Fatalf("second interval: %d latencies, %d errors; want an empty one", len(lat), errs)
	}
}
