package resolvers

import (
	"context"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/auth"
	"github.com/healthgraph/healthgraph/graph"
	"github.com/healthgraph/healthgraph/graph/model"
)

func (r *claimResolver) ID(ctx context.Context, obj *hg.Claim) (string, error) {
	return globalID("Claim", obj.ID), nil
}

func (r *claimResolver) InvoiceID(ctx context.Context, obj *hg.Claim) (*string, error) {
	if obj.InvoiceID == nil {
		return nil, nil
	}
	id := globalID("Invoice", *obj.InvoiceID)
	return &id, nil
}

func (r *claimResolver) PatientID(ctx context.Context, obj *hg.Claim) (string, error) {
	return globalID("Patient", obj.PatientID), nil
}

func (r *claimResolver) CoverageID(ctx context.Context, obj *hg.Claim) (string, error) {
	return globalID("Coverage", obj.CoverageID), nil
}

func (r *claimResolver) Payer(ctx context.Context, obj *hg.Claim) (*model.Payer, error) {
	return &model.Payer{License: obj.PayerLicense, Name: obj.PayerName}, nil
}

func (r *claimResolver) Messages(ctx context.Context, obj *hg.Claim) ([]*hg.NPHIESMessage, error) {
	return r.Store.ClaimMessages(ctx, obj.ID)
}

func (r *claimResolver) History(ctx context.Context, obj *hg.Claim) ([]*hg.ClaimStatusChange, error) {
	return r.Store.ClaimHistory(ctx, obj.ID)
}

func (r *mutationResolver) SubmitClaim(ctx context.Context, input model.SubmitClaimInput) (*hg.Claim, error) {
	return r.queueClaim(ctx, hg.UseClaim, input)
}

func (r *mutationResolver) RequestPriorAuthorization(ctx context.Context, input model.SubmitClaimInput) (*hg.Claim, error) {
	return r.queueClaim(ctx, hg.UsePreAuth, input)
}

func (r *mutationResolver) RetryClaim(ctx context.Context, id string) (*hg.Claim, error) {
	return change(ctx, r.Resolver, "id", "Claim", id, "claim.retried", r.Store.RetryClaim, claimSubject)
}

func (r *mutationResolver) CancelClaim(ctx context.Context, id string, reason string) (*hg.Claim, error) {
	return change(ctx, r.Resolver, "id", "Claim", id, "claim.cancel_requested", func(ctx context.Context, id uuid.UUID) (*hg.Claim, error) {
		return r.cancel(ctx, id, reason)
	}, claimSubject)
}

func (r *nphiesMessageResolver) ID(ctx context.Context, obj *hg.NPHIESMessage) (string, error) {
	return globalID("NphiesMessage", obj.ID), nil
}

func (r *nphiesMessageResolver) DeliveryStatus(ctx context.Context, obj *hg.NPHIESMessage) (*hg.DeliveryStatus, error) {
	if obj.Direction != hg.Outbound {
		return nil, nil
	}
	return &obj.Delivery, nil
}

func (r *nphiesMessageResolver) HTTPStatus(ctx context.Context, obj *hg.NPHIESMessage) (*int, error) {
	if obj.HTTPStatus == 0 {
		return nil, nil
	}
	return &obj.HTTPStatus, nil
}

func (r *nphiesMessageResolver) Body(ctx context.Context, obj *hg.NPHIESMessage) (string, error) {
	return string(obj.Body), nil
}

func (r *queryResolver) Claims(ctx context.Context, filter *model.ClaimFilter, first *int, after *string) (*model.ClaimConnection, error) {
	p, err := auth.Require(ctx, hg.RoleAdmin, hg.RoleBilling)
	if err != nil {
		return nil, err
	}
	pg, err := page(first, after)
	if err != nil {
		return nil, err
	}
	var f hg.ClaimFilter
	if filter != nil {
		if filter.PatientID != nil {
			id, err := parseID("filter.patientId", "Patient", *filter.PatientID)
			if err != nil {
				return nil, err
			}
			f.PatientID = &id
		}
		f.Status, f.PayerLicense, f.From, f.To = filter.Status, filter.PayerLicense, filter.From, filter.To
	}
	pg.First++
	claims, total, err := r.Store.ListClaims(ctx, auth.PatientScope(p), f, pg)
	if err != nil {
		return nil, err
	}
	es, info := edges(claims, pg, func(c *hg.Claim) (time.Time, uuid.UUID) { return c.CreatedAt, c.ID },
		func(cur string, c *hg.Claim) *model.ClaimEdge { return &model.ClaimEdge{Cursor: cur, Node: c} })
	return &model.ClaimConnection{Edges: es, PageInfo: info, TotalCount: total}, nil
}

func (r *queryResolver) Claim(ctx context.Context, id string) (*hg.Claim, error) {
	p, err := auth.Require(ctx, hg.RoleAdmin, hg.RoleBilling)
	if err != nil {
		return nil, err
	}
	uid, err := parseID("id", "Claim", id)
	if err != nil {
		return nil, err
	}
	return r.Store.ClaimByID(ctx, auth.PatientScope(p), uid)
}

func (r *queryResolver) ClaimsSummary(ctx context.Context, from time.Time, to time.Time, groupBy model.ClaimsGroupBy) ([]*model.ClaimsSummaryGroup, error) {
	if _, err := auth.Require(ctx, hg.RoleAdmin, hg.RoleBilling, hg.RoleAnalyst); err != nil {
		return nil, err
	}
	groups, err := r.Store.ClaimsSummary(ctx, from, to, string(groupBy))
	if err != nil {
		return nil, err
	}
	out := make([]*model.ClaimsSummaryGroup, len(groups))
	for i, g := range groups {
		out[i] = &model.ClaimsSummaryGroup{Key: g.Key, Suppressed: g.Suppressed}
		if !g.Suppressed {
			out[i].Claims, out[i].Total, out[i].Approved = &g.Claims, &g.Total, &g.Approved
		}
	}
	return out, nil
}

func (r *queryResolver) RevenueSummary(ctx context.Context, from time.Time, to time.Time, groupBy model.RevenueGroupBy) ([]*model.RevenueGroup, error) {
	if _, err := auth.Require(ctx, hg.RoleAdmin, hg.RoleBilling, hg.RoleAnalyst); err != nil {
		return nil, err
	}
	groups, err := r.Store.RevenueSummary(ctx, from, to, string(groupBy))
	if err != nil {
		return nil, err
	}
	out := make([]*model.RevenueGroup, len(groups))
	for i, g := range groups {
		out[i] = &model.RevenueGroup{Key: g.Key, Suppressed: g.Suppressed}
		if !g.Suppressed {
			out[i].Invoices, out[i].Billed, out[i].Vat = &g.Invoices, &g.Billed, &g.VAT
			out[i].PatientShare, out[i].InsurerShare, out[i].Collected = &g.PatientShare, &g.InsurerShare, &g.Collected
		}
	}
	return out, nil
}

// Claim returns the resolvers of Claim fields.
func (r *Resolver) Claim() graph.ClaimResolver { return &claimResolver{r} }

// NphiesMessage returns the resolvers of NphiesMessage fields.
func (r *Resolver) NphiesMessage() graph.NphiesMessageResolver { return &nphiesMessageResolver{r} }

type (
	claimResolver         struct{ *Resolver }
	nphiesMessageResolver struct{ *Resolver }
)
