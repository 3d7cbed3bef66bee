package resolvers_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/healthgraph/healthgraph/internal/fhirshape"
	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/nphies/mock"
	"github.com/healthgraph/healthgraph/nphies/rules"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/server"
)

// officialExamples holds NPHIES's example bundles (vendored).
const officialExamples = "../nphies/testdata/examples"

// flowEnv is a billing environment wired to a mock NPHIES, with the outbox
// worker and the poller driven step by step by the test.
type flowEnv struct {
	billingEnv
	mock   *mock.Server
	client *nphies.Client
	worker *nphies.Worker
	poller *nphies.Poller
}

func newFlowEnv(t *testing.T, member string, modify ...func(*server.Config, *postgres.Options)) flowEnv {
	t.Helper()
	m := mock.New(mock.Options{})
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	client, err := nphies.NewClient(srv.URL, nphies.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	b := newBillingEnv(t, modify...)
	if _, err := b.DB.Pool.Exec(context.Background(), `UPDATE coverages SET member_id = $1 WHERE id = $2`, member, b.coverage.ID); err != nil {
		t.Fatal(err)
	}
	// The identity servertest gives the resolvers' builder.
	builder := &nphies.Builder{ProviderLicense: "PR-FHIR", ProviderName: "HealthGraph Test Clinic", BaseURL: "http://clinic.test"}
	return flowEnv{billingEnv: b, mock: m, client: client,
		worker: &nphies.Worker{Store: b.Outbox, Client: client},
		poller: &nphies.Poller{Store: b.Outbox, Client: client, Builder: builder, StatusCheckAfter: time.Hour}}
}

// deliver sends every due outgoing message and reports how many.
func (f flowEnv) deliver(t *testing.T) int {
	t.Helper()
	n := 0
	for {
		did, err := f.worker.DeliverOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !did {
			return n
		}
		n++
	}
}

// poll polls until NPHIES has nothing more queued.
func (f flowEnv) poll(t *testing.T) {
	t.Helper()
	for more := true; more; {
		var err error
		if more, err = f.poller.PollOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// submit queues a claim or prior authorization over GraphQL and returns its id.
func (f flowEnv) submit(t *testing.T, mutation string) string {
	t.Helper()
	inv := f.createInvoice(t, f.patient, f.coverage)
	f.issue(t, inv.ID)
	var out map[string]struct{ ID string }
	f.Do(t, f.billing, `mutation($in: SubmitClaimInput!) { `+mutation+`(input: $in) { id } }`,
		map[string]any{"in": f.seenVisit(t, f.patient).claimInput(inv.ID, "J06.9")}).Decode(t, &out)
	return out[mutation].ID
}

type flowClaim struct {
	Status   string
	Messages []struct {
		Direction, Event, DeliveryStatus, Body string
	}
	History []struct{ Status, Note string }
}

func (f flowEnv) claim(t *testing.T, id string) flowClaim {
	t.Helper()
	var out struct{ Claim flowClaim }
	f.Do(t, f.billing, `query($id: ID!) { claim(id: $id) { status
		messages { direction event deliveryStatus body } history { status note } } }`, map[string]any{"id": id}).Decode(t, &out)
	return out.Claim
}

// sent returns the bodies of the claim's outgoing messages of event.
func (c flowClaim) sent(event string) []string {
	var out []string
	for _, m := range c.Messages {
		if m.Direction == "OUT" && m.Event == event {
			out = append(out, m.Body)
		}
	}
	return out
}

func (c flowClaim) noted(part string) bool {
	return slices.ContainsFunc(c.History, func(h struct{ Status, Note string }) bool { return strings.Contains(h.Note, part) })
}

// assertProcessedOnce fails unless the mock processed the bundle exactly
// once (a retry that reached it is answered from its store).
func (f flowEnv) assertProcessedOnce(t *testing.T, body string) {
	t.Helper()
	var head struct{ ID string }
	if err := json.Unmarshal([]byte(body), &head); err != nil {
		t.Fatal(err)
	}
	if n := f.mock.Deliveries().Bundles[head.ID].Processed; n != 1 {
		t.Errorf("bundle %s processed %d times, want once", head.ID, n)
	}
}

// assertShapeOf fails unless body has the shape of the official example.
// providerType is the provider organisation's type, which NPHIES's
// current profiles require and the 2021 communication examples predate.
var providerType = []string{
	"http://nphies.sa/fhir/ksa/nphies-fs/StructureDefinition/extension-provider-type",
	"http://nphies.sa/terminology/CodeSystem/provider-type",
}

func assertShapeOf(t *testing.T, body, example string, allow ...string) {
	t.Helper()
	assertNothingBeyond(t, body, example, allow...)
	assertPassesRules(t, body)
}

// shapesOf are the shapes of body and of the official example named.
func shapesOf(t *testing.T, body, example string) (got, want fhirshape.Shape) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(officialExamples, example))
	if err != nil {
		t.Fatal(err)
	}
	if want, err = fhirshape.Of(raw); err != nil {
		t.Fatal(err)
	}
	if got, err = fhirshape.Of([]byte(body)); err != nil {
		t.Fatal(err)
	}
	return got, want
}

// assertNothingBeyond fails on what body has beyond the official example
// but what allow lists.
func assertNothingBeyond(t *testing.T, body, example string, allow ...string) {
	t.Helper()
	got, want := shapesOf(t, body, example)
	for _, d := range fhirshape.Compare(got, want, allow...) {
		t.Errorf("compared with %s: %s", example, d)
	}
}

// assertPassesRules fails on any error-level NPHIES validation rule the
// bundle breaks but those waived.
func assertPassesRules(t *testing.T, body string) {
	t.Helper()
	vs, err := rules.Check([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range rules.Blocking(vs) {
		t.Errorf("%s at %s: %s", v.Rule, v.Expression, v.Message)
	}
}

// TestPendingClaimResolvedByStatusCheck: a payer (member STATUS…) leaves a
// claim or prior authorization PENDING until asked. Nothing is asked while
// the claim is younger than the configured age; past it, exactly one
// status check goes through the outbox, its answer is noted, and the
// decision it releases arrives by poll and is applied.
func TestPendingClaimResolvedByStatusCheck(t *testing.T) {
	t.Parallel()
	for _, mutation := range []string{"submitClaim", "requestPriorAuthorization"} {
		t.Run(mutation, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newFlowEnv(t, "STATUS-1")
			id := f.submit(t, mutation)
			f.deliver(t)
			f.poll(t)
			if c := f.claim(t, id); c.Status != "PENDING" {
				t.Fatalf("status %s, want PENDING until a status check", c.Status)
			}
			if n, err := f.poller.QueueStatusChecks(ctx); err != nil || n != 0 {
				t.Fatalf("a claim pending for less than the age got %d status checks (%v)", n, err)
			}
			// Two hours pass.
			if _, err := f.DB.Pool.Exec(ctx, `UPDATE claims SET updated_at = now() - interval '2 hours'`); err != nil {
				t.Fatal(err)
			}
			if n, err := f.poller.QueueStatusChecks(ctx); err != nil || n != 1 {
				t.Fatalf("queued %d status checks (%v), want 1", n, err)
			}
			if n, err := f.poller.QueueStatusChecks(ctx); err != nil || n != 0 {
				t.Fatalf("queued %d more status checks (%v), want none until the age passes again", n, err)
			}
			if n := f.deliver(t); n != 1 {
				t.Fatalf("the worker sent %d messages, want the one status check", n)
			}
			c := f.claim(t, id)
			if c.Status != "PENDING" || !c.noted("status check: the payer reports complete") {
				t.Fatalf("after the status check: %s %+v", c.Status, c.History)
			}
			f.poll(t)
			c = f.claim(t, id)
			if c.Status != "APPROVED" {
				t.Fatalf("status %s after the poll, want APPROVED", c.Status)
			}
			checks := c.sent("status-check")
			if len(checks) != 1 {
				t.Fatalf("%d status checks stored, want 1", len(checks))
			}
			assertShapeOf(t, checks[0], "9b-statuscheck-request.json")
			f.assertProcessedOnce(t, checks[0])
		})
	}
}

// Synthetic documents: a PDF and a JPEG as their first bytes make them.
var (
	labReport = append([]byte("%PDF-1.4\n% synthetic lab report\n"), make([]byte, 2048)...)
	scan      = append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, make([]byte, 4096)...)
)

func attachment(title, contentType string, data []byte) map[string]any {
	return map[string]any{"title": title, "contentType": contentType, "data": base64.StdEncoding.EncodeToString(data)}
}

const sendCommunicationMut = `mutation($in: SendClaimCommunicationInput!) { sendClaimCommunication(input: $in) {
	id direction texts attachments { title contentType size sha256 } inReplyTo deliveryStatus } }`

type communicationOut struct {
	ID, Direction  string
	Reasons, Texts []string
	Attachments    []struct {
		Title, ContentType, Sha256 string
		Size                       int
	}
	InReplyTo      *string
	Answered       bool
	DeliveryStatus *string
}

func (f flowEnv) communications(t *testing.T, id string) ([]communicationOut, int) {
	t.Helper()
	var out struct {
		Claim struct {
			Communications []communicationOut
			Messages       []struct{ ID string }
		}
	}
	f.Do(t, f.billing, `query($id: ID!) { claim(id: $id) { messages { id }
		communications { id direction reasons texts attachments { title contentType size sha256 } inReplyTo answered deliveryStatus } } }`,
		map[string]any{"id": id}).Decode(t, &out)
	return out.Claim.Communications, len(out.Claim.Messages)
}

// TestCommunicationRequestAnsweredThenAdjudicated: a payer (member COMM…)
// pends a claim and asks for information through poll; the request shows
// on the claim; billing's answers that break a limit are refused with
// nothing stored; the answer with a text, a PDF and a JPEG goes through
// the outbox shaped as the official solicited example, releases the
// payer's decision, which the next poll applies; a second answer to the
// same request is refused; a later communication of our own accord is
// shaped as the unsolicited example.
func TestCommunicationRequestAnsweredThenAdjudicated(t *testing.T) {
	t.Parallel()
	f := newFlowEnv(t, "COMM-1", func(c *server.Config, _ *postgres.Options) { c.MaxBodyBytes = 16 << 20 })
	id := f.submit(t, "submitClaim")
	f.deliver(t)
	f.poll(t)
	comms, messages := f.communications(t, id)
	if len(comms) != 1 || comms[0].Direction != "FROM_PAYER" || comms[0].Answered ||
		!slices.Contains(comms[0].Reasons, "missing-info") || len(comms[0].Texts) == 0 {
		t.Fatalf("communications after the poll = %+v, want the payer's request", comms)
	}
	if c := f.claim(t, id); c.Status != "PENDING" || !c.noted("the payer asked for more information") {
		t.Fatalf("claim %s %+v", c.Status, c.History)
	}
	request := comms[0].ID

	refused := []struct {
		name        string
		attachments []map[string]any
		want        string
	}{
		{"too large", []map[string]any{attachment("scan", "image/jpeg", append(scan, make([]byte, 5_000_000)...))}, "5000000 bytes"},
		{"refused type", []map[string]any{attachment("notes", "text/plain", []byte("plain notes"))}, "not accepted"},
		{"not what it claims", []map[string]any{attachment("report", "application/pdf", scan)}, "not a application/pdf file"},
		{"too much together", []map[string]any{attachment("a", "image/jpeg", append(scan, make([]byte, 3_600_000)...)),
			attachment("b", "image/jpeg", append(scan, make([]byte, 3_600_000)...))}, "add up to"},
	}
	for _, tt := range refused {
		r := f.Do(t, f.billing, sendCommunicationMut, map[string]any{"in": map[string]any{"claimId": id, "inReplyTo": request,
			"texts": []string{"See attached."}, "attachments": tt.attachments}})
		if r.Code() != "BAD_USER_INPUT" || !strings.Contains(r.Errors[0].Message, tt.want) {
			t.Errorf("%s: %s %+v, want BAD_USER_INPUT %q", tt.name, r.Code(), r.Errors, tt.want)
		}
	}
	if after, n := f.communications(t, id); len(after) != 1 || n != messages {
		t.Fatalf("a refused answer left %d communications and %d messages (was 1 and %d)", len(after), n, messages)
	}

	var sent struct{ SendClaimCommunication communicationOut }
	f.Do(t, f.billing, sendCommunicationMut, map[string]any{"in": map[string]any{"claimId": id, "inReplyTo": request,
		"texts": []string{"The lab report and the scanned referral are attached."},
		"attachments": []map[string]any{attachment("lab report", "application/pdf", labReport),
			attachment("referral", "image/jpeg", scan)}}}).Decode(t, &sent)
	answer := sent.SendClaimCommunication
	if answer.Direction != "TO_PAYER" || answer.InReplyTo == nil || *answer.InReplyTo != request || len(answer.Attachments) != 2 ||
		answer.Attachments[0].Size != len(labReport) || answer.DeliveryStatus == nil || *answer.DeliveryStatus != "PENDING" {
		t.Fatalf("answer = %+v", answer)
	}
	if r := f.Do(t, f.billing, sendCommunicationMut, map[string]any{"in": map[string]any{"claimId": id, "inReplyTo": request,
		"texts": []string{"Again."}}}); r.Code() != "CONFLICT" {
		t.Fatalf("a second answer: %s %+v, want CONFLICT", r.Code(), r.Errors)
	}
	if n := f.deliver(t); n != 1 {
		t.Fatalf("the worker sent %d messages, want the answer", n)
	}
	f.poll(t)
	c := f.claim(t, id)
	if c.Status != "APPROVED" {
		t.Fatalf("status %s after the answer and a poll, want APPROVED", c.Status)
	}
	bodies := c.sent("communication")
	if len(bodies) != 1 {
		t.Fatalf("%d communications sent, want 1", len(bodies))
	}
	assertShapeOf(t, bodies[0], "18b-communication-response-solicited.json", providerType...)
	f.assertProcessedOnce(t, bodies[0])
	if !strings.Contains(bodies[0], base64.StdEncoding.EncodeToString(labReport)) {
		t.Error("the sent bundle does not carry the lab report")
	}
	comms, _ = f.communications(t, id)
	if len(comms) != 2 || !comms[0].Answered || comms[1].DeliveryStatus == nil || *comms[1].DeliveryStatus != "SENT" {
		t.Fatalf("communications = %+v", comms)
	}

	// Of our own accord, after the decision.
	f.Do(t, f.billing, sendCommunicationMut, map[string]any{"in": map[string]any{"claimId": id,
		"attachments": []map[string]any{attachment("corrected report", "application/pdf", labReport)}}}).Decode(t, &sent)
	if sent.SendClaimCommunication.InReplyTo != nil {
		t.Fatalf("unsolicited communication answers %v", *sent.SendClaimCommunication.InReplyTo)
	}
	f.deliver(t)
	bodies = f.claim(t, id).sent("communication")
	if len(bodies) != 2 {
		t.Fatalf("%d communications sent, want 2", len(bodies))
	}
	assertShapeOf(t, bodies[1], "18c-communication-response-unsolicited.json", providerType...)
}
