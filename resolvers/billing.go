package resolvers

import (
	"context"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/dataloader"
)

// The parties of invoices and claims (their patient, coverage and invoice)
// are loaded through the request's loaders, within the caller's patient
// scope, and each one shown is audited as the direct read of it is
// (patient.read, coverage.read, invoice.read), through the loaders'
// batched disclosures: a page of invoices with their patients costs one
// audit statement per kind of party, not one per row.

// party loads one related entity through load and returns it once its
// disclosure is audited; what cannot be audited is not shown.
func party[T any](ctx context.Context, load func(*dataloader.Loaders) (T, error), action, typ string,
	subject func(T) (entity, patient uuid.UUID)) (T, error) {
	var zero T
	l := dataloader.For(ctx)
	v, err := load(l)
	if err != nil {
		return zero, err
	}
	entity, patient := subject(v)
	if err := l.Disclose(ctx, dataloader.Disclosure{Action: action, EntityType: typ, Entity: entity, Patient: patient}); err != nil {
		return zero, err
	}
	return v, nil
}

// partyPatient is an invoice's or a claim's patient.
func partyPatient(ctx context.Context, id uuid.UUID) (*hg.Patient, error) {
	return party(ctx, func(l *dataloader.Loaders) (*hg.Patient, error) { return l.Patient(ctx, id) },
		"patient.read", "Patient", patientSubject)
}

// partyCoverage is the coverage an invoice or a claim names; it is always
// its patient's.
func partyCoverage(ctx context.Context, patientID uuid.UUID, id *uuid.UUID) (*hg.Coverage, error) {
	if id == nil {
		return nil, nil
	}
	return party(ctx, func(l *dataloader.Loaders) (*hg.Coverage, error) { return l.Coverage(ctx, patientID, *id) },
		"coverage.read", "Coverage", coverageSubject)
}

// partyInvoice is the invoice a claim was built from.
func partyInvoice(ctx context.Context, id *uuid.UUID) (*hg.Invoice, error) {
	if id == nil {
		return nil, nil
	}
	return party(ctx, func(l *dataloader.Loaders) (*hg.Invoice, error) { return l.Invoice(ctx, *id) },
		"invoice.read", "Invoice", invoiceSubject)
}

func coverageSubject(c *hg.Coverage) (uuid.UUID, uuid.UUID) { return c.ID, c.PatientID }

// partyTypes are the types whose typed fragments prefetchParties looks
// into.
var partyTypes = []string{"InvoiceConnection", "InvoiceEdge", "Invoice", "ClaimConnection", "ClaimEdge", "Claim", "Patient", "Node"}

// prefetchParties queues, in one go, the patients, coverages and invoices
// a page of invoices or claims will ask for, when the query selects them,
// as prefetchAppointments does for appointments: the field resolvers then
// find their keys batched, and the page costs the same statements however
// gqlgen schedules them. patient, coverage and invoice give an item's
// keys; invoice is nil for invoices.
func prefetchParties[T any](ctx context.Context, items []T, patient func(T) uuid.UUID, invoice func(T) *uuid.UUID) {
	l := dataloader.For(ctx)
	if l == nil || len(items) == 0 {
		return
	}
	patients := make([]uuid.UUID, len(items))
	var invoices []uuid.UUID
	for i, it := range items {
		patients[i] = patient(it)
		if invoice != nil {
			if id := invoice(it); id != nil {
				invoices = append(invoices, *id)
			}
		}
	}
	// The thunks are not awaited: queuing the keys is the point.
	if selectsParty(ctx, "patient") {
		l.PatientByID.LoadAllThunk(ctx, patients)
	}
	if selectsParty(ctx, "coverage") || selectsParty(ctx, "patient", "coverages") {
		l.CoveragesByPatientID.LoadAllThunk(ctx, patients)
	}
	if invoice != nil && selectsParty(ctx, "invoice") {
		l.InvoiceByID.LoadAllThunk(ctx, invoices)
	}
}

// selectsParty reports whether the current page's selection reaches
// edges → node → path.
func selectsParty(ctx context.Context, path ...string) bool {
	return selectsIn(ctx, partyTypes, append([]string{"edges", "node"}, path...)...)
}
