package rules_test

import (
	"testing"
)

// Tests of the cardinality rows whose bound the sheet's text or R4 states
// (ic_more.go): each broken by one mutation of an official example, at its
// expression; the examples themselves pass them
// (TestEveryOfficialExamplePassesButForItsRecordedExceptions).

const (
	claimResponse = "7b-claim-response.json"
	eligibility   = "14a-eligibilty-request-ben-val.json"
	benefits      = "14b-eligibility-response-ben-val.json"
	communication = "18b-communication-response-solicited.json"
	commRequest   = "18a-communication-request.json"
	// extraEntry is where an entry appended to the outpatient example sits.
	extraEntry = "Bundle.entry[9].resource"
)

// appendEntry adds a resource to the example's entries.
func appendEntry(r map[string]any) func(t *testing.T, d doc) {
	return func(t *testing.T, d doc) {
		d["entry"] = append(d["entry"].([]any), map[string]any{"fullUrl": "http://sgh.com.sa/extra/1", "resource": r})
	}
}

// at returns element i of the array under key of the first resource of a kind.
func at(t *testing.T, d doc, kind, key string, i int) map[string]any {
	t.Helper()
	return d.resource(t, kind)[key].([]any)[i].(map[string]any)
}

// with sets fields on element i of the array under key of the first resource of a kind.
func with(kind, key string, i int, fields map[string]any) func(t *testing.T, d doc) {
	return func(t *testing.T, d doc) {
		el := at(t, d, kind, key, i)
		for k, v := range fields {
			el[k] = v
		}
	}
}

// addItem gives the claim response an added item with a detail and a
// subdetail, none naming its product; with adjudications lacking their
// category, or none.
func addItem(adjudicated bool) func(t *testing.T, d doc) {
	return func(t *testing.T, d doc) {
		line := func(fields map[string]any) map[string]any {
			if adjudicated {
				fields["adjudication"] = []any{map[string]any{"amount": map[string]any{"value": 10, "currency": "SAR"}}}
			}
			return fields
		}
		d.resource(t, "ClaimResponse")["addItem"] = []any{line(map[string]any{"itemSequence": []any{1},
			"detail": []any{line(map[string]any{"subDetail": []any{line(map[string]any{"quantity": map[string]any{"value": 1}})}})}})}
	}
}

func TestMutatedExamplesBreakTheCardinalityRules(t *testing.T) {
	t.Parallel()
	period := map[string]any{"start": "2023-01-01", "end": "2023-01-02"}
	money := map[string]any{"value": 10, "currency": "SAR"}
	added := "Bundle.entry[1].resource.addItem[0]"
	cases := []sendCase{
		{"a claim without its use", outpatient, dropKey("Claim", "use"), "IC-00064", outpatientClaim + ".use"},
		{"a bundle without its id", outpatient, func(t *testing.T, d doc) { delete(d, "id") }, "IC-00326", "Bundle.id"},
		{"a claim without its identifier", outpatient, dropKey("Claim", "identifier"), "IC-00331", outpatientClaim + ".identifier"},
		{"an authorization without its identifier", outpatient, dropKey("Claim", "identifier"), "IC-00388", outpatientClaim + ".identifier"},
		{"a reconciliation without its identifier", "13a-payment-reconciliation.json", dropKey("PaymentReconciliation", "identifier"),
			"IC-00382", "Bundle.entry[1].resource.identifier"},
		{"a header without its event", outpatient, dropKey("MessageHeader", "eventCoding"), "IC-00377", "Bundle.entry[0].resource.eventCoding"},
		{"a header with two destinations", outpatient, func(t *testing.T, d doc) {
			h := d.resource(t, "MessageHeader")
			h["destination"] = append(h["destination"].([]any), mustCopy(t, h["destination"].([]any)[0]))
		}, "IC-00375", "Bundle.entry[0].resource.destination[1]"},
		{"a cancel response answering nothing", "17b-cancel-response.json", dropKey("MessageHeader", "response"),
			"IC-00394", "Bundle.entry[0].resource.response"},
		{"a cancel request's Task without focus", "17a-cancel-request.json", dropKey("Task", "focus"), "IC-00393", "Bundle.entry[1].resource.focus"},
		{"an attachment without content type", outpatient, func(t *testing.T, d doc) {
			delete(infoAt(t, d, 10)["valueAttachment"].(map[string]any), "contentType")
		}, "IC-00403", outpatientClaim + ".supportingInfo[10].valueAttachment.contentType"},
		{"an attachment without title", outpatient, func(t *testing.T, d doc) {
			delete(infoAt(t, d, 10)["valueAttachment"].(map[string]any), "title")
		}, "IC-00405", outpatientClaim + ".supportingInfo[10].valueAttachment.title"},
		{"an attachment without creation", communication, func(t *testing.T, d doc) {
			delete(at(t, d, "Communication", "payload", 1)["contentAttachment"].(map[string]any), "creation")
		}, "IC-00406", "Bundle.entry[1].resource.payload[1].contentAttachment.creation"},
		{"a care team member without qualification", outpatient, func(t *testing.T, d doc) {
			delete(at(t, d, "Claim", "careTeam", 0), "qualification")
		}, "IC-01427", outpatientClaim + ".careTeam[0].qualification"},
		{"a claim response item without its item sequence", claimResponse, func(t *testing.T, d doc) {
			delete(at(t, d, "ClaimResponse", "item", 0), "itemSequence")
		}, "IC-01353", "Bundle.entry[1].resource.item[0].itemSequence"},
		{"a decided claim response without its outcome", claimResponse, func(t *testing.T, d doc) {
			dropExt(d.resource(t, "ClaimResponse"), "adjudication-outcome")
		}, "IC-00074", "Bundle.entry[1].resource.extension(adjudication-outcome)"},
		{"a patient's gender without NPHIES's", outpatient, dropKey("Patient", "_gender"),
			"IC-00240", "Bundle.entry[2].resource.gender.extension(ksa-administrative-gender)"},
		{"a payload both text and attachment", communication, with("Communication", "payload", 0, map[string]any{
			"contentAttachment": map[string]any{"contentType": "text/plain", "data": "aGk=", "title": "t", "creation": "2023-01-01"}}),
			"IC-00115", "Bundle.entry[1].resource.payload[0].contentString"},
		{"a requested payload without content", commRequest, func(t *testing.T, d doc) {
			delete(at(t, d, "CommunicationRequest", "payload", 0), "contentString")
		}, "IC-00125", "Bundle.entry[1].resource.payload[0].content[x]"},
		{"an empty identifier value", outpatient, func(t *testing.T, d doc) {
			at(t, d, "Claim", "identifier", 0)["value"] = ""
		}, "IC-00324", outpatientClaim + ".identifier[0].value"},
		{"an entry without a resource", outpatient, func(t *testing.T, d doc) {
			d["entry"] = append(d["entry"].([]any), map[string]any{"fullUrl": "http://sgh.com.sa/extra/1"})
		}, "IC-01435", extraEntry},
		// R4's required elements.
		{"an outcome without issues", outpatient, appendEntry(map[string]any{"resourceType": "OperationOutcome"}), "IC-01385", extraEntry + ".issue"},
		{"an issue without code", outpatient, appendEntry(map[string]any{"resourceType": "OperationOutcome",
			"issue": []any{map[string]any{"severity": "error"}}}), "IC-01386", extraEntry + ".issue[0].code"},
		{"an issue without severity", outpatient, appendEntry(map[string]any{"resourceType": "OperationOutcome",
			"issue": []any{map[string]any{"code": "invalid"}}}), "IC-01390", extraEntry + ".issue[0].severity"},
		{"a prescription without status", outpatient, appendEntry(map[string]any{"resourceType": "MedicationRequest"}), "IC-01521", extraEntry + ".status"},
		{"a prescription without intent", outpatient, appendEntry(map[string]any{"resourceType": "MedicationRequest"}), "IC-01522", extraEntry + ".intent"},
		{"a prescription without subject", outpatient, appendEntry(map[string]any{"resourceType": "MedicationRequest"}), "IC-01524", extraEntry + ".subject"},
		{"a prescription without medicine", outpatient, appendEntry(map[string]any{"resourceType": "MedicationRequest"}), "IC-01523", extraEntry + ".medication[x]"},
		{"an added item without product", claimResponse, addItem(true), "IC-01485", added + ".productOrService"},
		{"an added item without adjudication", claimResponse, addItem(false), "IC-01489", added + ".adjudication"},
		{"an added item's adjudication without category", claimResponse, addItem(true), "IC-01490", added + ".adjudication[0].category"},
		{"an added detail without product", claimResponse, addItem(true), "IC-01495", added + ".detail[0].productOrService"},
		{"an added detail without adjudication", claimResponse, addItem(false), "IC-01497", added + ".detail[0].adjudication"},
		{"an added detail's adjudication without category", claimResponse, addItem(true), "IC-01498", added + ".detail[0].adjudication[0].category"},
		{"an added subdetail without product", claimResponse, addItem(true), "IC-01503", added + ".detail[0].subDetail[0].productOrService"},
		{"an added subdetail without adjudication", claimResponse, addItem(false), "IC-01505", added + ".detail[0].subDetail[0].adjudication"},
		{"an added subdetail's adjudication without category", claimResponse, addItem(true), "IC-01506",
			added + ".detail[0].subDetail[0].adjudication[0].category"},
		// Choices R4 allows or requires once.
		{"an accident at an address and a location", outpatient, setOn("Claim", "accident", map[string]any{"date": "2023-01-01",
			"locationAddress": map[string]any{"city": "Riyadh"}, "locationReference": map[string]any{"reference": "http://sgh.com.sa/Location/1"}}),
			"IC-01319", outpatientClaim + ".accident.locationReference"},
		{"a diagnosis without its code", outpatient, func(t *testing.T, d doc) {
			delete(at(t, d, "Claim", "diagnosis", 0), "diagnosisCodeableConcept")
		}, "IC-01320", outpatientClaim + ".diagnosis[0].diagnosis[x]"},
		{"an item served on a date and over a period", outpatient, with("Claim", "item", 0, map[string]any{"servicedPeriod": period}),
			"IC-01336", outpatientClaim + ".item[0].servicedPeriod"},
		{"information timed by a date and a period", outpatient, with("Claim", "supportingInfo", 0, map[string]any{
			"timingDate": "2023-01-01", "timingPeriod": period}), "IC-01338", outpatientClaim + ".supportingInfo[0].timingPeriod"},
		{"information timed by a date and a period (by period)", outpatient, with("Claim", "supportingInfo", 0, map[string]any{
			"timingDate": "2023-01-01", "timingPeriod": period}), "IC-01339", outpatientClaim + ".supportingInfo[0].timingPeriod"},
		{"information both text and an attachment", outpatient, with("Claim", "supportingInfo", 9, map[string]any{
			"valueAttachment": map[string]any{"title": "t"}}), "IC-01340", outpatientClaim + ".supportingInfo[9].valueString"},
		{"information both text and a boolean", outpatient, with("Claim", "supportingInfo", 9, map[string]any{"valueBoolean": true}),
			"IC-01341", outpatientClaim + ".supportingInfo[9].valueString"},
		{"information both a quantity and text", outpatient, with("Claim", "supportingInfo", 0, map[string]any{"valueString": "x"}),
			"IC-01342", outpatientClaim + ".supportingInfo[0].valueString"},
		{"information both text and a reference", outpatient, with("Claim", "supportingInfo", 9, map[string]any{
			"valueReference": map[string]any{"reference": "http://sgh.com.sa/Patient/1"}}), "IC-01343", outpatientClaim + ".supportingInfo[9].valueString"},
		{"information both text and a quantity", outpatient, with("Claim", "supportingInfo", 9, map[string]any{
			"valueQuantity": map[string]any{"value": 1}}), "IC-01344", outpatientClaim + ".supportingInfo[9].valueString"},
		{"a note by two authors", communication, setOn("Communication", "note", []any{map[string]any{"text": "x",
			"authorString": "a", "authorReference": map[string]any{"reference": "http://sgh.com.sa/Patient/1"}}}),
			"IC-01355", "Bundle.entry[1].resource.note[0].authorString"},
		{"a requested note by two authors", commRequest, setOn("CommunicationRequest", "note", []any{map[string]any{"text": "x",
			"authorString": "a", "authorReference": map[string]any{"reference": "http://sgh.com.sa/Patient/1"}}}),
			"IC-01360", "Bundle.entry[1].resource.note[0].authorString"},
		{"a request due at a time and over a period", commRequest, func(t *testing.T, d doc) {
			r := d.resource(t, "CommunicationRequest")
			r["occurrenceDateTime"], r["occurrencePeriod"] = "2023-01-01T10:00:00+03:00", period
		}, "IC-01361", "Bundle.entry[1].resource.occurrencePeriod"},
		{"a cost to the beneficiary without amount", outpatient, setOn("Coverage", "costToBeneficiary", []any{map[string]any{
			"type": coded("http://terminology.hl7.org/CodeSystem/coverage-copay-type", "visit")}}),
			"IC-01363", "Bundle.entry[3].resource.costToBeneficiary[0].value[x]"},
		{"a cost to the beneficiary both money and a quantity", outpatient, setOn("Coverage", "costToBeneficiary", []any{map[string]any{
			"valueMoney": money, "valueQuantity": map[string]any{"value": 10, "unit": "%"}}}),
			"IC-01364", "Bundle.entry[3].resource.costToBeneficiary[0].valueQuantity"},
		{"an eligibility request for a date and a period", eligibility, setOn("CoverageEligibilityRequest", "servicedDate", "2023-01-01"),
			"IC-01369", "Bundle.entry[1].resource.servicedPeriod"},
		{"an eligibility request for a date and a period (by period)", eligibility, setOn("CoverageEligibilityRequest", "servicedDate", "2023-01-01"),
			"IC-01370", "Bundle.entry[1].resource.servicedPeriod"},
		{"an eligibility response for a date and a period", benefits, setOn("CoverageEligibilityResponse", "servicedDate", "2023-01-01"),
			"IC-01378", "Bundle.entry[1].resource.servicedPeriod"},
		{"a benefit allowed as money and text", benefits, benefitWith(map[string]any{"allowedString": "x"}),
			"IC-01373", benefitAt + ".allowedString"},
		{"a benefit allowed as money and a count", benefits, benefitWith(map[string]any{"allowedUnsignedInt": 2}),
			"IC-01374", benefitAt + ".allowedUnsignedInt"},
		{"a benefit allowed as money and text (by money)", benefits, benefitWith(map[string]any{"allowedString": "x"}),
			"IC-01372", benefitAt + ".allowedString"},
		{"a benefit used as money and text", benefits, benefitWith(map[string]any{"usedMoney": money, "usedString": "x"}),
			"IC-01375", benefitAt + ".usedString"},
		{"a patient deceased by flag and date", outpatient, func(t *testing.T, d doc) {
			p := d.resource(t, "Patient")
			p["deceasedBoolean"], p["deceasedDateTime"] = true, "2023-01-01T10:00:00+03:00"
		}, "IC-01397", "Bundle.entry[2].resource.deceasedDateTime"},
		{"a patient deceased by flag and date (by date)", outpatient, func(t *testing.T, d doc) {
			p := d.resource(t, "Patient")
			p["deceasedBoolean"], p["deceasedDateTime"] = true, "2023-01-01T10:00:00+03:00"
		}, "IC-01398", "Bundle.entry[2].resource.deceasedDateTime"},
		{"a dosage bounded by a duration and a period", outpatient, appendEntry(map[string]any{"resourceType": "MedicationRequest",
			"dosageInstruction": []any{map[string]any{"timing": map[string]any{"repeat": map[string]any{
				"boundsDuration": map[string]any{"value": 5, "unit": "d"}, "boundsPeriod": period}}}}}),
			"IC-01543", extraEntry + ".dosageInstruction[0].timing.repeat.boundsPeriod"},
	}
	cases = append(cases, batchCases()...)
	assertBreaks(t, cases)
}

// benefitAt is the first benefit of the eligibility response's first item.
const benefitAt = "Bundle.entry[1].resource.insurance[0].item[0].benefit[0]"

func benefitWith(fields map[string]any) func(t *testing.T, d doc) {
	return func(t *testing.T, d doc) {
		b := benefit(t, d)["benefit"].([]any)[0].(map[string]any)
		for k, v := range fields {
			b[k] = v
		}
	}
}

// batchCases: a claim of the batch example without one of its batch extensions.
func batchCases() []sendCase {
	var out []sendCase
	for id, name := range map[string]string{"IC-01322": "batch-identifier", "IC-01323": "batch-number", "IC-01324": "batch-period"} {
		out = append(out, sendCase{"a batched claim without its " + name, "16-batch-request.json", func(t *testing.T, d doc) {
			inner := doc(d["entry"].([]any)[1].(map[string]any)["resource"].(map[string]any))
			dropExt(inner.resource(t, "Claim"), name)
		}, id, "Bundle.entry[1].resource.entry[1].resource.extension(" + name + ")"})
	}
	return out
}

// twice is an element R4 has once given two times.
func twice(v any) []any { return []any{v, v} }

// twiceAt gives the element under key of the first resource of a kind twice.
func twiceAt(kind, key string) func(t *testing.T, d doc) {
	return func(t *testing.T, d doc) {
		r := d.resource(t, kind)
		r[key] = twice(r[key])
	}
}

func TestElementsR4HasOnceBreakTheirCardinalityRowsWhenRepeated(t *testing.T) {
	t.Parallel()
	cc := coded(nphiesCodes+"x", "x")
	prescription := func(fields map[string]any) func(t *testing.T, d doc) {
		fields["resourceType"] = "MedicationRequest"
		return appendEntry(fields)
	}
	dosage := func(fields map[string]any) func(t *testing.T, d doc) {
		return prescription(map[string]any{"dosageInstruction": []any{fields}})
	}
	outcome := func(fields map[string]any) func(t *testing.T, d doc) {
		fields["resourceType"] = "OperationOutcome"
		return appendEntry(fields)
	}
	issue := func(fields map[string]any) func(t *testing.T, d doc) {
		fields["severity"], fields["code"] = "error", "invalid"
		return outcome(map[string]any{"issue": []any{fields}})
	}
	quantity := func(subDetail bool) func(t *testing.T, d doc) {
		return func(t *testing.T, d doc) {
			addItem(true)(t, d)
			line := d.resource(t, "ClaimResponse")["addItem"].([]any)[0].(map[string]any)["detail"].([]any)[0].(map[string]any)
			if subDetail {
				line = line["subDetail"].([]any)[0].(map[string]any)
			}
			line["quantity"] = twice(map[string]any{"value": 1})
		}
	}
	reconciliation := "13a-payment-reconciliation.json"
	cases := []sendCase{
		{"an item described twice", benefits, func(t *testing.T, d doc) { benefit(t, d)["description"] = twice("x") },
			"IC-01376", "Bundle.entry[1].resource.insurance[0].item[0].description[1]"},
		{"an outcome with two ids", outpatient, outcome(map[string]any{"id": twice("x"), "issue": []any{map[string]any{
			"severity": "error", "code": "invalid"}}}), "IC-01384", extraEntry + ".id[1]"},
		{"an issue with two details", outpatient, issue(map[string]any{"details": twice(cc)}), "IC-01387", extraEntry + ".issue[0].details[1]"},
		{"an issue with two diagnostics", outpatient, issue(map[string]any{"diagnostics": twice("x")}), "IC-01388", extraEntry + ".issue[0].diagnostics[1]"},
		{"an outcome with two metas", outpatient, outcome(map[string]any{"meta": twice(map[string]any{"profile": []any{"x"}}),
			"issue": []any{map[string]any{"severity": "error", "code": "invalid"}}}), "IC-01391", extraEntry + ".meta[1]"},
		{"a lens with two cylinders", vision, func(t *testing.T, d doc) { lens(t, d, 0)["cylinder"] = twice(-0.5) },
			"IC-01410", "Bundle.entry[6].resource.lensSpecification[0].cylinder[1]"},
		{"an eligibility period with two starts", eligibility, func(t *testing.T, d doc) {
			p := d.resource(t, "CoverageEligibilityRequest")["servicedPeriod"].(map[string]any)
			p["start"] = twice(p["start"])
		}, "IC-01436", "Bundle.entry[1].resource.servicedPeriod.start[1]"},
		{"an eligibility period with two ends", eligibility, func(t *testing.T, d doc) {
			p := d.resource(t, "CoverageEligibilityRequest")["servicedPeriod"].(map[string]any)
			p["end"] = twice(p["start"])
		}, "IC-01437", "Bundle.entry[1].resource.servicedPeriod.end[1]"},
		{"a payment with two identifiers", reconciliation, func(t *testing.T, d doc) {
			r := d.resource(t, "PaymentReconciliation")
			r["paymentIdentifier"] = append(r["paymentIdentifier"].([]any), mustCopy(t, r["paymentIdentifier"].([]any)[0]))
		}, "IC-01438", "Bundle.entry[1].resource.paymentIdentifier[1]"},
		{"a payment identifier of two types", reconciliation, func(t *testing.T, d doc) {
			id := at(t, d, "PaymentReconciliation", "paymentIdentifier", 0)
			id["type"] = twice(id["type"])
		}, "IC-01439", "Bundle.entry[1].resource.paymentIdentifier[0].type[1]"},
		{"a reconciliation with two requestors", reconciliation, twiceAt("PaymentReconciliation", "requestor"),
			"IC-01460", "Bundle.entry[1].resource.requestor[1]"},
		{"information coded with two texts", outpatient, func(t *testing.T, d doc) {
			infoAt(t, d, 6)["code"].(map[string]any)["text"] = twice("x")
		}, "IC-01450", outpatientClaim + ".supportingInfo[6].code.text[1]"},
		{"an added detail of two quantities", claimResponse, quantity(false), "IC-01496", "Bundle.entry[1].resource.addItem[0].detail[0].quantity[1]"},
		{"an added subdetail of two quantities", claimResponse, quantity(true), "IC-01504",
			"Bundle.entry[1].resource.addItem[0].detail[0].subDetail[0].quantity[1]"},
		{"a prescription with two ids", outpatient, prescription(map[string]any{"id": twice("x")}), "IC-01517", extraEntry + ".id[1]"},
		{"a prescription with two metas", outpatient, prescription(map[string]any{"meta": twice(map[string]any{"profile": []any{"x"}})}),
			"IC-01518", extraEntry + ".meta[1]"},
		{"a prescription authored twice", outpatient, prescription(map[string]any{"authoredOn": twice("2023-01-01")}),
			"IC-01525", extraEntry + ".authoredOn[1]"},
		{"a prescription by two prescribers", outpatient, prescription(map[string]any{"requester": twice(map[string]any{
			"reference": "http://sgh.com.sa/Practitioner/1"})}), "IC-01526", extraEntry + ".requester[1]"},
		{"a dosage of two timings", outpatient, dosage(map[string]any{"timing": twice(map[string]any{"code": cc})}),
			"IC-01529", extraEntry + ".dosageInstruction[0].timing[1]"},
		{"a dosage by two routes", outpatient, dosage(map[string]any{"route": twice(cc)}), "IC-01530", extraEntry + ".dosageInstruction[0].route[1]"},
		{"a dosage repeated for two durations", outpatient, dosage(map[string]any{"timing": map[string]any{"repeat": map[string]any{
			"duration": twice(1)}}}), "IC-01545", extraEntry + ".dosageInstruction[0].timing.repeat.duration[1]"},
		{"a coverage of two policy holders", outpatient, twiceAt("Coverage", "policyHolder"), "IC-01564", "Bundle.entry[3].resource.policyHolder[1]"},
		{"a patient of two marital statuses", outpatient, setOn("Patient", "maritalStatus", twice(cc)), "IC-01565", "Bundle.entry[2].resource.maritalStatus[1]"},
		{"a claim of two subtypes", outpatient, twiceAt("Claim", "subType"), "IC-01566", outpatientClaim + ".subType[1]"},
		{"a claim response of two subtypes", claimResponse, setOn("ClaimResponse", "subType", twice(cc)), "IC-01567", "Bundle.entry[1].resource.subType[1]"},
	}
	assertBreaks(t, cases)
}

// misTyped is an NPHIES extension carrying its value as a string, a type
// none of those the sheet types takes.
func misTyped(name string) map[string]any {
	return map[string]any{"url": nphiesExt + name, "valueString": "x"}
}

// extFirst puts the extension first on the element el returns.
func extFirst(el func(t *testing.T, d doc) map[string]any, x map[string]any) func(t *testing.T, d doc) {
	return func(t *testing.T, d doc) {
		e := el(t, d)
		old, _ := e["extension"].([]any)
		e["extension"] = append([]any{x}, old...)
	}
}

func first(kind string) func(t *testing.T, d doc) map[string]any {
	return func(t *testing.T, d doc) map[string]any { return d.resource(t, kind) }
}

// lines gives the outpatient example's first item a detail with a
// subdetail and returns the element at depth (0 the item).
func lines(depth int) func(t *testing.T, d doc) map[string]any {
	return func(t *testing.T, d doc) map[string]any {
		it := at(t, d, "Claim", "item", 0)
		sub := map[string]any{"sequence": 1}
		detail := map[string]any{"sequence": 1, "subDetail": []any{sub}}
		it["detail"] = []any{detail}
		return []map[string]any{it, detail, sub}[depth]
	}
}

func TestRowsTheSheetOrExamplesGiveAValueBreakWhenMisvalued(t *testing.T) {
	t.Parallel()
	hosp := func(t *testing.T, d doc) map[string]any {
		h := map[string]any{}
		d.resource(t, "Encounter")["hospitalization"] = h
		return h
	}
	diagnosis := func(t *testing.T, d doc) map[string]any { return at(t, d, "Claim", "diagnosis", 0) }
	item := outpatientClaim + ".item[0]"
	cases := []sendCase{
		{"a claim's newborn flag as text", outpatient, extFirst(first("Claim"), misTyped("newborn")), "DT-01422", outpatientClaim + ".extension[0].valueString"},
		{"an eligibility newborn flag as text", eligibility, extFirst(first("CoverageEligibilityRequest"), misTyped("newborn")),
			"DT-01421", "Bundle.entry[1].resource.extension[0].valueString"},
		{"a claim response's newborn flag as text", claimResponse, extFirst(first("ClaimResponse"), misTyped("newborn")),
			"DT-01433", "Bundle.entry[1].resource.extension[0].valueString"},
		{"an advanced authorization's reason as text", claimResponse, extFirst(first("ClaimResponse"), misTyped("advancedAuth-reason")),
			"DT-01432", "Bundle.entry[1].resource.extension[0].valueString"},
		{"a service provider as text", claimResponse, extFirst(first("ClaimResponse"), misTyped("serviceProvider")),
			"DT-01435", "Bundle.entry[1].resource.extension[0].valueString"},
		{"a referring provider as text", claimResponse, extFirst(first("ClaimResponse"), misTyped("referringProvider")),
			"DT-01436", "Bundle.entry[1].resource.extension[0].valueString"},
		{"an item's prescription as text", outpatient, extFirst(lines(0), misTyped("medicationRequest")), "DT-01490", item + ".extension[0].valueString"},
		{"a detail's prescription as text", outpatient, extFirst(lines(1), misTyped("medicationRequest")), "DT-01492", item + ".detail[0].extension[0].valueString"},
		{"a subdetail's prescription as text", outpatient, extFirst(lines(2), misTyped("medicationRequest")),
			"DT-01494", item + ".detail[0].subDetail[0].extension[0].valueString"},
		{"an item's missing scientific code reason as text", outpatient, extFirst(lines(0), misTyped("absenceOfScientificCode")),
			"DT-01491", item + ".extension[0].valueString"},
		{"a detail's missing scientific code reason as text", outpatient, extFirst(lines(1), misTyped("absenceOfScientificCode")),
			"DT-01493", item + ".detail[0].extension[0].valueString"},
		{"a subdetail's missing scientific code reason as text", outpatient, extFirst(lines(2), misTyped("absenceOfScientificCode")),
			"DT-01495", item + ".detail[0].subDetail[0].extension[0].valueString"},
		{"a disposition as text", outpatient, extFirst(first("Encounter"), misTyped("emergencyDepartmentDisposition")),
			"DT-01530", outpatientEncounter + ".extension[0].valueString"},
		{"a condition onset as text", outpatient, extFirst(diagnosis, misTyped("conditionOnset")), "DT-01531", outpatientClaim + ".diagnosis[0].extension[0].valueString"},
		{"an arrival code as text", outpatient, extFirst(first("Encounter"), misTyped("emergencyArrivalCode")), "DT-01532", outpatientEncounter + ".extension[0].valueString"},
		{"a triage date as text", outpatient, extFirst(first("Encounter"), misTyped("triageDate")), "DT-01533", outpatientEncounter + ".extension[0].valueString"},
		{"a triage category as text", outpatient, extFirst(first("Encounter"), misTyped("triageCategory")), "DT-01534", outpatientEncounter + ".extension[0].valueString"},
		{"an emergency service start as text", outpatient, extFirst(first("Encounter"), misTyped("emergencyServiceStart")),
			"DT-01535", outpatientEncounter + ".extension[0].valueString"},
		{"a cause of death as text", outpatient, extFirst(first("Encounter"), misTyped("causeOfDeath")), "DT-01539", outpatientEncounter + ".extension[0].valueString"},
		{"a discharge specialty as text", outpatient, extFirst(hosp, misTyped("dischargeSpecialty")),
			"DT-01538", outpatientEncounter + ".hospitalization.extension[0].valueString"},
		{"an intended length of stay as text", outpatient, extFirst(hosp, misTyped("intendedLengthOfStay")),
			"DT-01540", outpatientEncounter + ".hospitalization.extension[0].valueString"},
		{"an admission specialty as text", outpatient, extFirst(hosp, misTyped("admissionSpecialty")),
			"DT-01544", outpatientEncounter + ".hospitalization.extension[0].valueString"},
		// Polls, and identifiers the sheet names loosely.
		{"a poll for a message type that is no event", "12a-poll-request.json", pollInput("include-message-type", "invoice-response"),
			"IB-00293", "Bundle.entry[1].resource.input[0].valueCode"},
		{"a poll excluding a message type that is no event", "12a-poll-request.json", pollInput("exclude-message-type", "invoice-response"),
			"IB-00294", "Bundle.entry[1].resource.input[0].valueCode"},
		{"a poll response for a message type that is no event", "12b-poll-response.json", pollInput("include-message-type", "invoice-response"),
			"IB-00300", "Bundle.entry[1].resource.input[0].valueCode"},
		{"a poll response excluding a message type that is no event", "12b-poll-response.json", pollInput("exclude-message-type", "invoice-response"),
			"IB-00301", "Bundle.entry[1].resource.input[0].valueCode"},
		{"a poll error not coded as an NPHIES error", "12b-poll-response.json", with("Task", "output", 0, map[string]any{
			"type":                 coded(nphiesCodes+"task-output-type", "error"),
			"valueCodeableConcept": coded(nphiesCodes+"task-status", "failed")}),
			"IB-00303", "Bundle.entry[1].resource.output[0].valueCodeableConcept"},
		{"a claim without its identifier", "10-claim-professional-request.json", dropKey("Claim", "identifier"),
			"IC-00327", "Bundle.entry[1].resource.identifier"},
		{"an eligibility request without its identifier", eligibility, dropKey("CoverageEligibilityRequest", "identifier"),
			"IC-00368", "Bundle.entry[1].resource.identifier"},
		{"a reconciled claim named without identifier", "13a-payment-reconciliation.json", func(t *testing.T, d doc) {
			delete(at(t, d, "PaymentReconciliation", "detail", 0)["request"].(map[string]any), "identifier")
		}, "IC-00372", "Bundle.entry[1].resource.detail[0].request.identifier"},
		{"a response naming its request without identifier", claimResponse, setOn("ClaimResponse", "request", map[string]any{
			"reference": "http://saudidentalclinic.com.sa/Claim/1"}), "IC-00390", "Bundle.entry[1].resource.request.identifier"},
		{"a resource without id", outpatient, dropKey("Patient", "id"), "IC-00391", "Bundle.entry[2].resource.id"},
	}
	assertBreaks(t, cases)
}

// pollInput makes the poll Task's first input name a message type.
func pollInput(inputType, code string) func(t *testing.T, d doc) {
	return with("Task", "input", 0, map[string]any{"type": coded(nphiesCodes+"task-input-type", inputType), "valueCode": code})
}
