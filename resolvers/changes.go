package resolvers

import (
	"context"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/auth"
)

// change runs one of billing's state changes on the object of type typ with
// global id id (from the input field named field): billing staff only, then
// the change, which fn makes with the context it is given, so the store
// writes the change's audit row (naming the object and its patient) in the
// change's own transaction.
func change[T any](ctx context.Context, field, typ, id, action string, fn func(context.Context, uuid.UUID) (T, error)) (T, error) {
	var zero T
	if _, err := auth.Require(ctx, hg.RoleAdmin, hg.RoleBilling); err != nil {
		return zero, err
	}
	uid, err := parseID(field, typ, id)
	if err != nil {
		return zero, err
	}
	return fn(auditing(ctx, action, typ), uid)
}

func invoiceSubject(i *hg.Invoice) (uuid.UUID, uuid.UUID) { return i.ID, i.PatientID }

func claimSubject(c *hg.Claim) (uuid.UUID, uuid.UUID) { return c.ID, c.PatientID }
