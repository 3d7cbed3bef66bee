package resolvers

import (
	"context"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/auth"
	"github.com/healthgraph/healthgraph/dataloader"
	"github.com/healthgraph/healthgraph/graph/model"
)

// mayReadRecords lets the roles of medicalRecords read a patient's records
// wherever else they show (latestRecords, node(id:)): reception, billing and
// analysts never see clinical data.
func mayReadRecords(ctx context.Context) error {
	_, err := asField(ctx, "medicalRecords")
	return err
}

// recordsRead audits a read of a patient's records that succeeded: every
// look at a chart leaves a row naming who, whose and when.
func (r *Resolver) recordsRead(ctx context.Context, patientID uuid.UUID) error {
	return r.audit(ctx, "records.read", "Patient", patientID, &patientID)
}

// disclosed audits a read of PHI that succeeded and returns what was read.
// A read that failed (refused, not found) leaves no row, so the trail lists
// what was shown rather than what was asked; a read that cannot be audited
// is not shown.
func disclosed[T any](ctx context.Context, r *Resolver, action, typ string, v T, err error, subject func(T) (entity, patient uuid.UUID)) (T, error) {
	var zero T
	if err != nil {
		return zero, err
	}
	entity, patient := subject(v)
	if err := r.audit(ctx, action, typ, entity, &patient); err != nil {
		return zero, err
	}
	return v, nil
}

func patientSubject(p *hg.Patient) (uuid.UUID, uuid.UUID) { return p.ID, p.ID }

func appointmentSubject(a *hg.Appointment) (uuid.UUID, uuid.UUID) { return a.ID, a.PatientID }

// version loads another version of a record through the request's loader.
func (r *Resolver) version(ctx context.Context, id *uuid.UUID) (*hg.MedicalRecord, error) {
	if id == nil {
		return nil, nil
	}
	return dataloader.For(ctx).Record(ctx, *id)
}

// appointmentChanged counts a successful appointment change; the store
// audited it in the change's transaction.
func (r *Resolver) appointmentChanged(ctx context.Context, a *hg.Appointment, err error) (*model.Appointment, error) {
	if err != nil {
		return nil, namingOverlap(err)
	}
	r.business().AppointmentStatus(string(a.Status))
	return shownAppointment(ctx, a), nil
}

// shownAppointment is a as the API shows it, its relations loaded through
// the request's loaders.
func shownAppointment(ctx context.Context, a *hg.Appointment) *model.Appointment {
	return model.NewAppointment(ctx, dataloader.For(ctx), a)
}

// shownAppointments is shownAppointment of each of as.
func shownAppointments(ctx context.Context, as []*hg.Appointment) []*model.Appointment {
	return model.NewAppointments(ctx, dataloader.For(ctx), as)
}

// selectionTypes are the types whose typed fragments selects looks into.
var selectionTypes = []string{"AppointmentConnection", "AppointmentEdge", "Appointment", "Patient", "Practitioner", "Coverage", "Node"}

// selects reports whether the current field's selection set reaches path,
// e.g. edges → node → patient.
func selects(ctx context.Context, path ...string) bool {
	return selectsIn(ctx, selectionTypes, path...)
}

// selectsIn is selects looking into typed fragments on types.
func selectsIn(ctx context.Context, types []string, path ...string) bool {
	oc := graphql.GetOperationContext(ctx)
	fields := graphql.CollectFieldsCtx(ctx, types)
	for _, name := range path {
		var next []graphql.CollectedField
		for _, f := range fields {
			if f.Name == name {
				next = append(next, graphql.CollectFields(oc, f.Selections, types)...)
			}
		}
		if len(next) == 0 && !hasField(fields, name) {
			return false
		}
		fields = next
	}
	return true
}

func hasField(fields []graphql.CollectedField, name string) bool {
	for _, f := range fields {
		if f.Name == name {
			return true
		}
	}
	return false
}

// prefetchAppointments queues, in one go, the coverages of the patients a
// page of appointments shows, when the query selects them, so that they
// load beside the patients rather than after them, in a batch of their
// own whatever the goroutines of the patients' fields do. The patients and
// practitioners need no prefetch: the first appointment of the page to
// load one queues those of the whole page (model.NewAppointments).
func prefetchAppointments(ctx context.Context, as []*hg.Appointment) {
	l := dataloader.For(ctx)
	if len(as) == 0 || l == nil || !selects(ctx, "edges", "node", "patient", "coverages") {
		return
	}
	patients := make([]uuid.UUID, len(as))
	for i, a := range as {
		patients[i] = a.PatientID
	}
	// The thunk is not awaited: queuing the keys is the point.
	l.CoveragesByPatientID.LoadAllThunk(ctx, patients)
}

// mayWatchSchedule allows administrators and reception to watch any
// practitioner's appointments, and a practitioner their own, judged on the
// watcher's account as it is now rather than on the token's claims.
func (r *Resolver) mayWatchSchedule(ctx context.Context, userID, practitionerID uuid.UUID) error {
	me, err := r.Store.UserByID(ctx, userID)
	switch {
	case hg.ErrorCode(err) == hg.ENOTFOUND || err == nil && me.Status != hg.UserActive:
		return hg.Errorf(hg.EUNAUTHENTICATED, "account no longer active")
	case err != nil:
		return err
	case me.Role == hg.RoleAdmin || me.Role == hg.RoleReception:
		_, err := r.Store.PractitionerByID(ctx, practitionerID)
		return err
	case me.Role == hg.RolePractitioner:
		pr, err := r.Store.PractitionerByUserID(ctx, me.ID)
		if err != nil || pr.ID != practitionerID {
			return hg.Errorf(hg.EFORBIDDEN, "a practitioner may watch only their own schedule")
		}
		return nil
	}
	return hg.Errorf(hg.EFORBIDDEN, "your role may not watch schedules")
}

// coverage reads one coverage for node(id:) as Patient.coverages does:
// the roles that may read a patient, through the caller's patient scope, so
// one outside it is NOT_FOUND; the read is audited like a patient's.
func (r *Resolver) coverage(ctx context.Context, id uuid.UUID) (*hg.Coverage, error) {
	p, err := asField(ctx, "patient")
	if err != nil {
		return nil, err
	}
	c, err := r.Store.CoverageByID(ctx, auth.PatientScope(p), id)
	return disclosed(ctx, r, "coverage.read", "Coverage", c, err, func(c *hg.Coverage) (uuid.UUID, uuid.UUID) {
		return c.ID, c.PatientID
	})
}

// shownPatient(ctx) is a patient as the resolver that returns it in ctx
// shows it, with the error of its load: shownPatient(ctx)(load(...)). A
// list is model.NewPatients.
func shownPatient(ctx context.Context) func(*hg.Patient, error) (*model.Patient, error) {
	return func(p *hg.Patient, err error) (*model.Patient, error) {
		return model.NewPatient(ctx, dataloader.For(ctx), p), err
	}
}

// prefetchChart queues the relations of patient id that the query selects
// under Query.patient. Its coverages are a field gqlgen runs inline
// (model.Patient), before it dispatches the records and the appointments:
// queued here, the three batches wait together, not the coverages' first.
// Each is queued only where its own resolver would load it.
func prefetchChart(ctx context.Context, id uuid.UUID) {
	l := dataloader.For(ctx)
	if l == nil {
		return
	}
	ids, types := []uuid.UUID{id}, []string{"Patient", "Node"}
	if selectsIn(ctx, types, "coverages") {
		l.QueueCoverages(ctx, ids)
	}
	if selectsIn(ctx, types, "latestRecords") && mayReadRecords(ctx) == nil {
		l.RecordsByPatientID.LoadAllThunk(ctx, ids)
	}
	if _, err := asField(ctx, "appointments"); err == nil && selectsIn(ctx, types, "upcomingAppointments") {
		l.AppointmentsByPatientID.LoadAllThunk(ctx, ids)
	}
}

// shownCoverage is c as the API shows it, and err.
func shownCoverage(c *hg.Coverage, err error) (*model.Coverage, error) {
	return model.NewCoverage(c), err
}

// writeScope is the scope in which the caller may change appointments.
func writeScope(ctx context.Context) hg.PatientScope {
	p := hg.PrincipalFrom(ctx)
	return auth.WriteScope(p, auth.PatientScope(p))
}

// optionalID parses an optional global ID argument.
func optionalID(field, typ string, id *string) (*uuid.UUID, error) {
	if id == nil {
		return nil, nil
	}
	u, err := parseID(field, typ, *id)
	return &u, err
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// optional is v, or null when v is its zero value (not recorded).
func optional[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

func pointers[T any](in []T) []*T {
	out := make([]*T, len(in))
	for i := range in {
		out[i] = &in[i]
	}
	return out
}

// findingsOut is a visit's findings as the API shows them: text not
// recorded is null.
func findingsOut(f *hg.VisitFindings) *model.VisitFindings {
	return &model.VisitFindings{AppointmentID: hg.GlobalID("Appointment", f.AppointmentID), Version: f.Version,
		Vitals: &f.Vitals, ChiefComplaintCode: optional(f.ChiefComplaintCode), ChiefComplaint: optional(f.ChiefComplaint),
		PatientHistory: optional(f.PatientHistory), PresentIllness: optional(f.PresentIllness),
		PhysicalExamination: optional(f.PhysicalExamination), TreatmentPlan: optional(f.TreatmentPlan),
		Investigation: optional(f.Investigation), InvestigationNote: optional(f.InvestigationNote),
		AuthorID: hg.GlobalID("User", f.AuthorID), RecordedAt: f.CreatedAt}
}

// upper is s in upper case without surrounding space; nil stays nil.
func upper(s *string) *string {
	if s == nil {
		return nil
	}
	u := strings.ToUpper(strings.TrimSpace(*s))
	return &u
}
