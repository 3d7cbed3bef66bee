package nphies

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
)

// ClaimMessageRequest is what billing sends a payer about a claim: an
// answer to the payer's request for information, or a communication of
// the clinic's own accord.
type ClaimMessageRequest struct {
	// ClaimID is the caller's "claimId".
	ClaimID uuid.UUID
	// InReplyTo is the caller's "inReplyTo": the payer's request answered,
	// nil when unsolicited.
	InReplyTo *uuid.UUID
	// Texts and Attachments are the payload; at least one of them.
	Texts       []string
	Attachments []hg.Attachment
	// Audit is the caller's audit event, appended with the communication.
	Audit hg.AuditEvent
	// TraceParent links the outbox's send to the caller's trace.
	TraceParent string
}

// Communicate queues a communication to the claim's payer: solicited
// (basedOn the payer's CommunicationRequest, official example 18b) when
// InReplyTo is given, unsolicited (18c) otherwise. The limits are checked
// before anything is stored, so a refused attachment leaves nothing behind.
// NOT_FOUND when the claim or the request is outside scope; BAD_USER_INPUT
// naming "texts", "attachments" or "inReplyTo"; CONFLICT when the claim is
// not with the payer or the request was answered already.
func (d *Desk) Communicate(ctx context.Context, scope hg.PatientScope, req ClaimMessageRequest) (*hg.ClaimCommunication, error) {
	texts, err := communicationTexts(req.Texts)
	if err != nil {
		return nil, err
	}
	if err := hg.ValidAttachments(req.Attachments); err != nil {
		return nil, err
	}
	if len(texts)+len(req.Attachments) == 0 {
		return nil, hg.Invalid("texts", "give a text or an attachment")
	}
	claim, err := d.Store.ClaimByID(ctx, scope, req.ClaimID)
	if err != nil {
		return nil, err
	}
	var basedOn *Identifier
	if req.InReplyTo != nil {
		asked, err := d.Store.ClaimCommunicationByID(ctx, scope, *req.InReplyTo)
		if hg.ErrorCode(err) == hg.ENOTFOUND {
			return nil, hg.Invalid("inReplyTo", "no such request from the payer")
		} else if err != nil {
			return nil, err
		}
		if asked.Direction != hg.FromPayer || asked.ClaimID != claim.ID {
			return nil, hg.Invalid("inReplyTo", "not a request from the payer about this claim")
		}
		basedOn = &Identifier{System: asked.PayerSystem, Value: asked.PayerValue}
	}
	patient, err := d.Store.PatientByID(ctx, scope, claim.PatientID)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	in := CommunicationInput{Envelope: NewEnvelope(now), CommunicationID: id, Created: now,
		Payer: Payer{License: claim.PayerLicense, Name: claim.PayerName}, Patient: PatientOf(patient),
		Claim: d.Builder.ClaimIdentifier(claim.ID), BasedOn: basedOn, Texts: texts}
	c := hg.ClaimCommunication{ID: id, ClaimID: claim.ID, Direction: hg.ToPayer, InReplyTo: req.InReplyTo, Texts: texts}
	for _, a := range req.Attachments {
		in.Attachments = append(in.Attachments, AttachmentInput{ContentType: a.ContentType, Title: a.Title, Data: a.Data})
		sum := sha256.Sum256(a.Data)
		c.Attachments = append(c.Attachments, hg.AttachmentInfo{Title: a.Title, ContentType: a.ContentType,
			Size: len(a.Data), SHA256: hex.EncodeToString(sum[:])})
	}
	msg, err := d.Builder.BuildCommunication(in)
	if ie := (*InputError)(nil); errors.As(err, &ie) {
		return nil, hg.Invalid("claimId", "the communication cannot be built: %s", ie.Reason)
	} else if err != nil {
		return nil, fmt.Errorf("build communication bundle: %w", err)
	}
	if len(msg.Body) > MaxMessageBytes {
		return nil, hg.Invalid("attachments", "the message would be %d bytes; NPHIES takes at most %d", len(msg.Body), MaxMessageBytes)
	}
	m := outgoingRow(msg, &claim.ID, now)
	m.NextAttemptAt, m.TraceParent = now, req.TraceParent
	return d.Store.QueueCommunication(audited(ctx, req.Audit), hg.NewCommunication{Communication: c, Message: m})
}

// communicationTexts trims the texts, drops empty ones and checks the
// limits.
func communicationTexts(in []string) ([]string, error) {
	var out []string
	for _, t := range in {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		if len([]rune(t)) > hg.MaxCommunicationText {
			return nil, hg.Invalid("texts", "each text must be at most %d characters", hg.MaxCommunicationText)
		}
		out = append(out, t)
	}
	if len(out) > hg.MaxCommunicationTexts {
		return nil, hg.Invalid("texts", "at most %d texts may be sent at once", hg.MaxCommunicationTexts)
	}
	return out, nil
}
