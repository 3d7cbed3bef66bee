package drill

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Stats are the outcomes of one phase of load.
type Stats struct {
	Sent, Failed int
	Latency      Latencies
	// Codes counts failures by Code.
	Codes map[string]int
	// FirstErrors are the first three failures, for the report.
	FirstErrors []string
}

// CodeList renders Codes as "CODE×n, …", sorted, or "-" without failures.
func (s Stats) CodeList() string {
	if len(s.Codes) == 0 {
		return "-"
	}
	var parts []string
	for _, c := range slices.Sorted(maps.Keys(s.Codes)) {
		parts = append(parts, c+"×"+strconv.Itoa(s.Codes[c]))
	}
	return strings.Join(parts, ", ")
}

// Load sends rate requests per second for d, open loop: each in its own
// goroutine, so a slow server does not slow the offered load (the count in
// flight is bounded by the rate and the client's timeout). It returns
// when every request has ended.
func Load(d time.Duration, rate int, request func(i int) error) Stats {
	var mu sync.Mutex
	st := Stats{Codes: map[string]int{}}
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	end := time.Now().Add(d)
	for i := 0; time.Now().Before(end); i++ {
		<-tick.C
		wg.Go(func() {
			start := time.Now()
			err := request(i)
			took := time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			st.Sent++
			st.Latency = append(st.Latency, took)
			if err != nil {
				st.Failed++
				st.Codes[Code(err)]++
				if len(st.FirstErrors) < 3 {
					st.FirstErrors = append(st.FirstErrors, err.Error())
				}
			}
		})
	}
	wg.Wait()
	st.Latency = Sorted(st.Latency)
	return st
}
