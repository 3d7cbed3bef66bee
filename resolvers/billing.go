package resolvers

import (
	"context"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/auth"
)

// changeInvoice runs one of billing's state changes: billing staff only,
// then the change, then its audit row.
func (r *mutationResolver) changeInvoice(ctx context.Context, field, id, action string, change func(uuid.UUID) (*hg.Invoice, error)) (*hg.Invoice, error) {
	if _, err := auth.Require(ctx, hg.RoleAdmin, hg.RoleBilling); err != nil {
		return nil, err
	}
	uid, err := parseID(field, "Invoice", id)
	if err != nil {
		return nil, err
	}
	inv, err := change(uid)
	if err != nil {
		return nil, err
	}
	return inv, r.audit(ctx, action, "Invoice", inv.ID, &inv.PatientID)
}
