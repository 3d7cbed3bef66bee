package nphies

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
)

// ClaimParties are the records a claim is built from.
type ClaimParties struct {
	Invoice  *hg.Invoice
	Patient  *hg.Patient
	Coverage *hg.Coverage
	// Subscriber is the coverage's subscriber when the patient is covered
	// as a dependant; nil when she is her own.
	Subscriber   *hg.Patient
	Practitioner *hg.Practitioner
	// Appointment is the visit the services were (or, for a prior
	// authorization, will be) given in: the claim's encounter.
	Appointment *hg.Appointment
	// Diagnoses are ICD-10-AM codes, the principal first.
	Diagnoses []string
	// Findings are what was recorded of the visit (its minimum data set),
	// nil when nothing was.
	Findings *hg.VisitFindings
	// PriorAuths are the payer's approvals the claim quotes, if any.
	PriorAuths []hg.PriorAuthorization
	// Resubmits is the claim this one corrects and resubmits, if any.
	Resubmits *uuid.UUID
	// Type is the kind of claim (professional when empty) and Details what
	// it carries for its type, checked by checkDetails.
	Type    hg.ClaimType
	Details hg.ClaimDetails
	// Attachments are the documents the claim carries (checked by
	// hg.ValidAttachments).
	Attachments []hg.Attachment
}

// NewClaimMessage builds the claim (or prior authorization) for an issued
// invoice and the bundle that carries it, with a fresh identity that every
// retry reuses. The result is ready for ClaimStore.QueueClaim.
func NewClaimMessage(b *Builder, use hg.ClaimUse, parties ClaimParties, now time.Time) (hg.NewClaim, error) {
	inv, pat, cov, pr := parties.Invoice, parties.Patient, parties.Coverage, parties.Practitioner
	typ := parties.Type
	if typ == "" {
		typ = hg.ClaimProfessional
	}
	enc, err := encounterOf(use, typ, parties.Appointment, parties.Details.Emergency)
	if err != nil {
		return hg.NewClaim{}, err
	}
	claimID, err := uuid.NewV7()
	if err != nil {
		return hg.NewClaim{}, err
	}
	env := NewEnvelope(now)
	in := ClaimInput{
		Envelope: env, ClaimID: claimID, Created: now, Type: ClaimTypeProfessional,
		Payer:    Payer{License: cov.PayerLicense, Name: cov.PayerName},
		Patient:  PatientOf(pat),
		Coverage: CoverageOf(cov, parties.Subscriber),
		Practitioner: PractitionerInput{ID: pr.ID, License: pr.License, Name: pr.FirstName + " " + pr.FamilyName,
			SpecialtyCode: pr.SpecialtyCode},
		Encounter:      enc,
		EpisodeID:      inv.Number,
		SupportingInfo: ClaimInfo(parties.Findings, parties.Attachments),
		TotalHalalas:   int64(inv.Total),
	}
	for _, pa := range parties.PriorAuths {
		in.PreAuthRefs = append(in.PreAuthRefs, pa.Ref)
		if system, value, ok := strings.Cut(pa.ResponseKey, "|"); ok && value != "" {
			in.PriorAuthResponses = append(in.PriorAuthResponses, Identifier{System: system, Value: value})
		}
	}
	if parties.Resubmits != nil {
		prior := b.ClaimIdentifier(*parties.Resubmits)
		in.Resubmits = &prior
	}
	for _, code := range parties.Diagnoses {
		in.Diagnoses = append(in.Diagnoses, DiagnosisInput{Code: code})
	}
	claim := hg.Claim{ID: claimID, Use: use, Type: typ, Details: parties.Details, InvoiceID: &inv.ID, PatientID: pat.ID, CoverageID: cov.ID,
		PayerLicense: cov.PayerLicense, PayerName: cov.PayerName, Status: hg.ClaimQueued, Total: inv.Total,
		PractitionerID: &pr.ID, ResubmissionOf: parties.Resubmits, Attachments: parties.Attachments, Diagnoses: parties.Diagnoses}
	// The services were given (or, for a prior authorization, will be) in
	// the visit, whenever they were invoiced: NPHIES dates them within the
	// encounter and not after the claim (BV-00041, BV-00118, BV-00061).
	served := inv.CreatedAt
	if a := parties.Appointment; a != nil {
		claim.AppointmentID, served = &a.ID, a.StartsAt
	}
	for _, l := range inv.Lines {
		if !l.CodeSystem.Valid() {
			// A free-text code would go out under a system it is not in
			// (a CPT code under services), which NPHIES rejects.
			return hg.NewClaim{}, hg.Invalid("invoiceId",
				"invoice line %d (%s) is not billed from the catalogue; NPHIES needs each item under its own code system: void the invoice and bill the line from the catalogue",
				l.Sequence, l.ServiceCode)
		}
		in.Items = append(in.Items, ItemInput{Sequence: int64(l.Sequence), ServiceCode: l.ServiceCode, System: l.CodeSystem.URL(), Display: l.Description,
			Quantity: int64(l.Quantity), UnitPriceHalalas: int64(l.UnitPrice), TaxHalalas: int64(l.VAT),
			PatientShareHalalas: int64(l.PatientShare), NetHalalas: int64(l.Total), ServicedDate: served,
			PatientInvoice: inv.Number})
		claim.Items = append(claim.Items, hg.ClaimItem{Sequence: l.Sequence, CodeSystem: l.CodeSystem, ServiceCode: l.ServiceCode,
			Description: l.Description, Quantity: l.Quantity, UnitPrice: l.UnitPrice, VAT: l.VAT, Net: l.Total,
			PatientShare: l.PatientShare})
	}
	claim.ShowItemDetails()
	typed(&in, typ, parties.Details, now)
	build := b.BuildClaim
	if use == hg.UsePreAuth {
		build = b.BuildPriorAuth
	}
	msg, err := build(in)
	if ie := (*InputError)(nil); errors.As(err, &ie) {
		// The records miss something NPHIES requires: the clerk can fix it.
		return hg.NewClaim{}, hg.Invalid("invoiceId", "the claim cannot be built: %s", ie.Reason)
	} else if err != nil {
		return hg.NewClaim{}, fmt.Errorf("build %s bundle: %w", use, err)
	}
	if len(msg.Body) > MaxMessageBytes {
		return hg.NewClaim{}, hg.Invalid("attachments", "the message would be %d bytes; NPHIES takes at most %d (BV-00076)", len(msg.Body), MaxMessageBytes)
	}
	m := outgoingRow(msg, &claimID, now)
	m.NextAttemptAt = now
	return hg.NewClaim{Claim: claim, Message: m}, nil
}

// encounterStatuses is the FHIR status of the encounter of an appointment
// in each status a claim may cite.
var encounterStatuses = map[hg.AppointmentStatus]string{
	hg.AppointmentBooked:    EncounterPlanned,
	hg.AppointmentCheckedIn: EncounterInProgress,
	hg.AppointmentCompleted: EncounterFinished,
}

// encounterOf is the encounter of a claim or prior authorization, taken
// from the visit: its id, times and where it stands. A claim is for a
// completed visit; a prior authorization may be for one booked or under
// way. NPHIES requires the encounter of professional, institutional and
// dental claims and authorizations, so they must name the visit; a
// pharmacy or vision claim, whose profiles make it optional, has none
// without one. No encounter is ever made up from the invoice (issue 15,
// finding 7).
func encounterOf(use hg.ClaimUse, typ hg.ClaimType, a *hg.Appointment, emergency *hg.Emergency) (*EncounterInput, error) {
	if a == nil && !typ.NeedsEncounter() {
		return nil, nil
	}
	if a == nil {
		return nil, hg.Invalid("appointmentId", "a %s claim or prior authorization names the visit it is for: NPHIES needs its encounter",
			strings.ToLower(string(typ)))
	}
	status, ok := encounterStatuses[a.Status]
	switch {
	case !ok:
		return nil, hg.Invalid("appointmentId", "the appointment is %s; no services were given in it", a.Status)
	case use == hg.UseClaim && a.Status != hg.AppointmentCompleted:
		return nil, hg.Invalid("appointmentId", "a claim is for a completed visit; this appointment is %s", a.Status)
	}
	if e := emergency; e != nil && e.ServiceStart != nil && e.ServiceStart.Before(a.StartsAt) {
		// NPHIES dates emergency care within the encounter (BV-00760).
		return nil, hg.Invalid("emergency.serviceStart", "emergency care began before the visit did")
	}
	return &EncounterInput{ID: a.ID, Start: a.StartsAt, End: a.EndsAt, Status: status}, nil
}

// PatientOf maps a patient's demographics onto a message; national IDs
// start with 1, iqamas with 2.
func PatientOf(p *hg.Patient) PatientInput {
	kind := PatientIDNationalID
	if strings.HasPrefix(p.NationalID, "2") {
		kind = PatientIDIqama
	}
	gender := strings.ToLower(string(p.Gender))
	return PatientInput{ID: p.ID, IDKind: kind, IDValue: p.NationalID, Family: p.FamilyName,
		Given: []string{p.FirstName}, Gender: gender, BirthDate: p.BirthDate, Phone: p.Phone,
		Occupation: occupationCode(p.Occupation), MaritalStatus: maritalStatusCodes[p.MaritalStatus]}
}

// occupationCode is NPHIES's occupation code for o: its name in lower
// case with spaces ("MEDICAL_FIELD" is "medical field"); "" when not
// recorded.
func occupationCode(o hg.Occupation) string {
	return strings.ReplaceAll(strings.ToLower(string(o)), "_", " ")
}

// maritalStatusCodes are the v3-MaritalStatus codes of our statuses.
var maritalStatusCodes = map[hg.MaritalStatus]string{
	hg.MaritalMarried: "M", hg.MaritalUnmarried: "U", hg.MaritalDivorced: "D", hg.MaritalWidowed: "W",
	hg.MaritalLegallySeparated: "L",
}

// relationshipCodes are the subscriber-relationship codes of our
// relationships.
var relationshipCodes = map[hg.Relationship]string{
	hg.RelationshipSelf: "self", hg.RelationshipSpouse: "spouse", hg.RelationshipChild: "child",
	hg.RelationshipParent: "parent", hg.RelationshipCommonLawSpouse: "common", hg.RelationshipOther: "other",
	hg.RelationshipInjuredParty: "injured",
}

// CoverageOf maps a coverage onto a message; subscriber is the patient
// record of its subscriber when the relationship is not SELF.
func CoverageOf(c *hg.Coverage, subscriber *hg.Patient) CoverageInput {
	in := CoverageInput{ID: c.ID, MemberID: c.MemberID, MemberSystem: c.MemberIDSystem, PolicyNumber: c.PolicyNumber,
		Plan: c.Class, PlanName: c.PlanName, Relationship: relationshipCodes[c.Relationship]}
	if subscriber != nil {
		s := PatientOf(subscriber)
		in.Subscriber = &s
	}
	if h := c.PolicyHolder; h != nil {
		in.PolicyHolder = &PolicyHolderInput{ID: h.ID, Name: h.Name}
		in.PolicyHolderName = h.Name
	}
	return in
}
