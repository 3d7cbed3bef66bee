package resolvers

import (
	"context"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/auth"
)

// change runs one of billing's state changes on the object of type typ with
// global id id (from the input field named field): billing staff only, then
// the change, then its audit row naming the object and its patient.
func change[T any](ctx context.Context, r *Resolver, field, typ, id, action string,
	fn func(context.Context, uuid.UUID) (T, error), subject func(T) (entity, patient uuid.UUID)) (T, error) {
	var zero T
	if _, err := auth.Require(ctx, hg.RoleAdmin, hg.RoleBilling); err != nil {
		return zero, err
	}
	uid, err := parseID(field, typ, id)
	if err != nil {
		return zero, err
	}
	out, err := fn(ctx, uid)
	if err != nil {
		return zero, err
	}
	entity, patient := subject(out)
	return out, r.audit(ctx, action, typ, entity, &patient)
}

func invoiceSubject(i *hg.Invoice) (uuid.UUID, uuid.UUID) { return i.ID, i.PatientID }

func claimSubject(c *hg.Claim) (uuid.UUID, uuid.UUID) { return c.ID, c.PatientID }
