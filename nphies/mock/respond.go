package mock

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/healthgraph/healthgraph/nphies"
)

// mockBase prefixes the fullUrls and identifier systems the mock payer mints.
const mockBase = "http://mock-payer.nphies.sa"

// riyadh is Saudi Arabia's fixed UTC+03:00 offset.
var riyadh = time.FixedZone("AST", 3*60*60)

// now returns the mock clock in Riyadh time.
func (s *Server) now() time.Time { return s.opts.Now().In(riyadh) }

// cc returns a one-coding CodeableConcept.
func cc(system, code string) *nphies.CodeableConcept {
	return &nphies.CodeableConcept{Coding: []nphies.Coding{{System: system, Code: code}}}
}

// money returns SAR Money for halalas.
func money(h int64) *nphies.Money {
	v := nphies.Decimal(h)
	return &nphies.Money{Value: &v, Currency: "SAR"}
}

// boolp returns a pointer to v.
func boolp(v bool) *bool { return &v }

// strp returns a pointer to v.
func strp(v string) *string { return &v }

// mustJSON marshals values the mock itself built; they always marshal.
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("nphies mock: marshal %T: %v", v, err))
	}
	return b
}

// sender describes who a response comes from.
type sender struct {
	system, license, endpoint string
}

// payerSender is the payer the request was addressed to (INS-FHIR when the
// request names none).
func payerSender(payer string) sender {
	if payer == "" {
		payer = "INS-FHIR"
	}
	return sender{nphies.SystemPayerLicense, payer, nphies.SystemPayerLicense + "/" + payer}
}

// nphiesSender is NPHIES itself (poll responses, acknowledgements).
var nphiesSender = sender{nphies.SystemNPHIESLicense, nphies.NPHIESLicense, "http://nphies.sa/"}

// message assembles a response (or queued) message bundle addressed to the
// provider. inResponseTo may be empty for messages the payer initiates.
func (s *Server) message(event string, from sender, provider, inResponseTo, focusURL string, focus json.RawMessage, extras []nphies.BundleEntry, queuedMore bool) (string, json.RawMessage) {
	mhID := uuid.NewString()
	mh := nphies.MessageHeader{
		ResourceType: "MessageHeader",
		ID:           mhID,
		Meta:         &nphies.Meta{Profile: []string{nphies.Profile("message-header")}},
		EventCoding:  &nphies.Coding{System: nphies.SystemMessageEvents, Code: event},
		Destination: []nphies.MessageDestination{{
			Endpoint: nphies.SystemProviderLicense + "/" + provider,
			Receiver: &nphies.Reference{Type: "Organization", Identifier: &nphies.Identifier{System: nphies.SystemProviderLicense, Value: provider}},
		}},
		Sender: &nphies.Reference{Type: "Organization", Identifier: &nphies.Identifier{System: from.system, Value: from.license}},
		Source: &nphies.MessageSource{Endpoint: from.endpoint},
	}
	if focusURL != "" {
		mh.Focus = []nphies.Reference{{Reference: focusURL}}
	}
	if inResponseTo != "" {
		mh.Response = &nphies.MessageHeaderResponse{Identifier: inResponseTo, Code: "ok"}
	}
	if queuedMore {
		mh.Meta.Tag = []nphies.Coding{{System: nphies.SystemMetaTags, Code: "queued-messages"}}
	}
	entries := []nphies.BundleEntry{{FullURL: "urn:uuid:" + mhID, Resource: mustJSON(mh)}}
	if focusURL != "" {
		entries = append(entries, nphies.BundleEntry{FullURL: focusURL, Resource: focus})
	}
	entries = append(entries, extras...)
	id := uuid.NewString()
	return id, mustJSON(nphies.Bundle{
		ResourceType: "Bundle",
		ID:           id,
		Meta:         &nphies.Meta{Profile: []string{nphies.Profile("bundle")}},
		Type:         "message",
		Timestamp:    s.now().Format("2006-01-02T15:04:05.000-07:00"),
		Entry:        entries,
	})
}

// extras returns the request's entries other than the header and focus, so
// the response's references (patient, insurer, coverage) resolve. A
// VisionPrescription stays behind: it may travel only in a claim or
// authorization request (BV-00468), and no answer references it.
func extras(q *request) []nphies.BundleEntry {
	var out []nphies.BundleEntry
	for i, e := range q.bundle.Entry {
		if i == 0 || (q.focus != nil && e.FullURL == q.focus.FullURL) || e.ResourceType() == "Bundle" || e.ResourceType() == "VisionPrescription" {
			continue
		}
		out = append(out, e)
	}
	return out
}

// offline reports whether q's payer is configured as down.
func (s *Server) offline(q *request) bool { return slices.Contains(s.opts.OfflinePayers, q.payer) }

// nphiesGenerated is the meta tag NPHIES puts on answers it generates itself.
var nphiesGenerated = nphies.Coding{System: nphies.SystemMetaTags, Code: "nphies-generated"}

// respondAsNPHIES builds an answer NPHIES generates on the payer's behalf
// (store and forward): sender NPHIES, focal resource tagged.
func (s *Server) respondAsNPHIES(q *request, event, rt string, focus any) []byte {
	raw := mustJSON(focus)
	url := fmt.Sprintf("http://nphies.sa/%s/%s", rt, resourceID(raw))
	_, body := s.message(event, nphiesSender, q.provider, q.mh.ID, url, raw, extras(q), len(s.queues[q.provider]) > 0)
	return body
}

// respond builds the synchronous answer to q.
func (s *Server) respond(q *request, event, rt string, focus any) []byte {
	raw := mustJSON(focus)
	url := fmt.Sprintf("%s/%s/%s", mockBase, rt, resourceID(raw))
	_, body := s.message(event, payerSender(q.payer), q.provider, q.mh.ID, url, raw, extras(q), len(s.queues[q.provider]) > 0)
	return body
}

// resourceID reads the id of a resource the mock built, so its fullUrl ends
// with it as NPHIES requires.
func resourceID(raw json.RawMessage) string {
	var r struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(raw, &r)
	return r.ID
}

// ack builds an acknowledgement from NPHIES, with an OperationOutcome of the
// issues when there are any (code is then not ok).
func (s *Server) ack(q *request, code string, issues ...nphies.OutcomeIssue) []byte {
	mhID := uuid.NewString()
	mh := nphies.MessageHeader{
		ResourceType: "MessageHeader",
		ID:           mhID,
		Meta:         &nphies.Meta{Profile: []string{nphies.Profile("message-header")}},
		EventCoding:  &nphies.Coding{System: nphies.SystemMessageEvents, Code: nphies.EventAcknowledgement},
		Destination: []nphies.MessageDestination{{
			Endpoint: nphies.SystemProviderLicense + "/" + q.provider,
			Receiver: &nphies.Reference{Type: "Organization", Identifier: &nphies.Identifier{System: nphies.SystemProviderLicense, Value: q.provider}},
		}},
		Sender:   &nphies.Reference{Type: "Organization", Identifier: &nphies.Identifier{System: nphies.SystemNPHIESLicense, Value: nphies.NPHIESLicense}},
		Source:   &nphies.MessageSource{Endpoint: "http://nphies.sa/"},
		Response: &nphies.MessageHeaderResponse{Identifier: q.mh.ID, Code: code},
	}
	if len(s.queues[q.provider]) > 0 {
		mh.Meta.Tag = []nphies.Coding{{System: nphies.SystemMetaTags, Code: "queued-messages"}}
	}
	var entries []nphies.BundleEntry
	if len(issues) > 0 {
		ooID := uuid.NewString()
		ooURL := "http://nphies.sa/OperationOutcome/" + ooID
		mh.Response.Details = &nphies.Reference{Reference: ooURL}
		entries = append(entries, nphies.BundleEntry{FullURL: ooURL, Resource: mustJSON(nphies.OperationOutcome{
			ResourceType: "OperationOutcome", ID: ooID,
			Meta:  &nphies.Meta{Profile: []string{nphies.Profile("operationoutcome")}},
			Issue: issues,
		})})
	}
	entries = append([]nphies.BundleEntry{{FullURL: "urn:uuid:" + mhID, Resource: mustJSON(mh)}}, entries...)
	return mustJSON(nphies.Bundle{
		ResourceType: "Bundle", ID: uuid.NewString(),
		Meta:      &nphies.Meta{Profile: []string{nphies.Profile("bundle")}},
		Type:      "message",
		Timestamp: s.now().Format("2006-01-02T15:04:05.000-07:00"),
		Entry:     entries,
	})
}

// errorCode builds a response error element naming, in NPHIES's
// extension-error-expression, the element at fault.
func errorCode(code, display, expression string) nphies.ResponseError {
	c := nphies.Coding{System: nphies.SystemAdjudicationError, Code: code, Display: display}
	if expression != "" {
		c.Extension = []nphies.Extension{{URL: nphies.ExtensionBase + "extension-error-expression", ValueString: strp(expression)}}
	}
	return nphies.ResponseError{Code: &nphies.CodeableConcept{Coding: []nphies.Coding{c}}}
}

// eligibility answers an eligibility-request.
func (s *Server) eligibility(q *request) (int, []byte) {
	var req nphies.CoverageEligibilityRequest
	if q.focus == nil || q.focus.ResourceType() != "CoverageEligibilityRequest" || q.focus.Decode(&req) != nil {
		return http.StatusBadRequest, ooBody("GE-00013", "eligibility-request focus must be a CoverageEligibilityRequest")
	}
	var reqID *nphies.Identifier
	if len(req.Identifier) > 0 {
		reqID = &req.Identifier[0]
	}
	resp := nphies.CoverageEligibilityResponse{
		ResourceType: "CoverageEligibilityResponse", ID: uuid.NewString(),
		Meta:           &nphies.Meta{Profile: []string{nphies.Profile("eligibility-response")}},
		Identifier:     []nphies.Identifier{{System: mockBase + "/coverageeligibilityresponse", Value: uuid.NewString()}},
		Status:         "active",
		Purpose:        req.Purpose,
		Patient:        req.Patient,
		ServicedDate:   req.ServicedDate,
		ServicedPeriod: req.ServicedPeriod,
		Created:        s.now().Format("2006-01-02T15:04:05-07:00"),
		Insurer:        req.Insurer,
	}
	if reqID != nil {
		// Never emit an empty request element (NPHIES rejects empty elements).
		resp.Request = &nphies.Reference{Identifier: reqID}
	}
	if s.offline(q) {
		// Eligibility is never queued: the provider must resend later.
		resp.Meta.Tag = []nphies.Coding{nphiesGenerated}
		resp.Outcome = "error"
		resp.Error = []nphies.ResponseError{errorCode("GE-00012", "The payer is offline", "Bundle.entry[0].resource.destination[0].receiver")}
		return http.StatusOK, s.respondAsNPHIES(q, nphies.EventEligibilityResponse, "CoverageEligibilityResponse", resp)
	}
	site := "eligible"
	inforce := true
	switch q.outcome {
	case OutcomeEligibilityError, OutcomeError:
		resp.Outcome = "error"
		resp.Disposition = "No member found with the supplied patient credentials"
		resp.Error = []nphies.ResponseError{errorCode(ErrorMemberNotFound, "No member found with the supplied patient credentials", q.path("Patient", "identifier"))}
		if discovery(req) {
			return http.StatusOK, s.discoveryAnswer(q, resp, nil)
		}
		return http.StatusOK, s.respond(q, nphies.EventEligibilityResponse, "CoverageEligibilityResponse", resp)
	case OutcomeNotEligible, OutcomeRejected:
		site, inforce = "not-active", false
		resp.Disposition = "Coverage is not active"
	default:
		resp.Disposition = "Patient's coverage is subject to the contracted terms and conditions"
	}
	resp.Outcome = "complete"
	x := nphies.Extension{URL: nphies.ExtensionBase + "extension-siteEligibility",
		ValueCodeableConcept: cc(nphies.SystemSiteEligibility, site)}
	resp.Extension = []nphies.Extension{x}
	if discovery(req) {
		return http.StatusOK, s.discover(q, req, resp, inforce)
	}
	for _, ins := range req.Insurance {
		ri := nphies.EligibilityResponseInsurance{Coverage: ins.Coverage, Inforce: boolp(inforce)}
		if inforce {
			ri.Item = []nphies.EligibilityItem{{
				Category: cc("http://nphies.sa/terminology/CodeSystem/benefit-category", "1"),
				Excluded: boolp(false),
				Name:     "Medical Care",
				Network:  cc("http://terminology.hl7.org/CodeSystem/benefit-network", "in"),
				Unit:     cc("http://terminology.hl7.org/CodeSystem/benefit-unit", "individual"),
				Term:     cc("http://terminology.hl7.org/CodeSystem/benefit-term", "annual"),
				Benefit: []nphies.EligibilityBenefit{{
					Type:         cc("http://nphies.sa/terminology/CodeSystem/benefit-type", "benefit"),
					AllowedMoney: money(50000000),
				}},
			}}
		} else {
			ri.Extension = []nphies.Extension{{URL: nphies.ExtensionBase + "extension-not-in-force-reason",
				ValueCodeableConcept: cc("http://nphies.sa/terminology/CodeSystem/not-in-force-reason", "policy-expired")}}
		}
		resp.Insurance = append(resp.Insurance, ri)
	}
	return http.StatusOK, s.respond(q, nphies.EventEligibilityResponse, "CoverageEligibilityResponse", resp)
}

// itemAmounts reads what the mock needs from a claim item.
func itemAmounts(it nphies.ClaimItem) (net, tax, share, qty int64) {
	net = it.Net.Halalas()
	if x := findExt(it.Extension, "extension-tax"); x != nil {
		tax = x.ValueMoney.Halalas()
	}
	if x := findExt(it.Extension, "extension-patient-share"); x != nil {
		share = x.ValueMoney.Halalas()
	}
	qty = 100
	if it.Quantity != nil && it.Quantity.Value != nil {
		qty = int64(*it.Quantity.Value)
	}
	return net, tax, share, qty
}

// findExt finds an NPHIES extension by name.
func findExt(exts []nphies.Extension, name string) *nphies.Extension {
	for i := range exts {
		if exts[i].URL == nphies.ExtensionBase+name {
			return &exts[i]
		}
	}
	return nil
}

// adjudication builds one adjudication line.
func adjudication(system, code string, h int64) nphies.Adjudication {
	return nphies.Adjudication{Category: cc(system, code), Amount: money(h)}
}

// itemDecision is the scripted decision for item index i (0-based) of n.
func itemDecision(o Outcome, i int) (string, string) {
	switch o {
	case OutcomeRejected:
		return nphies.DecisionRejected, ReasonRejected
	case OutcomeNotEligible:
		return nphies.DecisionRejected, ReasonNotMember
	case OutcomePartial:
		// First item approved, then alternately partly approved and
		// rejected, so a two-item claim shows both reasons a payer gives.
		switch {
		case i == 0:
			return nphies.DecisionPartial, ReasonPartial
		case i%2 == 1:
			return nphies.DecisionApproved, ""
		default:
			return nphies.DecisionRejected, ReasonRejected
		}
	}
	return nphies.DecisionApproved, ""
}

// adjudicate builds a complete ClaimResponse for claim under outcome o.
func (s *Server) adjudicate(c *nphies.Claim, o Outcome, reissue bool) (nphies.ClaimResponse, int64) {
	cr := s.claimResponseShell(c)
	cr.Outcome = nphies.OutcomeComplete
	var totSubmitted, totEligible, totBenefit, totTax int64
	approved, rejected := 0, 0
	for i, it := range c.Item {
		net, tax, share, qty := itemAmounts(it)
		decision, reason := itemDecision(o, i)
		eligible, benefit, paidShare, aq := net, net-share, share, qty
		switch decision {
		case nphies.DecisionPartial:
			eligible = net / 2
			paidShare = min(share, eligible)
			benefit = eligible - paidShare
		case nphies.DecisionRejected:
			// Nothing is paid on a rejected item, so no tax either.
			eligible, benefit, paidShare, aq, tax = 0, 0, 0, 0, 0
		}
		if benefit < 0 {
			benefit = 0
		}
		switch decision {
		case nphies.DecisionApproved:
			approved++
		case nphies.DecisionRejected:
			rejected++
		}
		aqv := nphies.Decimal(aq)
		adj := []nphies.Adjudication{
			adjudication(nphies.SystemAdjudication, "submitted", net),
			adjudication(nphies.SystemAdjudication, "eligible", eligible),
			adjudication(nphies.SystemAdjudication, "benefit", benefit),
			adjudication(nphies.SystemAdjudication, "tax", tax),
			adjudication(nphies.SystemKSAAdjudication, "patientShare", paidShare),
			{Category: cc(nphies.SystemKSAAdjudication, "approved-quantity"), Value: &aqv},
		}
		if reason != "" {
			for k := range adj {
				if adj[k].Category.Code("") == "eligible" {
					adj[k].Reason = cc(nphies.SystemAdjudicationReason, reason)
				}
			}
		}
		exts := []nphies.Extension{{URL: nphies.ExtensionBase + "extension-adjudication-outcome",
			ValueCodeableConcept: cc(nphies.SystemAdjudicationOutcome, decision)}}
		if inv := findExt(it.Extension, "extension-patientInvoice"); inv != nil {
			exts = append(exts, *inv) // BV-00537: the item answer echoes the patient invoice
		}
		cr.Item = append(cr.Item, nphies.ClaimResponseItem{Extension: exts, ItemSequence: it.Sequence, Adjudication: adj})
		totSubmitted += net
		totEligible += eligible
		totBenefit += benefit
		totTax += tax
	}
	overall := nphies.DecisionPartial
	switch {
	case approved == len(c.Item):
		overall = nphies.DecisionApproved
	case rejected == len(c.Item):
		overall = nphies.DecisionRejected
	}
	cr.Extension = []nphies.Extension{{URL: nphies.ExtensionBase + "extension-adjudication-outcome",
		ValueCodeableConcept: cc(nphies.SystemAdjudicationOutcome, overall)}}
	if reissue {
		cr.Extension = append(cr.Extension, nphies.Extension{URL: nphies.ExtensionBase + "extension-adjudication-reissue",
			ValueCodeableConcept: cc("http://nphies.sa/terminology/CodeSystem/reissue-reason", "adjudication")})
	}
	cr.Total = []nphies.ClaimResponseTotal{
		{Category: cc(nphies.SystemAdjudication, "submitted"), Amount: money(totSubmitted)},
		{Category: cc(nphies.SystemAdjudication, "eligible"), Amount: money(totEligible)},
		{Category: cc(nphies.SystemAdjudication, "benefit"), Amount: money(totBenefit)},
		{Category: cc(nphies.SystemAdjudication, "tax"), Amount: money(totTax)},
	}
	if c.Use == "preauthorization" && overall != nphies.DecisionRejected {
		cr.PreAuthRef = "PA-" + uuid.NewString()[:8]
		today := s.now()
		cr.PreAuthPeriod = &nphies.Period{Start: today.Format("2006-01-02"), End: today.AddDate(0, 0, 30).Format("2006-01-02")}
	}
	return cr, totBenefit
}

// claimResponseShell copies the Claim fields a ClaimResponse echoes.
func (s *Server) claimResponseShell(c *nphies.Claim) nphies.ClaimResponse {
	profile := "claim-response"
	if c.Use == "preauthorization" {
		profile = "prior-auth-response"
	}
	cr := nphies.ClaimResponse{
		ResourceType: "ClaimResponse", ID: uuid.NewString(),
		Meta:       &nphies.Meta{Profile: []string{nphies.Profile(profile)}},
		Identifier: []nphies.Identifier{{System: mockBase + "/claimresponse", Value: uuid.NewString()}},
		Status:     "active",
		Type:       c.Type,
		SubType:    c.SubType,
		Use:        c.Use,
		Patient:    c.Patient,
		Created:    s.now().Format("2006-01-02T15:04:05-07:00"),
		Insurer:    c.Insurer,
		Requestor:  c.Provider,
		PayeeType:  cc("http://terminology.hl7.org/CodeSystem/payeetype", "provider"),
	}
	if len(c.Identifier) > 0 {
		id := c.Identifier[0]
		cr.Request = &nphies.Reference{Type: "Claim", Identifier: &id}
	}
	for _, ins := range c.Insurance {
		cr.Insurance = append(cr.Insurance, nphies.ClaimInsurance{Sequence: ins.Sequence, Focal: ins.Focal, Coverage: ins.Coverage})
	}
	return cr
}

// claim answers a claim-request or priorauth-request.
func (s *Server) claim(q *request) (int, []byte) {
	var c nphies.Claim
	if q.focus == nil || q.focus.ResourceType() != "Claim" || q.focus.Decode(&c) != nil {
		return http.StatusBadRequest, ooBody("GE-00013", "focus must be a readable Claim")
	}
	respEvent := nphies.ResponseEvent(q.event())
	if len(c.Identifier) == 0 || c.Identifier[0].Value == "" {
		cr := s.claimResponseShell(&c)
		cr.Outcome = nphies.OutcomeError
		cr.Request = &nphies.Reference{Type: "Claim", Identifier: &nphies.Identifier{System: mockBase + "/missing", Value: "missing"}}
		cr.Error = []nphies.ResponseError{errorCode("BV-00163", "Claim.identifier is required", q.path("Claim", "identifier"))}
		return http.StatusOK, s.respond(q, respEvent, "ClaimResponse", cr)
	}
	key := c.Identifier[0].Key()
	hash := compactDigest(q.focus.Resource)
	rec, seen := s.claims[key]
	if seen {
		rec.received++
		rec.bundles[q.bundle.ID] = true
		if rec.hash != hash {
			// Same identifier, different content: NPHIES refuses (BV-00163).
			rec.conflicts++
			cr := s.claimResponseShell(&c)
			cr.Outcome = nphies.OutcomeError
			cr.Error = []nphies.ResponseError{errorCode(ErrorDuplicateConflict, "A claim with this identifier and different content was already submitted", q.path("Claim", "identifier"))}
			return http.StatusOK, s.respond(q, respEvent, "ClaimResponse", cr)
		}
		// Identical resubmission: return the latest stored response.
		return http.StatusOK, s.wrapStored(q, respEvent, rec)
	}
	rec = &claimRecord{hash: hash, bundles: map[string]bool{q.bundle.ID: true}, received: 1, processed: 1,
		event: respEvent, provider: q.provider, payer: q.payer, extras: extras(q), reqMH: q.mh.ID,
		insurer: c.Insurer, requestor: c.Provider}
	s.claims[key] = rec

	var sum int64
	for _, it := range c.Item {
		sum += it.Net.Halalas()
	}
	cr := s.claimResponseShell(&c)
	switch {
	case c.Total.Halalas() != sum:
		cr.Outcome = nphies.OutcomeError
		cr.Error = []nphies.ResponseError{errorCode(ErrorTotalMismatch, "Claim.total SHALL be equal to sum of Claim.item.net", q.path("Claim", "total"))}
	case q.outcome == OutcomeError:
		cr.Outcome = nphies.OutcomeError
		cr.Error = []nphies.ResponseError{errorCode(ErrorPolicyExpired, "Policy is cancelled/expired", q.path("Coverage", "period"))}
	case q.outcome == OutcomeEligibilityError:
		cr.Outcome = nphies.OutcomeError
		cr.Error = []nphies.ResponseError{errorCode(ErrorMemberNotFound, "No member found with the supplied patient credentials", q.path("Patient", "identifier"))}
	case q.outcome == OutcomeQueued || q.outcome == OutcomeCommunication || q.outcome == OutcomeStatusCheck || s.offline(q):
		cr.Outcome = nphies.OutcomeQueued
		cr.Extension = []nphies.Extension{{URL: nphies.ExtensionBase + "extension-adjudication-outcome",
			ValueCodeableConcept: cc(nphies.SystemAdjudicationOutcome, nphies.DecisionPended)}}
		// The deferred decision follows the member's rule (an offline
		// payer's PARTIAL member is still partially approved later).
		later := q.outcome
		if later == OutcomeQueued || later == OutcomeCommunication || later == OutcomeStatusCheck || later == "" {
			later = OutcomeApproved
		}
		final, benefit := s.adjudicate(&c, later, false)
		rec.final = mustJSON(final)
		rec.benefit = benefit
		rec.responseID = final.Identifier[0]
		rec.state = nphies.OutcomeQueued
		switch q.outcome {
		case OutcomeCommunication:
			s.enqueueCommunicationRequest(key, rec, &c)
		case OutcomeStatusCheck:
			rec.held = true
		default:
			s.deliverFinal(key, rec)
		}
	default:
		full, benefit := s.adjudicate(&c, q.outcome, false)
		cr = full
		rec.benefit = benefit
		rec.responseID = full.Identifier[0]
	}
	if rec.state == "" {
		rec.state = nphies.OutcomeComplete
	}
	rec.response = mustJSON(cr)
	switch {
	case q.outcome == OutcomeReverse && cr.Outcome == nphies.OutcomeComplete:
		s.reverse(key, rec, &c)
	case q.outcome == OutcomePaySplit && cr.Outcome == nphies.OutcomeComplete:
		// Paid in two reconciliations: half first, the rest later.
		half := rec.benefit / 2
		claimID := c.Identifier[0]
		s.enqueuePayments(rec.provider, partiesOf(rec), []payLine{{claimID, rec.responseID, half}})
		s.enqueuePayments(rec.provider, partiesOf(rec), []payLine{{claimID, rec.responseID, rec.benefit - half}})
	}
	if s.offline(q) && cr.Outcome == nphies.OutcomeQueued {
		cr.Meta.Tag = []nphies.Coding{nphiesGenerated}
		rec.response = mustJSON(cr)
		return http.StatusOK, s.respondAsNPHIES(q, respEvent, "ClaimResponse", cr)
	}
	return http.StatusOK, s.respond(q, respEvent, "ClaimResponse", cr)
}

// wrapStored answers an identical resubmission with the stored response.
func (s *Server) wrapStored(q *request, event string, rec *claimRecord) []byte {
	url := fmt.Sprintf("%s/ClaimResponse/%s", mockBase, resourceID(rec.response))
	_, body := s.message(event, payerSender(q.payer), q.provider, q.mh.ID, url, rec.response, rec.extras, len(s.queues[q.provider]) > 0)
	return body
}

// deliverFinal queues a claim's final response for the provider's next poll.
func (s *Server) deliverFinal(key string, rec *claimRecord) {
	url := fmt.Sprintf("%s/ClaimResponse/%s", mockBase, resourceID(rec.final))
	id, body := s.message(rec.event, payerSender(rec.payer), rec.provider, rec.reqMH, url, rec.final, rec.extras, false)
	s.queues[rec.provider] = append(s.queues[rec.provider], queued{id: id, event: rec.event, focus: key, body: body})
	rec.response = rec.final
	rec.state = nphies.OutcomeComplete
}

// enqueueCommunicationRequest queues the payer's request for information.
func (s *Server) enqueueCommunicationRequest(key string, rec *claimRecord, c *nphies.Claim) {
	ident := nphies.Identifier{System: mockBase + "/communicationrequest", Value: uuid.NewString()}
	claimID := c.Identifier[0]
	creq := nphies.CommunicationRequest{
		ResourceType: "CommunicationRequest", ID: uuid.NewString(),
		Meta:       &nphies.Meta{Profile: []string{nphies.Profile("communication-request")}},
		Identifier: []nphies.Identifier{ident},
		Status:     "active",
		Category:   []nphies.CodeableConcept{*cc("http://terminology.hl7.org/CodeSystem/communication-category", "instruction")},
		Priority:   "routine",
		Subject:    c.Patient,
		About:      []nphies.Reference{{Type: "Claim", Identifier: &claimID}},
		Payload:    []nphies.CommunicationPayload{{ContentString: strp("Please provide the medical report supporting the claimed services.")}},
		Recipient:  []nphies.Reference{*c.Provider},
		Sender:     c.Insurer,
		ReasonCode: []nphies.CodeableConcept{*cc("http://nphies.sa/terminology/CodeSystem/communication-reason", "missing-info")},
	}
	url := fmt.Sprintf("%s/CommunicationRequest/%s", mockBase, creq.ID)
	id, body := s.message(nphies.EventCommunicationRequest, payerSender(rec.payer), rec.provider, "", url, mustJSON(creq), rec.extras, false)
	s.queues[rec.provider] = append(s.queues[rec.provider], queued{id: id, event: nphies.EventCommunicationRequest, focus: key, body: body})
	s.commReqs[ident.Key()] = key
}

// batch answers a batch-request: each nested claim bundle is processed on its
// own and the answers are returned nested in a batch-response.
func (s *Server) batch(q *request) (int, []byte) {
	var nested []nphies.BundleEntry
	for _, e := range q.bundle.Entry[1:] {
		if e.ResourceType() != "Bundle" {
			continue
		}
		inner, status, _, _ := parseRequest(e.Resource)
		if status != 0 {
			continue
		}
		inner.outcome = outcomeFor(inner, "")
		_, body := s.claim(inner)
		var rb nphies.Bundle
		if json.Unmarshal(body, &rb) == nil {
			nested = append(nested, nphies.BundleEntry{FullURL: "http://nphies.sa/Bundle/" + rb.ID, Resource: body})
		}
	}
	_, body := s.message(nphies.EventBatchResponse, nphiesSender, q.provider, q.mh.ID, "", nil, nested, len(s.queues[q.provider]) > 0)
	return http.StatusOK, body
}

// taskResponse builds the Task answering a cancel or status task.
func (s *Server) taskResponse(t *nphies.Task, status string) nphies.Task {
	now := s.now().Format("2006-01-02T15:04:05-07:00")
	return nphies.Task{
		ResourceType: "Task", ID: uuid.NewString(),
		Meta:         &nphies.Meta{Profile: []string{nphies.Profile("task")}},
		Identifier:   []nphies.Identifier{{System: mockBase + "/task", Value: uuid.NewString()}},
		Status:       status,
		Intent:       "order",
		Priority:     "routine",
		Code:         t.Code,
		Focus:        t.Focus,
		AuthoredOn:   now,
		LastModified: now,
		Requester:    t.Requester,
		Owner:        t.Owner,
	}
}

// errorOutput builds a Task error output naming, in NPHIES's
// extension-error-expression on the output's value (BV-00249), the element
// of the request at fault.
func errorOutput(code, display, expression string) nphies.TaskParameter {
	return nphies.TaskParameter{
		Type: cc(nphies.SystemTaskOutputType, "error"),
		ValueCodeableConcept: &nphies.CodeableConcept{
			Extension: []nphies.Extension{{URL: nphies.ExtensionBase + "extension-error-expression", ValueString: strp(expression)}},
			Coding:    []nphies.Coding{{System: nphies.SystemAdjudicationError, Code: code, Display: display}},
		},
	}
}

// taskFocus decodes the request's Task and the claim it targets.
func (s *Server) taskFocus(q *request) (*nphies.Task, *claimRecord, bool) {
	var t nphies.Task
	if q.focus == nil || q.focus.ResourceType() != "Task" || q.focus.Decode(&t) != nil {
		return nil, nil, false
	}
	if t.Focus == nil || t.Focus.Identifier == nil {
		return &t, nil, true
	}
	return &t, s.claims[t.Focus.Identifier.Key()], true
}

// cancel answers a cancel-request.
func (s *Server) cancel(q *request) (int, []byte) {
	t, rec, ok := s.taskFocus(q)
	if !ok {
		return http.StatusBadRequest, ooBody("GE-00013", "cancel-request focus must be a Task")
	}
	resp := s.taskResponse(t, "completed")
	switch {
	case rec == nil:
		resp.Status = "failed"
		resp.Output = []nphies.TaskParameter{errorOutput(ErrorUnknownClaim, "The referenced claim was not found", q.path("Task", "focus"))}
	case rec.cancelled:
		resp.Status = "failed"
		resp.Output = []nphies.TaskParameter{errorOutput(ErrorAlreadyCancelled, "The claim is already cancelled", q.path("Task", "focus"))}
	default:
		rec.cancelled = true
	}
	return http.StatusOK, s.respond(q, nphies.EventCancelResponse, "Task", resp)
}

// status answers a status-check with the claim's remittance outcome.
func (s *Server) status(q *request) (int, []byte) {
	t, rec, ok := s.taskFocus(q)
	if !ok {
		return http.StatusBadRequest, ooBody("GE-00013", "status-check focus must be a Task")
	}
	resp := s.taskResponse(t, "completed")
	if s.offline(q) {
		resp.Status = "failed"
		resp.Output = []nphies.TaskParameter{errorOutput("GE-00012", "The payer is offline", q.path("Task", "owner"))}
		return http.StatusOK, s.respondAsNPHIES(q, nphies.EventStatusResponse, "Task", resp)
	}
	if rec == nil {
		resp.Status = "failed"
		resp.Output = []nphies.TaskParameter{errorOutput(ErrorUnknownClaim, "The referenced claim was not found", q.path("Task", "focus"))}
	} else {
		if rec.held {
			// The payer decides when asked: the decision is queued for
			// the next poll and the answer says complete.
			rec.held = false
			s.deliverFinal(t.Focus.Identifier.Key(), rec)
		}
		resp.Output = []nphies.TaskParameter{{Type: cc(nphies.SystemTaskOutputType, "status"), ValueCode: strp(rec.state)}}
	}
	return http.StatusOK, s.respond(q, nphies.EventStatusResponse, "Task", resp)
}

// poll answers a poll-request from the provider's FIFO queue.
func (s *Server) poll(q *request) (int, []byte) {
	var t nphies.Task
	if q.focus == nil || q.focus.ResourceType() != "Task" || q.focus.Decode(&t) != nil {
		return http.StatusBadRequest, ooBody("GE-00013", "poll-request focus must be a Task")
	}
	include, exclude := map[string]bool{}, map[string]bool{}
	count := int64(1)
	for _, in := range t.Input {
		switch in.Type.Code("") {
		case "include-message-type":
			if in.ValueCode != nil {
				include[*in.ValueCode] = true
			}
		case "exclude-message-type":
			if in.ValueCode != nil {
				exclude[*in.ValueCode] = true
			}
		case "count":
			if in.ValuePositiveInt != nil {
				count = *in.ValuePositiveInt
			}
		}
	}
	count = max(1, min(count, 100))
	var focusKey string
	if t.Focus != nil && t.Focus.Identifier != nil {
		focusKey = t.Focus.Identifier.Key()
	}
	queue := s.queues[q.provider]
	var deliver []queued
	var keep []queued
	for _, m := range queue {
		match := int64(len(deliver)) < count &&
			(len(include) == 0 || include[m.event]) && !exclude[m.event] &&
			(focusKey == "" || focusKey == m.focus)
		if match {
			deliver = append(deliver, m)
		} else {
			keep = append(keep, m)
		}
	}
	s.queues[q.provider] = keep

	resp := nphies.Task{
		ResourceType: "Task", ID: uuid.NewString(),
		Meta:         &nphies.Meta{Profile: []string{nphies.Profile("task")}},
		Identifier:   []nphies.Identifier{{System: "http://nphies.sa/task", Value: uuid.NewString()}},
		Status:       "completed",
		Intent:       "order",
		Priority:     "routine",
		Code:         cc(nphies.SystemTaskCode, "poll"),
		AuthoredOn:   s.now().Format("2006-01-02T15:04:05-07:00"),
		LastModified: s.now().Format("2006-01-02T15:04:05-07:00"),
		Requester:    t.Requester,
		Owner:        &nphies.Reference{Identifier: &nphies.Identifier{System: nphies.SystemNPHIESLicense, Value: nphies.NPHIESLicense}},
		Input:        t.Input,
	}
	var nested []nphies.BundleEntry
	for _, m := range deliver {
		url := "http://nphies.sa/Bundle/" + m.id
		resp.Output = append(resp.Output, nphies.TaskParameter{
			Type:           cc(nphies.SystemTaskOutputType, "response"),
			ValueReference: &nphies.Reference{Reference: url},
		})
		nested = append(nested, nphies.BundleEntry{FullURL: url, Resource: m.body})
	}
	taskURL := "http://nphies.sa/Task/" + resp.ID
	all := append(nested, extras(q)...)
	_, body := s.message(nphies.EventPollResponse, nphiesSender, q.provider, q.mh.ID, taskURL, mustJSON(resp), all, len(keep) > 0)
	return http.StatusOK, body
}

// communication answers a communication with an acknowledgement; a reply to
// one of the mock's communication requests releases the claim's final
// response to the poll queue.
func (s *Server) communication(q *request) (int, []byte) {
	var c nphies.Communication
	if q.focus == nil || q.focus.ResourceType() != "Communication" || q.focus.Decode(&c) != nil {
		return http.StatusBadRequest, ooBody("GE-00013", "communication focus must be a Communication")
	}
	for _, b := range c.BasedOn {
		if b.Identifier == nil {
			continue
		}
		if key, ok := s.commReqs[b.Identifier.Key()]; ok {
			delete(s.commReqs, b.Identifier.Key())
			if rec := s.claims[key]; rec != nil && rec.state == nphies.OutcomeQueued {
				s.deliverFinal(key, rec)
			}
		}
	}
	return http.StatusOK, s.ack(q, "ok")
}

// paymentNotice acknowledges a payment notice, refusing unknown payments.
func (s *Server) paymentNotice(q *request) (int, []byte) {
	var pn nphies.PaymentNotice
	if q.focus == nil || q.focus.ResourceType() != "PaymentNotice" || q.focus.Decode(&pn) != nil {
		return http.StatusBadRequest, ooBody("GE-00013", "payment-notice focus must be a PaymentNotice")
	}
	if pn.Payment == nil || pn.Payment.Identifier == nil {
		return http.StatusOK, s.ack(q, "fatal-error", nphies.OutcomeIssue{Severity: "error", Code: "required",
			Details: cc(nphies.SystemAdjudicationError, "BV-00222"), Diagnostics: "PaymentNotice.payment.identifier is required"})
	}
	// Official examples reference reconciliations the mock never issued; only
	// notices for the mock's own payer system are checked.
	if pn.Payment.Identifier.System == mockBase+"/paymentreconciliation" && s.payments[pn.Payment.Identifier.Key()] == nil {
		return http.StatusOK, s.ack(q, "fatal-error", nphies.OutcomeIssue{Severity: "error", Code: "not-found",
			Details: cc(nphies.SystemAdjudicationError, "BV-00222"), Diagnostics: "unknown payment reconciliation"})
	}
	return http.StatusOK, s.ack(q, "ok")
}
