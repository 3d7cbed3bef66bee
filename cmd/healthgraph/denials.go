package main

import (
	"context"
	"time"

	"github.com/healthgraph/healthgraph/observability"
	"github.com/healthgraph/healthgraph/postgres"
)

// denialRefresh is how often each replica reads the denial metrics: the
// aggregate runs over every claim (seconds on a large database), and the
// figures are all-time totals a billing manager reads by the day.
const denialRefresh = 5 * time.Minute

// denialSnapshot reads the denial metrics from the database.
func denialSnapshot(db *postgres.DB) func(context.Context) (observability.DenialSnapshot, error) {
	return func(ctx context.Context) (observability.DenialSnapshot, error) {
		var s observability.DenialSnapshot
		totals, err := db.DenialTotals(ctx)
		if err != nil {
			return s, err
		}
		for _, t := range totals {
			s.Series = append(s.Series, observability.DenialSeries{Payer: t.Payer, Reason: t.Reason, Claims: t.Claims,
				Denied: t.Denied, Paid: t.Paid, PaymentDays: t.PaymentDays, Claimed: int64(t.Claimed),
				DeniedAmount: int64(t.DeniedAmount), Recovered: int64(t.Recovered)})
		}
		s.UnknownClaims, s.Duplicates, err = db.PaymentAnomalies(ctx)
		return s, err
	}
}
