package resolvers

import (
	"context"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/auth"
	"github.com/healthgraph/healthgraph/dataloader"
	"github.com/healthgraph/healthgraph/graph"
	"github.com/healthgraph/healthgraph/graph/model"
)

func (r *appointmentResolver) ID(ctx context.Context, obj *hg.Appointment) (string, error) {
	return globalID("Appointment", obj.ID), nil
}

func (r *appointmentResolver) Patient(ctx context.Context, obj *hg.Appointment) (*hg.Patient, error) {
	return dataloader.For(ctx).Patient(ctx, obj.PatientID)
}

func (r *appointmentResolver) Practitioner(ctx context.Context, obj *hg.Appointment) (*hg.Practitioner, error) {
	return dataloader.For(ctx).Practitioner(ctx, obj.PractitionerID)
}

func (r *breakGlassGrantResolver) ID(ctx context.Context, obj *hg.BreakGlass) (string, error) {
	return globalID("BreakGlassGrant", obj.ID), nil
}

func (r *breakGlassGrantResolver) Patient(ctx context.Context, obj *hg.BreakGlass) (*hg.Patient, error) {
	return dataloader.For(ctx).Patient(ctx, obj.PatientID)
}

func (r *coverageResolver) ID(ctx context.Context, obj *hg.Coverage) (string, error) {
	return globalID("Coverage", obj.ID), nil
}

func (r *coverageResolver) Payer(ctx context.Context, obj *hg.Coverage) (*model.Payer, error) {
	return &model.Payer{License: obj.PayerLicense, Name: obj.PayerName}, nil
}

func (r *coverageResolver) Active(ctx context.Context, obj *hg.Coverage) (bool, error) {
	return obj.ActiveOn(time.Now()), nil
}

func (r *medicalRecordResolver) ID(ctx context.Context, obj *hg.MedicalRecord) (string, error) {
	return globalID("MedicalRecord", obj.ID), nil
}

func (r *medicalRecordResolver) Patient(ctx context.Context, obj *hg.MedicalRecord) (*hg.Patient, error) {
	return dataloader.For(ctx).Patient(ctx, obj.PatientID)
}

func (r *medicalRecordResolver) Supersedes(ctx context.Context, obj *hg.MedicalRecord) (*hg.MedicalRecord, error) {
	return r.version(ctx, obj.SupersedesID)
}

func (r *medicalRecordResolver) SupersededBy(ctx context.Context, obj *hg.MedicalRecord) (*hg.MedicalRecord, error) {
	return r.version(ctx, obj.SupersededByID)
}

func (r *medicalRecordResolver) AuthorID(ctx context.Context, obj *hg.MedicalRecord) (string, error) {
	return globalID("User", obj.AuthorID), nil
}

func (r *mutationResolver) CreatePatient(ctx context.Context, input model.CreatePatientInput) (*hg.Patient, error) {
	p, err := r.Store.CreatePatient(ctx, hg.NewPatient{MRN: deref(input.Mrn), NationalID: input.NationalID,
		FirstName: input.FirstName, FamilyName: input.FamilyName, FirstNameAr: deref(input.FirstNameAr),
		FamilyNameAr: deref(input.FamilyNameAr), BirthDate: input.BirthDate, Gender: input.Gender,
		Phone: deref(input.Phone), Email: deref(input.Email)})
	if err != nil {
		return nil, err
	}
	return p, r.audit(ctx, "patient.created", "Patient", p.ID, &p.ID)
}

func (r *mutationResolver) UpdatePatient(ctx context.Context, id string, input model.UpdatePatientInput) (*hg.Patient, error) {
	uid, err := parseID("id", "Patient", id)
	if err != nil {
		return nil, err
	}
	p, err := r.Store.UpdatePatient(ctx, auth.PatientScope(hg.PrincipalFrom(ctx)), uid, hg.PatientPatch{
		NationalID: input.NationalID, FirstName: input.FirstName, FamilyName: input.FamilyName,
		FirstNameAr: input.FirstNameAr, FamilyNameAr: input.FamilyNameAr, BirthDate: input.BirthDate,
		Gender: input.Gender, Phone: input.Phone, Email: input.Email})
	if err != nil {
		return nil, err
	}
	return p, r.audit(ctx, "patient.updated", "Patient", p.ID, &p.ID)
}

func (r *mutationResolver) AddCoverage(ctx context.Context, input model.AddCoverageInput) (*hg.Coverage, error) {
	patientID, err := parseID("patientId", "Patient", input.PatientID)
	if err != nil {
		return nil, err
	}
	c, err := r.Store.AddCoverage(ctx, auth.PatientScope(hg.PrincipalFrom(ctx)), hg.NewCoverage{PatientID: patientID,
		PayerLicense: input.PayerLicense, PayerName: input.PayerName, MemberID: input.MemberID,
		PolicyNumber: deref(input.PolicyNumber), Class: deref(input.Class), StartsOn: input.StartsOn, EndsOn: input.EndsOn})
	if err != nil {
		return nil, err
	}
	return c, r.audit(ctx, "coverage.added", "Coverage", c.ID, &c.PatientID)
}

func (r *mutationResolver) BookAppointment(ctx context.Context, input model.BookAppointmentInput) (*hg.Appointment, error) {
	patientID, err := parseID("patientId", "Patient", input.PatientID)
	if err != nil {
		return nil, err
	}
	practitionerID, err := parseID("practitionerId", "Practitioner", input.PractitionerID)
	if err != nil {
		return nil, err
	}
	a, err := r.Store.BookAppointment(ctx, auth.PatientScope(hg.PrincipalFrom(ctx)), hg.NewAppointment{PatientID: patientID,
		PractitionerID: practitionerID, StartsAt: input.StartsAt, EndsAt: input.EndsAt, Reason: deref(input.Reason)})
	return r.appointmentChanged(ctx, "appointment.booked", a, err)
}

func (r *mutationResolver) RescheduleAppointment(ctx context.Context, id string, startsAt time.Time, endsAt time.Time) (*hg.Appointment, error) {
	uid, err := parseID("id", "Appointment", id)
	if err != nil {
		return nil, err
	}
	a, err := r.Store.RescheduleAppointment(ctx, auth.PatientScope(hg.PrincipalFrom(ctx)), uid, startsAt, endsAt)
	return r.appointmentChanged(ctx, "appointment.rescheduled", a, err)
}

func (r *mutationResolver) CancelAppointment(ctx context.Context, id string, reason string) (*hg.Appointment, error) {
	uid, err := parseID("id", "Appointment", id)
	if err != nil {
		return nil, err
	}
	a, err := r.Store.CancelAppointment(ctx, auth.PatientScope(hg.PrincipalFrom(ctx)), uid, reason)
	return r.appointmentChanged(ctx, "appointment.cancelled", a, err)
}

func (r *mutationResolver) UpdateAppointmentStatus(ctx context.Context, id string, status hg.AppointmentStatus) (*hg.Appointment, error) {
	uid, err := parseID("id", "Appointment", id)
	if err != nil {
		return nil, err
	}
	a, err := r.Store.UpdateAppointmentStatus(ctx, auth.PatientScope(hg.PrincipalFrom(ctx)), uid, status)
	return r.appointmentChanged(ctx, "appointment.status_changed", a, err)
}

func (r *mutationResolver) AddMedicalRecord(ctx context.Context, input model.AddMedicalRecordInput) (*hg.MedicalRecord, error) {
	who := hg.PrincipalFrom(ctx)
	patientID, err := parseID("patientId", "Patient", input.PatientID)
	if err != nil {
		return nil, err
	}
	rec, err := r.Store.AddRecord(ctx, auth.ClinicalScope(who), hg.NewRecord{PatientID: patientID, AuthorID: who.UserID,
		Kind: input.Kind, Codes: input.Codes, Body: input.Body})
	if err != nil {
		return nil, err
	}
	return rec, r.audit(ctx, "record.added", "MedicalRecord", rec.ID, &rec.PatientID)
}

func (r *mutationResolver) AmendMedicalRecord(ctx context.Context, id string, input model.AmendMedicalRecordInput) (*hg.MedicalRecord, error) {
	who := hg.PrincipalFrom(ctx)
	uid, err := parseID("id", "MedicalRecord", id)
	if err != nil {
		return nil, err
	}
	rec, err := r.Store.AmendRecord(ctx, auth.ClinicalScope(who), hg.RecordAmendment{RecordID: uid, AuthorID: who.UserID,
		Codes: input.Codes, Body: input.Body})
	if err != nil {
		return nil, err
	}
	return rec, r.audit(ctx, "record.amended", "MedicalRecord", rec.ID, &rec.PatientID)
}

func (r *mutationResolver) BreakGlass(ctx context.Context, patientID string, reason string) (*hg.BreakGlass, error) {
	who := hg.PrincipalFrom(ctx)
	pid, err := parseID("patientId", "Patient", patientID)
	if err != nil {
		return nil, err
	}
	g, err := r.Store.GrantBreakGlass(ctx, who.UserID, pid, reason, time.Now().Add(BreakGlassDuration))
	if err != nil {
		return nil, err
	}
	return g, r.audit(ctx, "patient.break_glass", "Patient", pid, &pid)
}

func (r *patientResolver) ID(ctx context.Context, obj *hg.Patient) (string, error) {
	return globalID("Patient", obj.ID), nil
}

func (r *patientResolver) Coverages(ctx context.Context, obj *hg.Patient) ([]*hg.Coverage, error) {
	return dataloader.For(ctx).Coverages(ctx, obj.ID)
}

func (r *patientResolver) UpcomingAppointments(ctx context.Context, obj *hg.Patient) ([]*hg.Appointment, error) {
	if _, err := auth.Require(ctx, hg.RoleAdmin, hg.RoleReception, hg.RolePractitioner, hg.RolePatient); err != nil {
		return nil, err
	}
	return dataloader.For(ctx).UpcomingAppointments(ctx, obj.ID)
}

func (r *patientResolver) LatestRecords(ctx context.Context, obj *hg.Patient) ([]*hg.MedicalRecord, error) {
	if err := r.readsRecords(ctx, obj.ID); err != nil {
		return nil, err
	}
	return dataloader.For(ctx).LatestRecords(ctx, obj.ID)
}

func (r *practitionerResolver) ID(ctx context.Context, obj *hg.Practitioner) (string, error) {
	return globalID("Practitioner", obj.ID), nil
}

func (r *queryResolver) Patient(ctx context.Context, id string) (*hg.Patient, error) {
	uid, err := parseID("id", "Patient", id)
	if err != nil {
		return nil, err
	}
	return dataloader.For(ctx).Patient(ctx, uid)
}

func (r *queryResolver) Patients(ctx context.Context, filter *model.PatientFilter, first *int, after *string) (*model.PatientConnection, error) {
	pg, err := page(first, after)
	if err != nil {
		return nil, err
	}
	var f hg.PatientFilter
	if filter != nil {
		f = hg.PatientFilter{Search: deref(filter.Search), BirthDate: filter.BirthDate, PayerLicense: deref(filter.PayerLicense)}
	}
	pg.First++
	ps, total, err := r.Store.ListPatients(ctx, auth.PatientScope(hg.PrincipalFrom(ctx)), f, pg)
	if err != nil {
		return nil, err
	}
	es, info := edges(ps, pg, func(p *hg.Patient) (time.Time, uuid.UUID) { return p.CreatedAt, p.ID },
		func(c string, p *hg.Patient) *model.PatientEdge { return &model.PatientEdge{Cursor: c, Node: p} })
	return &model.PatientConnection{Edges: es, PageInfo: info, TotalCount: total}, nil
}

func (r *queryResolver) Practitioners(ctx context.Context, specialty *string, first *int, after *string) (*model.PractitionerConnection, error) {
	pg, err := page(first, after)
	if err != nil {
		return nil, err
	}
	pg.First++
	ps, total, err := r.Store.ListPractitioners(ctx, hg.PractitionerFilter{Specialty: deref(specialty)}, pg)
	if err != nil {
		return nil, err
	}
	es, info := edges(ps, pg, func(p *hg.Practitioner) (time.Time, uuid.UUID) { return p.CreatedAt, p.ID },
		func(c string, p *hg.Practitioner) *model.PractitionerEdge {
			return &model.PractitionerEdge{Cursor: c, Node: p}
		})
	return &model.PractitionerConnection{Edges: es, PageInfo: info, TotalCount: total}, nil
}

func (r *queryResolver) Appointments(ctx context.Context, filter *model.AppointmentFilter, first *int, after *string) (*model.AppointmentConnection, error) {
	pg, err := page(first, after)
	if err != nil {
		return nil, err
	}
	var f hg.AppointmentFilter
	if filter != nil {
		f.From, f.To, f.Status = filter.From, filter.To, filter.Status
		if f.PractitionerID, err = optionalID("filter.practitionerId", "Practitioner", filter.PractitionerID); err != nil {
			return nil, err
		}
		if f.PatientID, err = optionalID("filter.patientId", "Patient", filter.PatientID); err != nil {
			return nil, err
		}
	}
	pg.First++
	as, total, err := r.Store.ListAppointments(ctx, auth.PatientScope(hg.PrincipalFrom(ctx)), f, pg)
	if err != nil {
		return nil, err
	}
	prefetchAppointments(ctx, as)
	es, info := edges(as, pg, func(a *hg.Appointment) (time.Time, uuid.UUID) { return a.StartsAt, a.ID },
		func(c string, a *hg.Appointment) *model.AppointmentEdge {
			return &model.AppointmentEdge{Cursor: c, Node: a}
		})
	return &model.AppointmentConnection{Edges: es, PageInfo: info, TotalCount: total}, nil
}

func (r *queryResolver) PractitionerSchedule(ctx context.Context, practitionerID string, date time.Time) ([]*hg.Slot, error) {
	uid, err := parseID("practitionerId", "Practitioner", practitionerID)
	if err != nil {
		return nil, err
	}
	slots, err := r.Store.PractitionerSchedule(ctx, uid, date, hg.DefaultSchedule)
	if err != nil {
		return nil, err
	}
	return pointers(slots), nil
}

func (r *queryResolver) MedicalRecords(ctx context.Context, patientID string, filter *model.RecordFilter, first *int, after *string) (*model.MedicalRecordConnection, error) {
	pid, err := parseID("patientId", "Patient", patientID)
	if err != nil {
		return nil, err
	}
	pg, err := page(first, after)
	if err != nil {
		return nil, err
	}
	var f hg.RecordFilter
	if filter != nil {
		f = hg.RecordFilter{Kind: filter.Kind, From: filter.From, To: filter.To, IncludeSuperseded: deref(filter.IncludeSuperseded)}
	}
	if err := r.readsRecords(ctx, pid); err != nil {
		return nil, err
	}
	pg.First++
	recs, total, err := r.Store.ListRecords(ctx, auth.ClinicalScope(hg.PrincipalFrom(ctx)), pid, f, pg)
	if err != nil {
		return nil, err
	}
	es, info := edges(recs, pg, func(m *hg.MedicalRecord) (time.Time, uuid.UUID) { return m.CreatedAt, m.ID },
		func(c string, m *hg.MedicalRecord) *model.MedicalRecordEdge {
			return &model.MedicalRecordEdge{Cursor: c, Node: m}
		})
	return &model.MedicalRecordConnection{Edges: es, PageInfo: info, TotalCount: total}, nil
}

func (r *queryResolver) AppointmentUtilization(ctx context.Context, from time.Time, to time.Time, groupBy hg.UtilizationGroupBy) ([]*hg.UtilizationGroup, error) {
	groups, err := r.Store.AppointmentUtilization(ctx, from, to, groupBy)
	if err != nil {
		return nil, err
	}
	return pointers(groups), nil
}

// Appointment returns the resolvers of Appointment fields.
func (r *Resolver) Appointment() graph.AppointmentResolver { return &appointmentResolver{r} }

// BreakGlassGrant returns the resolvers of BreakGlassGrant fields.
func (r *Resolver) BreakGlassGrant() graph.BreakGlassGrantResolver {
	return &breakGlassGrantResolver{r}
}

// Coverage returns the resolvers of Coverage fields.
func (r *Resolver) Coverage() graph.CoverageResolver { return &coverageResolver{r} }

// MedicalRecord returns the resolvers of MedicalRecord fields.
func (r *Resolver) MedicalRecord() graph.MedicalRecordResolver { return &medicalRecordResolver{r} }

// Patient returns the resolvers of Patient fields.
func (r *Resolver) Patient() graph.PatientResolver { return &patientResolver{r} }

// Practitioner returns the resolvers of Practitioner fields.
func (r *Resolver) Practitioner() graph.PractitionerResolver { return &practitionerResolver{r} }

type (
	appointmentResolver     struct{ *Resolver }
	breakGlassGrantResolver struct{ *Resolver }
	coverageResolver        struct{ *Resolver }
	medicalRecordResolver   struct{ *Resolver }
	patientResolver         struct{ *Resolver }
	practitionerResolver    struct{ *Resolver }
)
