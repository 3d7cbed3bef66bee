// Package dataloader batches the lookups of one GraphQL request: however
// many appointments a query lists, their patients, practitioners, coverages,
// upcoming appointments and records each cost one SQL statement, as do the
// documents of a page of claims. Loaders
// are built per request from the caller's patient scopes and never shared
// across users, and every batch passes the scope down to the store, which
// applies it in SQL.
package dataloader

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
)

// Store is what the loaders read; *postgres.DB implements it.
type Store interface {
	PatientsByIDs(ctx context.Context, scope hg.PatientScope, ids []uuid.UUID) ([]*hg.Patient, error)
	PractitionersByIDs(ctx context.Context, ids []uuid.UUID) ([]*hg.Practitioner, error)
	AppointmentsByIDs(ctx context.Context, scope hg.PatientScope, ids []uuid.UUID) ([]*hg.Appointment, error)
	RecordsByIDs(ctx context.Context, scope hg.PatientScope, ids []uuid.UUID) ([]*hg.MedicalRecord, error)
	CoveragesByPatientIDs(ctx context.Context, scope hg.PatientScope, patientIDs []uuid.UUID) ([]*hg.Coverage, error)
	UpcomingAppointmentsByPatientIDs(ctx context.Context, scope hg.PatientScope, patientIDs []uuid.UUID, now time.Time, limit int) ([]*hg.Appointment, error)
	LatestRecordsByPatientIDs(ctx context.Context, scope hg.PatientScope, patientIDs []uuid.UUID, limit int) ([]*hg.MedicalRecord, error)
	InvoicesByIDs(ctx context.Context, scope hg.PatientScope, ids []uuid.UUID) ([]*hg.Invoice, error)
	PatientsByUserIDs(ctx context.Context, scope hg.PatientScope, userIDs []uuid.UUID) ([]*hg.Patient, error)
	PractitionersByUserIDs(ctx context.Context, userIDs []uuid.UUID) ([]*hg.Practitioner, error)
	ClaimAttachmentInfos(ctx context.Context, scope hg.PatientScope, claimIDs []uuid.UUID) ([]*hg.ClaimAttachmentInfo, error)
	AuditReads(ctx context.Context, e hg.AuditEvent, subjects []hg.AuditSubject) error
}

// Scopes are the caller's two patient scopes, decided by the auth policy:
// Patients for demographics, appointments and coverage, Clinical for
// medical records (reception and billing see demographics but no records).
type Scopes struct {
	Patients hg.PatientScope
	Clinical hg.PatientScope
}

// Caps on the per-patient lists a chart shows without paging.
const (
	UpcomingAppointmentsLimit = 20
	LatestRecordsLimit        = 20
)

// Loaders holds one request's loaders. A nil *Loaders answers every load
// with an INTERNAL error rather than panicking.
type Loaders struct {
	// PatientByID and the other entity loaders fail a missing or
	// out-of-scope key with NOT_FOUND, alone: its neighbours still load.
	PatientByID      *Loader[uuid.UUID, *hg.Patient]
	PractitionerByID *Loader[uuid.UUID, *hg.Practitioner]
	AppointmentByID  *Loader[uuid.UUID, *hg.Appointment]
	RecordByID       *Loader[uuid.UUID, *hg.MedicalRecord]
	InvoiceByID      *Loader[uuid.UUID, *hg.Invoice]
	// PatientByUserID and PractitionerByUserID load the patient record and
	// the practitioner a login is linked to, keyed by user id: User.patient
	// and User.practitioner over a list of users.
	PatientByUserID      *Loader[uuid.UUID, *hg.Patient]
	PractitionerByUserID *Loader[uuid.UUID, *hg.Practitioner]
	// CoveragesByPatientID and the other per-patient loaders give an empty
	// list for a patient with none or outside scope.
	CoveragesByPatientID *Loader[uuid.UUID, []*hg.Coverage]
	// AppointmentsByPatientID loads up to UpcomingAppointmentsLimit live
	// appointments per patient that end after the request started,
	// soonest first.
	AppointmentsByPatientID *Loader[uuid.UUID, []*hg.Appointment]
	// RecordsByPatientID loads up to LatestRecordsLimit current records per
	// patient, newest first.
	RecordsByPatientID *Loader[uuid.UUID, []*hg.MedicalRecord]
	// AttachmentsByClaimID describes each claim's documents, without their
	// content, in order; an empty list for a claim with none or outside
	// scope.
	AttachmentsByClaimID *Loader[uuid.UUID, []*hg.ClaimAttachmentInfo]
	// Disclosures writes the audit rows of nested reads (an invoice's
	// patient, a claim's coverage): one statement per action and batch.
	Disclosures *Loader[Disclosure, struct{}]
}

// Disclosure is one audited read of PHI by the request's caller: action
// on an entity of EntityType, which concerns Patient.
type Disclosure struct {
	Action, EntityType string
	Entity, Patient    uuid.UUID
}

// New builds the loaders of one request; opts tune their wait.
func New(store Store, s Scopes, opts ...Option) *Loaders {
	c := config{idle: Idle, maxWait: MaxWait}
	for _, o := range opts {
		o(&c)
	}
	started := time.Now()
	return &Loaders{
		PatientByID: byID(c, "patient", func(p *hg.Patient) uuid.UUID { return p.ID },
			func(ctx context.Context, ids []uuid.UUID) ([]*hg.Patient, error) {
				return store.PatientsByIDs(ctx, s.Patients, ids)
			}),
		PractitionerByID: byID(c, "practitioner", func(p *hg.Practitioner) uuid.UUID { return p.ID },
			store.PractitionersByIDs),
		AppointmentByID: byID(c, "appointment", func(a *hg.Appointment) uuid.UUID { return a.ID },
			func(ctx context.Context, ids []uuid.UUID) ([]*hg.Appointment, error) {
				return store.AppointmentsByIDs(ctx, s.Patients, ids)
			}),
		RecordByID: byID(c, "medical record", func(r *hg.MedicalRecord) uuid.UUID { return r.ID },
			func(ctx context.Context, ids []uuid.UUID) ([]*hg.MedicalRecord, error) {
				return store.RecordsByIDs(ctx, s.Clinical, ids)
			}),
		CoveragesByPatientID: grouped(c, func(c *hg.Coverage) uuid.UUID { return c.PatientID },
			func(ctx context.Context, ids []uuid.UUID) ([]*hg.Coverage, error) {
				return store.CoveragesByPatientIDs(ctx, s.Patients, ids)
			}),
		AppointmentsByPatientID: grouped(c, func(a *hg.Appointment) uuid.UUID { return a.PatientID },
			func(ctx context.Context, ids []uuid.UUID) ([]*hg.Appointment, error) {
				return store.UpcomingAppointmentsByPatientIDs(ctx, s.Patients, ids, started, UpcomingAppointmentsLimit)
			}),
		RecordsByPatientID: grouped(c, func(r *hg.MedicalRecord) uuid.UUID { return r.PatientID },
			func(ctx context.Context, ids []uuid.UUID) ([]*hg.MedicalRecord, error) {
				return store.LatestRecordsByPatientIDs(ctx, s.Clinical, ids, LatestRecordsLimit)
			}),
		AttachmentsByClaimID: grouped(c, func(a *hg.ClaimAttachmentInfo) uuid.UUID { return a.ClaimID },
			func(ctx context.Context, ids []uuid.UUID) ([]*hg.ClaimAttachmentInfo, error) {
				return store.ClaimAttachmentInfos(ctx, s.Patients, ids)
			}),
		InvoiceByID: byID(c, "invoice", func(i *hg.Invoice) uuid.UUID { return i.ID },
			func(ctx context.Context, ids []uuid.UUID) ([]*hg.Invoice, error) {
				return store.InvoicesByIDs(ctx, s.Patients, ids)
			}),
		PatientByUserID: byID(c, "patient", func(p *hg.Patient) uuid.UUID { return *p.UserID },
			func(ctx context.Context, ids []uuid.UUID) ([]*hg.Patient, error) {
				return store.PatientsByUserIDs(ctx, s.Patients, ids)
			}),
		PractitionerByUserID: byID(c, "practitioner", func(p *hg.Practitioner) uuid.UUID { return p.UserID },
			store.PractitionersByUserIDs),
		Disclosures: newLoader(c, nil, func(ctx context.Context, ds []Disclosure) (map[Disclosure]struct{}, error) {
			return disclose(ctx, store, ds)
		}),
	}
}

// disclose audits a batch of disclosures by the caller in ctx, in one
// statement per action and entity type. Any failure fails the whole batch,
// so nothing is shown that was not audited.
func disclose(ctx context.Context, store Store, ds []Disclosure) (map[Disclosure]struct{}, error) {
	type kind struct{ action, entityType string }
	var order []kind
	groups := map[kind][]hg.AuditSubject{}
	for _, d := range ds {
		k := kind{d.Action, d.EntityType}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], hg.AuditSubject{Entity: d.Entity, Patient: d.Patient})
	}
	for _, k := range order {
		e := hg.AuditEvent{Action: k.action, EntityType: k.entityType}
		if p := hg.PrincipalFrom(ctx); p != nil {
			e.ActorID, e.ActorRole = &p.UserID, p.Role
		}
		if err := store.AuditReads(ctx, e, groups[k]); err != nil {
			return nil, err
		}
	}
	out := make(map[Disclosure]struct{}, len(ds))
	for _, d := range ds {
		out[d] = struct{}{}
	}
	return out, nil
}

// byID is a loader over a batch lookup by id: a key the store did not
// return (missing or out of scope) fails alone with NOT_FOUND, while a
// store error fails the whole batch.
func byID[V any](c config, what string, id func(V) uuid.UUID, fetch func(context.Context, []uuid.UUID) ([]V, error)) *Loader[uuid.UUID, V] {
	return newLoader(c, hg.Errorf(hg.ENOTFOUND, "%s not found", what), func(ctx context.Context, keys []uuid.UUID) (map[uuid.UUID]V, error) {
		items, err := fetch(ctx, keys)
		if err != nil {
			return nil, err
		}
		found := make(map[uuid.UUID]V, len(items))
		for _, it := range items {
			found[id(it)] = it
		}
		return found, nil
	})
}

// grouped is a loader over a per-owner batch lookup (per patient, per
// claim) that gives every key a list, empty when the store returned
// nothing for it, keeping the store's order within each list.
func grouped[V any](c config, owner func(V) uuid.UUID, fetch func(context.Context, []uuid.UUID) ([]V, error)) *Loader[uuid.UUID, []V] {
	return newLoader(c, nil, func(ctx context.Context, keys []uuid.UUID) (map[uuid.UUID][]V, error) {
		items, err := fetch(ctx, keys)
		if err != nil {
			return nil, err
		}
		out := make(map[uuid.UUID][]V, len(keys))
		for _, k := range keys {
			out[k] = []V{}
		}
		for _, it := range items {
			out[owner(it)] = append(out[owner(it)], it)
		}
		return out, nil
	})
}

type loadersKey struct{}

// With returns a context carrying l.
func With(ctx context.Context, l *Loaders) context.Context {
	return context.WithValue(ctx, loadersKey{}, l)
}

// For returns the request's loaders, or nil when none were installed (a nil
// *Loaders still answers, with INTERNAL errors).
func For(ctx context.Context) *Loaders {
	l, _ := ctx.Value(loadersKey{}).(*Loaders)
	return l
}

// Middleware installs fresh loaders in every request's context. It must run
// after authentication: scopes reads the caller from the context (through
// the auth policy) to decide what the loaders may return.
func Middleware(store Store, scopes func(context.Context) Scopes, opts ...Option) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			next.ServeHTTP(w, r.WithContext(With(ctx, New(store, scopes(ctx), opts...))))
		})
	}
}

var errNoLoaders = hg.Errorf(hg.EINTERNAL, "internal error")

// Patient loads a patient through the request's loaders.
func (l *Loaders) Patient(ctx context.Context, id uuid.UUID) (*hg.Patient, error) {
	if l == nil {
		return nil, errNoLoaders
	}
	return l.PatientByID.Load(ctx, id)
}

// Practitioner loads a practitioner through the request's loaders.
func (l *Loaders) Practitioner(ctx context.Context, id uuid.UUID) (*hg.Practitioner, error) {
	if l == nil {
		return nil, errNoLoaders
	}
	return l.PractitionerByID.Load(ctx, id)
}

// QueuePatients queues patients for the next batch without waiting: a
// list's relations, asked for by its first element (model.Appointment).
func (l *Loaders) QueuePatients(ctx context.Context, ids []uuid.UUID) {
	if l != nil {
		l.PatientByID.LoadAllThunk(ctx, ids)
	}
}

// QueuePractitioners queues practitioners as QueuePatients queues patients.
func (l *Loaders) QueuePractitioners(ctx context.Context, ids []uuid.UUID) {
	if l != nil {
		l.PractitionerByID.LoadAllThunk(ctx, ids)
	}
}

// PatientOfUser loads the patient record linked to a login through the
// request's loaders.
func (l *Loaders) PatientOfUser(ctx context.Context, userID uuid.UUID) (*hg.Patient, error) {
	if l == nil {
		return nil, errNoLoaders
	}
	return l.PatientByUserID.Load(ctx, userID)
}

// PractitionerOfUser loads the practitioner a login acts as through the
// request's loaders.
func (l *Loaders) PractitionerOfUser(ctx context.Context, userID uuid.UUID) (*hg.Practitioner, error) {
	if l == nil {
		return nil, errNoLoaders
	}
	return l.PractitionerByUserID.Load(ctx, userID)
}

// Appointment loads an appointment through the request's loaders.
func (l *Loaders) Appointment(ctx context.Context, id uuid.UUID) (*hg.Appointment, error) {
	if l == nil {
		return nil, errNoLoaders
	}
	return l.AppointmentByID.Load(ctx, id)
}

// Record loads a medical record through the request's loaders.
func (l *Loaders) Record(ctx context.Context, id uuid.UUID) (*hg.MedicalRecord, error) {
	if l == nil {
		return nil, errNoLoaders
	}
	return l.RecordByID.Load(ctx, id)
}

// Coverages loads a patient's coverages through the request's loaders.
func (l *Loaders) Coverages(ctx context.Context, patientID uuid.UUID) ([]*hg.Coverage, error) {
	if l == nil {
		return nil, errNoLoaders
	}
	return l.CoveragesByPatientID.Load(ctx, patientID)
}

// QueueCoverages queues patients' coverages as QueuePatients queues
// patients: asked for by the first patient of a list (model.Patient).
func (l *Loaders) QueueCoverages(ctx context.Context, patientIDs []uuid.UUID) {
	if l != nil {
		l.CoveragesByPatientID.LoadAllThunk(ctx, patientIDs)
	}
}

// UpcomingAppointments loads a patient's next live appointments through the
// request's loaders.
func (l *Loaders) UpcomingAppointments(ctx context.Context, patientID uuid.UUID) ([]*hg.Appointment, error) {
	if l == nil {
		return nil, errNoLoaders
	}
	return l.AppointmentsByPatientID.Load(ctx, patientID)
}

// LatestRecords loads a patient's newest current records through the
// request's loaders.
func (l *Loaders) LatestRecords(ctx context.Context, patientID uuid.UUID) ([]*hg.MedicalRecord, error) {
	if l == nil {
		return nil, errNoLoaders
	}
	return l.RecordsByPatientID.Load(ctx, patientID)
}

// Invoice loads an invoice through the request's loaders.
func (l *Loaders) Invoice(ctx context.Context, id uuid.UUID) (*hg.Invoice, error) {
	if l == nil {
		return nil, errNoLoaders
	}
	return l.InvoiceByID.Load(ctx, id)
}

// ClaimAttachments describes a claim's documents through the request's
// loaders.
func (l *Loaders) ClaimAttachments(ctx context.Context, claimID uuid.UUID) ([]*hg.ClaimAttachmentInfo, error) {
	if l == nil {
		return nil, errNoLoaders
	}
	return l.AttachmentsByClaimID.Load(ctx, claimID)
}

// Coverage loads one coverage of a patient through the patient's coverage
// list (the loader CoveragesByPatientID, so a page of invoices and their
// patients' coverages share one batch). A coverage that is not the
// patient's, or a patient outside scope, is NOT_FOUND.
func (l *Loaders) Coverage(ctx context.Context, patientID, coverageID uuid.UUID) (*hg.Coverage, error) {
	cs, err := l.Coverages(ctx, patientID)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		if c.ID == coverageID {
			return c, nil
		}
	}
	return nil, hg.Errorf(hg.ENOTFOUND, "coverage not found")
}

// Disclose audits that the caller read d, batched with the request's other
// disclosures; it returns once the row is written. A read whose disclosure
// fails must not be shown.
func (l *Loaders) Disclose(ctx context.Context, d Disclosure) error {
	if l == nil {
		return errNoLoaders
	}
	_, err := l.Disclosures.Load(ctx, d)
	return err
}

// Forget drops what the loaders have kept. A subscription's operation keeps
// one set of loaders for its whole life: it calls Forget before each
// delivery, so the delivery shows the related entities as they are now and
// audits their disclosure again, as a fresh query would.
func (l *Loaders) Forget() {
	if l == nil {
		return
	}
	l.PatientByID.Forget()
	l.PractitionerByID.Forget()
	l.AppointmentByID.Forget()
	l.RecordByID.Forget()
	l.InvoiceByID.Forget()
	l.CoveragesByPatientID.Forget()
	l.AppointmentsByPatientID.Forget()
	l.RecordsByPatientID.Forget()
	l.AttachmentsByClaimID.Forget()
	l.Disclosures.Forget()
}
