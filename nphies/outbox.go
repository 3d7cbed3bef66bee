package nphies

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
)

// Observer receives the worker's and the poller's telemetry. The binary
// adapts the observability package to it, so this package stays free of
// the telemetry SDK; nil observes nothing.
type Observer interface {
	// StartLinked starts the root span of a new trace for one send, linked
	// to the trace of the request that queued the message (traceParent,
	// possibly empty). end finishes it with the send's error.
	StartLinked(ctx context.Context, name, traceParent string) (_ context.Context, end func(error))
	// NPHIESRequest records one exchange by event and outcome.
	NPHIESRequest(ctx context.Context, event, outcome string, took time.Duration)
	// SetOutboxBacklog reports the outbox backlog.
	SetOutboxBacklog(pending int, oldest time.Duration)
}

// DeliveryObserver is what an Observer may also implement to count each
// delivery attempt by its result: "sent", "retry" (will be sent again) or
// "failed" (given up: the message needs a person). It is separate so
// observers written before it still satisfy Observer.
type DeliveryObserver interface {
	OutboxDelivery(outcome string)
}

// Worker delivers the outbox: every replica runs one, and the store's row
// locks make sure two workers never send the same message at once. A
// message that cannot be delivered is retried with the same bytes after an
// exponential backoff with jitter, and given up after MaxAttempts, putting
// its claim in ERROR for a person.
type Worker struct {
	// Store is the outbox.
	Store hg.Outbox
	// Client sends to NPHIES.
	Client *Client
	// Interval is how long an idle sender waits before looking for due
	// messages again; default 1 s.
	Interval time.Duration
	// Wake, when set, receives a value when a message was queued (the
	// store's LISTEN/NOTIFY, postgres.DB.ListenOutbox): idle senders then
	// look at once rather than after Interval. Retries still wait for
	// Interval.
	Wake <-chan struct{}
	// Concurrency is how many messages are sent at once (each holds one
	// database connection while it sends); default 4.
	Concurrency int
	// Timeout bounds one send; default DefaultTimeout (NPHIES's 60 s).
	Timeout time.Duration
	// MaxAttempts is how many sends a message gets before it fails;
	// default 8.
	MaxAttempts int
	// BackoffBase and BackoffCap shape the wait before attempt n+1:
	// min(Cap, Base·2^(n-1)), defaults 2 s and 10 min.
	BackoffBase, BackoffCap time.Duration
	// Jitter is the fraction of each wait drawn at random, so workers that
	// failed together do not retry together; default 0.5, 0 < Jitter ≤ 1.
	Jitter float64
	// Logger gets one line per failed attempt (event, status, attempt —
	// never a body or an identifier of a person); default discards.
	Logger *slog.Logger
	// Observer receives traces and metrics; nil observes nothing.
	Observer Observer
	// Now is the clock; default time.Now.
	Now func() time.Time
}

func (w *Worker) defaults() {
	if w.Interval <= 0 {
		w.Interval = time.Second
	}
	if w.Concurrency <= 0 {
		w.Concurrency = 4
	}
	if w.Timeout <= 0 {
		w.Timeout = DefaultTimeout
	}
	if w.MaxAttempts <= 0 {
		w.MaxAttempts = 8
	}
	if w.BackoffBase <= 0 {
		w.BackoffBase = 2 * time.Second
	}
	if w.BackoffCap <= 0 {
		w.BackoffCap = 10 * time.Minute
	}
	if w.Jitter <= 0 || w.Jitter > 1 {
		w.Jitter = 0.5
	}
	if w.Logger == nil {
		w.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if w.Observer == nil {
		w.Observer = noObserver{}
	}
	if w.Now == nil {
		w.Now = time.Now
	}
}

// Run delivers due messages until ctx is cancelled. A send in flight when
// ctx ends is abandoned and its message stays due, to be sent again with
// the same bytes; Run returns once every sender has stopped.
func (w *Worker) Run(ctx context.Context) error {
	if w.Store == nil || w.Client == nil {
		return errors.New("nphies worker: Store and Client are required")
	}
	w.defaults()
	var wg sync.WaitGroup
	wakes := make([]chan struct{}, w.Concurrency)
	for k := range wakes {
		wakes[k] = make(chan struct{}, 1)
		wg.Go(func() { w.loop(ctx, wakes[k]) })
	}
	wg.Go(func() { w.reportBacklog(ctx) })
	if w.Wake != nil {
		wg.Go(func() { fanOut(ctx, w.Wake, wakes) })
	}
	wg.Wait()
	return nil
}

// fanOut passes each wake-up to every sender, without blocking on a busy
// one (its buffered signal is enough).
func fanOut(ctx context.Context, in <-chan struct{}, outs []chan struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-in:
			if !ok {
				return
			}
			for _, o := range outs {
				select {
				case o <- struct{}{}:
				default:
				}
			}
		}
	}
}

// loop is one sender: it drains due messages, then naps until Interval
// passes or a wake-up arrives.
func (w *Worker) loop(ctx context.Context, wake <-chan struct{}) {
	for ctx.Err() == nil {
		did, err := w.Store.DeliverNext(ctx, w.send)
		if err != nil && ctx.Err() == nil {
			w.Logger.Error("nphies outbox: could not take or record a message", "error", err.Error())
		}
		if did && err == nil {
			continue
		}
		t := time.NewTimer(w.Interval)
		select {
		case <-t.C:
		case <-wake:
		case <-ctx.Done():
		}
		t.Stop()
	}
}

// reportBacklog publishes the backlog every few intervals.
func (w *Worker) reportBacklog(ctx context.Context) {
	for ctx.Err() == nil {
		if n, age, err := w.Store.OutboxBacklog(ctx); err == nil {
			w.Observer.SetOutboxBacklog(n, age)
		} else if ctx.Err() == nil {
			w.Logger.Warn("nphies outbox: backlog unknown", "error", err.Error())
		}
		sleep(ctx, 5*w.Interval)
	}
}

// DeliverOnce sends at most one due message and reports whether there was
// one. Tests and benchmarks use it to drive the worker step by step.
func (w *Worker) DeliverOnce(ctx context.Context) (bool, error) {
	w.defaults()
	return w.Store.DeliverNext(ctx, w.send)
}

// send makes one attempt at m, traced as a new trace linked to the request
// that queued it, and says what the outbox should record.
func (w *Worker) send(ctx context.Context, m *hg.NPHIESMessage) hg.Attempt {
	ctx, end := w.Observer.StartLinked(ctx, "nphies.outbox.deliver", m.TraceParent)
	msg, err := outgoing(m)
	if err != nil {
		end(err)
		return hg.Attempt{Delivery: hg.DeliveryFailed, Error: "the stored message is not a valid NPHIES message", Refused: true}
	}
	start := w.Now()
	sctx, cancel := context.WithTimeout(ctx, w.Timeout)
	resp, err := w.Client.Send(sctx, msg)
	cancel()
	a := w.attempt(ctx, m, resp, err)
	w.Observer.NPHIESRequest(ctx, m.Event, metricOutcome(a, resp), w.Now().Sub(start))
	if d, ok := w.Observer.(DeliveryObserver); ok {
		d.OutboxDelivery(deliveryOutcome(a.Delivery))
	}
	if a.Delivery != hg.DeliverySent {
		w.Logger.Warn("nphies outbox: attempt failed", "event", m.Event, "attempt", m.Attempts+1,
			"http_status", a.HTTPStatus, "delivery", string(a.Delivery), "reason", a.Error)
		if err == nil {
			err = errors.New(a.Error)
		}
		end(err)
	} else {
		end(nil)
	}
	return a
}

// attempt turns a send's result into what the outbox records.
func (w *Worker) attempt(ctx context.Context, m *hg.NPHIESMessage, resp *Response, err error) hg.Attempt {
	if err == nil {
		r := received(resp)
		if about := answerClaim(r); about != nil && m.ClaimID != nil && *about != *m.ClaimID {
			r.Claim, r.Cancel, r.Status, r.Problem = nil, nil, nil, "the answer is about another claim"
			return hg.Attempt{Delivery: hg.DeliveryFailed, HTTPStatus: 200, Error: r.Problem, Response: r}
		}
		if r.Problem != "" {
			return hg.Attempt{Delivery: hg.DeliveryFailed, HTTPStatus: 200, Error: r.Problem, Response: r}
		}
		return hg.Attempt{Delivery: hg.DeliverySent, HTTPStatus: 200, Response: r}
	}
	f := ClassifyFailure(resp, err)
	a := hg.Attempt{HTTPStatus: f.HTTPStatus, Error: f.Reason, Response: f.Response}
	switch {
	case ctx.Err() != nil:
		// The worker is stopping: not NPHIES's fault, so no backoff; the
		// next worker resends the same bytes at once.
		a.Delivery, a.RetryAt, a.Error = hg.DeliveryPending, w.Now(), "the worker stopped during the send"
	case f.Retryable && m.Attempts+1 < w.MaxAttempts:
		a.Delivery, a.RetryAt = hg.DeliveryPending, w.Now().Add(w.backoff(m.Attempts+1))
	default:
		a.Delivery, a.Refused = hg.DeliveryFailed, f.Refused
		if f.Retryable {
			a.Error = fmt.Sprintf("gave up after %d attempts: %s", m.Attempts+1, a.Error)
		}
	}
	return a
}

// backoff is the wait before the attempt after attempt n (n ≥ 1): an
// exponential step capped at BackoffCap, of which a Jitter fraction is
// drawn at random.
func (w *Worker) backoff(n int) time.Duration {
	d := w.BackoffCap
	if n < 40 {
		d = min(w.BackoffCap, w.BackoffBase<<(n-1))
	}
	fixed := time.Duration(float64(d) * (1 - w.Jitter))
	return fixed + time.Duration(rand.Int64N(int64(d-fixed)+1)) //nolint:gosec // jitter spreads retries; it guards no secret
}

// deliveryOutcome is the DeliveryObserver outcome of an attempt.
func deliveryOutcome(d hg.DeliveryStatus) string {
	switch d {
	case hg.DeliverySent:
		return "sent"
	case hg.DeliveryFailed:
		return "failed"
	}
	return "retry"
}

// metricOutcome is the bounded outcome label of an exchange.
func metricOutcome(a hg.Attempt, resp *Response) string {
	switch {
	case a.Delivery == hg.DeliverySent && resp != nil && resp.Claim != nil:
		return resp.Claim.Outcome
	case a.Delivery == hg.DeliverySent:
		return "complete"
	case a.Refused:
		return "rejected"
	case a.HTTPStatus == 0:
		return "transport_error"
	}
	return "error"
}

// outgoing rebuilds the Message to send from a stored row: the stored bytes
// are sent as they are, so every retry is identical.
func outgoing(m *hg.NPHIESMessage) (*Message, error) {
	b, err := uuid.Parse(m.BundleID)
	if err != nil {
		return nil, fmt.Errorf("bundle id: %w", err)
	}
	h, err := uuid.Parse(m.MessageHeaderID)
	if err != nil {
		return nil, fmt.Errorf("message header id: %w", err)
	}
	if len(m.Body) == 0 {
		return nil, errors.New("empty body")
	}
	return &Message{Event: m.Event, BundleID: b, MessageHeaderID: h, Body: m.Body}, nil
}

// received translates a parsed message into the store's terms.
func received(resp *Response) *hg.Received {
	r := &hg.Received{Event: resp.Event, BundleID: resp.BundleID, MessageHeaderID: resp.MessageHeaderID, Body: resp.Raw}
	switch {
	case resp.Claim != nil:
		r.Claim, r.Problem = claimOutcome(resp.Claim)
	case resp.Task != nil && (resp.Task.Code == "cancel" || resp.Task.Code == "nullify"):
		id, err := uuid.Parse(resp.Task.Focus.Value)
		if err != nil {
			r.Problem = "the cancel response names no claim of ours"
			break
		}
		r.Cancel = &hg.CancelOutcome{ClaimID: id, Done: resp.Task.Status == "completed",
			Error: issueCodes(resp.Task.Errors)}
	case resp.Task != nil && resp.Task.Code == "status":
		id, err := uuid.Parse(resp.Task.Focus.Value)
		if err != nil {
			r.Problem = "the status response names no claim of ours"
			break
		}
		st := &hg.StatusOutcome{ClaimID: id, Error: issueCodes(resp.Task.Errors)}
		if resp.Task.Status == "completed" {
			st.State = resp.Task.ClaimStatus
		} else if st.Error == "" {
			st.Error = "the status check " + resp.Task.Status
		}
		r.Status = st
	case resp.CommunicationRequest != nil:
		req := resp.CommunicationRequest
		cr := &hg.CommunicationRequestOutcome{System: req.Identifier.System, Value: req.Identifier.Value,
			Texts: req.Texts, Reasons: req.Reasons}
		for _, a := range req.About {
			if id, err := uuid.Parse(a.Value); err == nil {
				cr.ClaimIDs = append(cr.ClaimIDs, id)
			}
		}
		r.CommunicationRequest = cr
	case resp.PaymentReconciliation != nil:
		r.Payment, r.Problem = paymentOutcome(resp)
	}
	return r
}

// answerClaim is the claim a direct answer says it is about, nil when it
// names none.
func answerClaim(r *hg.Received) *uuid.UUID {
	switch {
	case r.Claim != nil:
		return &r.Claim.ClaimID
	case r.Cancel != nil:
		return &r.Cancel.ClaimID
	case r.Status != nil:
		return &r.Status.ClaimID
	}
	return nil
}

// claimOutcome maps a ClaimResponse onto the claim's new state.
func claimOutcome(c *ClaimResult) (*hg.ClaimOutcome, string) {
	id, err := uuid.Parse(c.Request.Value)
	if err != nil {
		return nil, "the claim response names no claim of ours"
	}
	o := &hg.ClaimOutcome{ClaimID: id, Disposition: c.Disposition, PreAuthRef: c.PreAuthRef,
		ResponseKey: c.Identifier.Key(), Error: issueCodes(c.Errors), Reissue: c.Reissue}
	switch c.Status {
	case ClaimApproved, ClaimPartial, ClaimRejected, ClaimPending, ClaimError:
		o.Status = hg.ClaimStatus(c.Status)
	default:
		return nil, fmt.Sprintf("the claim response has an outcome this service does not know (%q)", c.Outcome)
	}
	var sum int64
	for _, it := range c.Items {
		b := it.BenefitHalalas()
		sum += b
		o.Items = append(o.Items, hg.ItemOutcome{Sequence: int(it.Sequence), Approved: hg.Halalas(b),
			Outcome: it.Decision, Reasons: it.Reasons})
	}
	if o.Status.Final() {
		approved := hg.Halalas(sum)
		if b, ok := c.Totals["benefit"]; ok {
			approved = hg.Halalas(b)
		}
		o.Approved = &approved
	}
	return o, ""
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// noObserver observes nothing.
type noObserver struct{}

func (noObserver) StartLinked(ctx context.Context, _, _ string) (context.Context, func(error)) {
	return ctx, func(error) {}
}
func (noObserver) NPHIESRequest(context.Context, string, string, time.Duration) {}
func (noObserver) SetOutboxBacklog(int, time.Duration)                          {}
