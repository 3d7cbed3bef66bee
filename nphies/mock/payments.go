package mock

import (
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/healthgraph/healthgraph/nphies"
)

// payment is a PaymentReconciliation the mock payer issued, kept so a
// payment notice can be checked against it and the message delivered again.
type payment struct {
	provider, payer string
	resource        json.RawMessage
	extras          []nphies.BundleEntry
}

// parties are who pays whom: the claims' insurer and provider references
// when the mock knows a claim, else the licences themselves.
type parties struct {
	payer              string
	extras             []nphies.BundleEntry
	insurer, requestor *nphies.Reference
}

// partiesOf returns the parties of a claim the mock adjudicated.
func partiesOf(rec *claimRecord) parties {
	return parties{payer: rec.payer, extras: rec.extras, insurer: rec.insurer, requestor: rec.requestor}
}

// payLine is one claim a reconciliation pays: gross is the payer's payment
// before NPHIES's 1 % fee.
type payLine struct {
	claim, response nphies.Identifier
	gross           int64
}

// Payment is one claim a scripted reconciliation pays, known to the mock
// or not (a payer naming a claim the provider does not have).
type Payment struct {
	// Claim is the Claim.identifier paid.
	Claim nphies.Identifier
	// Gross is the payment before NPHIES's 1 % fee, in halalas.
	Gross int64
}

// EnqueuePaymentReconciliation queues a payment reconciliation paying the
// given completed claims (their approved benefit) for providerLicense's next
// poll, and returns its identifier (for the payment notice).
func (s *Server) EnqueuePaymentReconciliation(providerLicense string, claims ...nphies.Identifier) (nphies.Identifier, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(claims) == 0 {
		return nphies.Identifier{}, fmt.Errorf("nphies mock: no claims to pay")
	}
	var who parties
	var lines []payLine
	for _, id := range claims {
		rec := s.claims[id.Key()]
		if rec == nil || rec.state != nphies.OutcomeComplete || rec.provider != providerLicense {
			return nphies.Identifier{}, fmt.Errorf("nphies mock: claim is not a completed claim of this provider")
		}
		who = partiesOf(rec)
		lines = append(lines, payLine{id, rec.responseID, rec.benefit})
	}
	return s.enqueuePayments(providerLicense, who, lines), nil
}

// EnqueuePayment queues a reconciliation paying the given amounts, whether
// or not the mock knows the claims: a payer's remittance for a claim the
// provider never sent is what providers must notice.
func (s *Server) EnqueuePayment(providerLicense string, payments ...Payment) (nphies.Identifier, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(payments) == 0 {
		return nphies.Identifier{}, fmt.Errorf("nphies mock: no claims to pay")
	}
	who := parties{payer: "INS-FHIR",
		insurer:   &nphies.Reference{Type: "Organization", Identifier: &nphies.Identifier{System: nphies.SystemPayerLicense, Value: "INS-FHIR"}},
		requestor: &nphies.Reference{Type: "Organization", Identifier: &nphies.Identifier{System: nphies.SystemProviderLicense, Value: providerLicense}}}
	var lines []payLine
	for _, p := range payments {
		resp := nphies.Identifier{System: mockBase + "/claimresponse", Value: uuid.NewString()}
		if rec := s.claims[p.Claim.Key()]; rec != nil {
			who, resp = partiesOf(rec), rec.responseID
		}
		lines = append(lines, payLine{p.Claim, resp, p.Gross})
	}
	return s.enqueuePayments(providerLicense, who, lines), nil
}

// RedeliverPaymentReconciliation queues a reconciliation issued before
// again, in a new message bundle: a payer (or NPHIES) sending the same
// remittance twice.
func (s *Server) RedeliverPaymentReconciliation(id nphies.Identifier) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.payments[id.Key()]
	if p == nil {
		return fmt.Errorf("nphies mock: no such payment reconciliation")
	}
	s.queuePayment(p)
	return nil
}

// enqueuePayments builds and queues one reconciliation. Each line carries
// the payment, a zero early fee and NPHIES's 1 % fee, negative, and its
// amount is their sum (BV-00479); paymentAmount is the sum of the amounts
// (BV-00354). Called with s.mu held.
func (s *Server) enqueuePayments(provider string, who parties, lines []payLine) nphies.Identifier {
	today := s.now().Format("2006-01-02")
	ident := nphies.Identifier{System: mockBase + "/paymentreconciliation", Value: uuid.NewString()}
	pr := nphies.PaymentReconciliation{
		ResourceType: "PaymentReconciliation", ID: uuid.NewString(),
		Meta:       &nphies.Meta{Profile: []string{nphies.Profile("payment-reconciliation")}},
		Identifier: []nphies.Identifier{ident},
		Status:     "active",
		Period:     &nphies.Period{Start: today, End: today},
		Created:    s.now().Format("2006-01-02T15:04:05-07:00"),
		PaymentIdentifier: nphies.OneIdentifier{{
			Type:   cc("http://nphies.sa/terminology/CodeSystem/payment-method", "eft"),
			System: mockBase + "/payment", Value: "EFT-" + uuid.NewString()[:8],
		}},
		Outcome:       "complete",
		PaymentDate:   today,
		PaymentIssuer: who.insurer,
		Requestor:     who.requestor,
	}
	var total int64
	for _, l := range lines {
		fee := -(l.gross / 100)
		claimID, respID := l.claim, l.response
		pr.Detail = append(pr.Detail, nphies.PaymentDetail{
			Extension: []nphies.Extension{
				{URL: nphies.ExtensionBase + "extension-component-payment", ValueMoney: money(l.gross)},
				{URL: nphies.ExtensionBase + "extension-component-early-fee", ValueMoney: money(0)},
				{URL: nphies.ExtensionBase + "extension-component-nphies-fee", ValueMoney: money(fee)},
			},
			Type:     cc("http://terminology.hl7.org/CodeSystem/payment-type", "payment"),
			Request:  &nphies.Reference{Identifier: &claimID},
			Response: &nphies.Reference{Identifier: &respID},
			Date:     today,
			Amount:   money(l.gross + fee),
		})
		total += l.gross + fee
	}
	pr.PaymentAmount = money(total)
	p := &payment{provider: provider, payer: who.payer, resource: mustJSON(pr), extras: who.extras}
	s.payments[ident.Key()] = p
	s.queuePayment(p)
	return ident
}

// queuePayment puts a reconciliation on its provider's poll queue in a new
// bundle. Called with s.mu held.
func (s *Server) queuePayment(p *payment) {
	var pr nphies.PaymentReconciliation
	_ = json.Unmarshal(p.resource, &pr)
	url := fmt.Sprintf("%s/PaymentReconciliation/%s", mockBase, pr.ID)
	id, body := s.message(nphies.EventPaymentReconciliation, payerSender(p.payer), p.provider, "", url, p.resource, p.extras, false)
	s.queues[p.provider] = append(s.queues[p.provider], queued{id: id, event: nphies.EventPaymentReconciliation, body: body})
}

// reverse queues the payer's revised decision on a claim it approved: on
// audit it rejects every item, with a reissue reason, as NPHIES requires
// on every response after the first complete one (BV-00055).
func (s *Server) reverse(key string, rec *claimRecord, c *nphies.Claim) {
	rev, benefit := s.adjudicate(c, OutcomeRejected, true)
	rec.final, rec.benefit, rec.responseID = mustJSON(rev), benefit, rev.Identifier[0]
	s.deliverFinal(key, rec)
}
