package model

import (
	"context"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
)

// AppointmentRelations loads the patient and practitioner an appointment
// refers to, within the caller's scope: the request's loaders
// (*dataloader.Loaders).
type AppointmentRelations interface {
	Patient(ctx context.Context, id uuid.UUID) (*hg.Patient, error)
	Practitioner(ctx context.Context, id uuid.UUID) (*hg.Practitioner, error)
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
}

// NewAppointment is a as the resolver that returns it in ctx shows it,
// loading its relations through relations when they are selected.
func NewAppointment(ctx context.Context, relations AppointmentRelations, a *hg.Appointment) *Appointment {
	if a == nil {
		return nil
	}
	return &Appointment{Appointment: a, ctx: ctx, relations: relations}
}

// NewAppointments is NewAppointment of each of as.
func NewAppointments(ctx context.Context, relations AppointmentRelations, as []*hg.Appointment) []*Appointment {
	out := make([]*Appointment, len(as))
	for i, a := range as {
		out[i] = NewAppointment(ctx, relations, a)
	}
	return out
}

// Patient is the appointment's patient, batched with the request's other
// patient loads; outside the caller's scope it is NOT_FOUND.
func (a *Appointment) Patient() (*hg.Patient, error) {
	return a.relations.Patient(a.ctx, a.PatientID)
}

// Practitioner is the appointment's practitioner, batched with the
// request's other practitioner loads.
func (a *Appointment) Practitioner() (*hg.Practitioner, error) {
	return a.relations.Practitioner(a.ctx, a.PractitionerID)
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
