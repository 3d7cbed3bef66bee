package resolvers

import (
	"context"
	"encoding/base64"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/auth"
	"github.com/healthgraph/healthgraph/graph/model"
	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/observability"
)

// sendCommunication queues a communication to a claim's payer through the
// NPHIES desk, after decoding the attachments; the desk checks the limits
// before anything is stored.
func (r *mutationResolver) sendCommunication(ctx context.Context, in model.SendClaimCommunicationInput) (*hg.ClaimCommunication, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	claimID, err := parseID("claimId", "Claim", in.ClaimID)
	if err != nil {
		return nil, err
	}
	var replyTo *uuid.UUID
	if in.InReplyTo != nil {
		id, err := parseID("inReplyTo", "ClaimCommunication", *in.InReplyTo)
		if err != nil {
			return nil, err
		}
		replyTo = &id
	}
	attachments, err := decodeAttachments(in.Attachments)
	if err != nil {
		return nil, err
	}
	return r.desk().Communicate(ctx, auth.PatientScope(p), nphies.ClaimMessageRequest{
		ClaimID: claimID, InReplyTo: replyTo, Texts: in.Texts, Attachments: attachments,
		Audit:       actorEvent(ctx, "claim.communication_sent", "Claim"),
		TraceParent: observability.TraceParent(ctx),
	})
}

// decodeAttachments decodes documents sent as base64; the desk checks
// their limits and types (hg.ValidAttachments) before anything is stored.
func decodeAttachments(in []*model.CommunicationAttachmentInput) ([]hg.Attachment, error) {
	if len(in) > hg.MaxAttachments {
		// Refused before decoding anything.
		return nil, hg.Invalid("attachments", "at most %d attachments may be sent at once", hg.MaxAttachments)
	}
	attachments := make([]hg.Attachment, len(in))
	for i, a := range in {
		if base64.StdEncoding.DecodedLen(len(a.Data)) > hg.MaxAttachmentBytes+3 {
			return nil, hg.Invalid("attachments", "attachment %d is larger than %d bytes", i+1, hg.MaxAttachmentBytes)
		}
		data, err := base64.StdEncoding.DecodeString(a.Data)
		if err != nil {
			return nil, hg.Invalid("attachments", "attachment %d is not base64", i+1)
		}
		attachments[i] = hg.Attachment{Title: a.Title, ContentType: a.ContentType, Data: data}
	}
	return attachments, nil
}
