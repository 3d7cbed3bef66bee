package healthgraph_test

import (
	"fmt"
	"testing"
	"time"

	hg "github.com/healthgraph/healthgraph"
)

func TestSnapWindowWidensToWholeClinicPeriods(t *testing.T) {
	t.Parallel()
	riyadh := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, hg.ClinicZone)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name             string
		from, to         time.Time
		p                hg.Period
		wantFrom, wantTo time.Time
	}{
		{"a µs-shifted window snaps to the same days", riyadh("2026-03-04 10:00").Add(time.Microsecond), riyadh("2026-03-06 09:00"),
			hg.PeriodDay, riyadh("2026-03-04 00:00"), riyadh("2026-03-07 00:00")},
		{"a window on day boundaries stays", riyadh("2026-03-04 00:00"), riyadh("2026-03-06 00:00"),
			hg.PeriodDay, riyadh("2026-03-04 00:00"), riyadh("2026-03-06 00:00")},
		{"UTC midnight is 03:00 in Riyadh", time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 4, 22, 0, 0, 0, time.UTC),
			hg.PeriodDay, riyadh("2026-03-04 00:00"), riyadh("2026-03-06 00:00")},
		{"months", riyadh("2026-01-31 23:59"), riyadh("2026-02-01 00:01"),
			hg.PeriodMonth, riyadh("2026-01-01 00:00"), riyadh("2026-03-01 00:00")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, to := hg.SnapWindow(tt.from, tt.to, tt.p)
			if !f.Equal(tt.wantFrom) || !to.Equal(tt.wantTo) {
				t.Fatalf("got [%s, %s), want [%s, %s)", f, to, tt.wantFrom, tt.wantTo)
			}
			if f2, to2 := hg.SnapWindow(f, to, tt.p); !f2.Equal(f) || !to2.Equal(to) {
				t.Fatalf("snapping again moved the window to [%s, %s)", f2, to2)
			}
		})
	}
}

func TestSuppressHidesWhatSubtractionWouldGiveBack(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		counts []int
		hidden string // which cells end suppressed, in order
	}{
		{"all large", []int{5, 9, 20}, "..."},
		{"one small hides the next smallest too", []int{2, 9, 20}, "HH."},
		{"two small that together reach the threshold", []int{2, 3, 20}, "HH."},
		{"two small that do not reach it hide a third", []int{1, 2, 20, 30}, "HHH."},
		{"a lone small cell", []int{3}, "H"},
		{"ties break by key", []int{1, 7, 7}, "HH."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cells := make([]*hg.Cell, len(tt.counts))
			for i, n := range tt.counts {
				cells[i] = &hg.Cell{Key: fmt.Sprintf("k%d", i), Parent: "2026-03", Count: n}
			}
			hg.Suppress(cells)
			got, hiddenTotal, hiddenN := "", 0, 0
			for _, c := range cells {
				if c.Suppressed {
					got += "H"
					hiddenTotal, hiddenN = hiddenTotal+c.Count, hiddenN+1
				} else {
					got += "."
				}
			}
			if got != tt.hidden {
				t.Fatalf("suppressed %q, want %q", got, tt.hidden)
			}
			if hiddenN > 0 && hiddenN < len(cells) && (hiddenN < 2 || hiddenTotal < hg.MinUtilizationGroup) {
				t.Fatalf("the parent minus its shown cells gives back %d records in %d cells", hiddenTotal, hiddenN)
			}
		})
	}
}
