package resolvers

import (
	"context"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/auth"
)

// linkedPatient is User.patient: the record linked to the login userID,
// looked up in the caller's patient scope, so `me` shows a patient their
// own record and a list of users shows an administrator every user's.
// None, or one the caller may not see, is null rather than an error: the
// field is optional. A record shown is audited as a read.
func (r *Resolver) linkedPatient(ctx context.Context, userID uuid.UUID) (*hg.Patient, error) {
	scope := auth.PatientScope(hg.PrincipalFrom(ctx))
	if scope.Nobody() {
		return nil, nil
	}
	p, err := r.Store.PatientByUserID(ctx, scope, userID)
	if hg.ErrorCode(err) == hg.ENOTFOUND {
		return nil, nil
	}
	return disclosed(ctx, r, "patient.read", "Patient", p, err, patientSubject)
}

// linkedPractitioner is User.practitioner: the practitioner the login
// userID acts as, or null. Practitioners are no patient data; any signed-in
// caller may read them, as `practitioners` does.
func (r *Resolver) linkedPractitioner(ctx context.Context, userID uuid.UUID) (*hg.Practitioner, error) {
	if hg.PrincipalFrom(ctx) == nil {
		return nil, nil
	}
	p, err := r.Store.PractitionerByUserID(ctx, userID)
	if hg.ErrorCode(err) == hg.ENOTFOUND {
		return nil, nil
	}
	return p, err
}
