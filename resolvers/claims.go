package resolvers

import (
	"context"
	"strings"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/auth"
	"github.com/healthgraph/healthgraph/graph/model"
	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/observability"
)

// desk runs the NPHIES exchanges a caller starts, over the resolver's
// store, builder and client.
func (r *Resolver) desk() *nphies.Desk {
	return &nphies.Desk{Store: r.Store, Builder: r.NPHIES, Client: r.NPHIESClient}
}

// queueClaim builds a claim or prior authorization from an invoice and
// queues it, through the NPHIES desk; the outbox delivers it.
func (r *mutationResolver) queueClaim(ctx context.Context, use hg.ClaimUse, input model.SubmitClaimInput) (*hg.Claim, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	invoiceID, err := parseID("invoiceId", "Invoice", input.InvoiceID)
	if err != nil {
		return nil, err
	}
	practitionerID, err := parseID("practitionerId", "Practitioner", input.PractitionerID)
	if err != nil {
		return nil, err
	}
	diagnoses, err := parseDiagnoses(input.Diagnoses)
	if err != nil {
		return nil, err
	}
	claim, err := r.desk().QueueClaim(ctx, auth.PatientScope(p), nphies.ClaimRequest{
		Use: use, InvoiceID: invoiceID, PractitionerID: practitionerID, Diagnoses: diagnoses,
		Audit:       actorEvent(ctx, "claim.queued", "Claim"),
		TraceParent: observability.TraceParent(ctx),
	})
	if err != nil {
		return nil, err
	}
	r.business().ClaimStatus(string(claim.Status))
	return claim, nil
}

// parseDiagnoses normalises 1 to 12 ICD-10 codes, the principal first.
func parseDiagnoses(in []string) ([]string, error) {
	if len(in) == 0 || len(in) > 12 {
		return nil, hg.Invalid("diagnoses", "give 1 to 12 diagnosis codes")
	}
	out := make([]string, len(in))
	for i, d := range in {
		if out[i] = strings.ToUpper(strings.TrimSpace(d)); !hg.ValidICD10(out[i]) {
			return nil, hg.Invalid("diagnoses", "%q is not an ICD-10 code", truncate(d, 16))
		}
	}
	return out, nil
}

// cancel queues a cancel request for a claim, through the NPHIES desk.
func (r *mutationResolver) cancel(ctx context.Context, gid, reason string) (*hg.Claim, error) {
	id, err := parseID("id", "Claim", gid)
	if err != nil {
		return nil, err
	}
	if reason = strings.TrimSpace(reason); reason == "" || len(reason) > 500 {
		return nil, hg.Invalid("reason", "reason must be 1 to 500 characters")
	}
	return r.desk().Cancel(ctx, hg.PatientScope{All: true}, nphies.CancelRequest{ClaimID: id,
		Audit:       actorEvent(ctx, "claim.cancel_requested", "Claim"),
		TraceParent: observability.TraceParent(ctx)})
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
