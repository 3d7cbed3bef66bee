package nphies

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
)

// ErrInvalidInput marks a builder input that would produce a message NPHIES
// must reject (missing identity, amounts that do not add up, …). Every such
// error is an *InputError, which errors.Is matches to it; retrying cannot
// help.
var ErrInvalidInput = errors.New("nphies: invalid message input")

// InputError is why a builder refused its input. Reason is safe to show a
// clerk (it names what is missing or inconsistent, never a person's data),
// so callers turn it into a validation error by reading the field rather
// than by trimming the error's text.
type InputError struct {
	// Reason says what is wrong, e.g. "payer licence is required".
	Reason string
}

// Error implements the error interface: ErrInvalidInput's text, then the
// reason.
func (e *InputError) Error() string { return ErrInvalidInput.Error() + ": " + e.Reason }

// Is makes errors.Is(err, ErrInvalidInput) hold for every input error.
func (e *InputError) Is(target error) bool { return target == ErrInvalidInput }

// invalid returns the InputError for a reason.
func invalid(format string, args ...any) error {
	return &InputError{Reason: fmt.Sprintf(format, args...)}
}

// riyadh is Saudi Arabia's fixed UTC+03:00 offset. A fixed zone (not tzdata)
// keeps builds reproducible on distroless images without zoneinfo; the
// kingdom has no daylight saving.
var riyadh = time.FixedZone("AST", 3*60*60)

// idNamespace derives deterministic resource ids from caller-supplied
// identity, so the same input always yields the same bytes.
var idNamespace = uuid.MustParse("6f1f8a52-3a8e-4d8f-9d0b-0c8a6b1f5e21")

// Builder builds NPHIES request bundles for one provider. It holds only
// configuration; it is safe for concurrent use.
type Builder struct {
	// ProviderLicense is our NPHIES provider licence (MessageHeader.sender).
	ProviderLicense string
	// ProviderName is the provider organisation's display name.
	ProviderName string
	// BaseURL is our own domain (for example "https://clinic.example.sa"):
	// MessageHeader.source.endpoint and the prefix of every fullUrl and of
	// our business identifier systems.
	BaseURL string
	// ProviderType is the provider organisation's NPHIES provider-type
	// code (for example "5", clinic); none is sent when empty.
	ProviderType string
	// Facility is the site where patients are seen (a Location with its own
	// licence, distinct from the provider's); eligibility requests name it.
	// Nothing stands in for it when it is not configured.
	Facility Facility
}

// Facility is the Location a provider serves patients at.
type Facility struct {
	// License is the facility's own NPHIES location licence.
	License string
	// Name is its display name; the provider's name when empty.
	Name string
	// Type is its v3 ServiceDeliveryLocationRoleType code (for example
	// GACH, a general acute care hospital); "OF", an outpatient facility,
	// when empty.
	Type string
}

// Envelope is the caller-supplied identity of one message. It must be stored
// with the outbox row and reused on every retry so NPHIES can de-duplicate:
// the same Envelope and input always produce byte-identical bundles.
type Envelope struct {
	// BundleID is Bundle.id.
	BundleID uuid.UUID
	// MessageHeaderID is MessageHeader.id; NPHIES echoes it in the
	// response's MessageHeader.response.identifier.
	MessageHeaderID uuid.UUID
	// Timestamp is Bundle.timestamp; use the time the message was first
	// created, not the time of the retry.
	Timestamp time.Time
}

// NewEnvelope returns a fresh Envelope with random ids, for callers that
// persist it before the first send.
func NewEnvelope(now time.Time) Envelope {
	return Envelope{BundleID: uuid.New(), MessageHeaderID: uuid.New(), Timestamp: now}
}

// Message is a built request bundle: the bytes to send (and to store), and
// the identity the response is correlated with.
type Message struct {
	// Event is the MessageHeader event code.
	Event string
	// BundleID is Bundle.id.
	BundleID uuid.UUID
	// MessageHeaderID is MessageHeader.id.
	MessageHeaderID uuid.UUID
	// Focus is the business identifier of the focal resource (Claim,
	// CoverageEligibilityRequest, Task, Communication or PaymentNotice).
	Focus Identifier
	// Body is the serialised Bundle.
	Body []byte
}

// Payer names the insurer (or TPA) a message is addressed to.
type Payer struct {
	// License is the payer's NPHIES licence (destination receiver).
	License string
	// Name is the payer's display name.
	Name string
}

// Patient identifier kinds NPHIES accepts, as (v2-0203 code, display, system
// suffix).
const (
	PatientIDIqama      = "iqama"
	PatientIDNationalID = "nationalid"
	PatientIDPassport   = "passportnumber"
	PatientIDBorder     = "bordernumber"
	PatientIDVisa       = "visa"
)

// patientIDTypes maps our identifier kind to NPHIES's v2-0203 code.
var patientIDTypes = map[string]string{
	PatientIDIqama:      "PRC",
	PatientIDNationalID: "NI",
	PatientIDPassport:   "PPN",
	PatientIDBorder:     "BN",
	PatientIDVisa:       "VP",
}

// PatientInput is the patient demographics a message carries.
type PatientInput struct {
	// ID is our patient id (a UUID), used as the FHIR resource id; it is not
	// a national identifier.
	ID uuid.UUID
	// IDKind is one of the PatientID* constants.
	IDKind string
	// IDValue is the iqama / national ID / passport number.
	IDValue string
	// Family is the patient's official family name.
	Family string
	// Given are the patient's given names.
	Given []string
	// Gender is FHIR administrative gender: male, female, other, unknown.
	Gender string
	// BirthDate is the date of birth (only the date is used).
	BirthDate time.Time
	// Phone is optional.
	Phone string
	// Occupation is an NPHIES occupation code (for example "business");
	// optional.
	Occupation string
	// MaritalStatus is a v3-MaritalStatus code (M, U, D, W, L); optional.
	MaritalStatus string
}

// CoverageInput is the patient's policy with the payer.
type CoverageInput struct {
	// ID is our coverage id, used as the FHIR resource id.
	ID uuid.UUID
	// MemberID is the payer-issued member identifier.
	MemberID string
	// MemberSystem is the payer's member-id system; when empty, the one
	// MemberIDSystems knows for the payer.
	MemberSystem string
	// PolicyNumber is the group/policy number (Coverage.class group).
	PolicyNumber string
	// PolicyHolderName names the group class when an organisation holds
	// the policy.
	PolicyHolderName string
	// Plan is the payer's plan class (Coverage.class plan, exactly one of
	// which NPHIES requires, BV-00729); PlanName optionally names it.
	Plan     string
	PlanName string
	// Relationship of the patient to the subscriber, a
	// subscriber-relationship code; default "self".
	Relationship string
	// Subscriber is the policy's subscriber when the patient is covered as
	// a dependant (Relationship other than self).
	Subscriber *PatientInput
	// PolicyHolder is the organisation holding a group policy; the
	// subscriber holds it when nil.
	PolicyHolder *PolicyHolderInput
	// Network is optional (Coverage.network).
	Network string
}

// PolicyHolderInput is the organisation (an employer) holding a group
// policy.
type PolicyHolderInput struct {
	// ID is its identifier with the payer.
	ID string
	// Name is its name.
	Name string
}

// PractitionerInput is the treating clinician.
type PractitionerInput struct {
	// ID is our practitioner id.
	ID uuid.UUID
	// License is the SCFHS licence number.
	License string
	// Name is the practitioner's display name.
	Name string
	// SpecialtyCode is the NPHIES practice-codes qualification (e.g. "08.00").
	SpecialtyCode string
}

// DiagnosisInput is one ICD-10-AM diagnosis.
type DiagnosisInput struct {
	// Code is the ICD-10-AM code.
	Code string
	// Type is principal, secondary, admitting, discharge or differential;
	// default principal for the first and secondary for the others.
	Type string
	// OnAdmission is y, n or u: whether an institutional claim's diagnosis
	// was present on admission (required there, BV-00027; unused on other
	// types).
	OnAdmission string
}

// EncounterInput is the visit (required for professional and institutional
// claims by the V5.2 profiles).
type EncounterInput struct {
	// ID is our encounter / appointment id.
	ID uuid.UUID
	// Class is the v3-ActCode class: AMB, IMP, EMER…; default AMB.
	Class string
	// Start is when the visit began.
	Start time.Time
	// End is when it ended (optional).
	End time.Time
	// ServiceEventType is ICSE (initial) or SCSE (subsequent); default ICSE.
	ServiceEventType string
	// Status is the FHIR encounter status: planned, arrived, in-progress or
	// finished (the default). A claim is for a finished visit; a prior
	// authorization may be for one planned or in progress.
	Status string
	// Emergency makes it an emergency visit's (class EMER), nil otherwise.
	Emergency *EmergencyInput
}

// Encounter statuses a claim or prior authorization may carry.
const (
	EncounterPlanned    = "planned"
	EncounterArrived    = "arrived"
	EncounterInProgress = "in-progress"
	EncounterFinished   = "finished"
)

// ItemInput is one billed service line. Money is integer halalas; the
// builder checks NetHalalas = Quantity × UnitPriceHalalas + TaxHalalas
// (NPHIES's rule with factor 1).
type ItemInput struct {
	// Sequence is the 1-based item number, unique in the claim.
	Sequence int64
	// ServiceCode is the code (SBS, GTIN, …) in System.
	ServiceCode string
	// System is the code system; SystemServices when empty.
	System string
	// Display optionally describes the service.
	Display string
	// Quantity is the number of units (> 0).
	Quantity int64
	// UnitPriceHalalas is the price of one unit before tax.
	UnitPriceHalalas int64
	// TaxHalalas is the VAT on the line.
	TaxHalalas int64
	// PatientShareHalalas is the copay collected from the patient.
	PatientShareHalalas int64
	// NetHalalas is the line total.
	NetHalalas int64
	// ServicedDate is when the service was delivered.
	ServicedDate time.Time
	// PatientInvoice is our invoice number (required on claims).
	PatientInvoice string
	// Tooth is a dental item's FDI tooth or oral region (bodySite);
	// Surfaces its FDI tooth surfaces (subSite). Dental claims only.
	Tooth    string
	Surfaces []string
	// DaysSupply is how many days a pharmacy item's medicine lasts
	// (supportingInfo days-supply, BV-00376). Pharmacy claims only.
	DaysSupply int64
	// PharmacistSelectionReason is why the pharmacist dispensed a
	// medicine, a pharmacist-selection-reason code (BV-00708). Pharmacy
	// claims only.
	PharmacistSelectionReason string
}

// Claim types and subtypes NPHIES defines.
const (
	ClaimTypeInstitutional = "institutional"
	ClaimTypeProfessional  = "professional"
	ClaimTypePharmacy      = "pharmacy"
	ClaimTypeOral          = "oral"
	ClaimTypeVision        = "vision"
)

// ClaimInput is everything a claim or prior authorization carries.
type ClaimInput struct {
	Envelope
	// ClaimID is our claim id; it becomes the Claim resource id and the value
	// of Claim.identifier, the de-duplication key NPHIES enforces.
	ClaimID uuid.UUID
	// Created is when the claim was created.
	Created time.Time
	// Type is a ClaimType* constant.
	Type string
	// SubType is ip, op or emr; derived from Type when empty.
	SubType string
	// Priority is normal (default), stat or deferred.
	Priority string
	// Payer is the insurer.
	Payer Payer
	// Patient is the insured patient.
	Patient PatientInput
	// Coverage is the patient's policy with Payer.
	Coverage CoverageInput
	// Practitioner is the treating clinician (care team member 1).
	Practitioner PractitionerInput
	// Diagnoses lists at least one diagnosis.
	Diagnoses []DiagnosisInput
	// Encounter is required for professional and institutional claims.
	Encounter *EncounterInput
	// EpisodeID is our episode identifier (required on claims).
	EpisodeID string
	// PreAuthRefs are the payer's prior-authorization references.
	PreAuthRefs []string
	// PriorAuthResponses are the identifiers of the payer's ClaimResponses
	// that granted PreAuthRefs (extension-priorauthResponse, BV-00462).
	PriorAuthResponses []Identifier
	// SupportingInfo is the visit's minimum data set (FindingsInfo) and any
	// other supporting information, numbered from 1 in this order.
	SupportingInfo []SupportingInfo
	// Resubmits is the Claim.identifier of the claim this one corrects and
	// resubmits (Claim.related, relationship "prior"); nil for a first
	// submission.
	Resubmits *Identifier
	// Admission is an institutional claim's hospital stay (required
	// there); it makes the encounter inpatient or day case.
	Admission *AdmissionInput
	// VisionPrescription is a vision claim's prescription (Claim.prescription).
	VisionPrescription *VisionPrescriptionInput
	// Items are the service lines (at least one).
	Items []ItemInput
	// TotalHalalas must equal the sum of the items' NetHalalas.
	TotalHalalas int64
}

// EligibilityInput is an eligibility (coverage) check.
type EligibilityInput struct {
	Envelope
	// RequestID is our eligibility check id (CoverageEligibilityRequest id
	// and identifier value).
	RequestID uuid.UUID
	// Created is when the check was created.
	Created time.Time
	// Purposes ⊂ {auth-requirements, benefits, discovery, validation};
	// default [benefits, validation].
	Purposes []string
	// Payer is the insurer asked.
	Payer Payer
	// Patient is the patient.
	Patient PatientInput
	// Coverage is required unless the purpose is discovery only.
	Coverage *CoverageInput
	// ServiceStart is the (first) planned service date.
	ServiceStart time.Time
	// ServiceEnd optionally ends a service period.
	ServiceEnd time.Time
}

// TaskInput is a cancel request or status check on one of our claims.
type TaskInput struct {
	Envelope
	// TaskID is our task id.
	TaskID uuid.UUID
	// Created is when the task was created.
	Created time.Time
	// Payer is the insurer of the claim.
	Payer Payer
	// Claim is the Claim.identifier of the target claim.
	Claim Identifier
	// Reason is the cancel reason (WI, NP, TAS); default WI. Cancel only.
	Reason string
	// Nullify asks for nullify instead of cancel. Cancel only.
	Nullify bool
}

// PollInput is a poll request to NPHIES for queued messages.
type PollInput struct {
	Envelope
	// TaskID is our poll task id.
	TaskID uuid.UUID
	// Created is when the poll was created.
	Created time.Time
	// Include restricts the poll to these message types.
	Include []string
	// Exclude skips these message types (not with Include).
	Exclude []string
	// Count is how many messages to fetch, 1..100 (0 means NPHIES's default, 1).
	Count int64
	// Focus optionally restricts the poll to responses to one message.
	Focus *Identifier
}

// CommunicationInput is our (solicited or unsolicited) communication to a
// payer about a claim.
type CommunicationInput struct {
	Envelope
	// CommunicationID is our communication id.
	CommunicationID uuid.UUID
	// Created is when it was written.
	Created time.Time
	// Payer is the insurer.
	Payer Payer
	// Patient is the claim's patient.
	Patient PatientInput
	// Claim is the Claim.identifier the communication is about.
	Claim Identifier
	// BasedOn is the payer's CommunicationRequest.identifier when solicited.
	BasedOn *Identifier
	// Texts are free-text payloads.
	Texts []string
	// Attachments are documents; with Texts at least one payload is needed.
	Attachments []AttachmentInput
}

// AttachmentInput is one document sent with a communication.
type AttachmentInput struct {
	// ContentType is the MIME type, e.g. application/pdf.
	ContentType string
	// Title names the document.
	Title string
	// Data is the raw document.
	Data []byte
	// Created is when it was attached; a claim's only (a communication's
	// is the communication's).
	Created time.Time
}

// PaymentNoticeInput acknowledges a payer's payment reconciliation to NPHIES.
type PaymentNoticeInput struct {
	Envelope
	// NoticeID is our payment notice id.
	NoticeID uuid.UUID
	// Created is when it was written.
	Created time.Time
	// Reconciliation is the PaymentReconciliation.identifier being answered.
	Reconciliation Identifier
	// PaymentDate is when the money arrived.
	PaymentDate time.Time
	// AmountHalalas is the amount received.
	AmountHalalas int64
	// Status is paid or cleared; default paid.
	Status string
}

// builder accumulates one bundle.
type bundle struct {
	b       *Builder
	env     Envelope
	event   string
	entries []BundleEntry
	err     error
}

// Identifier systems of our own business identifiers, derived from BaseURL so
// they are unique per provider (NPHIES de-duplicates on system+value).

// ClaimIdentifier returns the Claim.identifier our claims carry for claimID;
// the poller correlates ClaimResponse.request.identifier against it.
func (b *Builder) ClaimIdentifier(claimID uuid.UUID) Identifier {
	return Identifier{System: b.base() + "/claim", Value: claimID.String()}
}

// base returns BaseURL without a trailing slash.
func (b *Builder) base() string { return strings.TrimRight(b.BaseURL, "/") }

// fullURL returns our fullUrl for a resource.
func (b *Builder) fullURL(rt, id string) string { return b.base() + "/" + rt + "/" + id }

// check validates the builder configuration.
func (b *Builder) check() error {
	if b.ProviderLicense == "" {
		return invalid("provider licence is required")
	}
	u, err := url.Parse(b.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalid("base URL must be an absolute http(s) URL")
	}
	return nil
}

// newBundle starts a message bundle after validating the envelope.
func (b *Builder) newBundle(env Envelope, event string) (*bundle, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	if env.BundleID == uuid.Nil || env.MessageHeaderID == uuid.Nil {
		return nil, invalid("bundle and message header ids are required")
	}
	if env.BundleID == env.MessageHeaderID {
		return nil, invalid("bundle and message header ids must differ")
	}
	if env.Timestamp.IsZero() {
		return nil, invalid("timestamp is required")
	}
	return &bundle{b: b, env: env, event: event}, nil
}

// add appends a resource entry and returns its fullUrl.
func (bb *bundle) add(fullURL string, res any) string {
	raw, err := json.Marshal(res)
	if err != nil && bb.err == nil {
		bb.err = fmt.Errorf("marshal %s: %w", fullURL, err)
	}
	bb.entries = append(bb.entries, BundleEntry{FullURL: fullURL, Resource: raw})
	return fullURL
}

// finish prepends the MessageHeader and serialises the bundle.
func (bb *bundle) finish(receiver Reference, endpoint, focus string, focusID Identifier) (*Message, error) {
	if bb.err != nil {
		return nil, bb.err
	}
	mhID := bb.env.MessageHeaderID.String()
	mh := MessageHeader{
		ResourceType: "MessageHeader",
		ID:           mhID,
		Meta:         &Meta{Profile: []string{Profile("message-header")}},
		EventCoding:  &Coding{System: SystemMessageEvents, Code: bb.event},
		Destination:  []MessageDestination{{Endpoint: endpoint, Receiver: &receiver}},
		Sender: &Reference{Type: "Organization", Identifier: &Identifier{
			System: SystemProviderLicense, Value: bb.b.ProviderLicense}},
		Source: &MessageSource{Endpoint: bb.b.base()},
		Focus:  []Reference{{Reference: focus}},
	}
	raw, err := json.Marshal(mh)
	if err != nil {
		return nil, fmt.Errorf("marshal message header: %w", err)
	}
	entries := append([]BundleEntry{{FullURL: "urn:uuid:" + mhID, Resource: raw}}, bb.entries...)
	body, err := json.Marshal(Bundle{
		ResourceType: "Bundle",
		ID:           bb.env.BundleID.String(),
		Meta:         &Meta{Profile: []string{Profile("bundle")}},
		Type:         "message",
		Timestamp:    instant(bb.env.Timestamp),
		Entry:        entries,
	})
	if err != nil {
		return nil, fmt.Errorf("marshal bundle: %w", err)
	}
	return &Message{
		Event:           bb.event,
		BundleID:        bb.env.BundleID,
		MessageHeaderID: bb.env.MessageHeaderID,
		Focus:           focusID,
		Body:            body,
	}, nil
}

// payerReceiver returns the destination receiver and endpoint for a payer.
func payerReceiver(p Payer) (Reference, string) {
	return Reference{Type: "Organization", Identifier: &Identifier{System: SystemPayerLicense, Value: p.License}},
		SystemPayerLicense + "/" + p.License
}

// nphiesReceiver returns the destination receiver and endpoint for NPHIES.
func nphiesReceiver() (Reference, string) {
	return Reference{Type: "Organization", Identifier: &Identifier{System: SystemNPHIESLicense, Value: NPHIESLicense}},
		NPHIESEndpoint
}

// instant formats t as a FHIR instant in Riyadh time with milliseconds.
func instant(t time.Time) string { return t.In(riyadh).Format("2006-01-02T15:04:05.000-07:00") }

// dateTime formats t as a FHIR dateTime with seconds in Riyadh time.
func dateTime(t time.Time) string { return t.In(riyadh).Format("2006-01-02T15:04:05-07:00") }

// date formats t as a FHIR date in Riyadh time.
func date(t time.Time) string { return t.In(riyadh).Format("2006-01-02") }

// derive returns a deterministic id for a resource of the message.
func derive(parts ...string) string {
	return uuid.NewSHA1(idNamespace, []byte(strings.Join(parts, "\x00"))).String()
}

// money returns SAR Money for halalas.
func money(h int64) *Money { v := Decimal(h); return &Money{Value: &v, Currency: "SAR"} }

// cc returns a one-coding CodeableConcept.
func cc(system, code string) *CodeableConcept {
	return &CodeableConcept{Coding: []Coding{{System: system, Code: code}}}
}

// boolp returns a pointer to v.
func boolp(v bool) *bool { return &v }

// strp returns a pointer to v.
func strp(v string) *string { return &v }

// ext builds an NPHIES extension.
func ext(name string) Extension { return Extension{URL: ExtensionBase + name} }

// addProvider adds our provider Organization and returns its fullUrl.
func (bb *bundle) addProvider() string {
	id := derive("provider", bb.b.ProviderLicense)
	var exts []Extension
	if bb.b.ProviderType != "" {
		x := ext("extension-provider-type")
		x.ValueCodeableConcept = cc(SystemProviderType, bb.b.ProviderType)
		exts = append(exts, x)
	}
	return bb.add(bb.b.fullURL("Organization", id), Organization{
		ResourceType: "Organization", ID: id,
		Meta:       &Meta{Profile: []string{Profile("provider-organization")}},
		Extension:  exts,
		Identifier: []Identifier{{System: SystemProviderLicense, Value: bb.b.ProviderLicense}},
		Active:     boolp(true),
		Type:       []CodeableConcept{*cc("http://nphies.sa/terminology/CodeSystem/organization-type", "prov")},
		Name:       nonEmpty(bb.b.ProviderName, bb.b.ProviderLicense),
	})
}

// addInsurer adds the payer Organization and returns its fullUrl.
func (bb *bundle) addInsurer(p Payer) string {
	id := derive("insurer", p.License)
	return bb.add(bb.b.fullURL("Organization", id), Organization{
		ResourceType: "Organization", ID: id,
		Meta:       &Meta{Profile: []string{Profile("insurer-organization")}},
		Identifier: []Identifier{{System: SystemPayerLicense, Value: p.License}},
		Active:     boolp(true),
		Type:       []CodeableConcept{*cc("http://nphies.sa/terminology/CodeSystem/organization-type", "ins")},
		Name:       nonEmpty(p.Name, p.License),
	})
}

// nonEmpty returns s, or fallback when s is empty.
func nonEmpty(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// addPatient adds the Patient and returns its fullUrl.
func (bb *bundle) addPatient(p PatientInput) string {
	if p.ID == uuid.Nil || p.IDValue == "" || p.Gender == "" || p.BirthDate.IsZero() || p.Family == "" {
		bb.fail("patient id, identifier, family name, gender and birth date are required")
	}
	typ, ok := patientIDTypes[p.IDKind]
	if !ok {
		bb.fail("unknown patient identifier kind")
	}
	name := HumanName{Use: "official", Family: p.Family, Given: p.Given,
		Text: strings.TrimSpace(strings.Join(append(append([]string{}, p.Given...), p.Family), " "))}
	pt := Patient{
		ResourceType: "Patient", ID: p.ID.String(),
		Meta: &Meta{Profile: []string{Profile("patient")}},
		Identifier: []Identifier{{
			Type:   &CodeableConcept{Coding: []Coding{{System: "http://terminology.hl7.org/CodeSystem/v2-0203", Code: typ, Display: p.IDKind}}},
			System: "http://nphies.sa/identifier/" + p.IDKind,
			Value:  p.IDValue,
		}},
		Active: boolp(true),
		Name:   []HumanName{name},
		Gender: p.Gender,
		// NPHIES requires its own KSA gender extension beside the FHIR code.
		GenderElement: &Element{Extension: []Extension{{
			URL:                  ExtensionBase + "extension-ksa-administrative-gender",
			ValueCodeableConcept: cc("http://nphies.sa/terminology/CodeSystem/ksa-administrative-gender", p.Gender),
		}}},
		BirthDate: date(p.BirthDate),
	}
	if p.Phone != "" {
		pt.Telecom = []ContactPoint{{System: "phone", Value: p.Phone}}
	}
	if p.Occupation != "" {
		x := ext("extension-occupation")
		x.ValueCodeableConcept = cc(SystemOccupation, p.Occupation)
		pt.Extension = []Extension{x}
	}
	if p.MaritalStatus != "" {
		pt.MaritalStatus = cc(SystemMaritalStatus, p.MaritalStatus)
	}
	return bb.add(bb.b.fullURL("Patient", pt.ID), pt)
}

// addCoverage adds the Coverage, with the subscriber and the policy holder
// it references when they are not the patient, and returns its fullUrl.
func (bb *bundle) addCoverage(c CoverageInput, patient, insurer string, payer Payer) string {
	if c.ID == uuid.Nil || c.MemberID == "" || c.PolicyNumber == "" {
		bb.fail("coverage id, member id and policy number are required")
	}
	system := nonEmpty(c.MemberSystem, MemberIDSystems[payer.License])
	if system == "" {
		bb.fail("the payer's member-ID system is not known: record it on the coverage (memberIdSystem)")
	}
	rel := nonEmpty(c.Relationship, "self")
	subscriber := patient
	switch {
	case rel != "self" && c.Subscriber == nil:
		bb.fail("a dependant's coverage needs its subscriber")
	case rel != "self":
		subscriber = bb.addPatient(*c.Subscriber)
	}
	holder := subscriber
	if h := c.PolicyHolder; h != nil {
		holder = bb.addPolicyHolder(*h)
	}
	classes := []CoverageClass{{
		Type:  cc("http://terminology.hl7.org/CodeSystem/coverage-class", "group"),
		Value: c.PolicyNumber, Name: nonEmpty(c.PolicyHolderName, c.PolicyNumber),
	}}
	if c.Plan != "" {
		classes = append(classes, CoverageClass{
			Type:  cc("http://terminology.hl7.org/CodeSystem/coverage-class", "plan"),
			Value: c.Plan, Name: nonEmpty(c.PlanName, c.Plan),
		})
	}
	cov := Coverage{
		ResourceType: "Coverage", ID: c.ID.String(),
		Meta:         &Meta{Profile: []string{Profile("coverage")}},
		Identifier:   []Identifier{{System: system, Value: c.MemberID}},
		Status:       "active",
		Type:         cc("http://nphies.sa/terminology/CodeSystem/coverage-type", "EHCPOL"),
		PolicyHolder: &Reference{Reference: holder},
		Subscriber:   &Reference{Reference: subscriber},
		Beneficiary:  &Reference{Reference: patient},
		Relationship: cc("http://terminology.hl7.org/CodeSystem/subscriber-relationship", rel),
		Payor:        []Reference{{Reference: insurer}},
		Class:        classes,
		Network:      c.Network,
	}
	return bb.add(bb.b.fullURL("Coverage", cov.ID), cov)
}

// addPolicyHolder adds the Organization holding a group policy and returns
// its fullUrl.
func (bb *bundle) addPolicyHolder(h PolicyHolderInput) string {
	if h.ID == "" || h.Name == "" {
		bb.fail("a policy holder needs its identifier and name")
	}
	id := derive("policyholder", h.ID)
	return bb.add(bb.b.fullURL("Organization", id), Organization{
		ResourceType: "Organization", ID: id,
		Meta:       &Meta{Profile: []string{Profile("policyholder-organization")}},
		Identifier: []Identifier{{System: SystemOrganizationID, Value: h.ID}},
		Active:     boolp(true),
		Name:       h.Name,
	})
}

// addFacility adds our facility's Location, managed by the provider, and
// returns its fullUrl; "" when no facility is configured.
func (bb *bundle) addFacility(provider string) string {
	f := bb.b.Facility
	if f.License == "" {
		return ""
	}
	id := derive("location", f.License)
	return bb.add(bb.b.fullURL("Location", id), Location{
		ResourceType: "Location", ID: id,
		Meta:                 &Meta{Profile: []string{Profile("location")}},
		Identifier:           []Identifier{{System: SystemLocationLicense, Value: f.License}},
		Status:               "active",
		Name:                 nonEmpty(f.Name, nonEmpty(bb.b.ProviderName, bb.b.ProviderLicense)),
		Type:                 []CodeableConcept{*cc("http://terminology.hl7.org/CodeSystem/v3-RoleCode", nonEmpty(f.Type, "OF"))},
		ManagingOrganization: &Reference{Reference: provider},
	})
}

// fail records the first input error.
func (bb *bundle) fail(msg string) {
	if bb.err == nil {
		bb.err = &InputError{Reason: msg}
	}
}

// BuildClaim builds a claim-request bundle (Claim use=claim).
func (b *Builder) BuildClaim(in ClaimInput) (*Message, error) {
	return b.buildClaim(in, EventClaimRequest, useClaim)
}

// BuildPriorAuth builds a priorauth-request bundle (Claim use=preauthorization).
func (b *Builder) BuildPriorAuth(in ClaimInput) (*Message, error) {
	return b.buildClaim(in, EventPriorAuthRequest, usePreAuth)
}

// SubTypeEmergency is the subtype of an emergency visit's professional
// claim.
const SubTypeEmergency = "emr"

// subTypes is the default subtype per claim type.
var subTypes = map[string]string{
	ClaimTypeInstitutional: "ip", ClaimTypeProfessional: "op", ClaimTypePharmacy: "op",
	ClaimTypeOral: "op", ClaimTypeVision: "op",
}

// validateItems checks the arithmetic NPHIES enforces (net = qty × unit +
// tax, total = Σ net) before anything is sent.
func validateItems(items []ItemInput, total int64) error {
	if len(items) == 0 {
		return invalid("at least one item is required")
	}
	seen := map[int64]bool{}
	var sum int64
	for _, it := range items {
		switch {
		case it.Sequence <= 0 || seen[it.Sequence]:
			return invalid("item sequence %d is not a unique positive number", it.Sequence)
		case it.Quantity <= 0:
			return invalid("item %d: quantity must be positive", it.Sequence)
		case it.UnitPriceHalalas < 0 || it.TaxHalalas < 0 || it.PatientShareHalalas < 0:
			return invalid("item %d: amounts must not be negative", it.Sequence)
		case it.ServiceCode == "":
			return invalid("item %d: service code is required", it.Sequence)
		case !validItemCode(it):
			return invalid("item %d: %q is not a code of %s", it.Sequence, it.ServiceCode, nonEmpty(it.System, SystemServices))
		case it.ServicedDate.IsZero():
			return invalid("item %d: serviced date is required", it.Sequence)
		case utf8.RuneCountInString(it.Display) > MaxDisplayLength:
			return invalid("item %d: description is over NPHIES's %d characters (BV-00279)", it.Sequence, MaxDisplayLength)
		}
		if it.Quantity > 1<<31 || it.UnitPriceHalalas > 1<<40 {
			return invalid("item %d: amount out of range", it.Sequence)
		}
		if want := it.Quantity*it.UnitPriceHalalas + it.TaxHalalas; it.NetHalalas != want {
			return invalid("item %d: net %d ≠ quantity × unit price + tax = %d", it.Sequence, it.NetHalalas, want)
		}
		if it.PatientShareHalalas > it.NetHalalas {
			return invalid("item %d: patient share exceeds net", it.Sequence)
		}
		seen[it.Sequence] = true
		sum += it.NetHalalas
	}
	if sum != total {
		return invalid("total %d ≠ sum of item net %d", total, sum)
	}
	return nil
}

// validItemCode reports whether an item's code has the shape of a code of
// its NPHIES system: a CPT code (99213) is not a services (SBS) code.
func validItemCode(it ItemInput) bool {
	sys, ok := hg.ParseCodeSystem(nonEmpty(it.System, SystemServices))
	return ok && strings.HasPrefix(nonEmpty(it.System, SystemServices), hg.CodeSystemBase) && sys.ValidCode(it.ServiceCode)
}

// MaxDisplayLength is the longest Coding.display NPHIES accepts
// (BV-00279).
const MaxDisplayLength = 100

// Claim.use values, which decide the event, the profile and what a claim
// must carry beyond a prior authorization.
const (
	useClaim   = "claim"
	usePreAuth = "preauthorization"
)

// buildClaim builds a claim or prior-authorization bundle: the whole input
// is validated first, then the bundle is assembled from it.
func (b *Builder) buildClaim(in ClaimInput, event, use string) (*Message, error) {
	bb, err := b.newBundle(in.Envelope, event)
	if err != nil {
		return nil, err
	}
	if err := validateClaim(in, use); err != nil {
		return nil, err
	}
	claimURL := b.fullURL("Claim", in.ClaimID.String())
	// Reserve the Claim's position right after the MessageHeader; fill it
	// once the referenced resources have fullUrls.
	bb.entries = append(bb.entries, BundleEntry{FullURL: claimURL})
	parties := bb.addClaimParties(in)
	claim := b.claimResource(in, use, parties)
	bb.applyClaimType(&claim, in, use, parties)
	if in.Resubmits != nil {
		prior := *in.Resubmits
		claim.Related = []ClaimRelated{{Claim: &Reference{Type: "Claim", Identifier: &prior},
			Relationship: cc(SystemRelatedClaim, "prior")}}
	}
	raw, err := json.Marshal(claim)
	if err != nil {
		return nil, fmt.Errorf("marshal claim: %w", err)
	}
	bb.entries[0].Resource = raw
	receiver, endpoint := payerReceiver(in.Payer)
	return bb.finish(receiver, endpoint, claimURL, claim.Identifier[0])
}

// validateClaim refuses, before anything is built, an input NPHIES would
// reject. The checks run in a fixed order, so the first fault is the one
// reported.
func validateClaim(in ClaimInput, use string) error {
	if err := validateClaimParties(in, use); err != nil {
		return err
	}
	if err := validateItems(in.Items, in.TotalHalalas); err != nil {
		return err
	}
	if err := validateClaimType(in, use); err != nil {
		return err
	}
	if p := nonEmpty(in.Priority, "normal"); p != "normal" && p != "stat" && p != "deferred" {
		return invalid("priority must be normal, stat or deferred")
	}
	if e := in.Encounter; e != nil {
		switch status := nonEmpty(e.Status, EncounterFinished); {
		case e.ID == uuid.Nil || e.Start.IsZero():
			return invalid("encounter id and start are required")
		case use == useClaim && status != EncounterFinished:
			return invalid("a claim is for a finished encounter, not one %s", status)
		case status != EncounterPlanned && status != EncounterArrived && status != EncounterInProgress && status != EncounterFinished:
			return invalid("encounter status must be planned, arrived, in-progress or finished")
		}
	}
	for i, d := range in.Diagnoses {
		if d.Code == "" {
			return invalid("diagnosis %d has no code", i+1)
		}
	}
	if use == useClaim {
		for _, it := range in.Items {
			if it.PatientInvoice == "" {
				return invalid("item %d: patient invoice is required on claims", it.Sequence)
			}
		}
	}
	return nil
}

// validateClaimParties checks the claim's identity and whom it involves:
// payer, claim type, diagnoses, practitioner, and the encounter and episode
// its type and use require.
func validateClaimParties(in ClaimInput, use string) error {
	if in.ClaimID == uuid.Nil || in.Created.IsZero() {
		return invalid("claim id and created time are required")
	}
	if in.Payer.License == "" {
		return invalid("payer licence is required")
	}
	if _, ok := subTypes[in.Type]; !ok {
		return invalid("unknown claim type %q", in.Type)
	}
	if len(in.Diagnoses) == 0 {
		return invalid("at least one diagnosis is required")
	}
	if in.Practitioner.License == "" || in.Practitioner.ID == uuid.Nil {
		return invalid("practitioner id and licence are required")
	}
	if claimTypeNeedsEncounter(in.Type, use) && in.Encounter == nil {
		return invalid("%s %s requires an encounter", in.Type, use)
	}
	if use == useClaim && in.EpisodeID == "" {
		return invalid("episode id is required on claims")
	}
	return nil
}

// claimParties are the fullUrls of the resources a Claim references.
type claimParties struct {
	provider, insurer, patient, coverage, practitioner string
	// encounter is empty when the claim has none.
	encounter string
}

// addClaimParties adds, in the bundle's order, the resources the Claim
// references and returns their fullUrls.
func (bb *bundle) addClaimParties(in ClaimInput) claimParties {
	var p claimParties
	p.provider = bb.addProvider()
	p.insurer = bb.addInsurer(in.Payer)
	p.patient = bb.addPatient(in.Patient)
	p.coverage = bb.addCoverage(in.Coverage, p.patient, p.insurer, in.Payer)
	p.practitioner = bb.addPractitioner(in.Practitioner)
	if in.Encounter != nil {
		p.encounter = bb.addEncounter(*in.Encounter, in.Admission, p.patient, p.provider)
	}
	return p
}

// addPractitioner adds the treating Practitioner and returns its fullUrl.
func (bb *bundle) addPractitioner(pr PractitionerInput) string {
	id := pr.ID.String()
	return bb.add(bb.b.fullURL("Practitioner", id), Practitioner{
		ResourceType: "Practitioner", ID: id,
		Meta: &Meta{Profile: []string{Profile("practitioner")}},
		Identifier: []Identifier{{
			Type:   cc("http://terminology.hl7.org/CodeSystem/v2-0203", "MD"),
			System: SystemPractitionerLic, Value: pr.License,
		}},
		Active: boolp(true),
		Name:   []HumanName{{Use: "official", Text: nonEmpty(pr.Name, pr.License)}},
	})
}

// addEncounter adds the Encounter the claim is for, an institutional
// claim's with its admission, and returns its fullUrl.
func (bb *bundle) addEncounter(e EncounterInput, a *AdmissionInput, patient, provider string) string {
	period := &Period{Start: dateTime(e.Start)}
	if !e.End.IsZero() {
		period.End = dateTime(e.End)
	}
	id := e.ID.String()
	return bb.add(bb.b.fullURL("Encounter", id), Encounter{
		ResourceType: "Encounter", ID: id,
		Meta: &Meta{Profile: []string{Profile("encounter")}},
		Extension: append([]Extension{{
			URL:                  ExtensionBase + "extension-serviceEventType",
			ValueCodeableConcept: cc("http://nphies.sa/terminology/CodeSystem/service-event-type", nonEmpty(e.ServiceEventType, "ICSE")),
		}}, slices.Concat(admissionExtensions(a), emergencyExtensions(e.Emergency))...),
		Identifier:      []Identifier{{System: bb.b.base() + "/encounter", Value: id}},
		Status:          nonEmpty(e.Status, EncounterFinished),
		Class:           &Coding{System: "http://terminology.hl7.org/CodeSystem/v3-ActCode", Code: encounterClass(e, a)},
		Priority:        encounterPriority(e.Emergency),
		Subject:         &Reference{Reference: patient},
		Period:          period,
		Hospitalization: hospitalization(a),
		ServiceProvider: &Reference{Reference: provider},
	})
}

// claimResource is the Claim itself, referencing the parties already in
// the bundle.
func (b *Builder) claimResource(in ClaimInput, use string, p claimParties) Claim {
	diagnoses, diagSeq := claimDiagnoses(in.Diagnoses)
	return Claim{
		ResourceType: "Claim", ID: in.ClaimID.String(),
		Meta:       &Meta{Profile: []string{Profile(claimProfile(in.Type, use))}},
		Extension:  b.claimExtensions(in, p.encounter),
		Identifier: []Identifier{b.ClaimIdentifier(in.ClaimID)},
		Status:     "active",
		Type:       cc("http://terminology.hl7.org/CodeSystem/claim-type", in.Type),
		SubType:    cc("http://nphies.sa/terminology/CodeSystem/claim-subtype", nonEmpty(in.SubType, subTypes[in.Type])),
		Use:        use,
		Patient:    &Reference{Reference: p.patient},
		Created:    dateTime(in.Created),
		Insurer:    &Reference{Reference: p.insurer},
		Provider:   &Reference{Reference: p.provider},
		Priority:   cc("http://terminology.hl7.org/CodeSystem/processpriority", nonEmpty(in.Priority, "normal")),
		Payee:      &ClaimPayee{Type: cc("http://terminology.hl7.org/CodeSystem/payeetype", "provider")},
		CareTeam: []ClaimCareTeam{{
			Sequence:      1,
			Provider:      &Reference{Reference: p.practitioner},
			Role:          cc("http://terminology.hl7.org/CodeSystem/claimcareteamrole", "primary"),
			Qualification: cc("http://nphies.sa/terminology/CodeSystem/practice-codes", nonEmpty(in.Practitioner.SpecialtyCode, "08.00")),
		}},
		SupportingInfo: claimSupportingInfo(in.SupportingInfo),
		Diagnosis:      diagnoses,
		Insurance:      []ClaimInsurance{{Sequence: 1, Focal: true, Coverage: &Reference{Reference: p.coverage}, PreAuthRef: in.PreAuthRefs}},
		Item:           b.claimItems(in.Items, use, diagSeq),
		Total:          money(in.TotalHalalas),
	}
}

// claimProfile is the NPHIES profile of a claim of type typ and use.
func claimProfile(typ, use string) string {
	switch {
	case use == usePreAuth && typ == ClaimTypeOral:
		return "oral-priorauth"
	case use == usePreAuth:
		return typ + "-priorauth"
	}
	return typ + "-claim"
}

// claimExtensions are the Claim's encounter (fullUrl, if any), the payer's
// answers to the prior authorizations it quotes, and its episode.
func (b *Builder) claimExtensions(in ClaimInput, encounter string) []Extension {
	var exts []Extension
	if encounter != "" {
		x := ext("extension-encounter")
		x.ValueReference = &Reference{Reference: encounter}
		exts = append(exts, x)
	}
	for _, resp := range in.PriorAuthResponses {
		x := ext("extension-priorauthResponse")
		x.ValueReference = &Reference{Identifier: &resp}
		exts = append(exts, x)
	}
	if in.EpisodeID != "" {
		x := ext("extension-episode")
		x.ValueIdentifier = &Identifier{System: b.base() + "/episode", Value: in.EpisodeID}
		exts = append(exts, x)
	}
	return exts
}

// claimDiagnoses numbers the diagnoses from 1, the first principal and the
// rest secondary unless typed, and returns the sequences every item cites.
func claimDiagnoses(in []DiagnosisInput) ([]ClaimDiagnosis, []int64) {
	diagnoses := make([]ClaimDiagnosis, len(in))
	seq := make([]int64, len(in))
	for i, d := range in {
		typ := d.Type
		if typ == "" {
			typ = "secondary"
			if i == 0 {
				typ = "principal"
			}
		}
		diagnoses[i] = ClaimDiagnosis{
			Sequence:                 int64(i + 1),
			DiagnosisCodeableConcept: cc("http://hl7.org/fhir/sid/icd-10-am", d.Code),
			Type:                     []CodeableConcept{*cc("http://nphies.sa/terminology/CodeSystem/diagnosis-type", typ)},
		}
		seq[i] = int64(i + 1)
	}
	return diagnoses, seq
}

// claimItems are the Claim's items, each citing every diagnosis; a claim's
// items also name the patient invoice.
func (b *Builder) claimItems(in []ItemInput, use string, diagSeq []int64) []ClaimItem {
	items := make([]ClaimItem, len(in))
	for i, it := range in {
		q := DecimalFromInt(it.Quantity)
		items[i] = ClaimItem{
			Extension:         b.itemExtensions(it, use),
			Sequence:          it.Sequence,
			CareTeamSequence:  []int64{1},
			DiagnosisSequence: diagSeq,
			ProductOrService: &CodeableConcept{Coding: []Coding{{System: nonEmpty(it.System, SystemServices),
				Code: it.ServiceCode, Display: it.Display}}},
			ServicedDate: date(it.ServicedDate),
			Quantity:     &Quantity{Value: &q},
			UnitPrice:    money(it.UnitPriceHalalas),
			Net:          money(it.NetHalalas),
		}
	}
	return items
}

// itemExtensions are an item's package flag, tax and patient share, and on
// a claim its patient invoice.
func (b *Builder) itemExtensions(it ItemInput, use string) []Extension {
	pkg := ext("extension-package")
	pkg.ValueBoolean = boolp(false)
	tax := ext("extension-tax")
	tax.ValueMoney = money(it.TaxHalalas)
	share := ext("extension-patient-share")
	share.ValueMoney = money(it.PatientShareHalalas)
	exts := []Extension{pkg, tax, share}
	if it.PharmacistSelectionReason != "" {
		// No official example carries it: the URL is named as NPHIES names
		// its extensions, the value coded like the other coded ones.
		reason := ext("extension-pharmacistSelectionReason")
		reason.ValueCodeableConcept = cc(SystemPharmacistSelection, it.PharmacistSelectionReason)
		exts = append(exts, reason)
	}
	if use == useClaim {
		inv := ext("extension-patientInvoice")
		inv.ValueIdentifier = &Identifier{System: b.base() + "/patientInvoice", Value: it.PatientInvoice}
		exts = append(exts, inv)
	}
	return exts
}

// BuildEligibility builds an eligibility-request bundle.
func (b *Builder) BuildEligibility(in EligibilityInput) (*Message, error) {
	bb, err := b.newBundle(in.Envelope, EventEligibilityRequest)
	if err != nil {
		return nil, err
	}
	if in.RequestID == uuid.Nil || in.Created.IsZero() || in.ServiceStart.IsZero() {
		return nil, invalid("request id, created and service start are required")
	}
	if in.Payer.License == "" {
		return nil, invalid("payer licence is required")
	}
	purposes := in.Purposes
	if len(purposes) == 0 {
		purposes = []string{"benefits", "validation"}
	}
	discoveryOnly := len(purposes) == 1 && purposes[0] == "discovery"
	if in.Coverage == nil && !discoveryOnly {
		return nil, invalid("coverage is required unless the purpose is discovery")
	}
	id := in.RequestID.String()
	reqURL := b.fullURL("CoverageEligibilityRequest", id)
	ident := Identifier{System: b.base() + "/coverageeligibilityrequest", Value: id}
	bb.entries = append(bb.entries, BundleEntry{FullURL: reqURL})
	provider := bb.addProvider()
	insurer := bb.addInsurer(in.Payer)
	patient := bb.addPatient(in.Patient)
	location := bb.addFacility(provider)
	req := CoverageEligibilityRequest{
		ResourceType: "CoverageEligibilityRequest", ID: id,
		Meta:       &Meta{Profile: []string{Profile("eligibility-request")}},
		Identifier: []Identifier{ident},
		Status:     "active",
		Priority:   cc("http://terminology.hl7.org/CodeSystem/processpriority", "normal"),
		Purpose:    purposes,
		Patient:    &Reference{Reference: patient},
		Created:    dateTime(in.Created),
		Provider:   &Reference{Reference: provider},
		Insurer:    &Reference{Reference: insurer},
	}
	if location != "" {
		req.Facility = &Reference{Reference: location}
	}
	if in.ServiceEnd.IsZero() {
		req.ServicedDate = date(in.ServiceStart)
	} else {
		req.ServicedPeriod = &Period{Start: date(in.ServiceStart), End: date(in.ServiceEnd)}
	}
	if in.Coverage != nil {
		cov := bb.addCoverage(*in.Coverage, patient, insurer, in.Payer)
		req.Insurance = []EligibilityInsurance{{Coverage: &Reference{Reference: cov}}}
	}
	raw, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("marshal eligibility request: %w", err)
	}
	bb.entries[0].Resource = raw
	receiver, endpoint := payerReceiver(in.Payer)
	return bb.finish(receiver, endpoint, reqURL, ident)
}

// BuildCancel builds a cancel-request bundle (Task code cancel or nullify).
func (b *Builder) BuildCancel(in TaskInput) (*Message, error) {
	code := "cancel"
	if in.Nullify {
		code = "nullify"
	}
	reason := nonEmpty(in.Reason, "WI")
	if reason != "WI" && reason != "NP" && reason != "TAS" {
		return nil, invalid("cancel reason must be WI, NP or TAS")
	}
	return b.buildClaimTask(in, EventCancelRequest, code, reason)
}

// BuildStatusCheck builds a status-check bundle (Task code status).
func (b *Builder) BuildStatusCheck(in TaskInput) (*Message, error) {
	return b.buildClaimTask(in, EventStatusCheck, "status", "")
}

// buildClaimTask builds a Task about one of our claims, addressed to its payer.
func (b *Builder) buildClaimTask(in TaskInput, event, code, reason string) (*Message, error) {
	bb, err := b.newBundle(in.Envelope, event)
	if err != nil {
		return nil, err
	}
	if in.TaskID == uuid.Nil || in.Created.IsZero() || in.Payer.License == "" || in.Claim.System == "" || in.Claim.Value == "" {
		return nil, invalid("task id, created, payer licence and claim identifier are required")
	}
	id := in.TaskID.String()
	taskURL := b.fullURL("Task", id)
	ident := Identifier{System: b.base() + "/task", Value: id}
	bb.entries = append(bb.entries, BundleEntry{FullURL: taskURL})
	provider := bb.addProvider()
	insurer := bb.addInsurer(in.Payer)
	claim := in.Claim
	task := Task{
		ResourceType: "Task", ID: id,
		Meta:         &Meta{Profile: []string{Profile("task")}},
		Identifier:   []Identifier{ident},
		Status:       "requested",
		Intent:       "order",
		Priority:     "routine",
		Code:         cc(SystemTaskCode, code),
		Focus:        &Reference{Type: "Claim", Identifier: &claim},
		AuthoredOn:   dateTime(in.Created),
		LastModified: dateTime(in.Created),
		Requester:    &Reference{Reference: provider},
		Owner:        &Reference{Reference: insurer},
	}
	if reason != "" {
		task.ReasonCode = cc(SystemTaskReasonCode, reason)
	}
	raw, err := json.Marshal(task)
	if err != nil {
		return nil, fmt.Errorf("marshal task: %w", err)
	}
	bb.entries[0].Resource = raw
	receiver, endpoint := payerReceiver(in.Payer)
	return bb.finish(receiver, endpoint, taskURL, ident)
}

// BuildPoll builds a poll-request bundle addressed to NPHIES.
func (b *Builder) BuildPoll(in PollInput) (*Message, error) {
	bb, err := b.newBundle(in.Envelope, EventPollRequest)
	if err != nil {
		return nil, err
	}
	if in.TaskID == uuid.Nil || in.Created.IsZero() {
		return nil, invalid("task id and created are required")
	}
	if len(in.Include) > 0 && len(in.Exclude) > 0 {
		return nil, invalid("include and exclude message types are mutually exclusive")
	}
	if in.Count < 0 || in.Count > 100 {
		return nil, invalid("poll count must be 1..100")
	}
	id := in.TaskID.String()
	taskURL := b.fullURL("Task", id)
	ident := Identifier{System: b.base() + "/task", Value: id}
	bb.entries = append(bb.entries, BundleEntry{FullURL: taskURL})
	provider := bb.addProvider()
	var inputs []TaskParameter
	for _, t := range in.Include {
		inputs = append(inputs, TaskParameter{Type: cc(SystemTaskInputType, "include-message-type"), ValueCode: strp(t)})
	}
	for _, t := range in.Exclude {
		inputs = append(inputs, TaskParameter{Type: cc(SystemTaskInputType, "exclude-message-type"), ValueCode: strp(t)})
	}
	if in.Count > 0 {
		n := in.Count
		inputs = append(inputs, TaskParameter{Type: cc(SystemTaskInputType, "count"), ValuePositiveInt: &n})
	}
	task := Task{
		ResourceType: "Task", ID: id,
		Meta:         &Meta{Profile: []string{Profile("task")}},
		Identifier:   []Identifier{ident},
		Status:       "requested",
		Intent:       "order",
		Priority:     "routine",
		Code:         cc(SystemTaskCode, "poll"),
		AuthoredOn:   dateTime(in.Created),
		LastModified: dateTime(in.Created),
		Requester:    &Reference{Reference: provider},
		Owner:        &Reference{Identifier: &Identifier{System: SystemNPHIESLicense, Value: NPHIESLicense}},
		Input:        inputs,
	}
	if in.Focus != nil {
		f := *in.Focus
		task.Focus = &Reference{Identifier: &f}
	}
	raw, err := json.Marshal(task)
	if err != nil {
		return nil, fmt.Errorf("marshal task: %w", err)
	}
	bb.entries[0].Resource = raw
	receiver, endpoint := nphiesReceiver()
	return bb.finish(receiver, endpoint, taskURL, ident)
}

// BuildCommunication builds a communication bundle (our reply to a payer's
// communication request, or an unsolicited communication).
func (b *Builder) BuildCommunication(in CommunicationInput) (*Message, error) {
	bb, err := b.newBundle(in.Envelope, EventCommunication)
	if err != nil {
		return nil, err
	}
	if in.CommunicationID == uuid.Nil || in.Created.IsZero() || in.Payer.License == "" || in.Claim.Value == "" {
		return nil, invalid("communication id, created, payer licence and claim identifier are required")
	}
	if len(in.Texts)+len(in.Attachments) == 0 {
		return nil, invalid("a communication needs a text or an attachment")
	}
	id := in.CommunicationID.String()
	comURL := b.fullURL("Communication", id)
	ident := Identifier{System: b.base() + "/communication", Value: id}
	bb.entries = append(bb.entries, BundleEntry{FullURL: comURL})
	provider := bb.addProvider()
	insurer := bb.addInsurer(in.Payer)
	patient := bb.addPatient(in.Patient)
	var payload []CommunicationPayload
	for _, t := range in.Texts {
		payload = append(payload, CommunicationPayload{ContentString: strp(t)})
	}
	for _, a := range in.Attachments {
		if a.ContentType == "" || len(a.Data) == 0 {
			return nil, invalid("attachments need a content type and data")
		}
		payload = append(payload, CommunicationPayload{ContentAttachment: &Attachment{
			ContentType: a.ContentType, Title: a.Title, Creation: dateTime(in.Created),
			Data: base64.StdEncoding.EncodeToString(a.Data),
		}})
	}
	claim := in.Claim
	com := Communication{
		ResourceType: "Communication", ID: id,
		Meta:       &Meta{Profile: []string{Profile("communication")}},
		Identifier: []Identifier{ident},
		Status:     "completed",
		Category:   []CodeableConcept{*cc("http://terminology.hl7.org/CodeSystem/communication-category", "instruction")},
		Priority:   "routine",
		Subject:    &Reference{Reference: patient},
		About:      []Reference{{Type: "Claim", Identifier: &claim}},
		Sent:       dateTime(in.Created),
		Recipient:  []Reference{{Reference: insurer}},
		Sender:     &Reference{Reference: provider},
		Payload:    payload,
	}
	if in.BasedOn != nil {
		bo := *in.BasedOn
		com.BasedOn = []Reference{{Type: "CommunicationRequest", Identifier: &bo}}
	}
	raw, err := json.Marshal(com)
	if err != nil {
		return nil, fmt.Errorf("marshal communication: %w", err)
	}
	bb.entries[0].Resource = raw
	receiver, endpoint := payerReceiver(in.Payer)
	return bb.finish(receiver, endpoint, comURL, ident)
}

// BuildPaymentNotice builds a payment-notice bundle addressed to NPHIES.
func (b *Builder) BuildPaymentNotice(in PaymentNoticeInput) (*Message, error) {
	bb, err := b.newBundle(in.Envelope, EventPaymentNotice)
	if err != nil {
		return nil, err
	}
	if in.NoticeID == uuid.Nil || in.Created.IsZero() || in.PaymentDate.IsZero() || in.Reconciliation.Value == "" {
		return nil, invalid("notice id, created, payment date and reconciliation identifier are required")
	}
	if in.AmountHalalas <= 0 {
		return nil, invalid("payment amount must be positive")
	}
	status := nonEmpty(in.Status, "paid")
	if status != "paid" && status != "cleared" {
		return nil, invalid("payment status must be paid or cleared")
	}
	id := in.NoticeID.String()
	pnURL := b.fullURL("PaymentNotice", id)
	ident := Identifier{System: b.base() + "/paymentnotice", Value: id}
	bb.entries = append(bb.entries, BundleEntry{FullURL: pnURL})
	provider := bb.addProvider()
	rec := in.Reconciliation
	pn := PaymentNotice{
		ResourceType: "PaymentNotice", ID: id,
		Meta:          &Meta{Profile: []string{Profile("payment-notice")}},
		Identifier:    []Identifier{ident},
		Status:        "active",
		Created:       dateTime(in.Created),
		Provider:      &Reference{Reference: provider},
		Payment:       &Reference{Identifier: &rec},
		PaymentDate:   date(in.PaymentDate),
		Payee:         &Reference{Reference: provider},
		Recipient:     &Reference{Type: "Organization", Identifier: &Identifier{System: SystemNPHIESLicense, Value: NPHIESLicense}},
		Amount:        money(in.AmountHalalas),
		PaymentStatus: cc("http://terminology.hl7.org/CodeSystem/paymentstatus", status),
	}
	raw, err := json.Marshal(pn)
	if err != nil {
		return nil, fmt.Errorf("marshal payment notice: %w", err)
	}
	bb.entries[0].Resource = raw
	receiver, endpoint := nphiesReceiver()
	return bb.finish(receiver, endpoint, pnURL, ident)
}
