package resolvers_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
)

const discoverCoverageMut = `mutation($p: ID!, $l: String!, $n: String!) { discoverCoverage(patientId: $p, payerLicense: $l, payerName: $n) {
	id purpose coverageId status outcome siteEligibility errors { code } lastError
	discoveredCoverages { memberId memberIdSystem policyNumber class planName relationship inForce startsOn endsOn }
	messages { direction event deliveryStatus body } } }`

type discoveryOut struct {
	ID, Purpose, Status, Outcome, SiteEligibility, LastError string
	CoverageID                                               *string
	Errors                                                   []struct{ Code string }
	DiscoveredCoverages                                      []struct {
		MemberID, MemberIDSystem, PolicyNumber, Class, PlanName, Relationship string
		InForce                                                               bool
		StartsOn, EndsOn                                                      *string
	}
	Messages []struct{ Direction, Event, DeliveryStatus, Body string }
}

// discover runs discoverCoverage for p at the test payer as billing (who
// may also read the bundles exchanged).
func (e eligibilityEnv) discover(t *testing.T, p *hg.Patient) discoveryOut {
	t.Helper()
	var out struct{ DiscoverCoverage discoveryOut }
	e.Do(t, e.tokens[hg.RoleBilling], discoverCoverageMut, map[string]any{
		"p": gid("Patient", p.ID), "l": "7001463160", "n": "Bupa Arabia"}).Decode(t, &out)
	return out.DiscoverCoverage
}

// patientWithIqama adds a patient whose identifier scripts the mock payer's
// discovery (NPHIES's pseudo-payer rules).
func (e eligibilityEnv) patientWithIqama(t *testing.T, iqama string) *hg.Patient {
	t.Helper()
	p, err := e.DB.CreatePatient(context.Background(), hg.NewPatient{MRN: "MRN-" + iqama, NationalID: iqama, FirstName: "Sara",
		FamilyName: "Al-Harbi", BirthDate: time.Date(1990, 3, 3, 0, 0, 0, 0, time.UTC), Gender: hg.GenderFemale})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Coverage discovery end to end, through GraphQL, the stored outbox row and
// the mock payer: the clinic asks a payer which coverage it holds for a
// patient (no Coverage sent, as NPHIES's example 15a), records the one
// found, and then checks eligibility on it as on any other; the answer of
// a payer that knows no such member (15c) is stored as ERROR 1658 and
// nothing can be recorded from it.
func TestCoverageDiscoveryEndToEnd(t *testing.T) {
	t.Parallel()
	t.Run("a coverage found is recorded and then checked", func(t *testing.T) {
		t.Parallel()
		e := newEligibilityEnv(t, true)
		d := e.discover(t, e.patient)
		if d.Purpose != "DISCOVERY" || d.CoverageID != nil || d.Status != "ELIGIBLE" || d.Outcome != "complete" {
			t.Fatalf("discovery = %+v, want an ELIGIBLE DISCOVERY naming no coverage", d)
		}
		if len(d.DiscoveredCoverages) != 1 {
			t.Fatalf("discovered %+v, want one coverage", d.DiscoveredCoverages)
		}
		found := d.DiscoveredCoverages[0]
		if found.MemberID == "" || found.PolicyNumber == "" || found.Relationship != "SELF" || !found.InForce ||
			found.StartsOn == nil || found.EndsOn == nil || found.MemberIDSystem == "" {
			t.Fatalf("discovered %+v, want what a coverage needs", found)
		}
		if len(d.Messages) != 2 || d.Messages[0].Event != "eligibility-request" || d.Messages[0].DeliveryStatus != "SENT" ||
			d.Messages[1].Event != "eligibility-response" {
			t.Fatalf("messages %+v, want the request SENT and the answer", d.Messages)
		}
		// The 2021 example predates the provider-type extension.
		assertShapeOf(t, d.Messages[0].Body, "15a-eligibilty-request-discovery.json", providerType...)

		before := e.Count(t, `SELECT count(*) FROM coverages WHERE patient_id = $1`, e.patient.ID)
		var added struct {
			AddDiscoveredCoverage struct {
				ID, MemberID, PolicyNumber string
				Payer                      struct{ License string }
			}
		}
		e.Do(t, e.tokens[hg.RoleReception], `mutation($c: ID!, $m: String!) { addDiscoveredCoverage(checkId: $c, memberId: $m) {
			id memberId policyNumber payer { license } } }`, map[string]any{"c": d.ID, "m": found.MemberID}).Decode(t, &added)
		cov := added.AddDiscoveredCoverage
		if cov.MemberID != found.MemberID || cov.PolicyNumber != found.PolicyNumber || cov.Payer.License != "7001463160" {
			t.Fatalf("recorded %+v, want the coverage found", cov)
		}
		if n := e.Count(t, `SELECT count(*) FROM coverages WHERE patient_id = $1`, e.patient.ID); n != before+1 {
			t.Fatalf("%d coverages, want %d", n, before+1)
		}
		var checked struct{ CheckEligibility eligibilityOut }
		e.Do(t, e.tokens[hg.RoleReception], checkEligibilityMut, map[string]any{"p": gid("Patient", e.patient.ID), "c": cov.ID}).
			Decode(t, &checked)
		if checked.CheckEligibility.Status != "ELIGIBLE" || checked.CheckEligibility.CoverageID != cov.ID {
			t.Fatalf("check of the recorded coverage = %+v, want ELIGIBLE", checked.CheckEligibility)
		}
	})
	t.Run("a payer holding two coverages reports both", func(t *testing.T) {
		t.Parallel()
		e := newEligibilityEnv(t, true)
		d := e.discover(t, e.patientWithIqama(t, "2555555559"))
		if d.Status != "ELIGIBLE" || len(d.DiscoveredCoverages) != 2 ||
			d.DiscoveredCoverages[0].MemberID == d.DiscoveredCoverages[1].MemberID {
			t.Fatalf("discovery = %+v, want two distinct coverages", d)
		}
	})
	t.Run("no member found is an ERROR with nothing to record", func(t *testing.T) {
		t.Parallel()
		e := newEligibilityEnv(t, true)
		d := e.discover(t, e.patientWithIqama(t, "2333333333"))
		if d.Status != "ERROR" || d.Outcome != "error" || len(d.Errors) != 1 || d.Errors[0].Code != "1658" ||
			len(d.DiscoveredCoverages) != 0 || d.LastError == "" {
			t.Fatalf("discovery = %+v, want ERROR 1658 and no coverage", d)
		}
		res := e.Do(t, e.tokens[hg.RoleReception], `mutation($c: ID!) { addDiscoveredCoverage(checkId: $c, memberId: "DISC-1") { id } }`,
			map[string]any{"c": d.ID})
		if res.Code() != hg.EINVALID || res.Field() != "checkId" {
			t.Fatalf("recording from a failed discovery: %q %q, want BAD_USER_INPUT on checkId", res.Code(), res.Field())
		}
	})
}

func TestCoverageDiscoveryRefusals(t *testing.T) {
	t.Parallel()
	e := newEligibilityEnv(t, true)
	p := gid("Patient", e.patient.ID)
	tests := []struct {
		name                        string
		role                        hg.Role
		patient, license, payerName string
		wantCode, field             string
	}{
		{"no payer licence", hg.RoleBilling, p, " ", "Bupa Arabia", hg.EINVALID, "payerLicense"},
		{"a licence that is no licence", hg.RoleBilling, p, "7001 463160;", "Bupa Arabia", hg.EINVALID, "payerLicense"},
		{"no payer name", hg.RoleBilling, p, "7001463160", "", hg.EINVALID, "payerName"},
		{"unknown patient", hg.RoleBilling, gid("Patient", uuid.New()), "7001463160", "Bupa Arabia", hg.ENOTFOUND, ""},
		{"not a patient id", hg.RoleBilling, gid("Coverage", e.coverage.ID), "7001463160", "Bupa Arabia", hg.EINVALID, "patientId"},
		{"practitioner", hg.RolePractitioner, p, "7001463160", "Bupa Arabia", hg.EFORBIDDEN, ""},
		{"analyst", hg.RoleAnalyst, p, "7001463160", "Bupa Arabia", hg.EFORBIDDEN, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.Do(t, e.tokens[tt.role], discoverCoverageMut, map[string]any{"p": tt.patient, "l": tt.license, "n": tt.payerName})
			if res.Code() != tt.wantCode || (tt.field != "" && res.Field() != tt.field) {
				t.Fatalf("got %q field %q (%+v), want %s %s", res.Code(), res.Field(), res.Errors, tt.wantCode, tt.field)
			}
		})
	}
	if n := e.Count(t, `SELECT count(*) FROM eligibility_checks`); n != 0 {
		t.Fatalf("%d checks stored by refused requests, want none", n)
	}

	d := e.discover(t, e.patient)
	coverages := e.Count(t, `SELECT count(*) FROM coverages`)
	for _, tt := range []struct {
		name, check, member, field, code string
		role                             hg.Role
	}{
		{"a member the discovery did not find", d.ID, "DISC-00000000", "memberId", hg.EINVALID, hg.RoleReception},
		{"a validation, not a discovery", e.validation(t), d.DiscoveredCoverages[0].MemberID, "checkId", hg.EINVALID, hg.RoleReception},
		{"an unknown check", gid("EligibilityCheck", uuid.New()), "DISC-1", "", hg.ENOTFOUND, hg.RoleReception},
		{"billing may not record coverages", d.ID, d.DiscoveredCoverages[0].MemberID, "", hg.EFORBIDDEN, hg.RoleBilling},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := e.Do(t, e.tokens[tt.role], `mutation($c: ID!, $m: String!) { addDiscoveredCoverage(checkId: $c, memberId: $m) { id } }`,
				map[string]any{"c": tt.check, "m": tt.member})
			if res.Code() != tt.code || (tt.field != "" && res.Field() != tt.field) {
				t.Fatalf("got %q field %q (%+v), want %s %s", res.Code(), res.Field(), res.Errors, tt.code, tt.field)
			}
		})
	}
	if n := e.Count(t, `SELECT count(*) FROM coverages`); n != coverages {
		t.Fatalf("%d coverages after refused recordings, want %d", n, coverages)
	}
}

// validation checks the patient's coverage and returns the check's id.
func (e eligibilityEnv) validation(t *testing.T) string {
	t.Helper()
	var out struct{ CheckEligibility eligibilityOut }
	e.Do(t, e.tokens[hg.RoleReception], checkEligibilityMut, map[string]any{
		"p": gid("Patient", e.patient.ID), "c": gid("Coverage", e.coverage.ID)}).Decode(t, &out)
	return out.CheckEligibility.ID
}

const nullifyMut = `mutation($c: ID!, $r: CancelReason!) { nullifyEligibilityCheck(checkId: $c, reason: $r) {
	id status nullifiedAt nullifyReason messages { direction event } } }`

// Nullifying an eligibility check: NPHIES has no message for it (its
// cancel and nullify Task takes a Claim only), so the check is marked void
// here, audited, and nothing is sent; a second nullify is a CONFLICT.
func TestNullifyEligibilityCheck(t *testing.T) {
	t.Parallel()
	e := newEligibilityEnv(t, true)
	id := e.validation(t)
	messages := e.Count(t, `SELECT count(*) FROM nphies_messages`)
	var out struct {
		NullifyEligibilityCheck struct {
			ID, Status, NullifyReason string
			NullifiedAt               *time.Time
			Messages                  []struct{ Direction, Event string }
		}
	}
	e.Do(t, e.tokens[hg.RoleBilling], nullifyMut, map[string]any{"c": id, "r": "WRONG_INFORMATION"}).Decode(t, &out)
	n := out.NullifyEligibilityCheck
	if n.ID != id || n.Status != "ELIGIBLE" || n.NullifiedAt == nil || n.NullifyReason != "WRONG_INFORMATION" || len(n.Messages) != 2 {
		t.Fatalf("nullified = %+v, want the check kept with its verdict and bundles, marked void", n)
	}
	if got := e.Count(t, `SELECT count(*) FROM nphies_messages`); got != messages {
		t.Fatalf("%d messages after the nullify, want %d: nothing is sent", got, messages)
	}
	if got := e.Count(t, `SELECT count(*) FROM audit_events WHERE action = 'eligibility.nullified'`); got != 1 {
		t.Fatalf("%d audit events, want 1", got)
	}
	for _, tt := range []struct {
		name, check, reason, code string
		role                      hg.Role
	}{
		{"again", id, "SERVICE_NOT_PERFORMED", hg.ECONFLICT, hg.RoleBilling},
		{"an unknown check", gid("EligibilityCheck", uuid.New()), "WRONG_INFORMATION", hg.ENOTFOUND, hg.RoleBilling},
		{"not a check id", gid("Patient", e.patient.ID), "WRONG_INFORMATION", hg.EINVALID, hg.RoleBilling},
		{"an unknown reason", id, "CHANGED_MY_MIND", hg.EINVALID, hg.RoleBilling},
		{"practitioner", id, "WRONG_INFORMATION", hg.EFORBIDDEN, hg.RolePractitioner},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := e.Do(t, e.tokens[tt.role], nullifyMut, map[string]any{"c": tt.check, "r": tt.reason})
			if res.Code() != tt.code {
				t.Fatalf("got %q (%+v), want %s", res.Code(), res.Errors, tt.code)
			}
		})
	}
	var after struct {
		EligibilityChecks []struct{ NullifyReason string }
	}
	e.Do(t, e.tokens[hg.RoleBilling], `query($p: ID!) { eligibilityChecks(patientId: $p) { nullifyReason } }`,
		map[string]any{"p": gid("Patient", e.patient.ID)}).Decode(t, &after)
	if len(after.EligibilityChecks) != 1 || after.EligibilityChecks[0].NullifyReason != "WRONG_INFORMATION" {
		t.Fatalf("checks after refused nullifies = %+v, want the first reason kept", after.EligibilityChecks)
	}
}
