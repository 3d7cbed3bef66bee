package rules_test

import (
	"testing"
)

// Tests of tail.go and the sheet's loose element names (looseElements):
// each rule broken by one mutation of an official example at its
// expression (tailBreaks), and not by the examples made to meet it (tailMeets).

const (
	pollRequest  = "12a-poll-request.json"
	pollResponse = "12b-poll-response.json"
	pollTask     = "Bundle.entry[1].resource"
	// outpatientOrg is the outpatient example's first Organization.
	outpatientOrg = "Bundle.entry[4].resource"
)

// resourceTypeRows are, for each type the sheet has resourceType rows for,
// its data-type (DT) and cardinality (IC) row.
var resourceTypeRows = map[string][2]string{
	"Bundle": {"DT-01319", "IC-01318"}, "Claim": {"DT-01338", "IC-01337"}, "ClaimResponse": {"DT-01355", "IC-01354"},
	"Communication": {"DT-01360", "IC-01359"}, "CommunicationRequest": {"DT-01363", "IC-01362"},
	"Coverage": {"DT-01368", "IC-01367"}, "CoverageEligibilityRequest": {"DT-01369", "IC-01368"},
	"CoverageEligibilityResponse": {"DT-01378", "IC-01377"}, "Encounter": {"DT-01380", "IC-01379"},
	"Location": {"DT-01381", "IC-01380"}, "MessageHeader": {"DT-01384", "IC-01383"},
	"OperationOutcome": {"DT-01394", "IC-01393"}, "Organization": {"DT-01397", "IC-01396"},
	"Patient": {"DT-01402", "IC-01401"}, "PaymentNotice": {"DT-01403", "IC-01402"},
	"PaymentReconciliation": {"DT-01404", "IC-01403"}, "Practitioner": {"DT-01406", "IC-01405"},
	"PractitionerRole": {"DT-01407", "IC-01406"}, "Task": {"DT-01410", "IC-01409"},
}

// namedEntry appends an entry whose fullUrl names the kind, with the
// resourceType given (none when nil).
func namedEntry(url string, resourceType any) func(t *testing.T, d doc) {
	return func(t *testing.T, d doc) {
		r := map[string]any{"id": "9"}
		if resourceType != nil {
			r["resourceType"] = resourceType
		}
		d["entry"] = append(d["entry"].([]any), map[string]any{"fullUrl": url, "resource": r})
	}
}

// pollInputOf adds a poll input of the type with the value under key.
func pollInputOf(inputType, key string, value any) func(t *testing.T, d doc) {
	return func(t *testing.T, d doc) {
		task := d.resource(t, "Task")
		task["input"] = append(task["input"].([]any), map[string]any{
			"type": coded(nphiesCodes+"task-input-type", inputType), key: value})
	}
}

// exception gives the outpatient coverage a cost with an exception of
// the type and period given.
func exception(typ, period any) func(t *testing.T, d doc) {
	return setOn("Coverage", "costToBeneficiary", []any{map[string]any{
		"type": coded("http://terminology.hl7.org/CodeSystem/coverage-copay-type", "copay"), "valueMoney": map[string]any{"value": 10, "currency": "SAR"},
		"exception": []any{map[string]any{"type": typ, "period": period}}}})
}

// orgIdentifierType types the outpatient example's first organization's identifier.
func orgIdentifierType(coding map[string]any) func(t *testing.T, d doc) {
	return func(t *testing.T, d doc) {
		at(t, d, "Organization", "identifier", 0)["type"] = map[string]any{"coding": []any{coding}}
	}
}

func tailBreaks() []sendCase {
	period := map[string]any{"start": "2023-01-01", "end": "2023-01-02"}
	waiver := coded("http://terminology.hl7.org/CodeSystem/ex-coverage-financial-exception", "retired")
	cases := []sendCase{
		{"the claim's resourceType a number", outpatient, setOn("Claim", "resourceType", 5), "DT-01338", outpatientClaim + ".resourceType"},
		{"the claim without its resourceType", outpatient, dropKey("Claim", "resourceType"), "IC-01337", outpatientClaim + ".resourceType"},
		{"a Patient/ entry that says it is a practitioner", outpatient, setOn("Patient", "resourceType", "Practitioner"),
			"DT-01402", "Bundle.entry[2].resource.resourceType"},
		{"a batch's claim bundle without resourceType", "16-batch-request.json", func(t *testing.T, d doc) {
			delete(d["entry"].([]any)[1].(map[string]any)["resource"].(map[string]any), "resourceType")
		}, "IC-01318", "Bundle.entry[1].resource.resourceType"},
		{"a focus typed ClaimResponse that finds a Claim", claimResponse, func(t *testing.T, d doc) {
			d.resource(t, "MessageHeader")["focus"].([]any)[0].(map[string]any)["type"] = "ClaimResponse"
			d.resource(t, "ClaimResponse")["resourceType"] = "Claim"
		}, "DT-01355", "Bundle.entry[1].resource.resourceType"},
		// The sheet's loose names.
		{"a patient gender's id a number", outpatient, func(t *testing.T, d doc) {
			d.resource(t, "Patient")["_gender"].(map[string]any)["id"] = 5
		}, "DT-00973", "Bundle.entry[2].resource._gender.id"},
		{"a patient gender a number", outpatient, setOn("Patient", "gender", 1), "DT-00974", "Bundle.entry[2].resource.gender"},
		{"a practitioner gender's id a number", outpatient, setOn("Practitioner", "_gender", map[string]any{"id": 5}),
			"DT-01093", "Bundle.entry[5].resource._gender.id"},
		{"a practitioner gender a boolean", outpatient, setOn("Practitioner", "gender", true), "DT-01094", "Bundle.entry[5].resource.gender"},
		{"a poll for 101 messages", pollRequest, pollInputOf("count", "valuePositiveInt", 101), "DT-01303", pollTask + ".input[1].valuePositiveInt"},
		{"a poll for a period given as a date", pollRequest, pollInputOf("period", "valueDateTime", "2023-01-01T00:00:00Z"),
			"DT-01304", pollTask + ".input[1].valueDateTime"},
		{"a poll response's count as text", pollResponse, pollInputOf("count", "valueString", "5"), "DT-01305", pollTask + ".input[1].valueString"},
		{"a poll response's period as a number", pollResponse, pollInputOf("period", "valuePeriod", 5), "DT-01306", pollTask + ".input[1].valuePeriod"},
		{"a focus by identifier only", outpatient, setOn("MessageHeader", "focus", []any{map[string]any{"type": "Claim",
			"identifier": map[string]any{"system": "http://provider.com/claim", "value": "1"}}}), "DT-01315", "Bundle.entry[0].resource.focus[0]"},
		{"a claim first, the header second", outpatient, func(t *testing.T, d doc) {
			e := d["entry"].([]any)
			e[0], e[1] = e[1], e[0]
		}, "DT-01316", "Bundle.entry[0].resource"},
		{"a claim response item's sequence as text", claimResponse, func(t *testing.T, d doc) {
			at(t, d, "ClaimResponse", "item", 0)["itemSequence"] = "1"
		}, "DT-01354", "Bundle.entry[1].resource.item[0].itemSequence"},
		{"an exception's period a list", outpatient, exception(waiver, []any{period, period}),
			"DT-01366", "Bundle.entry[3].resource.costToBeneficiary[0].exception[0].period"},
		{"an exception's period twice", outpatient, exception(waiver, []any{period, period}),
			"IC-01365", "Bundle.entry[3].resource.costToBeneficiary[0].exception[0].period[1]"},
		{"an exception's type a code", outpatient, exception("retired", period),
			"DT-01367", "Bundle.entry[3].resource.costToBeneficiary[0].exception[0].type"},
		{"an exception's type twice", outpatient, exception([]any{waiver, waiver}, period),
			"IC-01366", "Bundle.entry[3].resource.costToBeneficiary[0].exception[0].type[1]"},
		{"a benefit used as text under usedUnsignedInt", benefits, func(t *testing.T, d doc) {
			benefit(t, d)["benefit"].([]any)[0].(map[string]any)["usedUnsignedInt"] = "3"
		}, "DT-01376", "Bundle.entry[1].resource.insurance[0].item[0].benefit[0].usedUnsignedInt"},
		{"an organization identifier type's code a number", outpatient, orgIdentifierType(map[string]any{
			"system": nphiesCodes + "organization-identifier-type", "code": 7}), "DT-01395", outpatientOrg + ".identifier[0].type.coding[0].code"},
		{"an organization identifier type's system with a space", outpatient, orgIdentifierType(map[string]any{
			"system": "nphies organization types", "code": "NII"}), "DT-01396", outpatientOrg + ".identifier[0].type.coding[0].system"},
		{"an organization identifier type with two codes", outpatient, orgIdentifierType(map[string]any{
			"system": nphiesCodes + "organization-identifier-type", "code": []any{"NII", "PRN"}}), "IC-01394", outpatientOrg + ".identifier[0].type.coding[0].code[1]"},
		{"an organization identifier type with two systems", outpatient, orgIdentifierType(map[string]any{
			"system": []any{nphiesCodes + "organization-identifier-type", "x"}, "code": "NII"}), "IC-01395", outpatientOrg + ".identifier[0].type.coding[0].system[1]"},
	}
	// Every type's rows, on an entry its fullUrl names.
	for kind, ids := range resourceTypeRows {
		url := "http://provider.com/" + kind + "/9"
		cases = append(cases,
			sendCase{"a " + kind + "/ entry whose resourceType names another type", outpatient, namedEntry(url, "Basic"), ids[0], extraEntry + ".resourceType"},
			sendCase{"a " + kind + "/ entry whose resourceType is no string", outpatient, namedEntry(url, []any{kind}), ids[0], extraEntry + ".resourceType"},
			sendCase{"a " + kind + "/ entry without resourceType", outpatient, namedEntry(url, nil), ids[1], extraEntry + ".resourceType"})
	}
	return cases
}

func tailMeets() []sendCase {
	period := map[string]any{"start": "2023-01-01", "end": "2023-01-02"}
	return []sendCase{
		// R4 spells the type ClaimResponse: ".../Claimresponse/" names none,
		// as ".../organization/" is no Organization for BV-00079.
		{"an entry whose URL spells its type otherwise", claimResponse, setOn("ClaimResponse", "resourceType", "Claim"), "", ""},
		{"an entry whose URL names no type", outpatient, namedEntry("urn:uuid:5f6d1751-85b5-4a27-9314-6d94d7ca2670", nil), "", ""},
		{"a Claim/ entry that is a claim", outpatient, namedEntry("http://provider.com/Claim/9", "Claim"), "", ""},
		{"a gender with its id", outpatient, func(t *testing.T, d doc) { d.resource(t, "Patient")["_gender"].(map[string]any)["id"] = "g1" }, "", ""},
		{"a poll for 100 messages", pollRequest, pollInputOf("count", "valuePositiveInt", 100), "", ""},
		{"a poll for a period", pollRequest, pollInputOf("period", "valuePeriod", period), "", ""},
		{"a poll response's count", pollResponse, pollInputOf("count", "valuePositiveInt", 500), "", ""},
		{"an exception typed once with its period", outpatient, exception(
			coded("http://terminology.hl7.org/CodeSystem/ex-coverage-financial-exception", "retired"), period), "", ""},
		{"an organization identifier typed", outpatient, orgIdentifierType(map[string]any{
			"system": nphiesCodes + "organization-identifier-type", "code": "NII"}), "", ""},
	}
}

func TestMutatedExamplesBreakTheTailRules(t *testing.T) {
	t.Parallel()
	assertBreaks(t, tailBreaks())
}

func TestExamplesMadeToMeetTheTailRulesPassThem(t *testing.T) {
	t.Parallel()
	assertMeets(t, tailBreaks(), tailMeets())
}
