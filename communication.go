package healthgraph

import (
	"bytes"
	"context"
	"time"

	"github.com/google/uuid"
)

// CommunicationDirection tells a payer's request for information from our
// communication to the payer.
type CommunicationDirection string

// Directions of a claim communication.
const (
	FromPayer CommunicationDirection = "FROM_PAYER"
	ToPayer   CommunicationDirection = "TO_PAYER"
)

// Limits on what we send a payer about a claim. NPHIES refuses a message
// over 10 MB (BV-00076) and attachments travel base64-encoded (4/3 of
// their size), so all of them together stay under 7 MB.
const (
	MaxCommunicationTexts   = 10
	MaxCommunicationText    = 4000
	MaxAttachments          = 5
	MaxAttachmentBytes      = 5_000_000
	MaxAttachmentTotalBytes = 7_000_000
	MaxAttachmentTitle      = 200
)

// AttachmentTypes are the document types a payer is sent: a report as PDF,
// a scanned page as JPEG or PNG. Each is recognised by its first bytes too,
// so a file is what it claims to be.
var AttachmentTypes = map[string][]byte{
	"application/pdf": []byte("%PDF-"),
	"image/jpeg":      {0xFF, 0xD8, 0xFF},
	"image/png":       {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'},
}

// Attachment is one document sent to a payer. Created is when it was
// first attached to a claim (zero on a communication's).
type Attachment struct {
	Title       string
	ContentType string
	Data        []byte
	Created     time.Time
	// InvestigationResult marks a claim's document as its investigation
	// report, sent as NPHIES's "investigation results attached" (IRA).
	InvestigationResult bool
}

// AttachmentInfo describes a document sent, without its content (which
// stays in the stored bundle).
type AttachmentInfo struct {
	Title       string `json:"title"`
	ContentType string `json:"contentType"`
	Size        int    `json:"size"`
	SHA256      string `json:"sha256"`
}

// ValidAttachments checks attachments against the limits and types above,
// naming the offending one. BAD_USER_INPUT on field "attachments".
func ValidAttachments(as []Attachment) error {
	if len(as) > MaxAttachments {
		return Invalid("attachments", "at most %d attachments may be sent at once", MaxAttachments)
	}
	total := 0
	for i, a := range as {
		n := i + 1
		magic, ok := AttachmentTypes[a.ContentType]
		switch {
		case a.Title == "" || len([]rune(a.Title)) > MaxAttachmentTitle:
			return Invalid("attachments", "attachment %d needs a title of 1 to %d characters", n, MaxAttachmentTitle)
		case !ok:
			return Invalid("attachments", "attachment %d: %q is not accepted; send a PDF, JPEG or PNG", n, truncated(a.ContentType, 40))
		case len(a.Data) == 0:
			return Invalid("attachments", "attachment %d is empty", n)
		case len(a.Data) > MaxAttachmentBytes:
			return Invalid("attachments", "attachment %d is %d bytes; at most %d are accepted", n, len(a.Data), MaxAttachmentBytes)
		case !bytes.HasPrefix(a.Data, magic):
			return Invalid("attachments", "attachment %d is not a %s file", n, a.ContentType)
		}
		total += len(a.Data)
	}
	if total > MaxAttachmentTotalBytes {
		return Invalid("attachments", "the attachments add up to %d bytes; at most %d are accepted together", total, MaxAttachmentTotalBytes)
	}
	return nil
}

func truncated(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// ClaimCommunication is a payer's request for information about a claim,
// received through poll, or our communication to the payer about it: an
// answer to such a request or one of our own accord.
type ClaimCommunication struct {
	ID        uuid.UUID
	ClaimID   uuid.UUID
	Direction CommunicationDirection
	// PayerSystem and PayerValue are the payer's CommunicationRequest
	// identifier (FROM_PAYER), which our answer's basedOn names.
	PayerSystem, PayerValue string
	// InReplyTo is the payer request a TO_PAYER communication answers, nil
	// when unsolicited.
	InReplyTo *uuid.UUID
	// Reasons are the payer's communication-reason codes (missing-info,
	// missing-attach, info-correct).
	Reasons     []string
	Texts       []string
	Attachments []AttachmentInfo
	// Answered reports, for a payer request, that we answered it.
	Answered bool
	// Delivery is where a TO_PAYER communication's message is.
	Delivery  DeliveryStatus
	CreatedAt time.Time
}

// NewCommunication is our communication ready to queue with the bundle
// that carries it.
type NewCommunication struct {
	Communication ClaimCommunication
	Message       NPHIESMessage
}

// CommunicationStore keeps the information exchanged with payers about
// claims.
type CommunicationStore interface {
	// ClaimCommunications lists a claim's communications, oldest first.
	ClaimCommunications(ctx context.Context, claimID uuid.UUID) ([]*ClaimCommunication, error)
	// ClaimCommunicationByID returns a communication whose claim's patient
	// is in scope; NOT_FOUND otherwise.
	ClaimCommunicationByID(ctx context.Context, scope PatientScope, id uuid.UUID) (*ClaimCommunication, error)
	// QueueCommunication writes our communication and its outgoing message
	// in one transaction; the outbox delivers it. CONFLICT when the claim
	// is not with the payer (not delivered yet, in ERROR or cancelled) or
	// the request it answers already has an answer not given up on.
	QueueCommunication(ctx context.Context, n NewCommunication) (*ClaimCommunication, error)
}
