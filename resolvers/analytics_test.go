package resolvers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	hg "github.com/healthgraph/healthgraph"
)

// revenueAnswer is one revenueSummary as an analyst sees it.
type revenueAnswer struct {
	label    string
	from, to time.Time
	shown    map[string]int // invoices per shown group
	hidden   int            // suppressed groups
}

// within reports whether a's window lies inside b's, so b minus a is what
// an attacker would compute.
func (a revenueAnswer) within(b revenueAnswer) bool {
	return !a.from.Before(b.from) && !a.to.After(b.to)
}

func (a revenueAnswer) total() int {
	n := 0
	for _, v := range a.shown {
		n += v
	}
	return n
}

// TestRepeatedWindowsRecoverNoInvoice replays the differencing attack: an
// analyst scripts revenueSummary over hundreds of shifted, overlapping and
// µs-apart windows, by day and by month, and subtracts every answer from
// every answer whose window contains it. No difference may be smaller than
// the suppression threshold (a difference of 1 is one invoice recovered), and
// a group shown in two answers shows the same figure in both.
func TestRepeatedWindowsRecoverNoInvoice(t *testing.T) {
	t.Parallel()
	b := newBillingEnv(t)
	_, analyst := b.User(t, "analyst@example.com", hg.RoleAnalyst)
	at := func(day, hour int) time.Time { return time.Date(2025, 3, day, hour, 0, 0, 0, hg.ClinicZone) }
	// March 2025 as in the demo: 12 invoices over four days (6, 1, 3, 2),
	// and five more on one day of April.
	issued := []time.Time{
		at(3, 9), at(3, 10), at(3, 11), at(3, 12), at(3, 13), at(3, 14),
		at(5, 10),
		at(10, 9), at(10, 12), at(10, 15),
		at(17, 11), at(17, 16),
		at(33, 9), at(33, 10), at(33, 11), at(33, 12), at(33, 13), // 2 April
	}
	for range issued {
		b.issue(t, b.createInvoice(t, b.patient, b.coverage).ID)
	}
	if _, err := b.DB.Pool.Exec(context.Background(), `WITH o AS (SELECT id, row_number() OVER (ORDER BY created_at, id) AS rn FROM invoices)
		UPDATE invoices i SET issued_at = ($1::timestamptz[])[o.rn] FROM o WHERE o.id = i.id`, issued); err != nil {
		t.Fatal(err)
	}

	const q = `query($from: Time!, $to: Time!, $by: RevenueGroupBy!) { revenueSummary(from: $from, to: $to, groupBy: $by) {
		key suppressed invoices } }`
	ask := func(from, to time.Time, by string) revenueAnswer {
		var out struct {
			RevenueSummary []struct {
				Key        string
				Suppressed bool
				Invoices   *int
			}
		}
		b.Do(t, analyst, q, map[string]any{"from": from.Format(time.RFC3339Nano), "to": to.Format(time.RFC3339Nano), "by": by}).Decode(t, &out)
		a := revenueAnswer{label: fmt.Sprintf("%s [%s, %s)", by, from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano)),
			from: from, to: to, shown: map[string]int{}}
		for _, g := range out.RevenueSummary {
			switch {
			case g.Suppressed && g.Invoices == nil:
				a.hidden++
			case !g.Suppressed && g.Invoices != nil && *g.Invoices >= hg.MinUtilizationGroup:
				a.shown[g.Key] = *g.Invoices
			default:
				t.Fatalf("%s: group %s shows %v invoices (suppressed %v)", a.label, g.Key, g.Invoices, g.Suppressed)
			}
		}
		return a
	}

	var answers []revenueAnswer
	start := at(1, 0).Add(-36 * time.Hour)
	for step := 0; step < 40; step++ {
		from := start.Add(time.Duration(step) * 19 * time.Hour)
		for _, length := range []time.Duration{time.Microsecond, 7 * time.Hour, 24 * time.Hour, 3 * 24 * time.Hour, 9 * 24 * time.Hour} {
			for _, by := range []string{"DAY", "MONTH"} {
				answers = append(answers, ask(from, from.Add(length), by), ask(from.Add(-time.Microsecond), from.Add(length), by))
			}
		}
	}
	answers = append(answers, ask(at(1, 0), at(32, 0), "MONTH"), ask(at(1, 0), at(32, 0), "DAY"))

	shownSomething := false
	for i, a := range answers {
		shownSomething = shownSomething || len(a.shown) > 0
		for _, other := range answers[i+1:] {
			nested := a.within(other) || other.within(a)
			if d := a.total() - other.total(); nested && d != 0 && d > -hg.MinUtilizationGroup && d < hg.MinUtilizationGroup {
				t.Fatalf("%s shows %d invoices and %s shows %d: their difference singles out %d", a.label, a.total(), other.label, other.total(), max(d, -d))
			}
			for key, n := range a.shown {
				if m, ok := other.shown[key]; ok && m != n {
					t.Fatalf("group %s shows %d in %s and %d in %s", key, n, a.label, m, other.label)
				}
			}
		}
	}
	if !shownSomething {
		t.Fatal("every answer was empty: the test proves nothing")
	}
	t.Logf("%d answers compared pairwise", len(answers))
}
