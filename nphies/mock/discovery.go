package mock

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/healthgraph/healthgraph/nphies"
)

// multipleCoveragesIqama is NPHIES's pseudo-payer patient whose discovery
// finds more than one coverage (NPHIES.md §5.4).
const multipleCoveragesIqama = "2555555559"

// memberSystem is the mock payer's identifier system for member IDs.
const memberSystem = mockBase + "/memberid"

// discover answers a discovery (an eligibility-request with purpose
// discovery and no Coverage): the payer's coverages for the patient, each
// a Coverage resource in the answer that insurance[].coverage references,
// with member ID, group and plan classes and this calendar year as period.
// Member IDs derive from the patient's identifier, so the same patient is
// found with the same coverage every time.
func (s *Server) discover(q *request, req nphies.CoverageEligibilityRequest, resp nphies.CoverageEligibilityResponse, inforce bool) []byte {
	patientRef, insurerRef := "", ""
	if req.Patient != nil {
		patientRef = req.Patient.Reference
	}
	if req.Insurer != nil {
		insurerRef = req.Insurer.Reference
	}
	key, n := "", 1
	if e := q.bundle.FindType("Patient"); e != nil {
		var p nphies.Patient
		if e.Decode(&p) == nil {
			for _, id := range p.Identifier {
				key += id.Value
				if id.Value == multipleCoveragesIqama {
					n = 2
				}
			}
		}
	}
	year := s.now().Year()
	var found []nphies.BundleEntry
	for i := range n {
		sum := sha256.Sum256([]byte(fmt.Sprintf("%s|%s|%d", q.payer, key, i)))
		member := "DISC-" + hex.EncodeToString(sum[:4])
		cov := nphies.Coverage{
			ResourceType: "Coverage", ID: uuid.NewString(),
			Meta:         &nphies.Meta{Profile: []string{nphies.Profile("coverage")}},
			Identifier:   []nphies.Identifier{{System: memberSystem, Value: member}},
			Status:       "active",
			Type:         cc("http://nphies.sa/terminology/CodeSystem/coverage-type", "EHCPOL"),
			PolicyHolder: &nphies.Reference{Reference: patientRef},
			Subscriber:   &nphies.Reference{Reference: patientRef},
			Beneficiary:  &nphies.Reference{Reference: patientRef},
			Relationship: cc("http://terminology.hl7.org/CodeSystem/subscriber-relationship", "self"),
			Period: &nphies.Period{Start: time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC).Format(time.DateOnly),
				End: time.Date(year, 12, 31, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)},
			Payor: []nphies.Reference{{Reference: insurerRef}},
			Class: []nphies.CoverageClass{
				{Type: cc("http://terminology.hl7.org/CodeSystem/coverage-class", "group"), Value: fmt.Sprintf("GRP-%d", 100+i), Name: "Discovered group policy"},
				{Type: cc("http://terminology.hl7.org/CodeSystem/coverage-class", "plan"), Value: "B", Name: "Silver"},
			},
		}
		url := fmt.Sprintf("%s/Coverage/%s", mockBase, cov.ID)
		found = append(found, nphies.BundleEntry{FullURL: url, Resource: mustJSON(cov)})
		resp.Insurance = append(resp.Insurance, nphies.EligibilityResponseInsurance{
			Coverage: &nphies.Reference{Reference: url}, Inforce: boolp(inforce)})
	}
	resp.Disposition = fmt.Sprintf("%d coverage(s) found for the patient", n)
	return s.discoveryAnswer(q, resp, found)
}

// discovery reports whether req asks which coverages the payer holds
// rather than about one the provider names.
func discovery(req nphies.CoverageEligibilityRequest) bool {
	return len(req.Insurance) == 0 && slices.Contains(req.Purpose, "discovery")
}

// discoveryAnswer builds the answer to a discovery as NPHIES's examples
// (15b, 15c) carry it: the response, the patient and the insurer it
// references, and the coverages found.
func (s *Server) discoveryAnswer(q *request, resp nphies.CoverageEligibilityResponse, found []nphies.BundleEntry) []byte {
	var entries []nphies.BundleEntry
	for _, e := range extras(q) {
		if (resp.Patient != nil && e.FullURL == resp.Patient.Reference) || (resp.Insurer != nil && e.FullURL == resp.Insurer.Reference) {
			entries = append(entries, e)
		}
	}
	raw := mustJSON(resp)
	url := fmt.Sprintf("%s/%s/%s", mockBase, "CoverageEligibilityResponse", resp.ID)
	_, body := s.message(nphies.EventEligibilityResponse, payerSender(q.payer), q.provider, q.mh.ID, url, raw,
		append(entries, found...), len(s.queues[q.provider]) > 0)
	return body
}
