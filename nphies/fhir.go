package nphies

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// The structs below are a deliberately minimal, hand-written slice of FHIR R4:
// only the elements NPHIES.md says we send or read. Every element is a pointer,
// slice or omitempty string so that nothing empty is ever emitted (NPHIES
// rejects empty elements), and choice types ([x]) are separate fields so that
// exactly one is emitted.

// Meta is FHIR Resource.meta: the profiles a resource claims and its tags.
type Meta struct {
	Profile []string `json:"profile,omitempty"`
	Tag     []Coding `json:"tag,omitempty"`
}

// Coding is a FHIR Coding. Extension carries NPHIES's error-expression
// extension on adjudication-error codings.
type Coding struct {
	Extension []Extension `json:"extension,omitempty"`
	System    string      `json:"system,omitempty"`
	Code      string      `json:"code,omitempty"`
	Display   string      `json:"display,omitempty"`
}

// CodeableConcept is a FHIR CodeableConcept. Extension carries NPHIES's
// error-expression extension on a Task's error output.
type CodeableConcept struct {
	Extension []Extension `json:"extension,omitempty"`
	Coding    []Coding    `json:"coding,omitempty"`
	Text      string      `json:"text,omitempty"`
}

// Code returns the first code in c whose system is system (any system when
// system is empty), or "" when there is none. It is nil-safe.
func (c *CodeableConcept) Code(system string) string {
	if c == nil {
		return ""
	}
	for _, cd := range c.Coding {
		if system == "" || cd.System == system {
			return cd.Code
		}
	}
	return ""
}

// Identifier is a FHIR Identifier: a business identifier such as a licence,
// a member ID or a claim identifier.
type Identifier struct {
	Use    string           `json:"use,omitempty"`
	Type   *CodeableConcept `json:"type,omitempty"`
	System string           `json:"system,omitempty"`
	Value  string           `json:"value,omitempty"`
}

// Key returns "system|value", the canonical string form used to correlate
// identifiers (for example a ClaimResponse.request with the Claim we sent).
func (i Identifier) Key() string { return i.System + "|" + i.Value }

// Reference is a FHIR Reference: a literal reference to a bundle fullUrl, or a
// logical reference by identifier.
type Reference struct {
	Reference  string      `json:"reference,omitempty"`
	Type       string      `json:"type,omitempty"`
	Identifier *Identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

// Period is a FHIR Period with date or dateTime bounds.
type Period struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

// Money is a FHIR Money; Value is exact hundredths (halalas for SAR).
type Money struct {
	Value    *Decimal `json:"value,omitempty"`
	Currency string   `json:"currency,omitempty"`
}

// Halalas returns the amount in halalas, or 0 for a nil Money or value.
func (m *Money) Halalas() int64 {
	if m == nil || m.Value == nil {
		return 0
	}
	return int64(*m.Value)
}

// Quantity is a FHIR (Simple)Quantity.
type Quantity struct {
	Value  *Decimal `json:"value,omitempty"`
	Unit   string   `json:"unit,omitempty"`
	System string   `json:"system,omitempty"`
	Code   string   `json:"code,omitempty"`
}

// Attachment is a FHIR Attachment; Data is base64 as FHIR requires.
type Attachment struct {
	ContentType string `json:"contentType,omitempty"`
	Data        string `json:"data,omitempty"`
	Title       string `json:"title,omitempty"`
	Creation    string `json:"creation,omitempty"`
}

// Extension is one FHIR extension; exactly one value field is set.
type Extension struct {
	URL                  string           `json:"url"`
	ValueCodeableConcept *CodeableConcept `json:"valueCodeableConcept,omitempty"`
	ValueIdentifier      *Identifier      `json:"valueIdentifier,omitempty"`
	ValueMoney           *Money           `json:"valueMoney,omitempty"`
	ValueBoolean         *bool            `json:"valueBoolean,omitempty"`
	ValueString          *string          `json:"valueString,omitempty"`
	ValueCode            *string          `json:"valueCode,omitempty"`
	ValueDateTime        *string          `json:"valueDateTime,omitempty"`
	ValueDate            *string          `json:"valueDate,omitempty"`
	ValuePeriod          *Period          `json:"valuePeriod,omitempty"`
	ValueReference       *Reference       `json:"valueReference,omitempty"`
	ValuePositiveInt     *int64           `json:"valuePositiveInt,omitempty"`
	ValueDecimal         *Decimal         `json:"valueDecimal,omitempty"`
	ValueQuantity        *Quantity        `json:"valueQuantity,omitempty"`
	ValueAttachment      *Attachment      `json:"valueAttachment,omitempty"`
}

// Element is the companion object of a primitive (`_gender`), present only to
// carry extensions.
type Element struct {
	Extension []Extension `json:"extension,omitempty"`
}

// findExt returns the first extension with url, or nil.
func findExt(exts []Extension, url string) *Extension {
	for i := range exts {
		if exts[i].URL == url {
			return &exts[i]
		}
	}
	return nil
}

// Bundle is a FHIR Bundle. Entries keep their resources raw so that a
// received bundle can be re-read, audited and stored byte for byte.
type Bundle struct {
	ResourceType string        `json:"resourceType"`
	ID           string        `json:"id,omitempty"`
	Meta         *Meta         `json:"meta,omitempty"`
	Type         string        `json:"type,omitempty"`
	Timestamp    string        `json:"timestamp,omitempty"`
	Entry        []BundleEntry `json:"entry,omitempty"`
}

// BundleEntry is one Bundle.entry: its fullUrl and the raw resource.
type BundleEntry struct {
	FullURL  string          `json:"fullUrl,omitempty"`
	Resource json.RawMessage `json:"resource,omitempty"`
}

// ResourceType sniffs the resourceType of the entry's resource, returning ""
// when it cannot be read.
func (e BundleEntry) ResourceType() string {
	var probe struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(e.Resource, &probe); err != nil {
		return ""
	}
	return probe.ResourceType
}

// Decode decodes the entry's resource into v.
func (e BundleEntry) Decode(v any) error {
	if err := json.Unmarshal(e.Resource, v); err != nil {
		return fmt.Errorf("decode %s: %w", e.FullURL, err)
	}
	return nil
}

// Find returns the entry whose fullUrl is url, or nil.
func (b *Bundle) Find(url string) *BundleEntry {
	for i := range b.Entry {
		if b.Entry[i].FullURL == url {
			return &b.Entry[i]
		}
	}
	return nil
}

// FindType returns the first entry whose resource is of type rt, or nil.
func (b *Bundle) FindType(rt string) *BundleEntry {
	for i := range b.Entry {
		if b.Entry[i].ResourceType() == rt {
			return &b.Entry[i]
		}
	}
	return nil
}

// MessageHeader is the first entry of every NPHIES message bundle.
type MessageHeader struct {
	ResourceType string                 `json:"resourceType"`
	ID           string                 `json:"id,omitempty"`
	Meta         *Meta                  `json:"meta,omitempty"`
	EventCoding  *Coding                `json:"eventCoding,omitempty"`
	Destination  []MessageDestination   `json:"destination,omitempty"`
	Sender       *Reference             `json:"sender,omitempty"`
	Source       *MessageSource         `json:"source,omitempty"`
	Response     *MessageHeaderResponse `json:"response,omitempty"`
	Focus        []Reference            `json:"focus,omitempty"`
}

// MessageDestination is MessageHeader.destination: where the message goes and
// which organisation (by licence) receives it.
type MessageDestination struct {
	Endpoint string     `json:"endpoint,omitempty"`
	Receiver *Reference `json:"receiver,omitempty"`
}

// MessageSource is MessageHeader.source.
type MessageSource struct {
	Endpoint string `json:"endpoint,omitempty"`
}

// MessageHeaderResponse is MessageHeader.response on a response message: the
// id of the request's MessageHeader and ok|transient-error|fatal-error.
type MessageHeaderResponse struct {
	Identifier string     `json:"identifier,omitempty"`
	Code       string     `json:"code,omitempty"`
	Details    *Reference `json:"details,omitempty"`
}

// HumanName is a FHIR HumanName.
type HumanName struct {
	Use    string   `json:"use,omitempty"`
	Text   string   `json:"text,omitempty"`
	Family string   `json:"family,omitempty"`
	Given  []string `json:"given,omitempty"`
}

// ContactPoint is a FHIR ContactPoint.
type ContactPoint struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
}

// Organization is a provider, insurer or policy-holder organisation.
type Organization struct {
	ResourceType string            `json:"resourceType"`
	ID           string            `json:"id,omitempty"`
	Meta         *Meta             `json:"meta,omitempty"`
	Extension    []Extension       `json:"extension,omitempty"`
	Identifier   []Identifier      `json:"identifier,omitempty"`
	Active       *bool             `json:"active,omitempty"`
	Type         []CodeableConcept `json:"type,omitempty"`
	Name         string            `json:"name,omitempty"`
}

// Patient is the NPHIES patient profile subset we send.
type Patient struct {
	ResourceType  string         `json:"resourceType"`
	ID            string         `json:"id,omitempty"`
	Meta          *Meta          `json:"meta,omitempty"`
	Extension     []Extension    `json:"extension,omitempty"`
	Identifier    []Identifier   `json:"identifier,omitempty"`
	Active        *bool          `json:"active,omitempty"`
	Name          []HumanName    `json:"name,omitempty"`
	Telecom       []ContactPoint `json:"telecom,omitempty"`
	Gender        string         `json:"gender,omitempty"`
	GenderElement *Element       `json:"_gender,omitempty"`
	BirthDate     string         `json:"birthDate,omitempty"`
	// MaritalStatus is from http://terminology.hl7.org/CodeSystem/v3-MaritalStatus.
	MaritalStatus *CodeableConcept `json:"maritalStatus,omitempty"`
}

// Practitioner is the treating clinician, identified by SCFHS licence.
type Practitioner struct {
	ResourceType string       `json:"resourceType"`
	ID           string       `json:"id,omitempty"`
	Meta         *Meta        `json:"meta,omitempty"`
	Identifier   []Identifier `json:"identifier,omitempty"`
	Active       *bool        `json:"active,omitempty"`
	Name         []HumanName  `json:"name,omitempty"`
}

// Location is the facility of an eligibility request.
type Location struct {
	ResourceType         string            `json:"resourceType"`
	ID                   string            `json:"id,omitempty"`
	Meta                 *Meta             `json:"meta,omitempty"`
	Identifier           []Identifier      `json:"identifier,omitempty"`
	Status               string            `json:"status,omitempty"`
	Name                 string            `json:"name,omitempty"`
	Type                 []CodeableConcept `json:"type,omitempty"`
	ManagingOrganization *Reference        `json:"managingOrganization,omitempty"`
}

// Encounter is the visit a professional or institutional claim belongs to.
type Encounter struct {
	ResourceType    string           `json:"resourceType"`
	ID              string           `json:"id,omitempty"`
	Meta            *Meta            `json:"meta,omitempty"`
	Extension       []Extension      `json:"extension,omitempty"`
	Identifier      []Identifier     `json:"identifier,omitempty"`
	Status          string           `json:"status,omitempty"`
	Class           *Coding          `json:"class,omitempty"`
	Priority        *CodeableConcept `json:"priority,omitempty"`
	Subject         *Reference       `json:"subject,omitempty"`
	Period          *Period          `json:"period,omitempty"`
	Hospitalization *Hospitalization `json:"hospitalization,omitempty"`
	ServiceProvider *Reference       `json:"serviceProvider,omitempty"`
}

// Coverage is the patient's insurance policy with one payer.
type Coverage struct {
	ResourceType string           `json:"resourceType"`
	ID           string           `json:"id,omitempty"`
	Meta         *Meta            `json:"meta,omitempty"`
	Identifier   []Identifier     `json:"identifier,omitempty"`
	Status       string           `json:"status,omitempty"`
	Type         *CodeableConcept `json:"type,omitempty"`
	PolicyHolder *Reference       `json:"policyHolder,omitempty"`
	Subscriber   *Reference       `json:"subscriber,omitempty"`
	Beneficiary  *Reference       `json:"beneficiary,omitempty"`
	Relationship *CodeableConcept `json:"relationship,omitempty"`
	Period       *Period          `json:"period,omitempty"`
	Payor        []Reference      `json:"payor,omitempty"`
	Class        []CoverageClass  `json:"class,omitempty"`
	Network      string           `json:"network,omitempty"`
}

// CoverageClass is Coverage.class (group, plan, …).
type CoverageClass struct {
	Type  *CodeableConcept `json:"type,omitempty"`
	Value string           `json:"value,omitempty"`
	Name  string           `json:"name,omitempty"`
}

// CoverageEligibilityRequest asks a payer whether a patient is covered.
type CoverageEligibilityRequest struct {
	ResourceType   string                 `json:"resourceType"`
	ID             string                 `json:"id,omitempty"`
	Meta           *Meta                  `json:"meta,omitempty"`
	Extension      []Extension            `json:"extension,omitempty"`
	Identifier     []Identifier           `json:"identifier,omitempty"`
	Status         string                 `json:"status,omitempty"`
	Priority       *CodeableConcept       `json:"priority,omitempty"`
	Purpose        []string               `json:"purpose,omitempty"`
	Patient        *Reference             `json:"patient,omitempty"`
	ServicedDate   string                 `json:"servicedDate,omitempty"`
	ServicedPeriod *Period                `json:"servicedPeriod,omitempty"`
	Created        string                 `json:"created,omitempty"`
	Provider       *Reference             `json:"provider,omitempty"`
	Insurer        *Reference             `json:"insurer,omitempty"`
	Facility       *Reference             `json:"facility,omitempty"`
	Insurance      []EligibilityInsurance `json:"insurance,omitempty"`
}

// EligibilityInsurance is CoverageEligibilityRequest.insurance.
type EligibilityInsurance struct {
	Focal    *bool      `json:"focal,omitempty"`
	Coverage *Reference `json:"coverage,omitempty"`
}

// CoverageEligibilityResponse is the payer's eligibility answer.
type CoverageEligibilityResponse struct {
	ResourceType   string                         `json:"resourceType"`
	ID             string                         `json:"id,omitempty"`
	Meta           *Meta                          `json:"meta,omitempty"`
	Extension      []Extension                    `json:"extension,omitempty"`
	Identifier     []Identifier                   `json:"identifier,omitempty"`
	Status         string                         `json:"status,omitempty"`
	Purpose        []string                       `json:"purpose,omitempty"`
	Patient        *Reference                     `json:"patient,omitempty"`
	ServicedDate   string                         `json:"servicedDate,omitempty"`
	ServicedPeriod *Period                        `json:"servicedPeriod,omitempty"`
	Created        string                         `json:"created,omitempty"`
	Request        *Reference                     `json:"request,omitempty"`
	Outcome        string                         `json:"outcome,omitempty"`
	Disposition    string                         `json:"disposition,omitempty"`
	Insurer        *Reference                     `json:"insurer,omitempty"`
	Insurance      []EligibilityResponseInsurance `json:"insurance,omitempty"`
	Error          []ResponseError                `json:"error,omitempty"`
}

// EligibilityResponseInsurance is CoverageEligibilityResponse.insurance.
type EligibilityResponseInsurance struct {
	Extension     []Extension       `json:"extension,omitempty"`
	Coverage      *Reference        `json:"coverage,omitempty"`
	Inforce       *bool             `json:"inforce,omitempty"`
	BenefitPeriod *Period           `json:"benefitPeriod,omitempty"`
	Item          []EligibilityItem `json:"item,omitempty"`
}

// EligibilityItem is one benefit category in an eligibility response.
type EligibilityItem struct {
	Category    *CodeableConcept     `json:"category,omitempty"`
	Excluded    *bool                `json:"excluded,omitempty"`
	Name        string               `json:"name,omitempty"`
	Description string               `json:"description,omitempty"`
	Network     *CodeableConcept     `json:"network,omitempty"`
	Unit        *CodeableConcept     `json:"unit,omitempty"`
	Term        *CodeableConcept     `json:"term,omitempty"`
	Benefit     []EligibilityBenefit `json:"benefit,omitempty"`
}

// EligibilityBenefit is one allowed/used amount of a benefit category.
type EligibilityBenefit struct {
	Type         *CodeableConcept `json:"type,omitempty"`
	AllowedMoney *Money           `json:"allowedMoney,omitempty"`
	UsedMoney    *Money           `json:"usedMoney,omitempty"`
}

// ResponseError is the error element of eligibility and claim responses.
type ResponseError struct {
	Code *CodeableConcept `json:"code,omitempty"`
}

// Claim is a claim (use=claim) or prior authorization (use=preauthorization).
type Claim struct {
	ResourceType   string                `json:"resourceType"`
	ID             string                `json:"id,omitempty"`
	Meta           *Meta                 `json:"meta,omitempty"`
	Extension      []Extension           `json:"extension,omitempty"`
	Identifier     []Identifier          `json:"identifier,omitempty"`
	Status         string                `json:"status,omitempty"`
	Type           *CodeableConcept      `json:"type,omitempty"`
	SubType        *CodeableConcept      `json:"subType,omitempty"`
	Use            string                `json:"use,omitempty"`
	Patient        *Reference            `json:"patient,omitempty"`
	Created        string                `json:"created,omitempty"`
	Insurer        *Reference            `json:"insurer,omitempty"`
	Provider       *Reference            `json:"provider,omitempty"`
	Priority       *CodeableConcept      `json:"priority,omitempty"`
	Prescription   *Reference            `json:"prescription,omitempty"`
	Related        []ClaimRelated        `json:"related,omitempty"`
	Payee          *ClaimPayee           `json:"payee,omitempty"`
	CareTeam       []ClaimCareTeam       `json:"careTeam,omitempty"`
	SupportingInfo []ClaimSupportingInfo `json:"supportingInfo,omitempty"`
	Diagnosis      []ClaimDiagnosis      `json:"diagnosis,omitempty"`
	Insurance      []ClaimInsurance      `json:"insurance,omitempty"`
	Item           []ClaimItem           `json:"item,omitempty"`
	Total          *Money                `json:"total,omitempty"`
}

// ClaimRelated is Claim.related: an earlier claim this one follows, e.g.
// the claim it corrects and resubmits (relationship "prior").
type ClaimRelated struct {
	Claim        *Reference       `json:"claim,omitempty"`
	Relationship *CodeableConcept `json:"relationship,omitempty"`
}

// ClaimPayee is Claim.payee.
type ClaimPayee struct {
	Type *CodeableConcept `json:"type,omitempty"`
}

// ClaimCareTeam is Claim.careTeam.
type ClaimCareTeam struct {
	Sequence      int64            `json:"sequence"`
	Provider      *Reference       `json:"provider,omitempty"`
	Role          *CodeableConcept `json:"role,omitempty"`
	Qualification *CodeableConcept `json:"qualification,omitempty"`
}

// ClaimSupportingInfo is Claim.supportingInfo.
type ClaimSupportingInfo struct {
	Sequence        int64            `json:"sequence"`
	Category        *CodeableConcept `json:"category,omitempty"`
	Code            *CodeableConcept `json:"code,omitempty"`
	TimingDate      string           `json:"timingDate,omitempty"`
	TimingPeriod    *Period          `json:"timingPeriod,omitempty"`
	ValueString     *string          `json:"valueString,omitempty"`
	ValueQuantity   *Quantity        `json:"valueQuantity,omitempty"`
	ValueAttachment *Attachment      `json:"valueAttachment,omitempty"`
}

// ClaimDiagnosis is Claim.diagnosis.
type ClaimDiagnosis struct {
	Sequence                 int64             `json:"sequence"`
	DiagnosisCodeableConcept *CodeableConcept  `json:"diagnosisCodeableConcept,omitempty"`
	Type                     []CodeableConcept `json:"type,omitempty"`
	OnAdmission              *CodeableConcept  `json:"onAdmission,omitempty"`
}

// ClaimInsurance is Claim.insurance.
type ClaimInsurance struct {
	Sequence   int64      `json:"sequence"`
	Focal      bool       `json:"focal"`
	Coverage   *Reference `json:"coverage,omitempty"`
	PreAuthRef []string   `json:"preAuthRef,omitempty"`
}

// ClaimItem is one billed line of a Claim.
type ClaimItem struct {
	Extension           []Extension       `json:"extension,omitempty"`
	Sequence            int64             `json:"sequence"`
	CareTeamSequence    []int64           `json:"careTeamSequence,omitempty"`
	DiagnosisSequence   []int64           `json:"diagnosisSequence,omitempty"`
	InformationSequence []int64           `json:"informationSequence,omitempty"`
	ProductOrService    *CodeableConcept  `json:"productOrService,omitempty"`
	ServicedDate        string            `json:"servicedDate,omitempty"`
	ServicedPeriod      *Period           `json:"servicedPeriod,omitempty"`
	Quantity            *Quantity         `json:"quantity,omitempty"`
	UnitPrice           *Money            `json:"unitPrice,omitempty"`
	Factor              *Decimal          `json:"factor,omitempty"`
	Net                 *Money            `json:"net,omitempty"`
	BodySite            *CodeableConcept  `json:"bodySite,omitempty"`
	SubSite             []CodeableConcept `json:"subSite,omitempty"`
}

// ClaimResponse is a payer's (or NPHIES's) answer to a Claim.
type ClaimResponse struct {
	ResourceType  string               `json:"resourceType"`
	ID            string               `json:"id,omitempty"`
	Meta          *Meta                `json:"meta,omitempty"`
	Extension     []Extension          `json:"extension,omitempty"`
	Identifier    []Identifier         `json:"identifier,omitempty"`
	Status        string               `json:"status,omitempty"`
	Type          *CodeableConcept     `json:"type,omitempty"`
	SubType       *CodeableConcept     `json:"subType,omitempty"`
	Use           string               `json:"use,omitempty"`
	Patient       *Reference           `json:"patient,omitempty"`
	Created       string               `json:"created,omitempty"`
	Insurer       *Reference           `json:"insurer,omitempty"`
	Requestor     *Reference           `json:"requestor,omitempty"`
	Request       *Reference           `json:"request,omitempty"`
	Outcome       string               `json:"outcome,omitempty"`
	Disposition   string               `json:"disposition,omitempty"`
	PreAuthRef    string               `json:"preAuthRef,omitempty"`
	PreAuthPeriod *Period              `json:"preAuthPeriod,omitempty"`
	PayeeType     *CodeableConcept     `json:"payeeType,omitempty"`
	Item          []ClaimResponseItem  `json:"item,omitempty"`
	Total         []ClaimResponseTotal `json:"total,omitempty"`
	Insurance     []ClaimInsurance     `json:"insurance,omitempty"`
	Error         []ResponseError      `json:"error,omitempty"`
}

// ClaimResponseItem is the adjudication of one claim item.
type ClaimResponseItem struct {
	Extension    []Extension    `json:"extension,omitempty"`
	ItemSequence int64          `json:"itemSequence"`
	Adjudication []Adjudication `json:"adjudication,omitempty"`
}

// Adjudication is one adjudication category (submitted, eligible, benefit,
// tax, patientShare, approved-quantity, …) with its amount or value.
type Adjudication struct {
	Category *CodeableConcept `json:"category,omitempty"`
	Reason   *CodeableConcept `json:"reason,omitempty"`
	Amount   *Money           `json:"amount,omitempty"`
	Value    *Decimal         `json:"value,omitempty"`
}

// ClaimResponseTotal is ClaimResponse.total: one category summed over items.
type ClaimResponseTotal struct {
	Category *CodeableConcept `json:"category,omitempty"`
	Amount   *Money           `json:"amount,omitempty"`
}

// Task carries poll requests, cancellations and status checks, and their
// responses.
type Task struct {
	ResourceType string           `json:"resourceType"`
	ID           string           `json:"id,omitempty"`
	Meta         *Meta            `json:"meta,omitempty"`
	Identifier   []Identifier     `json:"identifier,omitempty"`
	Status       string           `json:"status,omitempty"`
	StatusReason *CodeableConcept `json:"statusReason,omitempty"`
	Intent       string           `json:"intent,omitempty"`
	Priority     string           `json:"priority,omitempty"`
	Code         *CodeableConcept `json:"code,omitempty"`
	Focus        *Reference       `json:"focus,omitempty"`
	AuthoredOn   string           `json:"authoredOn,omitempty"`
	LastModified string           `json:"lastModified,omitempty"`
	Requester    *Reference       `json:"requester,omitempty"`
	Owner        *Reference       `json:"owner,omitempty"`
	ReasonCode   *CodeableConcept `json:"reasonCode,omitempty"`
	Input        []TaskParameter  `json:"input,omitempty"`
	Output       []TaskParameter  `json:"output,omitempty"`
}

// TaskParameter is a Task.input or Task.output; exactly one value is set.
// Both valueCode and valueCodeableConcept are read because NPHIES's examples
// and its guide disagree on which a status output uses.
type TaskParameter struct {
	Extension            []Extension      `json:"extension,omitempty"`
	Type                 *CodeableConcept `json:"type,omitempty"`
	ValueCode            *string          `json:"valueCode,omitempty"`
	ValueCodeableConcept *CodeableConcept `json:"valueCodeableConcept,omitempty"`
	ValuePositiveInt     *int64           `json:"valuePositiveInt,omitempty"`
	ValuePeriod          *Period          `json:"valuePeriod,omitempty"`
	ValueReference       *Reference       `json:"valueReference,omitempty"`
	ValueString          *string          `json:"valueString,omitempty"`
}

// CommunicationRequest is a payer asking us for more information on a claim.
type CommunicationRequest struct {
	ResourceType string                 `json:"resourceType"`
	ID           string                 `json:"id,omitempty"`
	Meta         *Meta                  `json:"meta,omitempty"`
	Identifier   []Identifier           `json:"identifier,omitempty"`
	Status       string                 `json:"status,omitempty"`
	Category     []CodeableConcept      `json:"category,omitempty"`
	Priority     string                 `json:"priority,omitempty"`
	Subject      *Reference             `json:"subject,omitempty"`
	About        []Reference            `json:"about,omitempty"`
	Payload      []CommunicationPayload `json:"payload,omitempty"`
	Recipient    []Reference            `json:"recipient,omitempty"`
	Sender       *Reference             `json:"sender,omitempty"`
	ReasonCode   []CodeableConcept      `json:"reasonCode,omitempty"`
}

// Communication is our message to a payer, solicited (basedOn a
// CommunicationRequest) or not.
type Communication struct {
	ResourceType string                 `json:"resourceType"`
	ID           string                 `json:"id,omitempty"`
	Meta         *Meta                  `json:"meta,omitempty"`
	Identifier   []Identifier           `json:"identifier,omitempty"`
	BasedOn      []Reference            `json:"basedOn,omitempty"`
	Status       string                 `json:"status,omitempty"`
	Category     []CodeableConcept      `json:"category,omitempty"`
	Priority     string                 `json:"priority,omitempty"`
	Subject      *Reference             `json:"subject,omitempty"`
	About        []Reference            `json:"about,omitempty"`
	Sent         string                 `json:"sent,omitempty"`
	Recipient    []Reference            `json:"recipient,omitempty"`
	Sender       *Reference             `json:"sender,omitempty"`
	Payload      []CommunicationPayload `json:"payload,omitempty"`
}

// CommunicationPayload is one text or attachment of a (request for)
// communication.
type CommunicationPayload struct {
	Extension         []Extension `json:"extension,omitempty"`
	ContentString     *string     `json:"contentString,omitempty"`
	ContentAttachment *Attachment `json:"contentAttachment,omitempty"`
}

// PaymentReconciliation is a payer's remittance advice for adjudicated claims.
type PaymentReconciliation struct {
	ResourceType      string          `json:"resourceType"`
	ID                string          `json:"id,omitempty"`
	Meta              *Meta           `json:"meta,omitempty"`
	Identifier        []Identifier    `json:"identifier,omitempty"`
	Status            string          `json:"status,omitempty"`
	Period            *Period         `json:"period,omitempty"`
	Created           string          `json:"created,omitempty"`
	PaymentIssuer     *Reference      `json:"paymentIssuer,omitempty"`
	Requestor         *Reference      `json:"requestor,omitempty"`
	PaymentIdentifier OneIdentifier   `json:"paymentIdentifier,omitempty"`
	Outcome           string          `json:"outcome,omitempty"`
	Disposition       string          `json:"disposition,omitempty"`
	PaymentDate       string          `json:"paymentDate,omitempty"`
	PaymentAmount     *Money          `json:"paymentAmount,omitempty"`
	Detail            []PaymentDetail `json:"detail,omitempty"`
}

// OneIdentifier is an R4 0..1 Identifier that NPHIES's own example sends as an
// array: it decodes an object or an array and always encodes one object.
type OneIdentifier []Identifier

// MarshalJSON encodes the first identifier as an object, as R4 requires.
func (o OneIdentifier) MarshalJSON() ([]byte, error) {
	if len(o) == 0 {
		return []byte("null"), nil
	}
	return json.Marshal(o[0])
}

// UnmarshalJSON accepts an Identifier object or an array of them.
func (o *OneIdentifier) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var many []Identifier
		if err := json.Unmarshal(b, &many); err != nil {
			return fmt.Errorf("paymentIdentifier: %w", err)
		}
		*o = many
		return nil
	}
	var one Identifier
	if err := json.Unmarshal(b, &one); err != nil {
		return fmt.Errorf("paymentIdentifier: %w", err)
	}
	*o = OneIdentifier{one}
	return nil
}

// PaymentDetail is one paid claim in a PaymentReconciliation.
type PaymentDetail struct {
	Extension []Extension      `json:"extension,omitempty"`
	Type      *CodeableConcept `json:"type,omitempty"`
	Request   *Reference       `json:"request,omitempty"`
	Submitter *Reference       `json:"submitter,omitempty"`
	Response  *Reference       `json:"response,omitempty"`
	Date      string           `json:"date,omitempty"`
	Payee     *Reference       `json:"payee,omitempty"`
	Amount    *Money           `json:"amount,omitempty"`
}

// PaymentNotice tells NPHIES we received (or cleared) a payment.
type PaymentNotice struct {
	ResourceType  string           `json:"resourceType"`
	ID            string           `json:"id,omitempty"`
	Meta          *Meta            `json:"meta,omitempty"`
	Identifier    []Identifier     `json:"identifier,omitempty"`
	Status        string           `json:"status,omitempty"`
	Created       string           `json:"created,omitempty"`
	Provider      *Reference       `json:"provider,omitempty"`
	Payment       *Reference       `json:"payment,omitempty"`
	PaymentDate   string           `json:"paymentDate,omitempty"`
	Payee         *Reference       `json:"payee,omitempty"`
	Recipient     *Reference       `json:"recipient,omitempty"`
	Amount        *Money           `json:"amount,omitempty"`
	PaymentStatus *CodeableConcept `json:"paymentStatus,omitempty"`
}

// OperationOutcome reports errors that prevented a business response.
type OperationOutcome struct {
	ResourceType string         `json:"resourceType"`
	ID           string         `json:"id,omitempty"`
	Meta         *Meta          `json:"meta,omitempty"`
	Issue        []OutcomeIssue `json:"issue,omitempty"`
}

// OutcomeIssue is one OperationOutcome.issue.
type OutcomeIssue struct {
	Severity    string           `json:"severity,omitempty"`
	Code        string           `json:"code,omitempty"`
	Details     *CodeableConcept `json:"details,omitempty"`
	Diagnostics string           `json:"diagnostics,omitempty"`
	Expression  []string         `json:"expression,omitempty"`
}
