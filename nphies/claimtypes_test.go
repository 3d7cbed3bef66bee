package nphies_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

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
		in.Items[0].PharmacistSelectionReason, in.Items[1].PharmacistSelectionReason = "Generic", "patient-request"
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

// TestEachClaimTypePassesTheRulesAndTheMock builds an institutional,
// pharmacy, dental (oral) and vision claim and prior authorization, each
// modelled on the official example of its kind, and checks each breaks no
// rule the mock enforces and is approved by it. The API's test
// (resolvers/claimtypes_test.go) compares the bundles with the examples.
func TestEachClaimTypePassesTheRulesAndTheMock(t *testing.T) {
	t.Parallel()
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
			for _, v := range rules.Blocking(vs) {
				t.Errorf("%s at %s: %s", v.Rule, v.Expression, v.Message)
			}
			r, err := c.Send(context.Background(), msg)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if r.Claim == nil || r.Claim.Status != nphies.ClaimApproved {
				t.Fatalf("the mock answered %+v, want approved", r.Claim)
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
		{"a medicine without the pharmacist's selection reason", nphies.ClaimTypePharmacy, true,
			func(in *nphies.ClaimInput) { in.Items[0].PharmacistSelectionReason = "" }, "BV-00708"},
		{"a pharmacist's selection reason on a dental claim", nphies.ClaimTypeOral, false,
			func(in *nphies.ClaimInput) { in.Items[0].PharmacistSelectionReason = "Generic" }, "pharmacy claim only"},
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

// TestAContactLensPrescriptionPassesTheRules: a contact lens is prescribed
// by its power, not a sphere (IC-01418, IC-01421), and NPHIES's rules accept
// the prescription the builder makes of it.
func TestAContactLensPrescriptionPassesTheRules(t *testing.T) {
	t.Parallel()
	in := typedClaim(t.Name(), nphies.ClaimTypeVision, true)
	power, cyl, axis := nphies.Decimal(-225), nphies.Decimal(-75), int64(90)
	in.VisionPrescription.Lenses = []nphies.LensInput{{Product: "contact", Eye: "left", Sphere: &power, Cylinder: &cyl, Axis: &axis},
		{Product: "contact", Eye: "right", Sphere: &power}}
	msg := mustBuild(t)(testBuilder().BuildPriorAuth(in))
	vs, err := rules.Check(msg.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range rules.Blocking(vs) {
		t.Errorf("%s at %s: %s", v.Rule, v.Expression, v.Message)
	}
	if !strings.Contains(string(msg.Body), `"power":-2.25`) {
		t.Errorf("no contact lens power -2.25 in %s", msg.Body)
	}
}
