package seed

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/nphies/mock"
	"github.com/healthgraph/healthgraph/postgres"
)

// Settling the demo month: the payers' money and the clinic's corrections,
// played after the month is written through the flows the service runs —
// the poller receives the payers' PaymentReconciliations and the store
// applies them and queues the payment notices, the outbox worker delivers
// those, and the desk corrects and resubmits rejected claims, which the
// worker sends and the payer decides. The payer is a mock of its own that
// has adjudicated the month's decided claims the same way (the month's
// mock also holds the answers still queued for the PENDING claims, which a
// poll would deliver).
const (
	// demoPaidShare of the approved and partly approved claims decided
	// long enough ago are paid; demoSplitShare of those in two payments.
	demoPaidShare  = 0.85
	demoSplitShare = 0.25
	// demoResubmitShare of the rejected claims are corrected and sent again.
	demoResubmitShare = 0.5
)

// payment is one payer's remittance for one claim on one day.
type demoPayment struct {
	claim  uuid.UUID
	payer  string
	on     time.Time
	amount hg.Halalas
}

// settlement is what settle needs of the written month.
type settlement struct {
	// decided are the decided claims and the bundles they were sent as.
	decided []decidedClaim
	// queued are the outbox rows of the claims still QUEUED: written after
	// the settlement, so its worker leaves them to the service's.
	queued [][]any
	// billing is the billing clerk the desk's corrections are audited to.
	billing uuid.UUID
}

// decidedClaim is one decided claim of the month.
type decidedClaim struct {
	claimed
	body []byte
}

// inProcess is a transport that hands a request to a handler in process.
type inProcess struct{ h http.Handler }

func (t inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// settle pays, acknowledges and resubmits the month's decided claims (see
// the comment above), counts what it did in sum, and then puts the claims
// still QUEUED into the outbox.
func settle(ctx context.Context, db *postgres.DB, g *gen, o Options, s settlement, sum *Summary) error {
	at := o.Now
	payer := mock.New(mock.Options{Seed: o.Seed | 1, Now: func() time.Time { return at }})
	payments := g.demoPayments(s.decided, o.Now)
	for _, c := range s.decided {
		if !slices.ContainsFunc(payments, func(p demoPayment) bool { return p.claim == c.id }) {
			continue
		}
		if err := adjudicateAgain(payer, c); err != nil {
			return err
		}
	}
	client, err := nphies.NewClient("http://nphies.invalid", nphies.WithTransport(inProcess{payer}))
	if err != nil {
		return err
	}
	clock := func() time.Time { return at }
	poller := &nphies.Poller{Store: db, Client: client, Builder: &o.Clinic, Count: 50, Now: clock}
	worker := &nphies.Worker{Store: db, Client: client}
	deliver := func() error {
		for {
			sent, err := worker.DeliverOnce(ctx)
			if err != nil || !sent {
				return err
			}
		}
	}

	for day := range groupByDay(payments) {
		at = day[0].on
		for _, byPayer := range groupByPayer(day) {
			var lines []mock.Payment
			for _, p := range byPayer {
				lines = append(lines, mock.Payment{Claim: o.Clinic.ClaimIdentifier(p.claim), Gross: int64(p.amount)})
			}
			if _, err := payer.EnqueuePayment(o.Clinic.ProviderLicense, lines...); err != nil {
				return fmt.Errorf("the demo payer's reconciliation: %w", err)
			}
			sum.Reconciliations++
		}
		for more := true; more; {
			if more, err = poller.PollOnce(ctx); err != nil {
				return fmt.Errorf("poll the demo payer: %w", err)
			}
		}
		if err := deliver(); err != nil {
			return fmt.Errorf("deliver the payment notices: %w", err)
		}
	}

	at = o.Now
	desk := &nphies.Desk{Store: db, Builder: &o.Clinic}
	for _, c := range s.decided {
		if c.status != hg.ClaimRejected || c.updated.After(o.Now.AddDate(0, 0, -3)) || !g.chance(demoResubmitShare) {
			continue
		}
		_, err := desk.Resubmit(ctx, hg.PatientScope{All: true}, nphies.ResubmitRequest{ClaimID: c.id,
			PractitionerID: c.practitionerID, Diagnoses: c.diagnoses,
			Audit: hg.AuditEvent{ActorID: &s.billing, ActorRole: hg.RoleBilling, Action: "claim.resubmitted", EntityType: "Claim"}})
		if err != nil {
			return fmt.Errorf("resubmit a demo claim: %w", err)
		}
		sum.Resubmissions++
	}
	if err := deliver(); err != nil {
		return fmt.Errorf("deliver the resubmissions: %w", err)
	}
	return db.InTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{messagesTable.name}, messagesTable.cols, pgx.CopyFromRows(s.queued))
		return err
	})
}

// adjudicateAgain sends a claim to be paid to payer, with the outcome it
// had, so payer knows the claim and what it approved (the mock pays only
// claims it knows as their own payer).
func adjudicateAgain(payer *mock.Server, c decidedClaim) error {
	req := httptest.NewRequest(http.MethodPost, "/$process-message", bytes.NewReader(c.body))
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set(mock.HeaderOutcome, string(outcomes[c.status]))
	rec := httptest.NewRecorder()
	payer.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return fmt.Errorf("the demo payer answered a decided claim with %d", rec.Code)
	}
	return nil
}

// demoPayments picks which approved and partly approved claims were paid
// and when: 10 to 24 days after the decision, on a day before today; a
// split claim half then, the rest a week later (when that has come).
func (g *gen) demoPayments(decided []decidedClaim, now time.Time) []demoPayment {
	var out []demoPayment
	for _, c := range decided {
		if c.status != hg.ClaimApproved && c.status != hg.ClaimPartial || !g.chance(demoPaidShare) {
			continue
		}
		approved := c.approved()
		day := riyadhNoon(c.updated.AddDate(0, 0, 10+g.rng.IntN(15)))
		if approved <= 0 || !day.Before(now.AddDate(0, 0, -1)) {
			continue
		}
		first := approved
		if g.chance(demoSplitShare) {
			first = approved / 2
			if later := day.AddDate(0, 0, 7); later.Before(now) {
				out = append(out, demoPayment{c.id, c.cov.payer.license, later, approved - first})
			}
		}
		out = append(out, demoPayment{c.id, c.cov.payer.license, day, first})
	}
	slices.SortStableFunc(out, func(a, b demoPayment) int { return a.on.Compare(b.on) })
	return out
}

// approved is the insurer share the payer granted, item by item as
// addClaim adjudicated it.
func (c claimed) approved() hg.Halalas {
	var sum hg.Halalas
	for i, l := range c.lines {
		a, _, _ := adjudicate(c.status, i, l.Total, l.PatientShare)
		sum += a
	}
	return sum
}

// riyadhNoon is noon in the clinic's zone on t's day there.
func riyadhNoon(t time.Time) time.Time {
	l := t.In(hg.ClinicZone)
	return time.Date(l.Year(), l.Month(), l.Day(), 12, 0, 0, 0, hg.ClinicZone)
}

// groupByDay yields runs of payments on the same day (payments are sorted).
func groupByDay(ps []demoPayment) func(func([]demoPayment) bool) {
	return func(yield func([]demoPayment) bool) {
		for len(ps) > 0 {
			n := 1
			for n < len(ps) && ps[n].on.Equal(ps[0].on) {
				n++
			}
			if !yield(ps[:n]) {
				return
			}
			ps = ps[n:]
		}
	}
}

// groupByPayer splits one day's payments by payer, in payer order.
func groupByPayer(day []demoPayment) [][]demoPayment {
	byPayer := map[string][]demoPayment{}
	for _, p := range day {
		byPayer[p.payer] = append(byPayer[p.payer], p)
	}
	var out [][]demoPayment
	for _, k := range slices.Sorted(maps.Keys(byPayer)) {
		out = append(out, byPayer[k])
	}
	return out
}
