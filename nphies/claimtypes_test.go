package nphies_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/healthgraph/healthgraph/internal/fhirshape"
	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/nphies/mock"
	"github.com/healthgraph/healthgraph/nphies/rules"
)

// typedClaim returns a claim of typ modelled on the official example of
// its kind: its items, and what the type carries.
func typedClaim(name, typ string, preauth bool) nphies.ClaimInput {
	in := claimInput(name, "M-1")
	in.Type = typ
	in.Coverage.Plan = "A"
	item := func(seq int64, system, code string, unit int64) nphies.ItemInput {
		return nphies.ItemInput{Sequence: seq, ServiceCode: code, System: system, Display: "as billed", Quantity: 1, UnitPriceHalalas: unit,
			TaxHalalas: unit * 15 / 100, NetHalalas: unit + unit*15/100, ServicedDate: testNow, PatientInvoice: "INV-1"}
	}
	switch typ {
	case nphies.ClaimTypeInstitutional:
		in.Items = []nphies.ItemInput{item(1, nphies.SystemServices, "83600-00-00", 10000)}
		in.Diagnoses = []nphies.DiagnosisInput{{Code: "R07.1", OnAdmission: "y"}}
		in.Admission = &nphies.AdmissionInput{Class: nphies.EncounterInpatient, Start: testNow.Add(-72 * time.Hour), End: testNow,
			AdmitSource: "EER", AdmissionSpecialty: "08.26", DischargeSpecialty: "08.26", DischargeDisposition: "home"}
		if preauth {
			in.Items = []nphies.ItemInput{item(1, nphies.SystemProcedures, "38618-00-00", 500000)}
			in.Admission.End, in.Admission.DischargeSpecialty, in.Admission.DischargeDisposition = time.Time{}, "", ""
			in.Admission.EstimatedStayDays = 6
		}
		in.Encounter.Start, in.Encounter.End = in.Admission.Start, in.Admission.End
	case nphies.ClaimTypePharmacy:
		in.Items = []nphies.ItemInput{item(1, nphies.SystemMedicationCodes, "06285096001627", 6000),
			item(2, nphies.SystemMedicationCodes, "05944736008570", 10000)}
		in.Items[0].DaysSupply, in.Items[1].DaysSupply = 30, 10
		in.Encounter = nil
	case nphies.ClaimTypeOral:
		in.Items = []nphies.ItemInput{item(1, "http://nphies.sa/terminology/CodeSystem/oral-health-op", "012", 20000),
			item(2, "http://nphies.sa/terminology/CodeSystem/oral-health-op", "515", 30000)}
		in.Items[0].Tooth = "00"
		in.Items[1].Tooth, in.Items[1].Surfaces = "13", []string{"M", "O", "D"}
	case nphies.ClaimTypeVision:
		in.Items = []nphies.ItemInput{item(1, nphies.SystemProcedures, "96092-00-10", 80000)}
		in.Encounter = nil
		sphere, cyl, prism, axis := nphies.Decimal(150), nphies.Decimal(75), nphies.Decimal(200), int64(110)
		if !preauth {
			break // as in the official example, a claim for an eye test names no prescription
		}
		in.VisionPrescription = &nphies.VisionPrescriptionInput{ID: seq(name + "/vp")(), Written: testNow.Add(-24 * time.Hour),
			Lenses: []nphies.LensInput{{Product: "lens", Eye: "left", Sphere: &sphere, Cylinder: &cyl, Axis: &axis,
				PrismAmount: &prism, PrismBase: "up"}, {Product: "lens", Eye: "right", Sphere: &sphere}}}
	}
	in.TotalHalalas = 0
	for _, it := range in.Items {
		in.TotalHalalas += it.NetHalalas
	}
	return in
}

// TestEachClaimTypeMatchesItsOfficialExample builds an institutional,
// pharmacy, dental (oral) and vision claim and prior authorization and
// checks each passes NPHIES's rules, is approved by the mock, and has the
// shape of the official example of its kind. What the example has and the
// builder leaves out is listed here with the reason.
func TestEachClaimTypeMatchesItsOfficialExample(t *testing.T) {
	t.Parallel()
	// Both kinds of extra are allowed everywhere: the practitioner and
	// encounter NPHIES's current profiles ask for (the 2021 examples
	// predate them), the provider type and what a coverage, patient and
	// plan carry since.
	extra := []string{"Encounter", "Practitioner", "Location",
		nphies.ExtensionBase + "extension-encounter", nphies.ExtensionBase + "extension-serviceEventType",
		nphies.ExtensionBase + "extension-ksa-administrative-gender",
		"http://nphies.sa/terminology/CodeSystem/service-event-type", "http://terminology.hl7.org/CodeSystem/v3-ActCode",
		"http://terminology.hl7.org/CodeSystem/v2-0203", "http://terminology.hl7.org/CodeSystem/claimcareteamrole",
		"http://nphies.sa/terminology/CodeSystem/practice-codes", "http://terminology.hl7.org/CodeSystem/coverage-class",
		"http://nphies.sa/terminology/CodeSystem/ksa-administrative-gender", "http://terminology.hl7.org/CodeSystem/subscriber-relationship",
		"http://nphies.sa/terminology/CodeSystem/coverage-type", "http://nphies.sa/terminology/CodeSystem/organization-type",
		nphies.ExtensionBase + "extension-episode", nphies.ExtensionBase + "extension-patientInvoice", nphies.ExtensionBase + "extension-package",
		nphies.ExtensionBase + "extension-tax",
		nphies.SystemAdmitSource, nphies.SystemDischargeDisposition, nphies.SystemIntendedStay, nphies.SystemFDIToothSurface,
		nphies.ExtensionBase + "extension-admissionSpecialty", nphies.ExtensionBase + "extension-dischargeSpecialty",
		nphies.ExtensionBase + "extension-intendedLengthOfStay", "http://nphies.sa/terminology/CodeSystem/services",
		"http://nphies.sa/terminology/CodeSystem/oral-health-op", nphies.SystemProcedures, nphies.SystemInformationCategory,
		"http://unitsofmeasure.org", nphies.SystemFDIOralRegion, "http://nphies.sa/terminology/CodeSystem/claim-subtype"}
	// Lacking, by design: offline eligibility and authorization references
	// (we check eligibility online), supporting information the visit's
	// records supply (the minimum data set), related claims (a follow-up
	// prior authorization), item displays on catalogue-less tests, and
	// elements of the 2021 examples that newer profiles dropped or moved.
	lacking := []string{
		// Optional elements the tests' records do not have, or that we
		// leave to their defaults: a phone, a network, a coverage period,
		// displays of fixed codes, split practitioner names, factor 1.
		"Patient.telecom", "Patient.telecom.system", "Patient.telecom.value", "Coverage.network", "Coverage.period",
		"Coverage.period.start", "Coverage.period.end", "Coverage.relationship.coding.display", "Coverage.type.coding.display",
		"Organization.identifier.use", "Practitioner.name.family", "Practitioner.name.given", "Claim.item.factor",
		"http://nphies.sa/terminology/CodeSystem/patient-identifier-type",
		// A claim quotes a prior authorization only after one was approved.
		"Claim.insurance.preAuthRef",
		// The minimum data set (vital signs, chief complaint, onset) comes
		// from the visit's recorded findings, not from the claim type.
		"Claim.supportingInfo.code", "Claim.supportingInfo.code.coding", "Claim.supportingInfo.code.coding.code",
		"Claim.supportingInfo.code.coding.system", "Claim.supportingInfo.code.text", "Claim.supportingInfo.timingDate",
		"Claim.supportingInfo.valueQuantity", "Claim.supportingInfo.valueQuantity.code", "Claim.supportingInfo.valueQuantity.system",
		"Claim.supportingInfo.valueQuantity.value", "http://unitsofmeasure.org",
		nphies.ExtensionBase + "extension-eligibility-offline-reference", nphies.ExtensionBase + "extension-eligibility-offline-date",
		nphies.ExtensionBase + "extension-authorization-offline-date",
		"http://loinc.org", "http://nphies.sa/terminology/CodeSystem/visit-reason", "http://hl7.org/fhir/sid/icd-10-am",
		"http://nphies.sa/terminology/CodeSystem/diagnosis-on-admission",
	}
	cases := []struct {
		typ, example string
		preauth      bool
	}{
		{nphies.ClaimTypeInstitutional, "8-claim-institutional-request.json", false},
		{nphies.ClaimTypeInstitutional, "1-preauth-institutional-request.json", true},
		{nphies.ClaimTypePharmacy, "9-claim-pharmacy-request.json", false},
		{nphies.ClaimTypePharmacy, "4-preauth-pharmacy-request.json", true},
		{nphies.ClaimTypeOral, "7a-claim-dental-request.json", false},
		{nphies.ClaimTypeOral, "2a-first-preauth-dental-request-with-multiple-items.json", true},
		{nphies.ClaimTypeVision, "11-claim-vision-request.json", false},
		{nphies.ClaimTypeVision, "6-preauth-vision-prescription-request.json", true},
	}
	for _, tc := range cases {
		t.Run(tc.example, func(t *testing.T) {
			t.Parallel()
			_, c, b := setup(t, mock.Options{})
			in := typedClaim(t.Name(), tc.typ, tc.preauth)
			build := b.BuildClaim
			if tc.preauth {
				build = b.BuildPriorAuth
			}
			msg := mustBuild(t)(build(in))
			vs, err := rules.Check(msg.Body)
			if err != nil {
				t.Fatal(err)
			}
			waived := map[string]bool{}
			for _, id := range mock.NotEnforcedYet() {
				waived[id] = true
			}
			for _, v := range rules.Blocking(vs) {
				if !waived[v.Rule] {
					t.Errorf("%s at %s: %s", v.Rule, v.Expression, v.Message)
				}
			}
			r, err := c.Send(context.Background(), msg)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if r.Claim == nil || r.Claim.Status != nphies.ClaimApproved {
				t.Fatalf("the mock answered %+v, want approved", r.Claim)
			}
			got, err := fhirshape.Of(msg.Body)
			if err != nil {
				t.Fatal(err)
			}
			want := exampleShape(t, tc.example)
			for _, d := range fhirshape.Compare(got, want, extra...) {
				t.Errorf("more than the example: %s", d)
			}
			for _, d := range fhirshape.Missing(got, want, lacking...) {
				t.Errorf("the example has, we lack: %s", d)
			}
		})
	}
}

// TestClaimTypesRefuseWhatTheirTypeLacks: each type's own requirement is
// refused by the builder before anything is built.
func TestClaimTypesRefuseWhatTheirTypeLacks(t *testing.T) {
	t.Parallel()
	b := testBuilder()
	for _, tc := range []struct {
		name, typ string
		preauth   bool
		spoil     func(*nphies.ClaimInput)
		want      string
	}{
		{"an institutional claim without its admission", nphies.ClaimTypeInstitutional, false,
			func(in *nphies.ClaimInput) { in.Admission = nil }, "admission"},
		{"an institutional claim before discharge", nphies.ClaimTypeInstitutional, false,
			func(in *nphies.ClaimInput) { in.Admission.End = time.Time{} }, "discharge"},
		{"an institutional diagnosis not saying whether present on admission", nphies.ClaimTypeInstitutional, false,
			func(in *nphies.ClaimInput) { in.Diagnoses[0].OnAdmission = "" }, "BV-00027"},
		{"an institutional prior authorization without its estimated stay", nphies.ClaimTypeInstitutional, true,
			func(in *nphies.ClaimInput) { in.Admission.EstimatedStayDays = 0 }, "BV-00802"},
		{"a medicine without days supply", nphies.ClaimTypePharmacy, false,
			func(in *nphies.ClaimInput) { in.Items[1].DaysSupply = 0 }, "BV-00376"},
		{"surfaces without their tooth", nphies.ClaimTypeOral, false,
			func(in *nphies.ClaimInput) { in.Items[1].Tooth = "" }, "BV-00484"},
		{"a tooth on a pharmacy claim", nphies.ClaimTypePharmacy, false,
			func(in *nphies.ClaimInput) { in.Items[0].Tooth = "11" }, "dental"},
		{"a vision prescription without lenses", nphies.ClaimTypeVision, true,
			func(in *nphies.ClaimInput) { in.VisionPrescription.Lenses = nil }, "lens"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := typedClaim(t.Name(), tc.typ, tc.preauth)
			tc.spoil(&in)
			build := b.BuildClaim
			if tc.preauth {
				build = b.BuildPriorAuth
			}
			_, err := build(in)
			var ie *nphies.InputError
			if !errors.As(err, &ie) || !strings.Contains(ie.Reason, tc.want) {
				t.Fatalf("err = %v, want an input error naming %q", err, tc.want)
			}
		})
	}
}
