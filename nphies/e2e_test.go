package nphies_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/healthgraph/healthgraph/internal/eventually"
	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/nphies/mock"
)

func TestEligibility(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		member       string
		wantOutcome  string
		wantEligible bool
		wantSite     string
		wantError    string
	}{
		{"an ordinary member is eligible", "M-100", "complete", true, "eligible", ""},
		{"a NOTELIG member is not in force", "NOTELIG-1", "complete", false, "not-active", ""},
		{"an ELIGERR member is not found", "ELIGERR-1", "error", false, "", "1658"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, c, b := setup(t, mock.Options{})
			in := eligibilityInput(t.Name(), tt.member)
			msg := mustBuild(t)(b.BuildEligibility(in))
			r, err := c.Send(context.Background(), msg)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			e := r.Eligibility
			if r.Kind != nphies.KindEligibility || e == nil {
				t.Fatalf("kind = %s, want eligibility", r.Kind)
			}
			if e.Outcome != tt.wantOutcome || e.Eligible() != tt.wantEligible || e.SiteEligibility != tt.wantSite {
				t.Errorf("got outcome %q eligible %v site %q, want %q %v %q", e.Outcome, e.Eligible(), e.SiteEligibility, tt.wantOutcome, tt.wantEligible, tt.wantSite)
			}
			if e.Request != msg.Focus {
				t.Errorf("request identifier = %+v, want %+v", e.Request, msg.Focus)
			}
			if tt.wantError != "" && (len(e.Errors) == 0 || e.Errors[0].Code != tt.wantError) {
				t.Errorf("errors = %+v, want code %s", e.Errors, tt.wantError)
			}
			if r.InResponseTo != msg.MessageHeaderID.String() {
				t.Errorf("response.identifier = %q, want %s", r.InResponseTo, msg.MessageHeaderID)
			}
		})
	}
}

func TestClaimOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		member     string
		priorAuth  bool
		want       nphies.ClaimStatus
		wantItems  []string // decision per item
		wantReason map[int64]string
		wantError  string
	}{
		{name: "prior auth approved", member: "M-1", priorAuth: true, want: nphies.ClaimApproved, wantItems: []string{"approved", "approved"}},
		{name: "claim approved", member: "M-2", want: nphies.ClaimApproved, wantItems: []string{"approved", "approved"}},
		{name: "claim partially approved with per-item reasons", member: "PARTIAL-1", want: nphies.ClaimPartial,
			wantItems: []string{"partial", "approved"}, wantReason: map[int64]string{1: mock.ReasonPartial}},
		{name: "claim rejected with reason codes", member: "REJECT-1", want: nphies.ClaimRejected,
			wantItems: []string{"rejected", "rejected"}, wantReason: map[int64]string{1: mock.ReasonRejected, 2: mock.ReasonRejected}},
		{name: "claim errored by the payer", member: "CLAIMERR-1", want: nphies.ClaimError, wantError: mock.ErrorPolicyExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, c, b := setup(t, mock.Options{})
			in := claimInput(t.Name(), tt.member)
			build := b.BuildClaim
			if tt.priorAuth {
				build = b.BuildPriorAuth
			}
			msg := mustBuild(t)(build(in))
			r, err := c.Send(context.Background(), msg)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			cr := r.Claim
			if cr == nil {
				t.Fatalf("kind = %s, want claim", r.Kind)
			}
			if cr.Status != tt.want {
				t.Errorf("status = %s, want %s", cr.Status, tt.want)
			}
			if cr.Request != b.ClaimIdentifier(in.ClaimID) {
				t.Errorf("request = %+v, want our claim identifier", cr.Request)
			}
			var got []string
			for _, it := range cr.Items {
				got = append(got, it.Decision)
				if want := tt.wantReason[it.Sequence]; want != "" && !slices.Contains(it.Reasons, want) {
					t.Errorf("item %d reasons = %v, want %s", it.Sequence, it.Reasons, want)
				}
			}
			if !slices.Equal(got, tt.wantItems) {
				t.Errorf("item decisions = %v, want %v", got, tt.wantItems)
			}
			if tt.wantError != "" && (len(cr.Errors) == 0 || cr.Errors[0].Code != tt.wantError) {
				t.Errorf("errors = %+v, want %s", cr.Errors, tt.wantError)
			}
			if tt.priorAuth && cr.PreAuthRef == "" {
				t.Error("approved prior auth has no preAuthRef")
			}
			if tt.want == nphies.ClaimApproved {
				// benefit = net − patient share, item by item.
				if got, want := cr.Items[0].BenefitHalalas(), int64(12190-2000); got != want {
					t.Errorf("item 1 benefit = %d, want %d", got, want)
				}
				if got, want := cr.Totals["submitted"], in.TotalHalalas; got != want {
					t.Errorf("total submitted = %d, want %d", got, want)
				}
			}
		})
	}
}

func TestQueuedThenPolled(t *testing.T) {
	t.Parallel()
	m, c, b := setup(t, mock.Options{})
	in := claimInput(t.Name(), "QUEUE-1")
	msg := mustBuild(t)(b.BuildClaim(in))
	r, err := c.Send(context.Background(), msg)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if r.Claim.Status != nphies.ClaimPending || r.Claim.Outcome != nphies.OutcomeQueued {
		t.Fatalf("first answer status %s outcome %s, want PENDING queued", r.Claim.Status, r.Claim.Outcome)
	}
	if !r.QueuedMessages {
		t.Error("queued answer lacks the queued-messages tag")
	}
	if got := m.QueueLength(b.ProviderLicense); got != 1 {
		t.Fatalf("queue length = %d, want 1", got)
	}
	poll := mustBuild(t)(b.BuildPoll(pollInput(t.Name()+"/poll", 10)))
	pr, err := c.Send(context.Background(), poll)
	if err != nil {
		t.Fatalf("poll: %v", err)
	}
	if pr.Kind != nphies.KindPoll || len(pr.Poll.Messages) != 1 {
		t.Fatalf("poll delivered %d messages, want 1", len(pr.Poll.Messages))
	}
	got := pr.Poll.Messages[0]
	if got.Err != nil {
		t.Fatalf("nested message: %v", got.Err)
	}
	final := got.Response.Claim
	if final == nil || final.Status != nphies.ClaimApproved || final.Request != b.ClaimIdentifier(in.ClaimID) {
		t.Fatalf("final = %+v, want APPROVED for our claim", final)
	}
	if got.Response.InResponseTo != msg.MessageHeaderID.String() {
		t.Errorf("final response.identifier = %q, want the claim's header id", got.Response.InResponseTo)
	}
	if pr.QueuedMessages {
		t.Error("queue empty but queued-messages tag set")
	}
	// The queue is empty now: the next poll delivers nothing.
	again, err := c.Send(context.Background(), mustBuild(t)(b.BuildPoll(pollInput(t.Name()+"/poll2", 1))))
	if err != nil {
		t.Fatalf("poll 2: %v", err)
	}
	if n := len(again.Poll.Messages); n != 0 || again.Poll.Task.Status != "completed" {
		t.Errorf("second poll: %d messages, task %s; want 0, completed", n, again.Poll.Task.Status)
	}
}

func TestPayerCommunication(t *testing.T) {
	t.Parallel()
	_, c, b := setup(t, mock.Options{})
	in := claimInput(t.Name(), "COMM-1")
	msg := mustBuild(t)(b.BuildClaim(in))
	r, err := c.Send(context.Background(), msg)
	if err != nil || r.Claim.Status != nphies.ClaimPending {
		t.Fatalf("Send: %v, status %v; want PENDING", err, r.Claim)
	}
	pr, err := c.Send(context.Background(), mustBuild(t)(b.BuildPoll(pollInput(t.Name()+"/poll", 5))))
	if err != nil || len(pr.Poll.Messages) != 1 {
		t.Fatalf("poll: %v, %d messages; want 1", err, len(pr.Poll.Messages))
	}
	creq := pr.Poll.Messages[0].Response.CommunicationRequest
	if creq == nil || len(creq.About) != 1 || creq.About[0] != b.ClaimIdentifier(in.ClaimID) {
		t.Fatalf("communication request = %+v, want one about our claim", creq)
	}
	next := seq(t.Name() + "/reply")
	reply := mustBuild(t)(b.BuildCommunication(nphies.CommunicationInput{
		Envelope: env(next), CommunicationID: next(), Created: testNow, Payer: payer,
		Patient: in.Patient, Claim: creq.About[0], BasedOn: &creq.Identifier,
		Texts:       []string{"Report attached."},
		Attachments: []nphies.AttachmentInput{{ContentType: "application/pdf", Title: "report.pdf", Data: []byte("%PDF-1.4 synthetic")}},
	}))
	ack, err := c.Send(context.Background(), reply)
	if err != nil {
		t.Fatalf("communication: %v", err)
	}
	if ack.Kind != nphies.KindAcknowledgement || ack.ResponseCode != "ok" {
		t.Fatalf("answer kind %s code %s, want acknowledgement ok", ack.Kind, ack.ResponseCode)
	}
	pr, err = c.Send(context.Background(), mustBuild(t)(b.BuildPoll(pollInput(t.Name()+"/poll2", 5))))
	if err != nil || len(pr.Poll.Messages) != 1 {
		t.Fatalf("poll 2: %v, %d messages; want 1", err, len(pr.Poll.Messages))
	}
	if final := pr.Poll.Messages[0].Response.Claim; final == nil || final.Status != nphies.ClaimApproved {
		t.Fatalf("final after communication = %+v, want APPROVED", final)
	}
}

func TestCancelStatusAndPayment(t *testing.T) {
	t.Parallel()
	m, c, b := setup(t, mock.Options{})
	in := claimInput(t.Name(), "M-7")
	if _, err := c.Send(context.Background(), mustBuild(t)(b.BuildClaim(in))); err != nil {
		t.Fatalf("claim: %v", err)
	}
	claimID := b.ClaimIdentifier(in.ClaimID)
	next := seq(t.Name() + "/tasks")
	task := func() nphies.TaskInput {
		return nphies.TaskInput{Envelope: env(next), TaskID: next(), Created: testNow, Payer: payer, Claim: claimID}
	}

	st, err := c.Send(context.Background(), mustBuild(t)(b.BuildStatusCheck(task())))
	if err != nil || st.Task == nil || st.Task.ClaimStatus != nphies.OutcomeComplete {
		t.Fatalf("status: %v %+v, want complete", err, st)
	}

	// Payment reconciliation via poll, then our payment notice.
	prID, err := m.EnqueuePaymentReconciliation(b.ProviderLicense, claimID)
	if err != nil {
		t.Fatalf("EnqueuePaymentReconciliation: %v", err)
	}
	pr, err := c.Send(context.Background(), mustBuild(t)(b.BuildPoll(pollInput(t.Name()+"/poll", 1))))
	if err != nil || len(pr.Poll.Messages) != 1 {
		t.Fatalf("poll: %v", err)
	}
	rec := pr.Poll.Messages[0].Response.PaymentReconciliation
	if rec == nil || rec.Identifier != prID || len(rec.Details) != 1 || rec.Details[0].Request != claimID || rec.AmountHalalas <= 0 {
		t.Fatalf("reconciliation = %+v", rec)
	}
	pn := mustBuild(t)(b.BuildPaymentNotice(nphies.PaymentNoticeInput{
		Envelope: env(next), NoticeID: next(), Created: testNow, Reconciliation: rec.Identifier,
		PaymentDate: testNow, AmountHalalas: rec.AmountHalalas,
	}))
	ack, err := c.Send(context.Background(), pn)
	if err != nil || ack.ResponseCode != "ok" {
		t.Fatalf("payment notice: %v %+v", err, ack)
	}

	cancel1, err := c.Send(context.Background(), mustBuild(t)(b.BuildCancel(task())))
	if err != nil || cancel1.Task.Status != "completed" {
		t.Fatalf("cancel: %v, task %+v; want completed", err, cancel1.Task)
	}
	cancel2, err := c.Send(context.Background(), mustBuild(t)(b.BuildCancel(task())))
	if err != nil || cancel2.Task.Status != "failed" || len(cancel2.Task.Errors) == 0 || cancel2.Task.Errors[0].Code != mock.ErrorAlreadyCancelled {
		t.Fatalf("second cancel: %v, task %+v; want failed %s", err, cancel2.Task, mock.ErrorAlreadyCancelled)
	}
	if e := cancel2.Task.Errors[0].Expression; !strings.HasSuffix(e, ".resource.focus") {
		t.Fatalf("second cancel: error at %q; want the cancel Task's focus", e)
	}
}

func TestTransportFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		member    string
		want      error
		retryable bool
		status    int
	}{
		{"an HTTP 5xx is a retryable server error", "HTTP5XX-1", nphies.ErrServerError, true, http.StatusServiceUnavailable},
		{"a timeout is a retryable transport error", "TIMEOUT-1", nphies.ErrTransport, true, 0},
		{"a malformed answer is kept raw and retryable", "MALFORMED-1", nphies.ErrMalformed, true, http.StatusOK},
		{"an OperationOutcome rejection is final", "INVALID-1", nphies.ErrRejected, false, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// A 1 s per-call timeout against a 30 s scripted hang: generous
			// enough for a loaded CI machine, short enough to prove the
			// timeout applies.
			_, c, b := setup(t, mock.Options{TimeoutSleep: 30 * time.Second}, nphies.WithTimeout(time.Second))
			msg := mustBuild(t)(b.BuildClaim(claimInput(t.Name(), tt.member)))
			start := time.Now()
			_, err := c.Send(context.Background(), msg)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if got := nphies.Retryable(err); got != tt.retryable {
				t.Errorf("Retryable = %v, want %v", got, tt.retryable)
			}
			var e *nphies.Error
			if !errors.As(err, &e) || e.StatusCode != tt.status {
				t.Fatalf("error %#v, want *nphies.Error with status %d", err, tt.status)
			}
			if errors.Is(tt.want, nphies.ErrMalformed) && len(e.Raw) == 0 {
				t.Error("malformed answer not kept raw")
			}
			if errors.Is(tt.want, nphies.ErrRejected) && (len(e.Issues) == 0 || e.Issues[0].Code != "GE-00013") {
				t.Errorf("issues = %+v, want GE-00013", e.Issues)
			}
			if time.Since(start) > 10*time.Second {
				t.Errorf("call took %v; the per-call timeout did not apply", time.Since(start))
			}
		})
	}
}

func TestHeaderOverridesMemberRules(t *testing.T) {
	t.Parallel()
	m := mock.New(mock.Options{})
	b := testBuilder()
	msg := mustBuild(t)(b.BuildClaim(claimInput(t.Name(), "M-1")))
	rec := httptestDo(t, m, msg.Body, "rejected")
	r, err := nphies.Parse(rec)
	if err != nil || r.Claim == nil || r.Claim.Status != nphies.ClaimRejected {
		t.Fatalf("header rejected: %v %+v", err, r)
	}
}

// TestRetriesDeliverExactlyOnce is a small fault drill: the mock fails half
// the requests and withholds some answers after processing; every claim is
// resent with the same bytes until answered, and the mock must have
// adjudicated each exactly once from exactly one bundle.
func TestRetriesDeliverExactlyOnce(t *testing.T) {
	t.Parallel()
	// The client timeout is generous (2 s, scaled like every test wait) so a
	// loaded machine, where the mock's rule checks of 30 claims at once take
	// seconds, does not turn every attempt into a timeout; injected timeouts
	// hold the answer until the client gives up.
	m, c, b := setup(t, mock.Options{FailRate: 0.5, TimeoutRate: 0.2, TimeoutSleep: 30 * time.Second, Seed: 42},
		nphies.WithTimeout(eventually.Scale(2*time.Second)))
	const claims = 30
	var wg sync.WaitGroup
	errs := make(chan error, claims)
	for i := range claims {
		wg.Go(func() {
			msg, err := b.BuildClaim(claimInput(fmt.Sprintf("%s/%d", t.Name(), i), "M-drill"))
			if err != nil {
				errs <- err
				return
			}
			for attempt := 0; ; attempt++ {
				r, err := c.Send(context.Background(), msg)
				if err == nil {
					if r.Claim == nil || r.Claim.Status != nphies.ClaimApproved {
						errs <- errors.New("claim not approved")
					}
					return
				}
				if !nphies.Retryable(err) || attempt > 100 {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	d := m.Deliveries()
	if len(d.Claims) != claims {
		t.Fatalf("mock saw %d claims, want %d", len(d.Claims), claims)
	}
	for k, cc := range d.Claims {
		if cc.Processed != 1 || cc.Bundles != 1 || cc.Conflicts != 0 {
			t.Errorf("claim %s: %+v, want processed 1 from 1 bundle", k, cc)
		}
	}
	if d.InjectedFailures == 0 || d.InjectedTimeouts == 0 {
		t.Errorf("faults injected: %d failures, %d timeouts; want both > 0", d.InjectedFailures, d.InjectedTimeouts)
	}
	out, _ := json.Marshal(struct{ Requests, Failures, Timeouts int64 }{d.Requests, d.InjectedFailures, d.InjectedTimeouts})
	t.Logf("drill: %s", out)
}

func TestOfflinePayer(t *testing.T) {
	t.Parallel()
	m, c, b := setup(t, mock.Options{OfflinePayers: []string{payer.License}})
	ctx := context.Background()

	// Claims are stored and forwarded: NPHIES answers queued on the payer's
	// behalf and the payer's decision arrives by poll.
	in := claimInput(t.Name(), "PARTIAL-9")
	r, err := c.Send(ctx, mustBuild(t)(b.BuildClaim(in)))
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	if !r.NPHIESGenerated || r.SenderLicense != nphies.NPHIESLicense || r.Claim.Status != nphies.ClaimPending {
		t.Fatalf("got generated=%v sender=%q status=%s; want an NPHIES-generated PENDING answer", r.NPHIESGenerated, r.SenderLicense, r.Claim.Status)
	}
	if m.QueueLength(b.ProviderLicense) != 1 {
		t.Fatalf("queue = %d, want the payer's answer queued", m.QueueLength(b.ProviderLicense))
	}
	pr, err := c.Send(ctx, mustBuild(t)(b.BuildPoll(pollInput(t.Name()+"/poll", 1))))
	if err != nil || len(pr.Poll.Messages) != 1 || pr.Poll.Messages[0].Response.Claim.Status != nphies.ClaimPartial {
		t.Fatalf("poll: %v %+v; want the deferred PARTIAL decision", err, pr)
	}

	// Eligibility and status checks are never queued: an immediate error.
	e, err := c.Send(ctx, mustBuild(t)(b.BuildEligibility(eligibilityInput(t.Name()+"/e", "M-1"))))
	if err != nil || e.Eligibility.Outcome != "error" || e.Eligibility.Errors[0].Code != "GE-00012" {
		t.Fatalf("eligibility: %v %+v; want error GE-00012", err, e.Eligibility)
	}
	next := seq(t.Name() + "/status")
	st, err := c.Send(ctx, mustBuild(t)(b.BuildStatusCheck(nphies.TaskInput{Envelope: env(next), TaskID: next(), Created: testNow,
		Payer: payer, Claim: b.ClaimIdentifier(in.ClaimID)})))
	if err != nil || st.Task.Status != "failed" || st.Task.Errors[0].Code != "GE-00012" {
		t.Fatalf("status: %v %+v; want failed GE-00012", err, st.Task)
	}
}

func TestUnknownPayerIsRefused(t *testing.T) {
	t.Parallel()
	_, c, b := setup(t, mock.Options{Payers: []string{"7001463160"}})
	_, err := c.Send(context.Background(), mustBuild(t)(b.BuildClaim(claimInput(t.Name(), "M-1"))))
	var e *nphies.Error
	if !errors.As(err, &e) || !errors.Is(err, nphies.ErrRejected) || len(e.Issues) == 0 || e.Issues[0].Code != "GE-00010" {
		t.Fatalf("err = %v, want ErrRejected GE-00010", err)
	}
}

func TestPollFilters(t *testing.T) {
	t.Parallel()
	m, c, b := setup(t, mock.Options{})
	ctx := context.Background()
	queued := claimInput(t.Name()+"/q", "QUEUE-2")
	comm := claimInput(t.Name()+"/c", "COMM-2")
	for _, in := range []nphies.ClaimInput{queued, comm} {
		if _, err := c.Send(ctx, mustBuild(t)(b.BuildClaim(in))); err != nil {
			t.Fatal(err)
		}
	}
	if n := m.QueueLength(b.ProviderLicense); n != 2 {
		t.Fatalf("queue = %d, want 2", n)
	}
	poll := func(name string, mutate func(*nphies.PollInput)) *nphies.Response {
		in := pollInput(t.Name()+name, 10)
		mutate(&in)
		r, err := c.Send(ctx, mustBuild(t)(b.BuildPoll(in)))
		if err != nil {
			t.Fatalf("poll %s: %v", name, err)
		}
		return r
	}
	// Only communication requests.
	r := poll("/include", func(in *nphies.PollInput) { in.Include = []string{nphies.EventCommunicationRequest} })
	if len(r.Poll.Messages) != 1 || r.Poll.Messages[0].Response.Kind != nphies.KindCommunicationRequest || !r.QueuedMessages {
		t.Fatalf("include: %d messages, queued-messages %v; want the communication request and more waiting", len(r.Poll.Messages), r.QueuedMessages)
	}
	// Nothing but claim responses about another claim.
	other := b.ClaimIdentifier(comm.ClaimID)
	r = poll("/focus", func(in *nphies.PollInput) { in.Focus = &other })
	if len(r.Poll.Messages) != 0 {
		t.Fatalf("focus on a claim with nothing queued delivered %d messages", len(r.Poll.Messages))
	}
	mine := b.ClaimIdentifier(queued.ClaimID)
	r = poll("/focus2", func(in *nphies.PollInput) {
		in.Focus, in.Exclude = &mine, []string{nphies.EventCommunicationRequest}
	})
	if len(r.Poll.Messages) != 1 || r.Poll.Messages[0].Response.Claim.Request != mine || r.QueuedMessages {
		t.Fatalf("focus: %+v; want the queued claim's final answer and an empty queue", r.Poll)
	}
}
