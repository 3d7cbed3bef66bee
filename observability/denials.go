package observability

import (
	"context"
	"log/slog"
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

// denialCollector exports the latest snapshot as gauges. The figures live
// in Postgres, so every replica reports the same values: aggregate them
// with max, never sum. The snapshot is read in the background (Run), never
// on a scrape: on a large database the aggregate takes longer than
// Prometheus waits for a scrape.
type denialCollector struct {
	read func(context.Context) (DenialSnapshot, error)

	mu       sync.Mutex
	last     DenialSnapshot
	at       time.Time // of the last successful read; zero before it
	failures float64
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
	denialReadAt      = prometheus.NewDesc(Namespace+"_denial_snapshot_timestamp_seconds", "When the denial figures were last read from the database (Unix time); absent until the first read succeeds.", nil, nil)
	denialReadFails   = prometheus.NewDesc(Namespace+"_denial_snapshot_failures_total", "Reads of the denial figures that failed; the previous figures stay exported.", nil, nil)
)

// Denials refreshes the denial figures a Metrics exports.
type Denials struct{ c *denialCollector }

// ObserveDenials exports the denial analytics read by read: per payer,
// claims adjudicated, denied and paid, amounts claimed, denied and
// recovered, days to payment; per reason, claims and amounts denied; and
// the payment anomalies. Nothing is exported until Refresh or Run has read
// them once.
func (m *Metrics) ObserveDenials(read func(context.Context) (DenialSnapshot, error)) *Denials {
	c := &denialCollector{read: read}
	m.reg.MustRegister(c)
	return &Denials{c: c}
}

// Refresh reads the figures now; on failure the previous ones stay
// exported and the failure is counted.
func (d *Denials) Refresh(ctx context.Context) error {
	s, err := d.c.read(ctx)
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	if err != nil {
		d.c.failures++
		return err
	}
	d.c.last, d.c.at = s, time.Now()
	return nil
}

// Run refreshes the figures at once and then every interval until ctx
// ends, each read given the interval to finish; failures are logged.
func (d *Denials) Run(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, every)
		if err := d.Refresh(rctx); err != nil && ctx.Err() == nil {
			log.Warn("reading the denial metrics failed; the previous figures stay exported", "error", err.Error())
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Describe sends the denial metric descriptors.
func (*denialCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{denialClaims, denialDenied, denialPaid, denialPaymentDays, denialClaimed,
		denialAmount, denialRecovered, reasonClaims, reasonAmount, paymentAnomalies, denialReadAt, denialReadFails} {
		ch <- d
	}
}

// Collect exports the last snapshot read.
func (c *denialCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	s, at, failures := c.last, c.at, c.failures
	c.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(denialReadFails, prometheus.CounterValue, failures)
	if at.IsZero() {
		return
	}
	ch <- prometheus.MustNewConstMetric(denialReadAt, prometheus.GaugeValue, float64(at.UnixNano())/1e9)
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
