package model

import (
	"context"
	"sync"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
)

// AppointmentRelations loads the patient and practitioner an appointment
// refers to, and the patient's own relations, within the caller's scope:
// the request's loaders (*dataloader.Loaders). QueuePatients and
// QueuePractitioners add keys to the pending batches without waiting for
// them.
type AppointmentRelations interface {
	PatientRelations
	Patient(ctx context.Context, id uuid.UUID) (*hg.Patient, error)
	Practitioner(ctx context.Context, id uuid.UUID) (*hg.Practitioner, error)
	QueuePatients(ctx context.Context, ids []uuid.UUID)
	QueuePractitioners(ctx context.Context, ids []uuid.UUID)
}

// Appointment is an appointment as the API shows it. Its relations and
// optional texts are methods without a context argument, which gqlgen
// calls inline: as resolvers, each row of a page ran its practitioner on a
// goroutine of its own (and its patient too, before ids were methods).
//
// It keeps the context of the resolver that returned it, so the loads run
// as that resolver's would: the same request, caller, scope and loaders.
type Appointment struct {
	*hg.Appointment
	ctx       context.Context
	relations AppointmentRelations
	list      *appointmentList
}

// appointmentList is a list of appointments shown together. gqlgen may
// marshal a list's elements one after another (graph/inline.go), and
// these relations are fields it runs inline: had each element loaded its
// own, each would wait for a batch of one. So the first element to ask
// for a relation queues that relation of every element, and the batch
// holds the whole list however the list is marshalled.
type appointmentList struct {
	items                   []*Appointment
	patients, practitioners sync.Once
	// shownPatients batches the relations of the list's patients.
	shownPatients patientList
}

// NewAppointment is a as the resolver that returns it in ctx shows it,
// loading its relations through relations when they are selected. A list
// is NewAppointments, never NewAppointment of each.
func NewAppointment(ctx context.Context, relations AppointmentRelations, a *hg.Appointment) *Appointment {
	if a == nil {
		return nil
	}
	return &Appointment{Appointment: a, ctx: ctx, relations: relations}
}

// NewAppointments is NewAppointment of each of as, shown together: the
// relation one of them loads is loaded for all in the same batch.
func NewAppointments(ctx context.Context, relations AppointmentRelations, as []*hg.Appointment) []*Appointment {
	list := &appointmentList{items: make([]*Appointment, 0, len(as))}
	out := make([]*Appointment, len(as))
	for i, a := range as {
		if out[i] = NewAppointment(ctx, relations, a); out[i] != nil {
			out[i].list = list
			list.items = append(list.items, out[i])
		}
	}
	list.shownPatients.ids = func() []uuid.UUID { return list.keys(func(a *Appointment) uuid.UUID { return a.PatientID }) }
	return out
}

// Patient is the appointment's patient, batched with the request's other
// patient loads; outside the caller's scope it is NOT_FOUND. The patients
// of a list load their coverages together too.
func (a *Appointment) Patient() (*Patient, error) {
	if a.list != nil {
		a.list.patients.Do(func() {
			a.relations.QueuePatients(a.ctx, a.list.keys(func(a *Appointment) uuid.UUID { return a.PatientID }))
		})
	}
	p, err := a.relations.Patient(a.ctx, a.PatientID)
	shown := NewPatient(a.ctx, a.relations, p)
	if shown != nil && a.list != nil {
		shown.list = &a.list.shownPatients
	}
	return shown, err
}

// Practitioner is the appointment's practitioner, batched with the
// request's other practitioner loads.
func (a *Appointment) Practitioner() (*hg.Practitioner, error) {
	if a.list != nil {
		a.list.practitioners.Do(func() {
			a.relations.QueuePractitioners(a.ctx, a.list.keys(func(a *Appointment) uuid.UUID { return a.PractitionerID }))
		})
	}
	return a.relations.Practitioner(a.ctx, a.PractitionerID)
}

func (l *appointmentList) keys(key func(*Appointment) uuid.UUID) []uuid.UUID {
	ids := make([]uuid.UUID, len(l.items))
	for i, a := range l.items {
		ids[i] = key(a)
	}
	return ids
}

// ReasonShown is the reason for the visit, null when none was given.
func (a *Appointment) ReasonShown() *string { return nonEmpty(a.Reason) }

// CancelReasonShown is why the appointment was cancelled, null unless it
// was.
func (a *Appointment) CancelReasonShown() *string { return nonEmpty(a.CancelReason) }

// nonEmpty shows an empty text as null: what is not known is not "".
func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
