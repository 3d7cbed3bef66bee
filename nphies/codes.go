package nphies

// Systems, profiles and codes NPHIES defines. They are exported because the
// outbox worker, the poller and the mock correlate and route by them.
const (
	// ProfileBase prefixes every NPHIES StructureDefinition canonical.
	ProfileBase = "http://nphies.sa/fhir/ksa/nphies-fs/StructureDefinition/"
	// ProfileVersion is the business version every emitted profile carries.
	ProfileVersion = "|1.0.0"
	// ExtensionBase prefixes every NPHIES extension URL (same as ProfileBase).
	ExtensionBase = ProfileBase

	SystemMessageEvents       = "http://nphies.sa/terminology/CodeSystem/ksa-message-events"
	SystemProviderLicense     = "http://nphies.sa/license/provider-license"
	SystemPayerLicense        = "http://nphies.sa/license/payer-license"
	SystemNPHIESLicense       = "http://nphies.sa/license/nphies"
	SystemPractitionerLic     = "http://nphies.sa/license/practitioner-license"
	SystemLocationLicense     = "http://nphies.sa/license/location-license"
	SystemMetaTags            = "http://nphies.sa/terminology/CodeSystem/meta-tags"
	SystemAdjudicationOutcome = "http://nphies.sa/terminology/CodeSystem/adjudication-outcome"
	SystemAdjudicationReason  = "http://nphies.sa/terminology/CodeSystem/adjudication-reason"
	SystemAdjudicationError   = "http://nphies.sa/terminology/CodeSystem/adjudication-error"
	SystemRelatedClaim        = "http://nphies.sa/terminology/CodeSystem/related-claim-relationship"
	SystemReissueReason       = "http://nphies.sa/terminology/CodeSystem/reissue-reason"
	SystemAdjudication        = "http://terminology.hl7.org/CodeSystem/adjudication"
	SystemKSAAdjudication     = "http://nphies.sa/terminology/CodeSystem/ksa-adjudication"
	SystemTaskCode            = "http://nphies.sa/terminology/CodeSystem/task-code"
	SystemTaskInputType       = "http://nphies.sa/terminology/CodeSystem/task-input-type"
	SystemTaskOutputType      = "http://nphies.sa/terminology/CodeSystem/task-output-type"
	SystemTaskReasonCode      = "http://nphies.sa/terminology/CodeSystem/task-reason-code"
	SystemTaskStatusReason    = "http://nphies.sa/terminology/CodeSystem/task-status-reason"
	SystemSiteEligibility     = "http://nphies.sa/terminology/CodeSystem/siteEligibility"
	SystemServices            = "http://nphies.sa/terminology/CodeSystem/services"
	SystemProcedures          = "http://nphies.sa/terminology/CodeSystem/procedures"
	SystemMedicationCodes     = "http://nphies.sa/terminology/CodeSystem/medication-codes"
	SystemPharmacistSelection = "http://nphies.sa/terminology/CodeSystem/pharmacist-selection-reason"
	SystemProviderType        = "http://nphies.sa/terminology/CodeSystem/provider-type"
	SystemOccupation          = "http://nphies.sa/terminology/CodeSystem/occupation"
	SystemMaritalStatus       = "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus"
	SystemOrganizationID      = "http://nphies.sa/identifier/organization"

	// NPHIESEndpoint is the destination endpoint for messages addressed to
	// NPHIES itself (poll-request, payment-notice).
	NPHIESEndpoint = "http://nphies.sa"
	// NPHIESLicense is NPHIES's own licence value (receiver of poll-request
	// and payment-notice, BV-00456; sender of NPHIES-generated messages).
	NPHIESLicense = "NPHIES"
)

// Message event codes (ksa-message-events) this package sends or reads.
const (
	EventEligibilityRequest    = "eligibility-request"
	EventEligibilityResponse   = "eligibility-response"
	EventPriorAuthRequest      = "priorauth-request"
	EventPriorAuthResponse     = "priorauth-response"
	EventClaimRequest          = "claim-request"
	EventClaimResponse         = "claim-response"
	EventBatchRequest          = "batch-request"
	EventBatchResponse         = "batch-response"
	EventStatusCheck           = "status-check"
	EventStatusResponse        = "status-response"
	EventCancelRequest         = "cancel-request"
	EventCancelResponse        = "cancel-response"
	EventPaymentNotice         = "payment-notice"
	EventPaymentReconciliation = "payment-reconciliation"
	EventCommunicationRequest  = "communication-request"
	EventCommunication         = "communication"
	EventAcknowledgement       = "acknowledgement"
	EventPollRequest           = "poll-request"
	EventPollResponse          = "poll-response"
	EventAdvancedAuthorization = "advanced-authorization"
	EventErrorNotice           = "error-notice"
)

// ResponseEvent returns the event NPHIES answers requestEvent with in the
// same HTTP session, or "" when requestEvent is not one we send.
func ResponseEvent(requestEvent string) string {
	switch requestEvent {
	case EventEligibilityRequest:
		return EventEligibilityResponse
	case EventPriorAuthRequest:
		return EventPriorAuthResponse
	case EventClaimRequest:
		return EventClaimResponse
	case EventBatchRequest:
		return EventBatchResponse
	case EventStatusCheck:
		return EventStatusResponse
	case EventCancelRequest:
		return EventCancelResponse
	case EventPollRequest:
		return EventPollResponse
	case EventCommunication, EventPaymentNotice:
		return EventAcknowledgement
	}
	return ""
}

// Profile returns the versioned canonical URL of the NPHIES profile name.
func Profile(name string) string { return ProfileBase + name + ProfileVersion }

// MemberIDSystems are the member-ID identifier systems of the payers whose
// systems NPHIES's official examples show, by payer licence. Each payer
// defines its own; a coverage with any other payer records it.
var MemberIDSystems = map[string]string{
	"N-I-00001": "http://sni.com.sa/memberid",          // Saudi National Insurance, examples 10, 14a
	"INS-FHIR":  "http://pseudo-payer.com.sa/memberid", // the OBA pseudo payer, professional prior auth 2023
}

// ProviderTypes are NPHIES's provider-type codes (Organization extension
// provider-type) with their displays.
var ProviderTypes = map[string]string{
	"1": "Hospital", "2": "General Medical Complex", "3": "Specialized Medical Complex", "4": "Diagnostic Center",
	"5": "Clinic", "6": "Pharmacy", "7": "Laboratory", "8": "Physiotherapy Center", "9": "Radiotherapy Center",
}

// Adjudication-outcome codes: the payer's business decision on a claim or item.
const (
	DecisionApproved    = "approved"
	DecisionRejected    = "rejected"
	DecisionPartial     = "partial"
	DecisionPended      = "pended"
	DecisionNotRequired = "not-required"
)

// Remittance outcomes of a ClaimResponse (http://hl7.org/fhir/remittance-outcome).
const (
	OutcomeQueued   = "queued"
	OutcomeComplete = "complete"
	OutcomeError    = "error"
	OutcomePartial  = "partial"
)
