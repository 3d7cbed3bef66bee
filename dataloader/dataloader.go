// Package dataloader batches the lookups of one GraphQL request: however
// many appointments a query lists, their patients, practitioners, coverages,
// upcoming appointments and records each cost one SQL statement. Loaders
// are built per request from the caller's patient scopes and never shared
// across users, and every batch passes the scope down to the store, which
// applies it in SQL.
package dataloader

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/vikstrous/dataloadgen"

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

// Wait is how long a loader collects keys before it fetches. gqlgen resolves
// the items of a list concurrently; measured through the real server, 2 ms
// split a page of 100 appointments into several batches while 10 ms kept it
// to one per loader, also under the race detector. Pass
// dataloadgen.WithWait to New to tune it.
const Wait = 10 * time.Millisecond

// Loaders holds one request's loaders. A nil *Loaders answers every load
// with an INTERNAL error rather than panicking.
type Loaders struct {
	// PatientByID and the other entity loaders fail a missing or
	// out-of-scope key with NOT_FOUND, alone: its neighbours still load.
	PatientByID      *dataloadgen.Loader[uuid.UUID, *hg.Patient]
	PractitionerByID *dataloadgen.Loader[uuid.UUID, *hg.Practitioner]
	AppointmentByID  *dataloadgen.Loader[uuid.UUID, *hg.Appointment]
	RecordByID       *dataloadgen.Loader[uuid.UUID, *hg.MedicalRecord]
	// CoveragesByPatientID and the other per-patient loaders give an empty
	// list for a patient with none or outside scope.
	CoveragesByPatientID *dataloadgen.Loader[uuid.UUID, []*hg.Coverage]
	// AppointmentsByPatientID loads up to UpcomingAppointmentsLimit live
	// appointments per patient that end after the request started,
	// soonest first.
	AppointmentsByPatientID *dataloadgen.Loader[uuid.UUID, []*hg.Appointment]
	// RecordsByPatientID loads up to LatestRecordsLimit current records per
	// patient, newest first.
	RecordsByPatientID *dataloadgen.Loader[uuid.UUID, []*hg.MedicalRecord]
}

// New builds the loaders of one request. opts tune every loader, for
// example dataloadgen.WithTracer for a span per batch.
func New(store Store, s Scopes, opts ...dataloadgen.Option) *Loaders {
	opts = append([]dataloadgen.Option{dataloadgen.WithWait(Wait)}, opts...)
	started := time.Now()
	return &Loaders{
		PatientByID: dataloadgen.NewMappedLoader(byID(func(ctx context.Context, ids []uuid.UUID) ([]*hg.Patient, error) {
			return store.PatientsByIDs(ctx, s.Patients, ids)
		}, func(p *hg.Patient) uuid.UUID { return p.ID }, "patient"), opts...),
		PractitionerByID: dataloadgen.NewMappedLoader(byID(store.PractitionersByIDs,
			func(p *hg.Practitioner) uuid.UUID { return p.ID }, "practitioner"), opts...),
		AppointmentByID: dataloadgen.NewMappedLoader(byID(func(ctx context.Context, ids []uuid.UUID) ([]*hg.Appointment, error) {
			return store.AppointmentsByIDs(ctx, s.Patients, ids)
		}, func(a *hg.Appointment) uuid.UUID { return a.ID }, "appointment"), opts...),
		RecordByID: dataloadgen.NewMappedLoader(byID(func(ctx context.Context, ids []uuid.UUID) ([]*hg.MedicalRecord, error) {
			return store.RecordsByIDs(ctx, s.Clinical, ids)
		}, func(r *hg.MedicalRecord) uuid.UUID { return r.ID }, "medical record"), opts...),
		CoveragesByPatientID: dataloadgen.NewMappedLoader(byPatient(func(ctx context.Context, ids []uuid.UUID) ([]*hg.Coverage, error) {
			return store.CoveragesByPatientIDs(ctx, s.Patients, ids)
		}, func(c *hg.Coverage) uuid.UUID { return c.PatientID }), opts...),
		AppointmentsByPatientID: dataloadgen.NewMappedLoader(byPatient(func(ctx context.Context, ids []uuid.UUID) ([]*hg.Appointment, error) {
			return store.UpcomingAppointmentsByPatientIDs(ctx, s.Patients, ids, started, UpcomingAppointmentsLimit)
		}, func(a *hg.Appointment) uuid.UUID { return a.PatientID }), opts...),
		RecordsByPatientID: dataloadgen.NewMappedLoader(byPatient(func(ctx context.Context, ids []uuid.UUID) ([]*hg.MedicalRecord, error) {
			return store.LatestRecordsByPatientIDs(ctx, s.Clinical, ids, LatestRecordsLimit)
		}, func(r *hg.MedicalRecord) uuid.UUID { return r.PatientID }), opts...),
	}
}

// byID adapts a batch lookup to a mapped fetch: found items by id, and a
// NOT_FOUND error for each key the store did not return, so one missing
// key fails alone. A store error fails the whole batch.
func byID[V any](fetch func(context.Context, []uuid.UUID) ([]V, error), id func(V) uuid.UUID, what string) func(context.Context, []uuid.UUID) (map[uuid.UUID]V, error) {
	return func(ctx context.Context, keys []uuid.UUID) (map[uuid.UUID]V, error) {
		items, err := fetch(ctx, keys)
		if err != nil {
			return nil, err
		}
		found := make(map[uuid.UUID]V, len(items))
		for _, it := range items {
			found[id(it)] = it
		}
		missing := dataloadgen.MappedFetchError[uuid.UUID]{}
		for _, k := range keys {
			if _, ok := found[k]; !ok {
				missing[k] = hg.Errorf(hg.ENOTFOUND, "%s not found", what)
			}
		}
		if len(missing) > 0 {
			return found, missing
		}
		return found, nil
	}
}

// byPatient adapts a per-patient batch lookup to a mapped fetch that gives
// every key a list, empty when the store returned nothing for it, keeping
// the store's order within each list.
func byPatient[V any](fetch func(context.Context, []uuid.UUID) ([]V, error), patient func(V) uuid.UUID) func(context.Context, []uuid.UUID) (map[uuid.UUID][]V, error) {
	return func(ctx context.Context, keys []uuid.UUID) (map[uuid.UUID][]V, error) {
		items, err := fetch(ctx, keys)
		if err != nil {
			return nil, err
		}
		out := make(map[uuid.UUID][]V, len(keys))
		for _, k := range keys {
			out[k] = []V{}
		}
		for _, it := range items {
			out[patient(it)] = append(out[patient(it)], it)
		}
		return out, nil
	}
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
func Middleware(store Store, scopes func(context.Context) Scopes, opts ...dataloadgen.Option) func(http.Handler) http.Handler {
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
