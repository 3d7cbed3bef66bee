package nphies

import (
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
)

// paymentOutcome maps a PaymentReconciliation onto the store's terms. A
// detail whose claim identifier is not one of our claim ids keeps the
// identifier as the payer sent it: the store records it as an anomaly.
func paymentOutcome(resp *Response) (*hg.PaymentOutcome, string) {
	pr := resp.PaymentReconciliation
	if pr.Identifier.Value == "" {
		return nil, "the payment reconciliation has no identifier"
	}
	o := &hg.PaymentOutcome{Identifier: pr.Identifier.Key(), PayerLicense: resp.SenderLicense,
		Reference: pr.PaymentIdentifier.Value, PaymentDate: fhirDate(pr.PaymentDate), Amount: hg.Halalas(pr.AmountHalalas)}
	for _, d := range pr.Details {
		fee := d.NPHIESFeeHalalas + d.EarlyFeeHalalas
		l := hg.PaymentLine{ClaimIdentifier: d.Request.Key(), Kind: d.Type,
			Gross: hg.Halalas(d.AmountHalalas - fee), Fee: hg.Halalas(fee), PaidOn: fhirDate(d.Date)}
		if id, err := uuid.Parse(d.Request.Value); err == nil {
			l.ClaimID = &id
		}
		o.Lines = append(o.Lines, l)
	}
	return o, ""
}

// fhirDate reads a FHIR date (or the date of a dateTime) as midnight in
// Riyadh; nil when absent or unreadable.
func fhirDate(s string) *time.Time {
	if len(s) < 10 {
		return nil
	}
	t, err := time.ParseInLocation("2006-01-02", s[:10], riyadh)
	if err != nil {
		return nil
	}
	return &t
}

// acknowledge builds the payment notice that tells NPHIES a delivered
// reconciliation was received, and attaches it for the store to queue with
// the reconciliation: only when the store applies it for the first time,
// so a redelivered reconciliation is acknowledged once. The notice reports
// the payment date the payer gave (BV-00510 wants it on or after it).
func (p *Poller) acknowledge(d *hg.Received, pr *PaymentReconciliationResult) {
	if d.Payment == nil || pr == nil || pr.AmountHalalas <= 0 {
		return
	}
	now := p.Now()
	paid := now
	if d.Payment.PaymentDate != nil && !d.Payment.PaymentDate.After(now) {
		paid = *d.Payment.PaymentDate
	}
	id, err := uuid.NewV7()
	if err != nil {
		d.Problem = "the payment notice could not be built"
		return
	}
	msg, err := p.Builder.BuildPaymentNotice(PaymentNoticeInput{Envelope: NewEnvelope(now), NoticeID: id, Created: now,
		Reconciliation: pr.Identifier, PaymentDate: paid, AmountHalalas: pr.AmountHalalas})
	if err != nil {
		d.Problem = "the payment notice could not be built: " + err.Error()
		return
	}
	m := outgoingRow(msg, nil, now)
	m.NextAttemptAt = now
	d.Payment.Notice = &m
}
