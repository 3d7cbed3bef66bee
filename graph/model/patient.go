package model

import (
	"context"
	"sync"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
)

// PatientRelations loads what a patient refers to, within the caller's
// scope: the request's loaders (*dataloader.Loaders). QueueCoverages adds
// keys to the pending batch without waiting for it.
type PatientRelations interface {
	Coverages(ctx context.Context, patientID uuid.UUID) ([]*hg.Coverage, error)
	QueueCoverages(ctx context.Context, patientIDs []uuid.UUID)
}

// Patient is a patient as the API shows it. Its coverages and optional
// texts are methods without a context, which gqlgen calls inline: as
// resolvers they were concurrent fields, so a page that showed each
// patient's coverages (the day schedule) marshalled on a goroutine per
// row. Like Appointment it keeps the context of the resolver that returned
// it, so its coverages load as that resolver's would.
type Patient struct {
	*hg.Patient
	ctx       context.Context
	relations PatientRelations
	list      *patientList
}

// patientList is the patients of a list shown together: a page of
// patients, or the patients of a list of appointments. The first to ask
// for its coverages queues those of every patient of the list, so that the
// batch holds the whole list however the list is marshalled.
type patientList struct {
	ids       func() []uuid.UUID
	coverages sync.Once
}

// NewPatient is p as the resolver that returns it in ctx shows it, loading
// its coverages through relations when they are selected; nil when p is.
// A list is NewPatients, never NewPatient of each.
func NewPatient(ctx context.Context, relations PatientRelations, p *hg.Patient) *Patient {
	if p == nil {
		return nil
	}
	return &Patient{Patient: p, ctx: ctx, relations: relations}
}

// NewPatients is NewPatient of each of ps, shown together: the coverages
// one of them loads are loaded for all in the same batch.
func NewPatients(ctx context.Context, relations PatientRelations, ps []*hg.Patient) []*Patient {
	list := &patientList{}
	ids := make([]uuid.UUID, 0, len(ps))
	shown := make([]Patient, len(ps))
	out := make([]*Patient, len(ps))
	for i, p := range ps {
		if p != nil {
			shown[i] = Patient{Patient: p, ctx: ctx, relations: relations, list: list}
			out[i] = &shown[i]
			ids = append(ids, p.ID)
		}
	}
	list.ids = func() []uuid.UUID { return ids }
	return out
}

// Coverages are the patient's coverages, batched with the request's other
// coverage loads.
func (p *Patient) Coverages() ([]*Coverage, error) {
	if p.list != nil {
		p.list.coverages.Do(func() { p.relations.QueueCoverages(p.ctx, p.list.ids()) })
	}
	cs, err := p.relations.Coverages(p.ctx, p.ID)
	return NewCoverages(cs), err
}

// FirstNameArShown is the Arabic first name, null when not recorded.
func (p *Patient) FirstNameArShown() *string { return nonEmpty(p.FirstNameAr) }

// FamilyNameArShown is the Arabic family name, null when not recorded.
func (p *Patient) FamilyNameArShown() *string { return nonEmpty(p.FamilyNameAr) }

// PhoneShown is the phone number, null when not recorded.
func (p *Patient) PhoneShown() *string { return nonEmpty(p.Phone) }

// EmailShown is the email address, null when not recorded.
func (p *Patient) EmailShown() *string { return nonEmpty(p.Email) }

// OccupationShown is the occupation, null when not recorded.
func (p *Patient) OccupationShown() *hg.Occupation { return nonZero(p.Occupation) }

// MaritalStatusShown is the marital status, null when not recorded.
func (p *Patient) MaritalStatusShown() *hg.MaritalStatus { return nonZero(p.MaritalStatus) }

// nonZero shows a value not recorded as null, as nonEmpty does a text.
func nonZero[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}
