package nphies

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ErrMalformed marks bytes that are not a readable NPHIES message: not JSON,
// not a Bundle of type message, no MessageHeader first, or a focal resource
// that cannot be decoded. The raw bytes stay with the caller for diagnosis.
var ErrMalformed = errors.New("nphies: malformed response")

// ErrUnexpected marks a well-formed message that is not an answer to what we
// sent (wrong event, or a response.identifier naming another request).
var ErrUnexpected = errors.New("nphies: unexpected response")

// Kind says what a parsed message is.
type Kind string

// Kinds of message Parse recognises.
const (
	KindEligibility           Kind = "eligibility"
	KindClaim                 Kind = "claim"
	KindCancel                Kind = "cancel"
	KindStatus                Kind = "status"
	KindPoll                  Kind = "poll"
	KindCommunicationRequest  Kind = "communication-request"
	KindPaymentReconciliation Kind = "payment-reconciliation"
	KindAcknowledgement       Kind = "acknowledgement"
	KindOperationOutcome      Kind = "operation-outcome"
	KindOther                 Kind = "other"
)

// Issue is one error NPHIES or the payer reported: an adjudication-error or
// validation rule code (e.g. "1658", "BV-00163", "GE-00013") with its display
// text and, when given, the FHIRPath of the offending element.
type Issue struct {
	System      string
	Code        string
	Display     string
	Expression  string
	Severity    string
	Diagnostics string
}

// Response is a parsed NPHIES message. Exactly one of the typed results is
// set, according to Kind; Raw always holds the bytes it was parsed from.
type Response struct {
	// Raw is the message exactly as received (store it; never log it: it
	// carries PHI).
	Raw []byte
	// Kind says which typed result is set.
	Kind Kind
	// Event is the MessageHeader event code ("" for a bare OperationOutcome).
	Event string
	// BundleID is Bundle.id.
	BundleID string
	// MessageHeaderID is the response's own MessageHeader.id.
	MessageHeaderID string
	// InResponseTo is MessageHeader.response.identifier: the MessageHeader.id
	// of the request this answers, when present.
	InResponseTo string
	// ResponseCode is MessageHeader.response.code (ok, transient-error,
	// fatal-error). Business errors come back with "ok": check the result.
	ResponseCode string
	// SenderLicense is the sender's licence value (NPHIES for NPHIES-generated
	// and poll messages).
	SenderLicense string
	// QueuedMessages reports the queued-messages tag: more messages wait, so
	// the poller should poll now.
	QueuedMessages bool
	// NPHIESGenerated reports that NPHIES, not the payer, produced the
	// response (store-and-forward, validation errors).
	NPHIESGenerated bool
	// Issues are OperationOutcome issues (for a bare OperationOutcome, or an
	// acknowledgement's response.details).
	Issues []Issue

	// Eligibility is set for KindEligibility.
	Eligibility *EligibilityResult
	// Claim is set for KindClaim (claim-response and priorauth-response).
	Claim *ClaimResult
	// Task is set for KindCancel and KindStatus.
	Task *TaskResult
	// Poll is set for KindPoll.
	Poll *PollResult
	// CommunicationRequest is set for KindCommunicationRequest.
	CommunicationRequest *CommunicationRequestResult
	// PaymentReconciliation is set for KindPaymentReconciliation.
	PaymentReconciliation *PaymentReconciliationResult
}

// EligibilityResult is the payer's answer to an eligibility request.
type EligibilityResult struct {
	// Request is the identifier of our CoverageEligibilityRequest.
	Request Identifier
	// Outcome is complete or error.
	Outcome string
	// Disposition is the payer's free text.
	Disposition string
	// SiteEligibility is eligible, not-active, not-covered, out-network, ….
	SiteEligibility string
	// Inforce is true when at least one returned coverage is in force.
	Inforce bool
	// Coverages lists each returned insurance with its in-force flag.
	Coverages []EligibilityCoverage
	// Errors are the payer's error codes when Outcome is error.
	Errors []Issue
}

// Eligible reports whether the patient may be treated on this coverage: the
// check completed, the site is eligible and a coverage is in force.
func (e *EligibilityResult) Eligible() bool {
	return e != nil && e.Outcome == OutcomeComplete && e.SiteEligibility == "eligible" && e.Inforce
}

// EligibilityCoverage is one coverage in an eligibility response.
type EligibilityCoverage struct {
	// Coverage is the reference to the Coverage resource.
	Coverage string
	// Inforce is the coverage's in-force flag.
	Inforce bool
	// NotInForceReason is the reason code when not in force.
	NotInForceReason string
	// Found is the Coverage resource the reference resolves to in the
	// answer (a discovery's result); nil when the bundle does not carry it.
	Found *FoundCoverage
}

// FoundCoverage is what a payer says of a coverage it returned: member
// ID, group (policy) and plan classes, relationship and period.
type FoundCoverage struct {
	MemberID, MemberSystem   string
	PolicyNumber, PolicyName string
	Plan, PlanName           string
	// Relationship is the subscriber-relationship code (self, spouse, …).
	Relationship string
	// Start and End are the period's dates as sent (YYYY-MM-DD).
	Start, End string
}

// foundCoverage reads the Coverage entry ref points at, nil when absent or
// unreadable.
func foundCoverage(b *Bundle, ref string) *FoundCoverage {
	e := b.Find(ref)
	var c Coverage
	if e == nil || e.ResourceType() != "Coverage" || e.Decode(&c) != nil || len(c.Identifier) == 0 {
		return nil
	}
	f := &FoundCoverage{MemberID: c.Identifier[0].Value, MemberSystem: c.Identifier[0].System,
		Relationship: c.Relationship.Code("")}
	if c.Period != nil {
		f.Start, f.End = c.Period.Start, c.Period.End
	}
	for _, cl := range c.Class {
		switch cl.Type.Code("") {
		case "group":
			f.PolicyNumber, f.PolicyName = cl.Value, cl.Name
		case "plan":
			f.Plan, f.PlanName = cl.Value, cl.Name
		}
	}
	return f
}

// ClaimStatus is our summary of a claim or prior-auth response, the value
// the claims table stores.
type ClaimStatus string

// Claim statuses derived from a ClaimResponse.
const (
	ClaimApproved ClaimStatus = "APPROVED"
	ClaimPartial  ClaimStatus = "PARTIAL"
	ClaimRejected ClaimStatus = "REJECTED"
	ClaimPending  ClaimStatus = "PENDING"
	ClaimError    ClaimStatus = "ERROR"
)

// ClaimResult is a ClaimResponse to a claim or prior authorization.
type ClaimResult struct {
	// Identifier is the ClaimResponse.identifier (payer's response id).
	Identifier Identifier
	// Request is ClaimResponse.request.identifier = our Claim.identifier.
	Request Identifier
	// Use is claim or preauthorization.
	Use string
	// Outcome is the remittance outcome: queued, complete, partial or error.
	Outcome string
	// Decision is the adjudication-outcome: approved, rejected, partial,
	// pended or not-required ("" when absent).
	Decision string
	// Status is our summary of Outcome and Decision.
	Status ClaimStatus
	// Disposition is the payer's free text.
	Disposition string
	// PreAuthRef is the payer's authorization number on an approved or
	// partially approved prior authorization.
	PreAuthRef string
	// PreAuthPeriod is how long that authorization is valid.
	PreAuthPeriod *Period
	// Reissue is the reissue reason on a re-adjudication ("" on the first).
	Reissue string
	// Items is the per-item adjudication.
	Items []ItemAdjudication
	// Totals maps adjudication category (submitted, eligible, benefit, tax,
	// …) to halalas.
	Totals map[string]int64
	// Errors are the error codes when Outcome is error.
	Errors []Issue
}

// ItemAdjudication is the payer's decision on one claim item.
type ItemAdjudication struct {
	// Sequence is the Claim.item.sequence it adjudicates.
	Sequence int64
	// Decision is approved, rejected, partial, … for this item.
	Decision string
	// Amounts maps adjudication category to halalas (submitted, eligible,
	// copay, benefit, tax, patientShare, …).
	Amounts map[string]int64
	// ApprovedQuantity is the approved-quantity value in hundredths, when
	// present.
	ApprovedQuantity *Decimal
	// Reasons are adjudication-reason codes (e.g. "CV-1-4", "BE-1-3").
	Reasons []string
}

// BenefitHalalas returns what the payer pays for the item.
func (i ItemAdjudication) BenefitHalalas() int64 { return i.Amounts["benefit"] }

// TaskResult is a cancel-response or status-response Task.
type TaskResult struct {
	// Code is cancel, nullify, status or poll.
	Code string
	// Status is the Task status (completed, failed, …).
	Status string
	// StatusReason is the task-status-reason code when given.
	StatusReason string
	// Focus is the claim identifier the task is about.
	Focus Identifier
	// ClaimStatus is the status-check answer (a remittance outcome such as
	// complete or queued).
	ClaimStatus string
	// Errors are error outputs on a failed task.
	Errors []Issue
}

// PollResult is a poll-response: the Task and the queued messages delivered.
type PollResult struct {
	// Task is the poll Task's status (completed or failed).
	Task TaskResult
	// Messages are the delivered messages, each parsed on its own. A nested
	// message that cannot be parsed is still listed with its error so the
	// poller can store it raw; it never hides the others.
	Messages []PolledMessage
}

// PolledMessage is one message delivered by a poll.
type PolledMessage struct {
	// Response is the parsed message (Raw is the nested bundle's bytes).
	Response *Response
	// Err is set when the nested bundle is malformed; Response then holds
	// only Raw.
	Err error
}

// CommunicationRequestResult is a payer's request for more information.
type CommunicationRequestResult struct {
	// Identifier is the CommunicationRequest.identifier (our reply's basedOn).
	Identifier Identifier
	// About are the claim identifiers it concerns.
	About []Identifier
	// Texts are the payload strings.
	Texts []string
	// Reasons are communication-reason codes (missing-info, …).
	Reasons []string
}

// PaymentReconciliationResult is a payer's remittance.
type PaymentReconciliationResult struct {
	// Identifier is the PaymentReconciliation.identifier (our payment
	// notice's payment.identifier).
	Identifier Identifier
	// PaymentIdentifier is the bank transfer / cheque reference.
	PaymentIdentifier Identifier
	// PaymentDate is the date the payment was made.
	PaymentDate string
	// AmountHalalas is the total paid.
	AmountHalalas int64
	// Details are the per-claim payments.
	Details []PaymentDetailResult
}

// PaymentDetailResult is the payment for one claim.
type PaymentDetailResult struct {
	// Type is payment, adjustment or advance.
	Type string
	// Request is our Claim.identifier.
	Request Identifier
	// Response is the ClaimResponse.identifier.
	Response Identifier
	// AmountHalalas is the net amount paid for the claim.
	AmountHalalas int64
	// NPHIESFeeHalalas is the (negative) NPHIES fee component.
	NPHIESFeeHalalas int64
	// EarlyFeeHalalas is the (zero or negative) early-payment fee.
	EarlyFeeHalalas int64
	// Date is detail.date (the ClaimResponse's date, BV-00363).
	Date string
}

// maxNesting bounds how deep Parse follows nested message bundles (a poll
// response nests one level); deeper nesting is malformed input.
const maxNesting = 2

// Parse parses raw bytes received from NPHIES (a response body or a polled
// message) into a typed Response. It never panics; on error the returned
// Response (when non-nil) still carries Raw, and the error wraps
// ErrMalformed.
func Parse(raw []byte) (*Response, error) { return parse(raw, 0) }

// malformed wraps a parse failure.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// parse is Parse with a nesting depth: a bare OperationOutcome, or a
// message bundle whose header and focal resource are read in turn.
func parse(raw []byte, depth int) (*Response, error) {
	r := &Response{Raw: raw}
	var probe struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return r, fmt.Errorf("%w: not JSON: %w", ErrMalformed, err)
	}
	switch probe.ResourceType {
	case "OperationOutcome":
		return r, r.readOutcome(raw)
	case "Bundle":
		return r, r.readMessage(raw, depth)
	}
	return r, malformed("resourceType %q is not a Bundle", probe.ResourceType)
}

// readOutcome reads a bare OperationOutcome: NPHIES refusing a message
// before any payer saw it.
func (r *Response) readOutcome(raw []byte) error {
	var oo OperationOutcome
	if err := json.Unmarshal(raw, &oo); err != nil {
		return fmt.Errorf("%w: operation outcome: %w", ErrMalformed, err)
	}
	r.Kind = KindOperationOutcome
	r.Issues = outcomeIssues(&oo)
	return nil
}

// readMessage reads a message bundle: its MessageHeader, then the focal
// resource the event says it carries.
func (r *Response) readMessage(raw []byte, depth int) error {
	var b Bundle
	if err := json.Unmarshal(raw, &b); err != nil {
		return fmt.Errorf("%w: bundle: %w", ErrMalformed, err)
	}
	mh, err := messageHeader(&b)
	if err != nil {
		return err
	}
	r.readHeader(&b, mh)
	return r.readFocus(&b, mh, depth)
}

// messageHeader returns a message bundle's MessageHeader, which must come
// first and name an event.
func messageHeader(b *Bundle) (*MessageHeader, error) {
	if b.Type != "message" {
		return nil, malformed("bundle type %q is not message", b.Type)
	}
	if len(b.Entry) == 0 || b.Entry[0].ResourceType() != "MessageHeader" {
		return nil, malformed("first entry is not a MessageHeader")
	}
	var mh MessageHeader
	if err := b.Entry[0].Decode(&mh); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if mh.EventCoding == nil || mh.EventCoding.Code == "" {
		return nil, malformed("message header has no event")
	}
	return &mh, nil
}

// readHeader copies the message's identity, the request it answers, its
// sender and its tags from the header and the bundle.
func (r *Response) readHeader(b *Bundle, mh *MessageHeader) {
	r.BundleID = b.ID
	r.Event = mh.EventCoding.Code
	r.MessageHeaderID = mh.ID
	if mh.Response != nil {
		r.InResponseTo = mh.Response.Identifier
		r.ResponseCode = mh.Response.Code
	}
	if mh.Sender != nil && mh.Sender.Identifier != nil {
		r.SenderLicense = mh.Sender.Identifier.Value
	}
	r.QueuedMessages = hasTag(mh.Meta, "queued-messages") || hasTag(b.Meta, "queued-messages")
	r.NPHIESGenerated = hasTag(mh.Meta, "nphies-generated") || hasTag(b.Meta, "nphies-generated")
}

// readFocus sets Kind by the event and reads the focal resource into the
// matching typed result; an event we do not read is KindOther.
func (r *Response) readFocus(b *Bundle, mh *MessageHeader, depth int) error {
	focus := focal(b, mh)
	var err error
	switch r.Event {
	case EventEligibilityResponse:
		r.Kind = KindEligibility
		r.Eligibility, err = parseEligibility(b, focus, r)
	case EventClaimResponse, EventPriorAuthResponse:
		r.Kind = KindClaim
		r.Claim, err = parseClaimResponse(focus, r)
	case EventCancelResponse:
		r.Kind = KindCancel
		r.Task, err = parseTask(focus, r)
	case EventStatusResponse:
		r.Kind = KindStatus
		r.Task, err = parseTask(focus, r)
	case EventPollResponse:
		r.Kind = KindPoll
		r.Poll, err = parsePoll(b, focus, r, depth)
	case EventCommunicationRequest:
		r.Kind = KindCommunicationRequest
		r.CommunicationRequest, err = parseCommunicationRequest(focus, r)
	case EventPaymentReconciliation:
		r.Kind = KindPaymentReconciliation
		r.PaymentReconciliation, err = parsePaymentReconciliation(focus, r)
	case EventAcknowledgement:
		r.Kind = KindAcknowledgement
		r.Issues = acknowledgementIssues(b, mh)
	default:
		r.Kind = KindOther
	}
	return err
}

// parseTask reads the Task a cancel or status-check response carries.
func parseTask(e *BundleEntry, r *Response) (*TaskResult, error) {
	t, err := decodeFocus[Task](e, "Task", r)
	if err != nil {
		return nil, err
	}
	tr := taskResult(t)
	return &tr, nil
}

// acknowledgementIssues are the issues of the OperationOutcome an
// acknowledgement's response.details points at, if it can be read.
func acknowledgementIssues(b *Bundle, mh *MessageHeader) []Issue {
	if mh.Response == nil || mh.Response.Details == nil {
		return nil
	}
	e := b.Find(mh.Response.Details.Reference)
	if e == nil {
		return nil
	}
	var oo OperationOutcome
	if e.Decode(&oo) != nil {
		return nil
	}
	return outcomeIssues(&oo)
}

// focal returns the entry MessageHeader.focus points at; when focus is absent
// (poll-response in the official example) it falls back to the second entry.
func focal(b *Bundle, mh *MessageHeader) *BundleEntry {
	if len(mh.Focus) > 0 {
		if e := b.Find(mh.Focus[0].Reference); e != nil {
			return e
		}
	}
	if len(b.Entry) > 1 {
		return &b.Entry[1]
	}
	return nil
}

// decodeFocus decodes the focal entry as resource type rt, also reading the
// NPHIES-generated tag real traffic puts on the focal resource.
func decodeFocus[T any](e *BundleEntry, rt string, r *Response) (*T, error) {
	if e == nil {
		return nil, malformed("%s: focal resource missing", r.Event)
	}
	if got := e.ResourceType(); got != rt {
		return nil, malformed("%s: focal resource is %q, want %s", r.Event, got, rt)
	}
	var meta struct {
		Meta *Meta `json:"meta"`
	}
	if json.Unmarshal(e.Resource, &meta) == nil && hasTag(meta.Meta, "nphies-generated") {
		r.NPHIESGenerated = true
	}
	v := new(T)
	if err := e.Decode(v); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return v, nil
}

// hasTag reports whether meta carries tag code, leniently: NPHIES uses both
// meta-tags and meta-tag systems, and sometimes no system with a display
// such as "NPHIES generated".
func hasTag(m *Meta, code string) bool {
	if m == nil {
		return false
	}
	norm := func(s string) string { return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), " ", "-") }
	for _, t := range m.Tag {
		if norm(t.Code) == code || norm(t.Display) == code {
			return true
		}
	}
	return false
}

// outcomeIssues converts OperationOutcome issues.
func outcomeIssues(oo *OperationOutcome) []Issue {
	out := make([]Issue, 0, len(oo.Issue))
	for _, is := range oo.Issue {
		i := Issue{Severity: is.Severity, Code: is.Code, Diagnostics: is.Diagnostics}
		if is.Details != nil && len(is.Details.Coding) > 0 {
			c := is.Details.Coding[0]
			i.System, i.Code, i.Display = c.System, c.Code, c.Display
		}
		if len(is.Expression) > 0 {
			i.Expression = is.Expression[0]
		}
		out = append(out, i)
	}
	return out
}

// responseErrors converts the error element of eligibility/claim responses.
func responseErrors(errs []ResponseError) []Issue {
	var out []Issue
	for _, e := range errs {
		if e.Code == nil {
			continue
		}
		for _, c := range e.Code.Coding {
			i := Issue{System: c.System, Code: c.Code, Display: c.Display, Severity: "error"}
			if x := findExt(c.Extension, ExtensionBase+"extension-error-expression"); x != nil && x.ValueString != nil {
				i.Expression = *x.ValueString
			}
			out = append(out, i)
		}
	}
	return out
}

// identOf returns the first identifier, or the zero value.
func identOf(ids []Identifier) Identifier {
	if len(ids) == 0 {
		return Identifier{}
	}
	return ids[0]
}

// refIdent returns a reference's identifier, or the zero value.
func refIdent(r *Reference) Identifier {
	if r == nil || r.Identifier == nil {
		return Identifier{}
	}
	return *r.Identifier
}

// extCode returns the code of a CodeableConcept extension, or "".
func extCode(exts []Extension, name string) string {
	if x := findExt(exts, ExtensionBase+name); x != nil {
		return x.ValueCodeableConcept.Code("")
	}
	return ""
}

// parseEligibility reads a CoverageEligibilityResponse and the coverages
// it returns.
func parseEligibility(b *Bundle, e *BundleEntry, r *Response) (*EligibilityResult, error) {
	cer, err := decodeFocus[CoverageEligibilityResponse](e, "CoverageEligibilityResponse", r)
	if err != nil {
		return nil, err
	}
	if cer.Outcome == "" {
		return nil, malformed("eligibility response has no outcome")
	}
	res := &EligibilityResult{
		Request:         refIdent(cer.Request),
		Outcome:         cer.Outcome,
		Disposition:     cer.Disposition,
		SiteEligibility: extCode(cer.Extension, "extension-siteEligibility"),
		Errors:          responseErrors(cer.Error),
	}
	for _, ins := range cer.Insurance {
		c := EligibilityCoverage{Inforce: ins.Inforce != nil && *ins.Inforce,
			NotInForceReason: extCode(ins.Extension, "extension-not-in-force-reason")}
		if ins.Coverage != nil {
			c.Coverage = ins.Coverage.Reference
			c.Found = foundCoverage(b, c.Coverage)
		}
		res.Inforce = res.Inforce || c.Inforce
		res.Coverages = append(res.Coverages, c)
	}
	return res, nil
}

// parseClaimResponse reads a ClaimResponse and derives our status.
func parseClaimResponse(e *BundleEntry, r *Response) (*ClaimResult, error) {
	cr, err := decodeFocus[ClaimResponse](e, "ClaimResponse", r)
	if err != nil {
		return nil, err
	}
	res := &ClaimResult{
		Identifier:    identOf(cr.Identifier),
		Request:       refIdent(cr.Request),
		Use:           cr.Use,
		Outcome:       cr.Outcome,
		Decision:      extCode(cr.Extension, "extension-adjudication-outcome"),
		Disposition:   cr.Disposition,
		PreAuthRef:    cr.PreAuthRef,
		PreAuthPeriod: cr.PreAuthPeriod,
		Reissue:       extCode(cr.Extension, "extension-adjudication-reissue"),
		Errors:        responseErrors(cr.Error),
		Totals:        map[string]int64{},
	}
	if res.Request.Value == "" {
		return nil, malformed("claim response has no request identifier")
	}
	for _, it := range cr.Item {
		ia := ItemAdjudication{
			Sequence: it.ItemSequence,
			Decision: extCode(it.Extension, "extension-adjudication-outcome"),
			Amounts:  map[string]int64{},
		}
		for _, a := range it.Adjudication {
			cat := a.Category.Code("")
			if a.Amount != nil {
				ia.Amounts[cat] += a.Amount.Halalas()
			}
			if cat == "approved-quantity" && a.Value != nil {
				v := *a.Value
				ia.ApprovedQuantity = &v
			}
			if code := a.Reason.Code(""); code != "" {
				ia.Reasons = append(ia.Reasons, code)
			}
		}
		res.Items = append(res.Items, ia)
	}
	for _, t := range cr.Total {
		res.Totals[t.Category.Code("")] += t.Amount.Halalas()
	}
	switch res.Outcome {
	case OutcomeQueued:
		res.Status = ClaimPending
	case OutcomeError:
		res.Status = ClaimError
	case OutcomeComplete, OutcomePartial:
		res.Status = decisionStatus(res)
	default:
		return nil, malformed("claim response outcome %q is unknown", res.Outcome)
	}
	return res, nil
}

// decisionStatus derives our status from a complete response: the explicit
// adjudication-outcome when present, else the item decisions (BV-00393/394/397).
func decisionStatus(res *ClaimResult) ClaimStatus {
	switch res.Decision {
	case DecisionApproved, DecisionNotRequired:
		return ClaimApproved
	case DecisionRejected:
		return ClaimRejected
	case DecisionPartial:
		return ClaimPartial
	case DecisionPended:
		return ClaimPending
	}
	approved, rejected := 0, 0
	for _, it := range res.Items {
		switch it.Decision {
		case DecisionApproved:
			approved++
		case DecisionRejected:
			rejected++
		}
	}
	switch {
	case len(res.Items) > 0 && approved == len(res.Items):
		return ClaimApproved
	case len(res.Items) > 0 && rejected == len(res.Items):
		return ClaimRejected
	case res.Outcome == OutcomePartial || len(res.Items) > 0:
		return ClaimPartial
	}
	return ClaimApproved
}

// taskResult reads a Task response.
func taskResult(t *Task) TaskResult {
	tr := TaskResult{Code: t.Code.Code(""), Status: t.Status, StatusReason: t.StatusReason.Code("")}
	if t.Focus != nil {
		tr.Focus = refIdent(t.Focus)
	}
	for _, o := range t.Output {
		switch o.Type.Code("") {
		case "status":
			if o.ValueCode != nil {
				tr.ClaimStatus = *o.ValueCode
			} else if o.ValueCodeableConcept != nil {
				tr.ClaimStatus = o.ValueCodeableConcept.Code("")
			}
		case "error":
			i := Issue{Severity: "error"}
			switch {
			case o.ValueCodeableConcept != nil && len(o.ValueCodeableConcept.Coding) > 0:
				c := o.ValueCodeableConcept.Coding[0]
				i.System, i.Code, i.Display = c.System, c.Code, c.Display
				if x := findExt(o.ValueCodeableConcept.Extension, ExtensionBase+"extension-error-expression"); x != nil && x.ValueString != nil {
					i.Expression = *x.ValueString
				}
			case o.ValueCode != nil:
				i.Code = *o.ValueCode
			case o.ValueString != nil:
				i.Diagnostics = *o.ValueString
			}
			tr.Errors = append(tr.Errors, i)
		}
	}
	return tr
}

// parsePoll reads a poll-response and parses every nested message bundle.
func parsePoll(b *Bundle, e *BundleEntry, r *Response, depth int) (*PollResult, error) {
	t, err := decodeFocus[Task](e, "Task", r)
	if err != nil {
		return nil, err
	}
	res := &PollResult{Task: taskResult(t)}
	if depth+1 >= maxNesting {
		return nil, malformed("poll response nested too deeply")
	}
	seen := map[string]bool{}
	add := func(entry *BundleEntry) {
		if entry == nil || seen[entry.FullURL] {
			return
		}
		seen[entry.FullURL] = true
		inner := bytes.Clone(entry.Resource)
		pr, perr := parse(inner, depth+1)
		if pr == nil {
			pr = &Response{Raw: inner}
		}
		res.Messages = append(res.Messages, PolledMessage{Response: pr, Err: perr})
	}
	// Deliver in the order of Task.output (NPHIES's queue order), then any
	// nested bundle the outputs did not name.
	for _, o := range t.Output {
		if o.ValueReference != nil && o.ValueReference.Reference != "" {
			add(b.Find(o.ValueReference.Reference))
		}
	}
	for i := range b.Entry {
		if i > 0 && b.Entry[i].ResourceType() == "Bundle" {
			add(&b.Entry[i])
		}
	}
	return res, nil
}

// parseCommunicationRequest reads a payer's CommunicationRequest.
func parseCommunicationRequest(e *BundleEntry, r *Response) (*CommunicationRequestResult, error) {
	cr, err := decodeFocus[CommunicationRequest](e, "CommunicationRequest", r)
	if err != nil {
		return nil, err
	}
	res := &CommunicationRequestResult{Identifier: identOf(cr.Identifier)}
	for _, a := range cr.About {
		if a.Identifier != nil {
			res.About = append(res.About, *a.Identifier)
		}
	}
	for _, p := range cr.Payload {
		if p.ContentString != nil {
			res.Texts = append(res.Texts, *p.ContentString)
		}
	}
	for _, rc := range cr.ReasonCode {
		if c := rc.Code(""); c != "" {
			res.Reasons = append(res.Reasons, c)
		}
	}
	return res, nil
}

// parsePaymentReconciliation reads a PaymentReconciliation.
func parsePaymentReconciliation(e *BundleEntry, r *Response) (*PaymentReconciliationResult, error) {
	pr, err := decodeFocus[PaymentReconciliation](e, "PaymentReconciliation", r)
	if err != nil {
		return nil, err
	}
	res := &PaymentReconciliationResult{
		Identifier:        identOf(pr.Identifier),
		PaymentIdentifier: identOf(pr.PaymentIdentifier),
		PaymentDate:       pr.PaymentDate,
		AmountHalalas:     pr.PaymentAmount.Halalas(),
	}
	for _, d := range pr.Detail {
		dr := PaymentDetailResult{
			Type:          d.Type.Code(""),
			Request:       refIdent(d.Request),
			Response:      refIdent(d.Response),
			AmountHalalas: d.Amount.Halalas(),
		}
		if x := findExt(d.Extension, ExtensionBase+"extension-component-nphies-fee"); x != nil {
			dr.NPHIESFeeHalalas = x.ValueMoney.Halalas()
		}
		if x := findExt(d.Extension, ExtensionBase+"extension-component-early-fee"); x != nil {
			dr.EarlyFeeHalalas = x.ValueMoney.Halalas()
		}
		dr.Date = d.Date
		res.Details = append(res.Details, dr)
	}
	return res, nil
}
