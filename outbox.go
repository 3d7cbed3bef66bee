package healthgraph

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Outbox is the delivery side of the claim store: the NPHIES worker takes
// due outgoing messages from it and records what happened, and the poller
// stores what it fetched. Every method applies its changes in one
// transaction, so a crash leaves either all of an answer applied or none.
type Outbox interface {
	// DeliverNext takes one due outgoing message, locked so that no other
	// worker can take it while send runs, calls send with it and records
	// the attempt send reports (and the response it carries) in the same
	// transaction. It reports false when nothing was due. send must honour
	// ctx; the lock is held until it returns.
	DeliverNext(ctx context.Context, send func(ctx context.Context, m *NPHIESMessage) Attempt) (bool, error)
	// RecordExchange stores a message sent outside the outbox (a poll
	// request, saved before or not; its Delivery is SENT unless FAILED is
	// given) with the response that came back and the messages it
	// delivered, and applies each delivered message idempotently: a message
	// whose bundle id was stored before changes nothing. A delivered
	// message that cannot be applied is stored with its problem and does
	// not stop the others.
	RecordExchange(ctx context.Context, sent *NPHIESMessage, response *Received, delivered []Received) error
	// SavePoll stores a poll request before it is sent. NPHIES takes the
	// messages it delivers off its queue, so a poll whose answer never got
	// recorded (the process died, the database was down) must be resent
	// with the same bytes, which NPHIES answers with the stored response.
	SavePoll(ctx context.Context, m *NPHIESMessage) error
	// UnansweredPoll returns the oldest saved poll request whose exchange
	// was not recorded yet, or nil.
	UnansweredPoll(ctx context.Context) (*NPHIESMessage, error)
	// TryPollerLock takes the cluster-wide poller lock without waiting. ok
	// is false when another process holds it.
	TryPollerLock(ctx context.Context) (lock Lock, ok bool, err error)
	// OutboxBacklog reports how many outgoing messages wait and how long the
	// oldest due one has waited.
	OutboxBacklog(ctx context.Context) (pending int, oldest time.Duration, err error)
	// QueueStatusChecks queues a status check, built by build, for each
	// claim or prior authorization PENDING at the payer for at least
	// olderThan and not checked within olderThan, at most limit of them,
	// and reports how many it queued. Each is queued in the transaction
	// that marks its claim checked, under the claim's row lock, so callers
	// racing on several replicas never queue two for one claim.
	QueueStatusChecks(ctx context.Context, olderThan time.Duration, limit int,
		build func(c *Claim, now time.Time) (NPHIESMessage, error)) (int, error)
}

// Lock is a held cluster-wide lock.
type Lock interface {
	// Check returns an error when the lock may have been lost (its
	// connection broke); the holder must stop working and try again.
	Check(ctx context.Context) error
	// Release gives the lock up. It is safe to call more than once.
	Release()
}

// Attempt is what one send of an outgoing message came to; the outbox
// records it with the message.
type Attempt struct {
	// Delivery is the message's new state: SENT, PENDING (try again at
	// RetryAt) or FAILED.
	Delivery DeliveryStatus
	RetryAt  time.Time
	// HTTPStatus is the answer's status, 0 when none arrived.
	HTTPStatus int
	// Error says why the attempt failed, in words safe to show and log (no
	// body, no PHI); empty on success.
	Error string
	// Refused reports that NPHIES refused the message itself for good (a
	// rejection, not a transport failure): its identity is dead and the
	// invoice may be claimed again.
	Refused bool
	// Response is the answer as received, nil when none arrived. It is
	// stored even when it could not be read.
	Response *Received
}

// Received is one message received from NPHIES, raw and as far as it could
// be read.
type Received struct {
	Event           string
	BundleID        string
	MessageHeaderID string
	// Body is the exact bytes received; it carries PHI and is never logged.
	Body []byte
	// Claim is a claim or prior-authorization response, when it is one.
	Claim *ClaimOutcome
	// Cancel is a cancel response, when it is one.
	Cancel *CancelOutcome
	// Status is a status-check response, when it is one.
	Status *StatusOutcome
	// CommunicationRequest lists the claims a payer's request for more
	// information is about, when it is one.
	CommunicationRequest *CommunicationRequestOutcome
	// Payment is a payer's payment reconciliation, when it is one.
	Payment *PaymentOutcome
	// Problem says why the message could not be applied (unreadable,
	// unexpected); the message is still stored.
	Problem string
}

// ClaimOutcome is a payer's answer to a claim, in the store's terms.
type ClaimOutcome struct {
	// ClaimID is our claim the answer is about.
	ClaimID uuid.UUID
	// Status is PENDING (queued at the payer), APPROVED, PARTIAL, REJECTED
	// or ERROR (the payer or NPHIES refused it; Error says why).
	Status      ClaimStatus
	Approved    *Halalas
	Disposition string
	PreAuthRef  string
	// ResponseKey is the payer's ClaimResponse identifier.
	ResponseKey string
	// Reissue is the payer's reason for revising a decision it made
	// before (extension-adjudication-reissue); empty on a first decision.
	Reissue string
	Error   string
	Items   []ItemOutcome
}

// ItemOutcome is the payer's decision on one claim item.
type ItemOutcome struct {
	Sequence int
	Approved Halalas
	Outcome  string
	Reasons  []string
}

// CancelOutcome is NPHIES's answer to a cancel request.
type CancelOutcome struct {
	ClaimID uuid.UUID
	// Done reports that the claim is cancelled; Error says why not.
	Done  bool
	Error string
}

// StatusOutcome is the payer's answer to a status check on a claim.
type StatusOutcome struct {
	ClaimID uuid.UUID
	// State is the payer's remittance outcome (queued, complete, …); empty
	// when the check was refused, and Error says why.
	State string
	Error string
}

// CommunicationRequestOutcome is a payer asking for more information on
// claims.
type CommunicationRequestOutcome struct {
	// System and Value are the request's identifier, which our answer's
	// basedOn names.
	System, Value string
	ClaimIDs      []uuid.UUID
	Texts         []string
	// Reasons are communication-reason codes (missing-info, …).
	Reasons []string
}
