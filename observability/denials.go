package observability

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DenialSeries is one series of the denial metrics: the all-time figures
// of a payer (Reason empty) or of a rejection reason across payers (Payer
// empty). Labels are payer licences and reason codes, never people.
type DenialSeries struct {
	Payer, Reason                     string
	Claims, Denied, Paid, PaymentDays int
	Claimed, DeniedAmount, Recovered  int64
}

// DenialSnapshot is what the denial metrics export at one scrape.
type DenialSnapshot struct {
	Series []DenialSeries
	// UnknownClaims counts reconciliation lines naming a claim we do not
	// have; Duplicates reconciliations delivered again.
	UnknownClaims, Duplicates int
}

// denialRefresh is how long a snapshot serves scrapes before it is read
// again: the figures come from one aggregate query over every claim, which
// is too much to run on each scrape of each replica.
const denialRefresh = 30 * time.Second

// denialCollector exports the latest snapshot as gauges. The figures live
// in Postgres, so every replica reports the same values: aggregate them
// with max, never sum.
type denialCollector struct {
	read func(context.Context) (DenialSnapshot, error)

	mu   sync.Mutex
	at   time.Time
	last DenialSnapshot
}

func denialDesc(name, help string, label string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help+" Read from the database; every replica reports the same value (aggregate with max).", []string{label}, nil)
}

var (
	denialClaims      = denialDesc("claims_adjudicated", "Original NPHIES claims a payer adjudicated (approved, partial or rejected), all time, by payer licence.", "payer")
	denialDenied      = denialDesc("claims_denied", "Adjudicated original claims with an item rejected or cut, all time, by payer licence.", "payer")
	denialPaid        = denialDesc("claims_paid", "Adjudicated original claims the payer paid at least in part, all time, by payer licence.", "payer")
	denialPaymentDays = denialDesc("claims_paid_wait_days", "Days from submission to first payment, summed over the paid claims, by payer licence; divide by claims_paid for the average.", "payer")
	denialClaimed     = denialDesc("claimed_halalas", "Insurer share asked on adjudicated original claims (item net less patient share), in halalas, by payer licence.", "payer")
	denialAmount      = denialDesc("denied_halalas", "Insurer share payers did not grant on rejected or cut items, in halalas, by payer licence.", "payer")
	denialRecovered   = denialDesc("recovered_halalas", "Denied amount later won back by resubmissions, in halalas, by payer licence.", "payer")
	reasonClaims      = denialDesc("denied_reason_claims", "Claims with an item denied for the reason (its first reason code), all time, by reason.", "reason")
	reasonAmount      = denialDesc("denied_reason_halalas", "Insurer share denied on items of the reason, in halalas, by reason.", "reason")
	paymentAnomalies  = denialDesc("payment_anomalies", "Payment reconciliation anomalies: lines naming a claim we do not have (unknown_claim) and reconciliations delivered again (duplicate).", "kind")
)

// ObserveDenials exports the denial analytics read by read: per payer,
// claims adjudicated, denied and paid, amounts claimed, denied and
// recovered, days to payment; per reason, claims and amounts denied; and
// the payment anomalies. read runs at most once per denialRefresh, on a
// scrape; when it fails the previous snapshot is exported.
func (m *Metrics) ObserveDenials(read func(context.Context) (DenialSnapshot, error)) {
	m.reg.MustRegister(&denialCollector{read: read})
}

// Describe sends the denial metric descriptors.
func (*denialCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{denialClaims, denialDenied, denialPaid, denialPaymentDays, denialClaimed,
		denialAmount, denialRecovered, reasonClaims, reasonAmount, paymentAnomalies} {
		ch <- d
	}
}

// Collect exports the snapshot, refreshed when it is older than
// denialRefresh.
func (c *denialCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	if time.Since(c.at) >= denialRefresh {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if s, err := c.read(ctx); err == nil {
			c.last = s
		}
		cancel()
		c.at = time.Now()
	}
	s := c.last
	c.mu.Unlock()
	gauge := func(d *prometheus.Desc, v float64, label string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, label)
	}
	for _, x := range s.Series {
		if x.Reason != "" {
			gauge(reasonClaims, float64(x.Claims), x.Reason)
			gauge(reasonAmount, float64(x.DeniedAmount), x.Reason)
			continue
		}
		gauge(denialClaims, float64(x.Claims), x.Payer)
		gauge(denialDenied, float64(x.Denied), x.Payer)
		gauge(denialPaid, float64(x.Paid), x.Payer)
		gauge(denialPaymentDays, float64(x.PaymentDays), x.Payer)
		gauge(denialClaimed, float64(x.Claimed), x.Payer)
		gauge(denialAmount, float64(x.DeniedAmount), x.Payer)
		gauge(denialRecovered, float64(x.Recovered), x.Payer)
	}
	gauge(paymentAnomalies, float64(s.UnknownClaims), "unknown_claim")
	gauge(paymentAnomalies, float64(s.Duplicates), "duplicate")
}
