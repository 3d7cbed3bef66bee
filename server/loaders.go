package server

import (
	"context"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/dataloader"
	"github.com/healthgraph/healthgraph/observability"
)

// tracedLoaderStore gives every dataloader batch a span of its own
// ("dataloader <loader>", with the number of keys) and counts its size. A
// batch runs in the background with the context of the first load, often a
// resolver whose span has already ended (prefetching resolvers queue loads
// and return): without a live span of its own there, the pgx tracer would
// drop the batch's SQL from the trace.
type tracedLoaderStore struct {
	dataloader.Store
	m *observability.Metrics
}

func batch[V any](ctx context.Context, m *observability.Metrics, loader string, keys int,
	fetch func(context.Context) ([]V, error)) ([]V, error) {
	ctx, span := m.LoaderBatch(ctx, loader, keys)
	out, err := fetch(ctx)
	observability.End(span, err)
	return out, err
}

func (s tracedLoaderStore) PatientsByIDs(ctx context.Context, scope hg.PatientScope, ids []uuid.UUID) ([]*hg.Patient, error) {
	return batch(ctx, s.m, "patient", len(ids), func(ctx context.Context) ([]*hg.Patient, error) {
		return s.Store.PatientsByIDs(ctx, scope, ids)
	})
}

func (s tracedLoaderStore) PractitionersByIDs(ctx context.Context, ids []uuid.UUID) ([]*hg.Practitioner, error) {
	return batch(ctx, s.m, "practitioner", len(ids), func(ctx context.Context) ([]*hg.Practitioner, error) {
		return s.Store.PractitionersByIDs(ctx, ids)
	})
}

func (s tracedLoaderStore) AppointmentsByIDs(ctx context.Context, scope hg.PatientScope, ids []uuid.UUID) ([]*hg.Appointment, error) {
	return batch(ctx, s.m, "appointment", len(ids), func(ctx context.Context) ([]*hg.Appointment, error) {
		return s.Store.AppointmentsByIDs(ctx, scope, ids)
	})
}

func (s tracedLoaderStore) RecordsByIDs(ctx context.Context, scope hg.PatientScope, ids []uuid.UUID) ([]*hg.MedicalRecord, error) {
	return batch(ctx, s.m, "record", len(ids), func(ctx context.Context) ([]*hg.MedicalRecord, error) {
		return s.Store.RecordsByIDs(ctx, scope, ids)
	})
}

func (s tracedLoaderStore) CoveragesByPatientIDs(ctx context.Context, scope hg.PatientScope, patientIDs []uuid.UUID) ([]*hg.Coverage, error) {
	return batch(ctx, s.m, "coverages", len(patientIDs), func(ctx context.Context) ([]*hg.Coverage, error) {
		return s.Store.CoveragesByPatientIDs(ctx, scope, patientIDs)
	})
}

func (s tracedLoaderStore) UpcomingAppointmentsByPatientIDs(ctx context.Context, scope hg.PatientScope, patientIDs []uuid.UUID,
	now time.Time, limit int) ([]*hg.Appointment, error) {
	return batch(ctx, s.m, "upcoming_appointments", len(patientIDs), func(ctx context.Context) ([]*hg.Appointment, error) {
		return s.Store.UpcomingAppointmentsByPatientIDs(ctx, scope, patientIDs, now, limit)
	})
}

func (s tracedLoaderStore) LatestRecordsByPatientIDs(ctx context.Context, scope hg.PatientScope, patientIDs []uuid.UUID,
	limit int) ([]*hg.MedicalRecord, error) {
	return batch(ctx, s.m, "latest_records", len(patientIDs), func(ctx context.Context) ([]*hg.MedicalRecord, error) {
		return s.Store.LatestRecordsByPatientIDs(ctx, scope, patientIDs, limit)
	})
}

func (s tracedLoaderStore) PatientsByUserIDs(ctx context.Context, scope hg.PatientScope, userIDs []uuid.UUID) ([]*hg.Patient, error) {
	return batch(ctx, s.m, "user_patient", len(userIDs), func(ctx context.Context) ([]*hg.Patient, error) {
		return s.Store.PatientsByUserIDs(ctx, scope, userIDs)
	})
}

func (s tracedLoaderStore) PractitionersByUserIDs(ctx context.Context, userIDs []uuid.UUID) ([]*hg.Practitioner, error) {
	return batch(ctx, s.m, "user_practitioner", len(userIDs), func(ctx context.Context) ([]*hg.Practitioner, error) {
		return s.Store.PractitionersByUserIDs(ctx, userIDs)
	})
}

func (s tracedLoaderStore) InvoicesByIDs(ctx context.Context, scope hg.PatientScope, ids []uuid.UUID) ([]*hg.Invoice, error) {
	return batch(ctx, s.m, "invoice", len(ids), func(ctx context.Context) ([]*hg.Invoice, error) {
		return s.Store.InvoicesByIDs(ctx, scope, ids)
	})
}

func (s tracedLoaderStore) ClaimAttachmentInfos(ctx context.Context, scope hg.PatientScope, claimIDs []uuid.UUID) ([]*hg.ClaimAttachmentInfo, error) {
	return batch(ctx, s.m, "claim_attachments", len(claimIDs), func(ctx context.Context) ([]*hg.ClaimAttachmentInfo, error) {
		return s.Store.ClaimAttachmentInfos(ctx, scope, claimIDs)
	})
}

func (s tracedLoaderStore) AuditReads(ctx context.Context, e hg.AuditEvent, subjects []hg.AuditSubject) error {
	_, err := batch(ctx, s.m, "disclosures", len(subjects), func(ctx context.Context) ([]struct{}, error) {
		return nil, s.Store.AuditReads(ctx, e, subjects)
	})
	return err
}
