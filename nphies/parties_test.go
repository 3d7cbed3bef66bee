package nphies_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/nphies/rules"
)

// resources decodes a bundle's resources by type, in the bundle's order.
func resources(t *testing.T, body []byte) map[string][]json.RawMessage {
	t.Helper()
	var b struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatal(err)
	}
	out := map[string][]json.RawMessage{}
	for _, e := range b.Entry {
		var head struct{ ResourceType string }
		if err := json.Unmarshal(e.Resource, &head); err != nil {
			t.Fatal(err)
		}
		out[head.ResourceType] = append(out[head.ResourceType], e.Resource)
	}
	return out
}

// The facility an eligibility request names is a Location with its own
// licence; with none configured, no Location stands in for it under the
// provider's licence (issue 15, finding 4).
func TestTheFacilityIsALocationWithItsOwnLicence(t *testing.T) {
	b := testBuilder()
	b.Facility = nphies.Facility{License: "LOC-77", Name: "Olaya branch", Type: "OF"}
	msg := mustBuild(t)(b.BuildEligibility(eligibilityInput(t.Name(), "M-1")))
	locs := resources(t, msg.Body)["Location"]
	if len(locs) != 1 {
		t.Fatalf("locations = %d, want 1", len(locs))
	}
	var loc nphies.Location
	if err := json.Unmarshal(locs[0], &loc); err != nil {
		t.Fatal(err)
	}
	if loc.Identifier[0].System != nphies.SystemLocationLicense || loc.Identifier[0].Value != "LOC-77" ||
		loc.Name != "Olaya branch" || loc.Type[0].Coding[0].Code != "OF" {
		t.Fatalf("location = %+v", loc)
	}

	msg = mustBuild(t)(testBuilder().BuildEligibility(eligibilityInput(t.Name(), "M-1")))
	res := resources(t, msg.Body)
	var req nphies.CoverageEligibilityRequest
	if err := json.Unmarshal(res["CoverageEligibilityRequest"][0], &req); err != nil {
		t.Fatal(err)
	}
	if len(res["Location"]) != 0 || req.Facility != nil {
		t.Fatalf("without a facility: %d locations, facility %+v", len(res["Location"]), req.Facility)
	}
}

// A payer's member-ID system is its own: the one NPHIES's examples show for
// the pseudo payer, the coverage's own for any other, and none made up.
func TestTheMemberIDSystemIsThePayers(t *testing.T) {
	msg := mustBuild(t)(testBuilder().BuildClaim(claimInput(t.Name(), "M-1")))
	var cov nphies.Coverage
	if err := json.Unmarshal(resources(t, msg.Body)["Coverage"][0], &cov); err != nil {
		t.Fatal(err)
	}
	if cov.Identifier[0].System != "http://pseudo-payer.com.sa/memberid" {
		t.Fatalf("member-ID system = %q", cov.Identifier[0].System)
	}
	in := claimInput(t.Name(), "M-1")
	in.Payer = nphies.Payer{License: "7001999999", Name: "Unlisted"}
	if _, err := testBuilder().BuildClaim(in); !errors.Is(err, nphies.ErrInvalidInput) {
		t.Fatalf("unknown payer without a member-ID system: %v", err)
	}
	in.Coverage.MemberSystem = "https://unlisted.example/members"
	msg = mustBuild(t)(testBuilder().BuildClaim(in))
	if err := json.Unmarshal(resources(t, msg.Body)["Coverage"][0], &cov); err != nil {
		t.Fatal(err)
	}
	if cov.Identifier[0].System != "https://unlisted.example/members" {
		t.Fatalf("member-ID system = %q", cov.Identifier[0].System)
	}
}

// An item description longer than a Coding.display may be (BV-00279) is
// refused, not cut.
func TestAnItemDescriptionOverTheDisplayLimitIsRefused(t *testing.T) {
	in := claimInput(t.Name(), "M-1")
	in.Items[0].Display = strings.Repeat("x", 101)
	if _, err := testBuilder().BuildClaim(in); !errors.Is(err, nphies.ErrInvalidInput) {
		t.Fatalf("101-character description: %v", err)
	}
	in.Items[0].Display = in.Items[0].Display[:100]
	mustBuild(t)(testBuilder().BuildClaim(in))
}

// A dependant's claim with every party NPHIES asks for (plan class, policy
// holder, subscriber, occupation, marital status, provider type, facility)
// breaks none of NPHIES's rules about them; without a plan class the
// coverage breaks BV-00729. The minimum data set (supportingInfo) is the
// content of the visit, not of its parties.
func TestEveryPartyPassesNPHIESsRules(t *testing.T) {
	in := claimInput(t.Name(), "M-1")
	in.Patient.Occupation, in.Patient.MaritalStatus = "medical field", "M"
	subscriber := patient(seq(t.Name() + "/subscriber"))
	subscriber.IDValue, subscriber.Gender = "1000000009", "male"
	in.Coverage = nphies.CoverageInput{ID: in.Coverage.ID, MemberID: "M-1", PolicyNumber: "GRP-1", Plan: "VIP",
		PlanName: "Gold", Relationship: "spouse", Subscriber: &subscriber,
		PolicyHolder: &nphies.PolicyHolderInput{ID: "EST-1", Name: "Employer"}, PolicyHolderName: "Employer"}
	b := testBuilder()
	b.ProviderType, b.Facility = "5", nphies.Facility{License: "LOC-1"}
	for name, msg := range map[string]*nphies.Message{
		"claim": mustBuild(t)(b.BuildClaim(in)),
		"eligibility": mustBuild(t)(b.BuildEligibility(nphies.EligibilityInput{Envelope: in.Envelope, RequestID: in.ClaimID,
			Created: testNow, Payer: payer, Patient: in.Patient, Coverage: &in.Coverage, ServiceStart: testNow})),
	} {
		vs, err := rules.Check(msg.Body)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			if !strings.HasSuffix(v.Expression, ".resource.supportingInfo") {
				t.Errorf("%s: %s at %s: %s", name, v.Rule, v.Expression, v.Message)
			}
		}
	}
	in.Coverage.Plan = ""
	vs, err := rules.Check(mustBuild(t)(b.BuildClaim(in)).Body)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(vs, func(v rules.Violation) bool { return v.Rule == "BV-00729" }) {
		t.Fatalf("a coverage without a plan class: no BV-00729 in %+v", vs)
	}
}
