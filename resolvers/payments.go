package resolvers

import (
	"context"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/auth"
	"github.com/healthgraph/healthgraph/graph/model"
	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/observability"
)

// relatedClaim loads a claim linked to one the caller is reading, within
// the caller's scope, audited as a read.
func (r *Resolver) relatedClaim(ctx context.Context, id uuid.UUID) (*hg.Claim, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	c, err := r.Store.ClaimByID(ctx, auth.PatientScope(p), id)
	return disclosed(ctx, r, "claim.read", "Claim", c, err, claimSubject)
}

// resubmit corrects a rejected or partly approved claim and queues it
// again, linked to the original, through the NPHIES desk.
func (r *mutationResolver) resubmit(ctx context.Context, gid string, input model.ResubmitClaimInput) (*hg.Claim, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID("id", "Claim", gid)
	if err != nil {
		return nil, err
	}
	practitionerID, err := parseID("input.practitionerId", "Practitioner", input.PractitionerID)
	if err != nil {
		return nil, err
	}
	diagnoses, err := parseDiagnoses(input.Diagnoses)
	if err != nil {
		return nil, hg.Invalid("input.diagnoses", "%s", hg.ErrorMessage(err))
	}
	items, err := itemCorrections(input.Items)
	if err != nil {
		return nil, err
	}
	claim, err := r.desk().Resubmit(ctx, auth.PatientScope(p), nphies.ResubmitRequest{ClaimID: id,
		PractitionerID: practitionerID, Diagnoses: diagnoses, Items: items,
		Audit:       actorEvent(ctx, "claim.resubmitted", "Claim"),
		TraceParent: observability.TraceParent(ctx)})
	if err != nil {
		return nil, err
	}
	r.business().ClaimStatus(string(claim.Status))
	return claim, nil
}

// itemCorrections reads resubmitClaim's input.items; nil when omitted.
func itemCorrections(in []*model.ResubmitItemInput) ([]hg.ItemCorrection, error) {
	if in == nil {
		return nil, nil
	}
	out := make([]hg.ItemCorrection, len(in))
	for i, it := range in {
		id, err := parseID("input.items.itemId", "CatalogueItem", it.ItemID)
		if err != nil {
			return nil, err
		}
		out[i] = hg.ItemCorrection{ItemID: id, Quantity: it.Quantity}
		if it.UnitPrice != nil {
			price, err := hg.ParseSAR("input.items.unitPrice", *it.UnitPrice)
			if err != nil {
				return nil, err
			}
			out[i].UnitPrice = &price
		}
	}
	return out, hg.ValidateCorrections(out)
}

// denialSummary answers denialSummary from the store, figures withheld
// from suppressed groups.
func (r *queryResolver) denialSummary(ctx context.Context, from, to time.Time, groupBy hg.DenialGroupBy) ([]*model.DenialGroup, error) {
	from, to, err := hg.SummaryWindow(from, to, hg.PeriodMonth, hg.MaxSummaryRange)
	if err != nil {
		return nil, err
	}
	groups, err := r.Store.DenialSummary(ctx, from, to, groupBy)
	if err != nil {
		return nil, err
	}
	out := make([]*model.DenialGroup, len(groups))
	for i, g := range groups {
		out[i] = &model.DenialGroup{Key: g.Key, Suppressed: g.Suppressed, Partial: g.Partial}
		if g.Label != "" {
			out[i].Label = &g.Label
		}
		if g.Suppressed {
			continue
		}
		f := g.DenialFigures
		out[i].Claims, out[i].DeniedClaims, out[i].PaidClaims = &f.Claims, &f.Denied, &f.Paid
		out[i].Claimed, out[i].Denied, out[i].Recovered = &f.Claimed, &f.DeniedAmount, &f.Recovered
		if f.DeniedAmount > 0 {
			share := float64(f.Recovered) / float64(f.DeniedAmount)
			out[i].RecoveredShare = &share
		}
		if f.Paid > 0 {
			days := float64(f.PaymentDays) / float64(f.Paid)
			out[i].AverageDaysToPayment = &days
		}
	}
	return out, nil
}

// present is s, or null when it is empty: nothing known.
func present(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
