package resolvers

import (
	"context"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
)

// change runs one of billing's state changes on the object of type typ with
// global id id (from the input field named field), which fn makes with the
// context it is given, so the store writes the change's audit row (naming
// the object and its patient) in the change's own transaction. Who may make
// it is the mutation's @hasRole (billing staff).
func change[T any](ctx context.Context, field, typ, id, action string, fn func(context.Context, uuid.UUID) (T, error)) (T, error) {
	uid, err := parseID(field, typ, id)
	if err != nil {
		var zero T
		return zero, err
	}
	return fn(auditing(ctx, action, typ), uid)
}

func invoiceSubject(i *hg.Invoice) (uuid.UUID, uuid.UUID) { return i.ID, i.PatientID }

func claimSubject(c *hg.Claim) (uuid.UUID, uuid.UUID) { return c.ID, c.PatientID }
