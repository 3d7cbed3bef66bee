package nphies

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
)

// Poller fetches the messages NPHIES queues for us (deferred claim
// responses, payers' communication requests, payment reconciliations) and
// applies them. Every replica runs one, but only the one holding the
// store's poller lock polls; the others wait to take over.
type Poller struct {
	// Store keeps what is fetched and holds the lock.
	Store hg.Outbox
	// Client sends poll requests; Builder builds them.
	Client  *Client
	Builder *Builder
	// Interval is the time between polls while nothing more is queued;
	// default 30 s. A response tagged queued-messages polls again at once.
	Interval time.Duration
	// LockRetry is how often a replica without the lock tries to take it;
	// default Interval.
	LockRetry time.Duration
	// Count is how many messages one poll asks for (1..100); default 50.
	Count int64
	// StatusCheckAfter is how long a claim or prior authorization may stay
	// PENDING at the payer before the poller queues a status check for it
	// through the outbox (and again after as long, while it stays
	// PENDING); 0 turns status checks off.
	StatusCheckAfter time.Duration
	// Timeout bounds one poll; default DefaultTimeout.
	Timeout time.Duration
	// Logger gets one line per failed poll, without bodies; default
	// discards.
	Logger *slog.Logger
	// Observer receives traces and metrics; nil observes nothing.
	Observer Observer
	// Now is the clock; default time.Now.
	Now func() time.Time

	// pending is the saved poll request being sent: after a failure it is
	// resent as it is, because NPHIES removes messages from the queue once
	// it delivers them and answers an identical resend with the response it
	// stored. After a restart the store's unanswered poll takes its place.
	pending *Message
}

func (p *Poller) defaults() {
	if p.Interval <= 0 {
		p.Interval = 30 * time.Second
	}
	if p.LockRetry <= 0 {
		p.LockRetry = p.Interval
	}
	if p.Count <= 0 || p.Count > 100 {
		p.Count = 50
	}
	if p.Timeout <= 0 {
		p.Timeout = DefaultTimeout
	}
	if p.Logger == nil {
		p.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if p.Observer == nil {
		p.Observer = noObserver{}
	}
	if p.Now == nil {
		p.Now = time.Now
	}
}

// Run polls while it holds the poller lock, and keeps trying to take the
// lock while another replica holds it, until ctx is cancelled; the lock is
// released on return.
func (p *Poller) Run(ctx context.Context) error {
	if p.Store == nil || p.Client == nil || p.Builder == nil {
		return errors.New("nphies poller: Store, Client and Builder are required")
	}
	p.defaults()
	for ctx.Err() == nil {
		lock, ok, err := p.Store.TryPollerLock(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			p.Logger.Warn("nphies poller: could not try the lock", "error", err.Error())
		case ok:
			p.hold(ctx, lock)
			lock.Release()
		}
		sleep(ctx, p.LockRetry)
	}
	return nil
}

// hold polls until ctx ends or the lock is lost.
func (p *Poller) hold(ctx context.Context, lock hg.Lock) {
	p.Logger.Info("nphies poller: holding the poller lock")
	for ctx.Err() == nil {
		if err := lock.Check(ctx); err != nil {
			if ctx.Err() == nil {
				p.Logger.Warn("nphies poller: lost the poller lock", "error", err.Error())
			}
			return
		}
		if _, err := p.QueueStatusChecks(ctx); err != nil && ctx.Err() == nil {
			p.Logger.Warn("nphies poller: could not queue status checks", "error", err.Error())
		}
		more, err := p.PollOnce(ctx)
		if err != nil && ctx.Err() == nil {
			p.Logger.Warn("nphies poller: poll failed", "error", err.Error())
		}
		if more && err == nil {
			continue
		}
		sleep(ctx, p.Interval)
	}
}

// PollOnce sends one poll request and applies what it delivers. more
// reports that NPHIES has further messages queued. The caller must hold the
// poller lock (Run does); tests call it directly.
func (p *Poller) PollOnce(ctx context.Context) (more bool, err error) {
	p.defaults()
	ctx, end := p.Observer.StartLinked(ctx, "nphies.poll", "")
	defer func() { end(err) }()
	if p.pending == nil {
		if p.pending, err = p.nextPoll(ctx); err != nil {
			return false, err
		}
	}
	msg := p.pending
	start := p.Now()
	sctx, cancel := context.WithTimeout(ctx, p.Timeout)
	resp, err := p.Client.Send(sctx, msg)
	cancel()
	sent := &hg.NPHIESMessage{Direction: hg.Outbound, Event: msg.Event, BundleID: msg.BundleID.String(),
		MessageHeaderID: msg.MessageHeaderID.String(), Body: msg.Body, TraceParent: ""}
	if err != nil {
		p.Observer.NPHIESRequest(ctx, msg.Event, "error", p.Now().Sub(start))
		f := ClassifyFailure(resp, err)
		if f.Retryable {
			// Keep the same bytes for the next try: the answer may hold
			// messages NPHIES has already taken off its queue.
			return false, errors.New(f.Reason)
		}
		// NPHIES refused the poll itself: resending it cannot help, so it
		// is recorded as failed and the next poll is a new one. The answer
		// is kept as raw bytes only.
		sent.Delivery, sent.LastError, sent.HTTPStatus = hg.DeliveryFailed, f.Reason, f.HTTPStatus
		var r *hg.Received
		var ne *Error
		if errors.As(err, &ne) && len(ne.Raw) > 0 {
			r = &hg.Received{Body: ne.Raw, Problem: f.Reason}
		}
		if rerr := p.record(ctx, sent, r, nil); rerr != nil {
			return false, rerr
		}
		p.pending = nil
		return false, errors.New(f.Reason)
	}
	p.Observer.NPHIESRequest(ctx, msg.Event, "complete", p.Now().Sub(start))
	sent.HTTPStatus = 200
	r := &hg.Received{Event: resp.Event, BundleID: resp.BundleID, MessageHeaderID: resp.MessageHeaderID, Body: resp.Raw}
	var delivered []hg.Received
	if resp.Poll != nil {
		for _, pm := range resp.Poll.Messages {
			if pm.Err != nil || pm.Response == nil {
				d := hg.Received{Problem: "a polled message cannot be read"}
				if pm.Response != nil {
					d.Body, d.Event, d.BundleID, d.MessageHeaderID = pm.Response.Raw, pm.Response.Event, pm.Response.BundleID,
						pm.Response.MessageHeaderID
				}
				delivered = append(delivered, d)
				continue
			}
			d := received(pm.Response)
			p.acknowledge(d, pm.Response.PaymentReconciliation)
			delivered = append(delivered, *d)
		}
		if resp.Poll.Task.Status == "failed" {
			r.Problem = "NPHIES refused the poll: " + issueCodes(resp.Poll.Task.Errors)
		}
	} else {
		r.Problem = "the answer to a poll is not a poll response"
	}
	if err := p.record(ctx, sent, r, delivered); err != nil {
		// p.pending stays set: resending the same poll makes NPHIES answer
		// with the same messages, so none is lost while the database is down.
		return false, err
	}
	p.pending = nil
	if r.Problem != "" {
		return false, errors.New(r.Problem)
	}
	return resp.QueuedMessages, nil
}

// nextPoll returns the poll request to send: a saved one whose answer was
// never recorded (resent as it is), or a new one, saved before it is sent.
func (p *Poller) nextPoll(ctx context.Context) (*Message, error) {
	saved, err := p.Store.UnansweredPoll(ctx)
	if err != nil {
		return nil, err
	}
	if saved != nil {
		if m, err := outgoing(saved); err == nil {
			return m, nil
		}
		// An unreadable saved row cannot be resent; it is marked failed
		// so it does not block every later poll.
		failed := *saved
		failed.Delivery, failed.LastError = hg.DeliveryFailed, "the saved poll request is not a valid NPHIES message"
		if err := p.Store.RecordExchange(ctx, &failed, nil, nil); err != nil {
			return nil, err
		}
	}
	now := p.Now()
	taskID, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	m, err := p.Builder.BuildPoll(PollInput{Envelope: NewEnvelope(now), TaskID: taskID, Created: now, Count: p.Count})
	if err != nil {
		return nil, err
	}
	if err := p.Store.SavePoll(ctx, &hg.NPHIESMessage{Direction: hg.Outbound, Event: m.Event, BundleID: m.BundleID.String(),
		MessageHeaderID: m.MessageHeaderID.String(), Body: m.Body}); err != nil {
		return nil, err
	}
	return m, nil
}

// record stores the exchange.
func (p *Poller) record(ctx context.Context, sent *hg.NPHIESMessage, r *hg.Received, delivered []hg.Received) error {
	return p.Store.RecordExchange(ctx, sent, r, delivered)
}

// statusCheckBatch bounds the status checks queued in one transaction; the
// rest wait for the next round.
const statusCheckBatch = 100

// QueueStatusChecks queues, through the outbox, a status check for each
// claim or prior authorization that has stayed PENDING at the payer for
// StatusCheckAfter, and reports how many it queued. The worker sends them;
// their answers are applied like any other. Run calls it before each poll.
func (p *Poller) QueueStatusChecks(ctx context.Context) (int, error) {
	if p.StatusCheckAfter <= 0 {
		return 0, nil
	}
	return p.Store.QueueStatusChecks(ctx, p.StatusCheckAfter, statusCheckBatch, func(c *hg.Claim, now time.Time) (hg.NPHIESMessage, error) {
		taskID, err := uuid.NewV7()
		if err != nil {
			return hg.NPHIESMessage{}, err
		}
		msg, err := p.Builder.BuildStatusCheck(TaskInput{Envelope: NewEnvelope(now), TaskID: taskID, Created: now,
			Payer: Payer{License: c.PayerLicense, Name: c.PayerName}, Claim: p.Builder.ClaimIdentifier(c.ID)})
		if err != nil {
			return hg.NPHIESMessage{}, err
		}
		m := outgoingRow(msg, &c.ID, now)
		m.NextAttemptAt = now
		return m, nil
	})
}
