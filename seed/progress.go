package seed

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Progress is told how many units of work are done out of total; seeding
// calls it from several goroutines, one call at a time.
type Progress func(done, total int)

// Bar draws one progress bar line on a terminal's stderr. It redraws at
// most ten times a second, so COPY workers can report every batch cheaply.
type Bar struct {
	w     io.Writer
	label string
	start time.Time

	mu   sync.Mutex
	last time.Time
}

// NewBar starts a bar labelled label on w.
func NewBar(w io.Writer, label string) *Bar {
	return &Bar{w: w, label: label, start: time.Now()}
}

// Update redraws the bar; its method value is a Progress.
func (b *Bar) Update(done, total int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if done < total && now.Sub(b.last) < 100*time.Millisecond {
		return
	}
	b.last = now
	const width = 30
	frac := 1.0
	if total > 0 {
		frac = min(float64(done)/float64(total), 1)
	}
	filled := int(frac * width)
	fmt.Fprintf(b.w, "\r%s [%s%s] %3d%% %d/%d %s ", b.label, strings.Repeat("#", filled), strings.Repeat(".", width-filled),
		int(frac*100), done, total, now.Sub(b.start).Round(time.Second))
}

// Finish ends the bar's line.
func (b *Bar) Finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	fmt.Fprintln(b.w)
}
