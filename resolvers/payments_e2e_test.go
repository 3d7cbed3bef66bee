package resolvers_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/internal/eventually"
	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/nphies/mock"
)

// payerFlow is a billing environment wired to the mock NPHIES with the real
// outbox worker running and a poller the test drives one poll at a time.
type payerFlow struct {
	billingEnv
	mock   *mock.Server
	poller *nphies.Poller
	// visit is the visit every claim of the flow is for.
	visit visitOut
}

func newPayerFlow(t *testing.T, member string) payerFlow {
	t.Helper()
	m := mock.New(mock.Options{})
	nph := httptest.NewServer(m)
	t.Cleanup(nph.Close)
	client, err := nphies.NewClient(nph.URL, nphies.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	b := newBillingEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	worker := &nphies.Worker{Store: b.Outbox, Client: client, Interval: 20 * time.Millisecond, BackoffBase: 50 * time.Millisecond}
	done := make(chan struct{})
	go func() { defer close(done); _ = worker.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	b.setMember(t, member)
	return payerFlow{billingEnv: b, mock: m, poller: &nphies.Poller{Store: b.Outbox, Client: client, Count: 1,
		Builder: &nphies.Builder{ProviderLicense: "PR-FHIR", ProviderName: "HealthGraph Test Clinic", BaseURL: "http://clinic.test"}},
		visit: b.seenVisit(t, b.patient)}
}

// setMember sets the member ID that scripts the mock payer's answer.
func (b billingEnv) setMember(t *testing.T, member string) {
	t.Helper()
	if _, err := b.DB.Pool.Exec(context.Background(), `UPDATE coverages SET member_id = $1 WHERE id = $2`, member, b.coverage.ID); err != nil {
		t.Fatal(err)
	}
}

// submit claims a fresh issued invoice and returns the claim's global id.
func (f payerFlow) submit(t *testing.T) string {
	t.Helper()
	inv := f.createInvoice(t, f.patient, f.coverage)
	f.issue(t, inv.ID)
	var sub struct{ SubmitClaim struct{ ID string } }
	f.Do(t, f.billing, submitClaimMut, map[string]any{"in": f.visit.claimInput(inv.ID, "J06.9")}).Decode(t, &sub)
	return sub.SubmitClaim.ID
}

// pollOnce fetches one queued message from the mock and applies it.
func (f payerFlow) pollOnce(t *testing.T) {
	t.Helper()
	if _, err := f.poller.PollOnce(context.Background()); err != nil {
		t.Fatalf("poll: %v", err)
	}
}

const paidClaimQuery = `query($id: ID!) { claim(id: $id) { id status approved { amount } paymentStatus paid { amount }
	outstanding { amount } payments { reconciliation reference kind gross { amount } fee { amount } amount { amount } }
	resubmissionOf { id } resubmissions { id status } history { status note }
	messages { direction event deliveryStatus body } } }`

type paidClaim struct {
	ID, Status    string
	Approved      *money
	PaymentStatus *string
	Paid          money
	Outstanding   *money
	Payments      []struct {
		Reconciliation, Reference, Kind string
		Gross, Fee, Amount              money
	}
	ResubmissionOf *struct{ ID string }
	Resubmissions  []struct{ ID, Status string }
	History        []struct{ Status, Note string }
	Messages       []struct{ Direction, Event, DeliveryStatus, Body string }
}

func (f payerFlow) claim(t *testing.T, id string) paidClaim {
	t.Helper()
	var out struct{ Claim paidClaim }
	f.Do(t, f.billing, paidClaimQuery, map[string]any{"id": id}).Decode(t, &out)
	return out.Claim
}

// decided waits until the worker delivered the claim and the payer decided.
func (f payerFlow) decided(t *testing.T, id string) paidClaim {
	t.Helper()
	var c paidClaim
	eventually.Poll(func() bool {
		c = f.claim(t, id)
		return hg.ClaimStatus(c.Status).Final() || c.Status == "ERROR"
	})
	return c
}

// halalas reads a Money amount.
func halalas(t *testing.T, m money) hg.Halalas {
	t.Helper()
	h, err := hg.ParseSAR("amount", strings.TrimPrefix(m.Amount, "-"))
	if err != nil {
		t.Fatalf("amount %q: %v", m.Amount, err)
	}
	if strings.HasPrefix(m.Amount, "-") {
		return -h
	}
	return h
}

// TestTwoPartialPaymentsLeaveTheClaimPaid: a payer that pays an approved
// claim in two reconciliations (member PAYSPLIT). After the first the claim
// is PARTIALLY_PAID with the rest outstanding, after the second PAID with
// nothing outstanding; each reconciliation is acknowledged by a payment
// notice the outbox delivers.
func TestTwoPartialPaymentsLeaveTheClaimPaid(t *testing.T) {
	t.Parallel()
	f := newPayerFlow(t, "PAYSPLIT-1")
	id := f.submit(t)
	c := f.decided(t, id)
	if c.Status != "APPROVED" || c.PaymentStatus == nil || *c.PaymentStatus != "UNPAID" || c.Paid.Amount != "0.00" {
		t.Fatalf("before payment: %+v", c)
	}
	approved := halalas(t, *c.Approved)

	f.pollOnce(t)
	c = f.claim(t, id)
	first := halalas(t, c.Paid)
	if *c.PaymentStatus != "PARTIALLY_PAID" || first != approved/2 || halalas(t, *c.Outstanding) != approved-first {
		t.Fatalf("after the first payment: status %v paid %s outstanding %v, approved %s", *c.PaymentStatus, c.Paid.Amount,
			c.Outstanding, approved)
	}

	f.pollOnce(t)
	c = f.claim(t, id)
	if *c.PaymentStatus != "PAID" || halalas(t, c.Paid) != approved || c.Outstanding.Amount != "0.00" || len(c.Payments) != 2 {
		t.Fatalf("after the second payment: %+v", c)
	}
	var gross, received hg.Halalas
	for _, p := range c.Payments {
		g, fee, amt := halalas(t, p.Gross), halalas(t, p.Fee), halalas(t, p.Amount)
		if fee > 0 || amt != g+fee || p.Reference == "" || p.Kind != "payment" {
			t.Errorf("payment %+v: amount must be gross plus a non-positive fee, with a reference", p)
		}
		gross, received = gross+g, received+amt
	}
	if gross != approved || received >= approved {
		t.Errorf("payments gross %s received %s, want gross = approved %s and NPHIES's fee taken", gross, received, approved)
	}
	if !strings.Contains(c.History[len(c.History)-1].Note, "PAID") {
		t.Errorf("history %+v does not tell the payment", c.History)
	}

	// Each reconciliation's payment notice goes through the outbox once.
	eventually.Poll(func() bool {
		return f.Count(t, `SELECT count(*) FROM nphies_messages WHERE event = 'payment-notice' AND delivery = 'SENT'`) == 2
	})
	var recs struct {
		PaymentReconciliations struct {
			Edges []struct {
				Node struct {
					NoticeStatus string
					Amount       money
					Lines        []struct {
						ClaimID *string
						Anomaly *string
					}
				}
			}
		}
	}
	f.Do(t, f.billing, `{ paymentReconciliations { edges { node { noticeStatus amount { amount } lines { claimId anomaly } } } } }`,
		nil).Decode(t, &recs)
	if len(recs.PaymentReconciliations.Edges) != 2 {
		t.Fatalf("reconciliations = %+v, want 2", recs)
	}
	for _, e := range recs.PaymentReconciliations.Edges {
		r := e.Node
		if r.NoticeStatus != "SENT" || len(r.Lines) != 1 || r.Lines[0].ClaimID == nil || *r.Lines[0].ClaimID != id || r.Lines[0].Anomaly != nil {
			t.Errorf("reconciliation %+v, want its notice sent and its one line applied to the claim", r)
		}
	}
}

// TestUnknownClaimAndDuplicateReconciliation: a reconciliation that also
// names a claim we do not have applies the line it can and records the
// other as an anomaly; delivered again in another bundle it is counted as
// a duplicate and nothing is applied or acknowledged twice.
func TestUnknownClaimAndDuplicateReconciliation(t *testing.T) {
	t.Parallel()
	f := newPayerFlow(t, "M-200")
	id := f.submit(t)
	c := f.decided(t, id)
	claimUUID := rawID(t, id)
	stranger := nphies.Identifier{System: "http://clinic.test/claim", Value: uuid.NewString()}
	ident, err := f.mock.EnqueuePayment("PR-FHIR",
		mock.Payment{Claim: nphies.Identifier{System: "http://clinic.test/claim", Value: claimUUID.String()}, Gross: 5000},
		mock.Payment{Claim: stranger, Gross: 7000})
	if err != nil {
		t.Fatal(err)
	}
	f.pollOnce(t)
	if err := f.mock.RedeliverPaymentReconciliation(ident); err != nil {
		t.Fatal(err)
	}
	f.pollOnce(t)
	if f.mock.QueueLength("PR-FHIR") != 0 {
		t.Fatal("the mock still holds messages")
	}

	c = f.claim(t, id)
	if c.Paid.Amount != "50.00" || len(c.Payments) != 1 || *c.PaymentStatus != "PARTIALLY_PAID" {
		t.Fatalf("claim after a reconciliation delivered twice: paid %s, %d payments, %v", c.Paid.Amount, len(c.Payments), *c.PaymentStatus)
	}
	var recs struct {
		PaymentReconciliations struct {
			Edges []struct {
				Node struct {
					Identifier string
					Duplicates int
					Lines      []struct {
						ClaimID         *string
						ClaimIdentifier string
						Anomaly         *string
					}
				}
			}
		}
	}
	f.Do(t, f.billing, `{ paymentReconciliations(anomalousOnly: true) {
		edges { node { identifier duplicates lines { claimId claimIdentifier anomaly } } } } }`, nil).Decode(t, &recs)
	if len(recs.PaymentReconciliations.Edges) != 1 {
		t.Fatalf("anomalous reconciliations = %+v, want the one", recs)
	}
	r := recs.PaymentReconciliations.Edges[0].Node
	if r.Identifier != ident.Key() || r.Duplicates != 1 || len(r.Lines) != 2 {
		t.Fatalf("reconciliation = %+v, want %s delivered twice with two lines", r, ident.Key())
	}
	if r.Lines[0].ClaimID == nil || r.Lines[0].Anomaly != nil {
		t.Errorf("line 1 = %+v, want applied to our claim", r.Lines[0])
	}
	if r.Lines[1].ClaimID != nil || r.Lines[1].Anomaly == nil || r.Lines[1].ClaimIdentifier != stranger.Key() {
		t.Errorf("line 2 = %+v, want an anomaly naming %s", r.Lines[1], stranger.Key())
	}
	eventually.Poll(func() bool {
		return f.Count(t, `SELECT count(*) FROM nphies_messages WHERE event = 'payment-notice' AND delivery = 'SENT'`) == 1
	})
	if n := f.Count(t, `SELECT count(*) FROM nphies_messages WHERE event = 'payment-notice'`); n != 1 {
		t.Errorf("%d payment notices, want one for a reconciliation delivered twice", n)
	}
	if n := f.Count(t, `SELECT count(*) FROM nphies_messages WHERE event = 'payment-reconciliation'`); n != 2 {
		t.Errorf("%d reconciliation bundles stored, want both deliveries kept", n)
	}
}

// TestReissuedDecisionIsApplied: a payer that approves and then, on audit,
// reissues its decision rejecting the claim (member REVERSE). The revised
// decision replaces the first and the history shows both.
func TestReissuedDecisionIsApplied(t *testing.T) {
	t.Parallel()
	f := newPayerFlow(t, "REVERSE-1")
	id := f.submit(t)
	if c := f.decided(t, id); c.Status != "APPROVED" {
		t.Fatalf("first decision %s, want APPROVED", c.Status)
	}
	f.pollOnce(t)
	c := f.claim(t, id)
	if c.Status != "REJECTED" || c.Approved == nil || c.Approved.Amount != "0.00" || c.PaymentStatus != nil {
		t.Fatalf("after the reissue: %+v, want REJECTED with nothing approved", c)
	}
	last := c.History[len(c.History)-1]
	if last.Status != "REJECTED" || !strings.Contains(last.Note, "revised") || !strings.Contains(last.Note, "was APPROVED") {
		t.Fatalf("history %+v, want the revision noted after the first decision", c.History)
	}
	// The denial facts follow the revision: every item is now denied.
	assertDenialFactsCurrent(t, f.Env)
	if n := f.Count(t, `SELECT count(*) FROM claim_denial_facts WHERE claim_id = $1 AND NOT denied`, rawID(t, id)); n != 0 {
		t.Errorf("%d items of the reissued claim still counted as not denied", n)
	}
	// Delivered again, the reissue changes nothing more.
	before := len(c.History)
	f.pollOnce(t)
	if c := f.claim(t, id); len(c.History) != before {
		t.Fatalf("an empty poll changed the history: %+v", c.History)
	}
}

// TestResubmissionLinkedToItsOriginal: a rejected claim corrected and
// resubmitted over GraphQL goes out with Claim.related naming the original
// (relationship prior), is adjudicated on its own, and both claims show the
// link; the original cannot be resubmitted twice.
func TestResubmissionLinkedToItsOriginal(t *testing.T) {
	t.Parallel()
	f := newPayerFlow(t, "REJECT-3")
	orig := f.submit(t)
	if c := f.decided(t, orig); c.Status != "REJECTED" {
		t.Fatalf("original %s, want REJECTED", c.Status)
	}
	f.setMember(t, "M-3") // the clerk corrected the coverage
	const resubmit = `mutation($id: ID!, $in: ResubmitClaimInput!) { resubmitClaim(id: $id, input: $in) { id status resubmissionOf { id } } }`
	in := map[string]any{"practitionerId": f.visit.practitioner, "diagnoses": []string{"J20.9"}}
	var out struct {
		ResubmitClaim struct {
			ID, Status     string
			ResubmissionOf struct{ ID string }
		}
	}
	f.Do(t, f.billing, resubmit, map[string]any{"id": orig, "in": in}).Decode(t, &out)
	re := out.ResubmitClaim
	if re.ResubmissionOf.ID != orig || re.Status != "QUEUED" {
		t.Fatalf("resubmission = %+v", re)
	}
	approvedResubmission(t, f.decided(t, re.ID), orig)
	o := f.claim(t, orig)
	if len(o.Resubmissions) != 1 || o.Resubmissions[0].ID != re.ID || !strings.Contains(o.History[len(o.History)-1].Note, "resubmitted") {
		t.Fatalf("original after resubmission: %+v", o)
	}
	for _, tc := range []struct{ name, id string }{{"the original again", orig}, {"an approved claim", re.ID}} {
		if r := f.Do(t, f.billing, resubmit, map[string]any{"id": tc.id, "in": in}); r.Code() != hg.ECONFLICT {
			t.Errorf("resubmitting %s: %q (%+v), want CONFLICT", tc.name, r.Code(), r.Errors)
		}
	}
	if r := f.Do(t, f.billing, resubmit, map[string]any{"id": orig, "in": map[string]any{"practitionerId": in["practitionerId"],
		"diagnoses": []string{"not a code"}}}); r.Code() != hg.EINVALID || r.Field() != "input.diagnoses" {
		t.Errorf("a bad diagnosis: %q field %q, want BAD_USER_INPUT input.diagnoses", r.Code(), r.Field())
	}
}

// TestAClaimWithoutItsVisitIsNotResubmitted: a rejected claim made before
// claims named their visit has no encounter to send again, and none is
// made up from the invoice: its resubmission is BAD_USER_INPUT on the
// claim's id, and nothing is queued.
func TestAClaimWithoutItsVisitIsNotResubmitted(t *testing.T) {
	t.Parallel()
	f := newPayerFlow(t, "REJECT-4")
	orig := f.submit(t)
	if c := f.decided(t, orig); c.Status != "REJECTED" {
		t.Fatalf("original %s, want REJECTED", c.Status)
	}
	// As a claim made before migration 0025 is stored.
	if _, err := f.DB.Pool.Exec(context.Background(), `UPDATE claims SET appointment_id = NULL`); err != nil {
		t.Fatal(err)
	}
	before := f.Count(t, `SELECT (SELECT count(*) FROM claims) + (SELECT count(*) FROM nphies_messages)`)
	r := f.Do(t, f.billing, `mutation($id: ID!, $in: ResubmitClaimInput!) { resubmitClaim(id: $id, input: $in) { id } }`,
		map[string]any{"id": orig, "in": map[string]any{"practitionerId": f.visit.practitioner, "diagnoses": []string{"J20.9"}}})
	if r.Code() != hg.EINVALID || r.Field() != "id" {
		t.Fatalf("code %q field %q, want BAD_USER_INPUT on id (%+v)", r.Code(), r.Field(), r.Errors)
	}
	if n := f.Count(t, `SELECT (SELECT count(*) FROM claims) + (SELECT count(*) FROM nphies_messages)`); n != before {
		t.Fatalf("%d claim rows and messages after the refusal, %d before", n, before)
	}
}

// approvedResubmission fails unless c was approved as a resubmission of
// orig and went out as a claim-request whose Claim.related names orig with
// relationship prior; it returns that Claim and the bundle.
func approvedResubmission(t *testing.T, c paidClaim, orig string) (nphies.Claim, string) {
	t.Helper()
	if c.Status != "APPROVED" || c.ResubmissionOf == nil || c.ResubmissionOf.ID != orig {
		t.Fatalf("resubmission decided %+v", c)
	}
	body := c.Messages[0].Body
	var sent nphies.Bundle
	if err := json.Unmarshal([]byte(body), &sent); err != nil || c.Messages[0].Event != "claim-request" {
		t.Fatalf("first message %s: %v", c.Messages[0].Event, err)
	}
	var claim nphies.Claim
	if err := sent.FindType("Claim").Decode(&claim); err != nil {
		t.Fatal(err)
	}
	prior := nphies.Identifier{System: "http://clinic.test/claim", Value: rawID(t, orig).String()}
	if len(claim.Related) != 1 || claim.Related[0].Claim.Identifier == nil || *claim.Related[0].Claim.Identifier != prior ||
		claim.Related[0].Relationship.Code(nphies.SystemRelatedClaim) != "prior" {
		t.Fatalf("related = %+v, want prior %+v", claim.Related, prior)
	}
	return claim, body
}

// TestPaymentReconciliationsPageNewestFirst: reconciliations page like
// every connection, newest first, forward and backward; anomalousOnly keeps
// those naming a claim we do not have and totalCount counts only them; a
// cursor of another list or a malformed one is BAD_USER_INPUT naming the
// argument.
func TestPaymentReconciliationsPageNewestFirst(t *testing.T) {
	t.Parallel()
	f := newPayerFlow(t, "M-200")
	id := f.submit(t)
	f.decided(t, id)
	ours := nphies.Identifier{System: "http://clinic.test/claim", Value: rawID(t, id).String()}
	var newest, anomalous []string
	for i := range 5 {
		p := mock.Payment{Claim: ours, Gross: 100}
		if i%2 == 1 {
			p.Claim = nphies.Identifier{System: "http://clinic.test/claim", Value: uuid.NewString()}
		}
		ident, err := f.mock.EnqueuePayment("PR-FHIR", p)
		if err != nil {
			t.Fatal(err)
		}
		f.pollOnce(t)
		newest = append([]string{ident.Key()}, newest...)
		if i%2 == 1 {
			anomalous = append([]string{ident.Key()}, anomalous...)
		}
	}

	all := connection{field: "paymentReconciliations", key: "id: identifier"}
	one := all.page(t, f.Env, f.billing, map[string]any{"first": 100})
	var got []string
	for _, e := range one.Edges {
		got = append(got, e.Node.ID)
	}
	if !slices.Equal(got, newest) || one.TotalCount != len(newest) || one.PageInfo.HasNextPage || one.PageInfo.HasPreviousPage {
		t.Fatalf("one page: %v (totalCount %d, %+v), want %v newest first", got, one.TotalCount, one.PageInfo, newest)
	}
	for _, size := range []int{2, 3} {
		for _, backward := range []bool{false, true} {
			if got := all.walk(t, f.Env, f.billing, size, backward); !slices.Equal(got, newest) {
				t.Fatalf("in pages of %d (backward %v):\n got %v\nwant %v", size, backward, got, newest)
			}
		}
	}
	odd := connection{field: "paymentReconciliations", args: ", anomalousOnly: true", key: "id: identifier"}
	if got := odd.walk(t, f.Env, f.billing, 1, false); !slices.Equal(got, anomalous) {
		t.Fatalf("anomalous only:\n got %v\nwant %v", got, anomalous)
	}

	var claims struct{ Claims pageOut }
	f.Do(t, f.billing, `{ claims(first: 1) { edges { cursor } } }`, nil).Decode(t, &claims)
	for _, tc := range []struct{ name, args, field string }{
		{"a claim cursor", `after: "` + claims.Claims.Edges[0].Cursor + `"`, "after"},
		{"a malformed cursor", `last: 2, before: "zzz"`, "before"},
		{"first over the cap", `first: 101`, "first"},
	} {
		r := f.Do(t, f.billing, `{ paymentReconciliations(`+tc.args+`) { totalCount } }`, nil)
		if r.Code() != hg.EINVALID || r.Field() != tc.field {
			t.Errorf("%s: got %s on %q (%+v), want %s on %q", tc.name, r.Code(), r.Field(), r.Errors, hg.EINVALID, tc.field)
		}
	}
}

// TestResubmissionCorrectsItems: billing resubmits a rejected claim with
// its items corrected (a line removed, a quantity and a price changed, a
// line added, each from the catalogue). The claim and its bundle carry the
// corrected items and total, linked to the original (relationship prior);
// the bundle passes NPHIES's rules and has the shape of the official
// professional claim. A correction naming no catalogue item, a quantity of
// 0, a negative or zero price or no items at all is BAD_USER_INPUT naming
// the input, and nothing is queued.
func TestResubmissionCorrectsItems(t *testing.T) {
	t.Parallel()
	f := newPayerFlow(t, "REJECT-9")
	orig := f.submit(t)
	if c := f.decided(t, orig); c.Status != "REJECTED" {
		t.Fatalf("original %s, want REJECTED", c.Status)
	}
	f.setMember(t, "M-9")
	followUp := f.CatalogueItem(t, hg.NewCatalogueItem{System: hg.SystemServices, Code: "83600-00-00", Display: "Follow-up visit",
		UnitPrice: 15000})
	const resubmit = `mutation($id: ID!, $in: ResubmitClaimInput!) { resubmitClaim(id: $id, input: $in) {
		id total { amount } items { sequence codeSystem serviceCode description quantity unitPrice { amount } vat { amount } net { amount } } } }`
	input := func(items ...map[string]any) map[string]any {
		// Never null: an empty list is a correction too.
		return map[string]any{"practitionerId": f.visit.practitioner, "diagnoses": []string{"J20.9"}, "items": append([]map[string]any{}, items...)}
	}
	item := func(id string, quantity int, price ...string) map[string]any {
		m := map[string]any{"itemId": id, "quantity": quantity}
		if len(price) > 0 {
			m["unitPrice"] = price[0]
		}
		return m
	}
	queued := func() int {
		return f.Count(t, `SELECT (SELECT count(*) FROM claims) + (SELECT count(*) FROM nphies_messages)`)
	}

	before := queued()
	for _, tc := range []struct {
		name, field string
		in          map[string]any
	}{
		{"an item not in the catalogue", "input.items.itemId", input(item(gid("CatalogueItem", uuid.Must(uuid.NewV7())), 1))},
		{"a quantity of 0", "input.items.quantity", input(item(f.consultation, 1), item(f.eeg, 0))},
		{"a negative price", "input.items.unitPrice", input(item(f.consultation, 1, "-10.00"))},
		{"a zero price", "input.items.unitPrice", input(item(f.consultation, 1, "0.00"))},
		{"no items", "input.items", input()},
	} {
		r := f.Do(t, f.billing, resubmit, map[string]any{"id": orig, "in": tc.in})
		if r.Code() != hg.EINVALID || r.Field() != tc.field {
			t.Errorf("%s: %q on %q (%+v), want BAD_USER_INPUT on %s", tc.name, r.Code(), r.Field(), r.Errors, tc.field)
		}
	}
	if n := queued(); n != before {
		t.Fatalf("refused corrections wrote %d claims or messages", n-before)
	}

	// The invoice billed a consultation and two EEGs: the EEGs go, the
	// consultation is claimed twice at 250.00, a follow-up is added.
	var out struct {
		ResubmitClaim struct {
			ID    string
			Total money
			Items []struct {
				Sequence                             int
				CodeSystem, ServiceCode, Description string
				Quantity                             int
				UnitPrice, Vat, Net                  money
			}
		}
	}
	f.Do(t, f.billing, resubmit, map[string]any{"id": orig,
		"in": input(item(f.consultation, 2, "250.00"), item(followUp, 1))}).Decode(t, &out)
	re := out.ResubmitClaim
	type line struct {
		code           string
		qty            int
		unit, vat, net string
	}
	want := []line{{"83600-00-10", 2, "250.00", "75.00", "575.00"}, {"83600-00-00", 1, "150.00", "22.50", "172.50"}}
	var got []line
	for i, it := range re.Items {
		if it.Sequence != i+1 || it.CodeSystem != "SERVICES" {
			t.Errorf("item %d: sequence %d system %s", i, it.Sequence, it.CodeSystem)
		}
		got = append(got, line{it.ServiceCode, it.Quantity, it.UnitPrice.Amount, it.Vat.Amount, it.Net.Amount})
	}
	if !slices.Equal(got, want) || re.Total.Amount != "747.50" {
		t.Fatalf("resubmitted items %+v total %s, want %+v total 747.50", got, re.Total.Amount, want)
	}

	claim, body := approvedResubmission(t, f.decided(t, re.ID), orig)
	type sentItem struct {
		code     string
		qty, net int64
	}
	var sentItems []sentItem
	for _, it := range claim.Item {
		sentItems = append(sentItems, sentItem{it.ProductOrService.Code(""), it.Quantity.Value.Hundredths() / 100, it.Net.Halalas()})
	}
	if w := []sentItem{{"83600-00-10", 2, 57500}, {"83600-00-00", 1, 17250}}; !slices.Equal(sentItems, w) || claim.Total.Halalas() != 74750 {
		t.Fatalf("bundle items %+v total %d, want %+v total 74750", sentItems, claim.Total.Halalas(), w)
	}
	// The mock took it: it breaks no rule, and carries the findings of the
	// original's visit.
	assertPassesRules(t, body)
	assertNothingBeyond(t, body, "10-claim-professional-request.json", resubmissionBeyond...)
	assertLacks(t, body, "10-claim-professional-request.json", resubmissionLacks)
	assertDenialFactsCurrent(t, f.Env)
}

// resubmissionBeyond is what a resubmitted professional claim carries
// beyond the 2021 official example, which predates the encounter NPHIES's
// current profiles require (with its service event type) and the provider
// type.
var resubmissionBeyond = append([]string{"Encounter",
	"http://nphies.sa/fhir/ksa/nphies-fs/StructureDefinition/extension-encounter",
	"http://nphies.sa/fhir/ksa/nphies-fs/StructureDefinition/extension-serviceEventType",
	"http://nphies.sa/terminology/CodeSystem/service-event-type", "http://terminology.hl7.org/CodeSystem/v3-ActCode",
	// The visit's findings, in the December 2023 example's systems.
	"http://unitsofmeasure.org", "http://hl7.org/fhir/sid/icd-10-am", "http://nphies.sa/terminology/CodeSystem/investigation-result"},
	providerType...)

// resubmissionLacks is what the official example has and a resubmitted
// claim lacks, each with why.
var resubmissionLacks = []string{
	// In the order fhirshape.Missing lists them. This invoice had no prior
	// authorization (offline or online); the example's last menstrual
	// period is dated, no finding of ours is.
	"extension http://nphies.sa/fhir/ksa/nphies-fs/StructureDefinition/extension-authorization-offline-date",
	"element Claim.insurance.preAuthRef",
	"element Claim.supportingInfo.timingDate",
	// Coverages record no network; displays are optional; the test patient
	// has no phone; the practitioner's name goes as text.
	"element Coverage.network", "element Coverage.relationship.coding.display", "element Coverage.type.coding.display",
	"element Patient.telecom", "element Patient.telecom.system", "element Patient.telecom.value",
	"element Practitioner.name.family", "element Practitioner.name.given",
}
