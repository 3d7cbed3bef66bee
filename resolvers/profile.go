package resolvers

import (
	"context"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/auth"
	"github.com/healthgraph/healthgraph/dataloader"
)

// linkedPatient is User.patient: the record linked to the login userID,
// looked up in the caller's patient scope through the request's loader, so
// `me` shows a patient their own record and a list of users shows an
// administrator every user's in one statement. None, or one the caller may
// not see, is null rather than an error: the field is optional. A record
// shown is audited as a read, batched as the parties of invoices are.
func (r *Resolver) linkedPatient(ctx context.Context, userID uuid.UUID) (*hg.Patient, error) {
	if auth.PatientScope(hg.PrincipalFrom(ctx)).Nobody() {
		return nil, nil
	}
	p, err := party(ctx, func(l *dataloader.Loaders) (*hg.Patient, error) { return l.PatientOfUser(ctx, userID) },
		"patient.read", "Patient", patientSubject)
	if hg.ErrorCode(err) == hg.ENOTFOUND {
		return nil, nil
	}
	return p, err
}

// linkedPractitioner is User.practitioner: the practitioner the login
// userID acts as, or null. Practitioners are no patient data; any signed-in
// caller may read them, as `practitioners` does.
func (r *Resolver) linkedPractitioner(ctx context.Context, userID uuid.UUID) (*hg.Practitioner, error) {
	if hg.PrincipalFrom(ctx) == nil {
		return nil, nil
	}
	p, err := dataloader.For(ctx).PractitionerOfUser(ctx, userID)
	if hg.ErrorCode(err) == hg.ENOTFOUND {
		return nil, nil
	}
	return p, err
}

// prefetchProfiles queues the patient records and practitioners a page of
// users will ask for, when the query selects them, as prefetchAppointments
// does for appointments.
func prefetchProfiles(ctx context.Context, users []*hg.User) {
	l := dataloader.For(ctx)
	if l == nil || len(users) == 0 {
		return
	}
	ids := make([]uuid.UUID, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	// The thunks are not awaited: queuing the keys is the point.
	if selects(ctx, "edges", "node", "patient") && !auth.PatientScope(hg.PrincipalFrom(ctx)).Nobody() {
		l.PatientByUserID.LoadAllThunk(ctx, ids)
	}
	if selects(ctx, "edges", "node", "practitioner") {
		l.PractitionerByUserID.LoadAllThunk(ctx, ids)
	}
}
