package rules_test

import (
	"strconv"
	"strings"
	"testing"
)

// Tests of the business rules on the messages we send (bv_send*.go): each
// rule is met by an official example, or by the example made to meet it
// (sendMeets), and broken by one mutation (sendBreaks) at its expression.

const (
	nphiesExt   = "http://nphies.sa/fhir/ksa/nphies-fs/StructureDefinition/extension-"
	nphiesCodes = "http://nphies.sa/terminology/CodeSystem/"
	// outpatientEncounter is where the outpatient example's Encounter sits.
	outpatientEncounter = "Bundle.entry[6].resource"
	outpatientClaim     = "Bundle.entry[1].resource"
)

func coded(system, code string) map[string]any {
	return map[string]any{"coding": []any{map[string]any{"system": system, "code": code}}}
}

func codedExt(name, system, code string) map[string]any {
	return map[string]any{"url": nphiesExt + name, "valueCodeableConcept": coded(system, code)}
}

// dropInfo removes the Claim's supportingInfo of a category.
func dropInfo(c map[string]any, category string) {
	var kept []any
	for _, s := range c["supportingInfo"].([]any) {
		cat := s.(map[string]any)["category"].(map[string]any)["coding"].([]any)[0].(map[string]any)
		if cat["code"] != category {
			kept = append(kept, s)
		}
	}
	c["supportingInfo"] = kept
}

// dropExt removes the extensions of a name from an element.
func dropExt(el map[string]any, name string) {
	var kept []any
	for _, e := range el["extension"].([]any) {
		if e.(map[string]any)["url"] != nphiesExt+name {
			kept = append(kept, e)
		}
	}
	el["extension"] = kept
}

// admit turns the outpatient example into an institutional claim or
// authorization (use) for an inpatient stay that meets every stay rule, as
// the official V5.2 profiles shape it.
func admit(t *testing.T, d doc, use string) {
	t.Helper()
	c := d.resource(t, "Claim")
	c["use"] = use
	c["type"] = coded("http://terminology.hl7.org/CodeSystem/claim-type", "institutional")
	c["subType"] = coded(nphiesCodes+"claim-subtype", "ip")
	c["supportingInfo"] = append(c["supportingInfo"].([]any), map[string]any{
		"sequence": 20, "category": coded(nphiesCodes+"claim-information-category", "estimated-Length-of-Stay"),
		"valueQuantity": map[string]any{"value": 2, "system": "http://unitsofmeasure.org", "code": "d"}})
	enc := d.resource(t, "Encounter")
	enc["class"] = map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"}
	enc["hospitalization"] = map[string]any{
		"extension": []any{
			codedExt("admissionSpecialty", nphiesCodes+"practice-codes", "08.00"),
			codedExt("intendedLengthOfStay", nphiesCodes+"intended-length-of-stay", "IO"),
			codedExt("dischargeSpecialty", nphiesCodes+"practice-codes", "08.00"),
		},
		"admitSource":          coded(nphiesCodes+"admit-source", "EER"),
		"dischargeDisposition": coded(nphiesCodes+"discharge-disposition", "home"),
	}
}

func hospitalization(t *testing.T, d doc) map[string]any {
	t.Helper()
	return d.resource(t, "Encounter")["hospitalization"].(map[string]any)
}

// vision is the official vision authorization with a prescription.
const vision = "6-preauth-vision-prescription-request.json"

// lens returns lens specification i of the example's prescription.
func lens(t *testing.T, d doc, i int) map[string]any {
	t.Helper()
	return d.resource(t, "VisionPrescription")["lensSpecification"].([]any)[i].(map[string]any)
}

// contact makes lens i a contact lens that meets every lens rule.
func contact(t *testing.T, d doc, i int) map[string]any {
	t.Helper()
	l := lens(t, d, i)
	l["product"] = coded(nphiesCodes+"lens-type", "contact")
	delete(l, "sphere")
	delete(l, "prism")
	l["power"] = -2.25
	l["backCurve"] = 8
	l["diameter"] = 14.2
	l["duration"] = map[string]any{"value": 1, "unit": "month", "system": "http://unitsofmeasure.org", "code": "mo"}
	return l
}

const (
	pharmacyAuth = "4-preauth-pharmacy-request.json"
	authResponse = "5b-preauth-professional-response.json"
)

// onEvent makes the example a message of another event.
func onEvent(t *testing.T, d doc, event string) {
	t.Helper()
	d.resource(t, "MessageHeader")["eventCoding"].(map[string]any)["code"] = event
}

// asEvent mutates the example into a message of the event, then applies then.
func asEvent(event string, then func(t *testing.T, d doc)) func(t *testing.T, d doc) {
	return func(t *testing.T, d doc) { onEvent(t, d, event); then(t, d) }
}

// asAdvanced makes the professional authorization response an advanced
// authorization: the payer's own message, answering no request.
func asAdvanced(then func(t *testing.T, d doc)) func(t *testing.T, d doc) {
	return asEvent("advanced-authorization", func(t *testing.T, d doc) {
		delete(d.resource(t, "MessageHeader"), "response")
		then(t, d)
	})
}

// scientificCodes marks the medicines of the pharmacy example with whether
// they lack a scientific code, as a prescriber's request must.
func scientificCodes(t *testing.T, d doc) {
	for _, it := range d.resource(t, "Claim")["item"].([]any) {
		it := it.(map[string]any)
		it["extension"] = append(it["extension"].([]any), map[string]any{"url": nphiesExt + "absenceOfScientificCode",
			"valueCodeableConcept": coded(nphiesCodes+"scientific-codes-absence-reason", "trade-drugs")})
	}
}

// approvedDurations adds the approved duration a prescriber's response gives each item.
func approvedDurations(t *testing.T, d doc) {
	for _, it := range d.resource(t, "ClaimResponse")["item"].([]any) {
		it := it.(map[string]any)
		it["adjudication"] = append(it["adjudication"].([]any), map[string]any{
			"category": coded("http://nphies.sa/terminology/CodeSystem/adjudication", "approved-duration"), "value": 30})
	}
}

func reissuedToCancel(t *testing.T, d doc) {
	r := d.resource(t, "ClaimResponse")
	r["extension"] = append(r["extension"].([]any), codedExt("reissue-reason", nphiesCodes+"reissue-reason", "cancel"))
}

func noAdjudicationOutcome(t *testing.T, d doc) {
	dropExt(d.resource(t, "ClaimResponse"), "adjudication-outcome")
}

func setOn(kind, key string, v any) func(t *testing.T, d doc) {
	return func(t *testing.T, d doc) { d.resource(t, kind)[key] = v }
}

// info is a supportingInfo entry of a category.
func info(seq int, category string, fields map[string]any) map[string]any {
	out := map[string]any{"sequence": seq, "category": coded(nphiesCodes+"claim-information-category", category)}
	for k, v := range fields {
		out[k] = v
	}
	return out
}

// addInfo appends supportingInfo to the example's Claim.
func addInfo(entries ...map[string]any) func(t *testing.T, d doc) {
	return func(t *testing.T, d doc) {
		c := d.resource(t, "Claim")
		for _, e := range entries {
			c["supportingInfo"] = append(c["supportingInfo"].([]any), e)
		}
	}
}

// infoAt returns the Claim's supportingInfo i.
func infoAt(t *testing.T, d doc, i int) map[string]any {
	t.Helper()
	return d.resource(t, "Claim")["supportingInfo"].([]any)[i].(map[string]any)
}

// missingTooth is a tooth extracted, as the dental supporting information carries it.
func missingTooth() map[string]any {
	return info(30, "missingtooth", map[string]any{"code": coded(nphiesCodes+"fdi-oral-region", "11"),
		"reason": coded(nphiesCodes+"missing-tooth-reason", "extraction"), "timingDate": "2023-01-10"})
}

// emergency makes the outpatient example an emergency authorization.
func emergency(t *testing.T, d doc) {
	d.resource(t, "Claim")["subType"] = coded(nphiesCodes+"claim-subtype", "emr")
	enc := d.resource(t, "Encounter")
	enc["class"] = map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "EMER"}
	enc["extension"] = append(enc["extension"].([]any),
		map[string]any{"url": nphiesExt + "emergencyServiceStart", "valueDateTime": "2023-12-04T10:30:00+03:00"},
		map[string]any{"url": nphiesExt + "triageDate", "valueDateTime": "2023-12-04T10:27:00+03:00"},
		codedExt("triageCategory", nphiesCodes+"triage-category", "U"))
}

// emergencyClaim makes the outpatient example the claim for an emergency
// visit that ended, with what such a claim carries.
func emergencyClaim(t *testing.T, d doc) {
	emergency(t, d)
	d.resource(t, "Claim")["use"] = "claim"
	enc := d.resource(t, "Encounter")
	enc["extension"] = append(enc["extension"].([]any),
		codedExt("emergencyArrivalCode", nphiesCodes+"emergency-arrival-code", "Ambulance"),
		codedExt("emergencyDepartmentDisposition", nphiesCodes+"emergency-department-disposition", "H"))
}

// withoutExt runs then, and removes the Encounter's extensions of a name.
func withoutExt(then func(t *testing.T, d doc), name string) func(t *testing.T, d doc) {
	return func(t *testing.T, d doc) { then(t, d); dropExt(d.resource(t, "Encounter"), name) }
}

// newborn makes the claim one for a newborn born on the date.
func newborn(born string) func(t *testing.T, d doc) {
	return func(t *testing.T, d doc) {
		c := d.resource(t, "Claim")
		c["extension"] = append(c["extension"].([]any), map[string]any{"url": nphiesExt + "newborn", "valueBoolean": true})
		d.resource(t, "Patient")["birthDate"] = born
	}
}

// newbornEligibility makes example 14a a check for a newborn born on the date.
func newbornEligibility(born string) func(t *testing.T, d doc) {
	return func(t *testing.T, d doc) {
		d.resource(t, "CoverageEligibilityRequest")["extension"] = []any{map[string]any{"url": nphiesExt + "newborn", "valueBoolean": true}}
		d.resource(t, "Patient")["birthDate"] = born
	}
}

// output sets the first Task output of the example.
func output(v map[string]any) func(t *testing.T, d doc) {
	return setOn("Task", "output", []any{v})
}

// emergencyExt sets the valueDateTime of the emergency encounter's extension i.
func emergencyExt(i int, when string) func(t *testing.T, d doc) {
	return func(t *testing.T, d doc) {
		emergency(t, d)
		d.resource(t, "Encounter")["extension"].([]any)[i].(map[string]any)["valueDateTime"] = when
	}
}

// benefit is the first benefit item of the eligibility response example.
func benefit(t *testing.T, d doc) map[string]any {
	t.Helper()
	ins := d.resource(t, "CoverageEligibilityResponse")["insurance"].([]any)[0].(map[string]any)
	return ins["item"].([]any)[0].(map[string]any)
}

func itoa(i int) string { return strconv.Itoa(i) }

func usd() map[string]any { return map[string]any{"value": 10, "currency": "USD"} }

// long is text of n characters; arabic text when arabic.
func long(n int, arabic bool) string {
	if arabic {
		return strings.Repeat("ب", n)
	}
	return strings.Repeat("x", n)
}

// patientName is the outpatient example's patient's name.
func patientName(t *testing.T, d doc) map[string]any {
	t.Helper()
	return d.resource(t, "Patient")["name"].([]any)[0].(map[string]any)
}

// itemExt sets the extensions of the Claim's first item (or its first
// detail, or that detail's first subDetail, by depth 0, 1, 2) to x.
func itemExt(depth int, x map[string]any) func(t *testing.T, d doc) {
	return func(t *testing.T, d doc) {
		el := d.resource(t, "Claim")["item"].([]any)[0].(map[string]any)
		for _, key := range []string{"detail", "subDetail"}[:depth] {
			child := map[string]any{"sequence": 1, "unitPrice": el["unitPrice"]} // priced as its parent (BV-00372)
			el[key] = []any{child}
			el = child
		}
		el["extension"] = []any{x}
	}
}

// othersExt is a coded extension whose code is "others".
func othersExt(name string) map[string]any { return codedExt(name, nphiesCodes+"x", "others") }

// entryOf appends a resource to the example's entries.
func entryOf(kind string) func(t *testing.T, d doc) {
	return func(t *testing.T, d doc) {
		d["entry"] = append(d["entry"].([]any), map[string]any{"fullUrl": "http://provider.com/" + kind + "/9",
			"resource": map[string]any{"resourceType": kind, "id": "9"}})
	}
}

func dropKey(kind, key string) func(t *testing.T, d doc) {
	return func(t *testing.T, d doc) { delete(d.resource(t, kind), key) }
}

// selectionReason is the pharmacist's reason for a medicine. No official
// example carries it; its URL is named as NPHIES names its extensions, its
// value coded from pharmacist-selection-reason.
func selectionReason() map[string]any {
	return codedExt("pharmacistSelectionReason", nphiesCodes+"pharmacist-selection-reason", "Generic")
}

// dispensed gives the pharmacy example's medicines the pharmacist's reason
// and, with detail, the first item a medicine detail with it; lacking
// ("item" or "detail") leaves it off the first item or that detail.
func dispensed(detail bool, lacking string) func(t *testing.T, d doc) {
	return func(t *testing.T, d doc) {
		items := d.resource(t, "Claim")["item"].([]any)
		for i, it := range items {
			if it := it.(map[string]any); lacking != "item" || i > 0 {
				it["extension"] = append(it["extension"].([]any), selectionReason())
			}
		}
		if detail {
			first := items[0].(map[string]any)
			line := map[string]any{"sequence": 1, "productOrService": first["productOrService"], "quantity": first["quantity"],
				"unitPrice": first["unitPrice"], "net": first["net"]}
			if lacking != "detail" {
				line["extension"] = []any{selectionReason()}
			}
			first["detail"] = []any{line}
		}
	}
}

type sendCase struct {
	name   string
	file   string
	mutate func(t *testing.T, d doc)
	rule   string
	expr   string
}

// sendBreaks are the mutations that break one rule each.
func sendBreaks() []sendCase {
	admitted := func(use string, then func(t *testing.T, d doc)) func(t *testing.T, d doc) {
		return func(t *testing.T, d doc) { admit(t, d, use); then(t, d) }
	}
	cases := []sendCase{
		{"a medicine without the pharmacist's selection reason", pharmacyAuth, dispensed(false, "item"), "BV-00708", outpatientClaim + ".item[0].extension"},
		{"a medicine detail without the pharmacist's selection reason", pharmacyAuth, dispensed(true, "detail"), "BV-00710", outpatientClaim + ".item[0].detail[0].extension"},
		{"an institutional claim for an ambulatory encounter", outpatient, func(t *testing.T, d doc) {
			d.resource(t, "Claim")["type"] = coded("http://terminology.hl7.org/CodeSystem/claim-type", "institutional")
		}, "BV-00741", outpatientEncounter + ".class"},
		{"a professional authorization for an inpatient encounter", outpatient, func(t *testing.T, d doc) {
			d.resource(t, "Encounter")["class"] = map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "SS"}
		}, "BV-00807", outpatientEncounter + ".class"},
		{"an admission without its source", outpatient, admitted("preauthorization", func(t *testing.T, d doc) {
			delete(hospitalization(t, d), "admitSource")
		}), "BV-00727", outpatientEncounter + ".hospitalization.admitSource"},
		{"an inpatient claim without its admission specialty", outpatient, admitted("claim", func(t *testing.T, d doc) {
			dropExt(hospitalization(t, d), "admissionSpecialty")
		}), "BV-00737", outpatientEncounter + ".hospitalization.extension"},
		{"an inpatient claim without its intended length of stay", outpatient, admitted("claim", func(t *testing.T, d doc) {
			dropExt(hospitalization(t, d), "intendedLengthOfStay")
		}), "BV-00744", outpatientEncounter + ".hospitalization.extension"},
		{"a discharged inpatient claim without its discharge specialty", outpatient, admitted("claim", func(t *testing.T, d doc) {
			dropExt(hospitalization(t, d), "dischargeSpecialty")
		}), "BV-00758", outpatientEncounter + ".hospitalization.extension"},
		{"an institutional authorization without its estimated stay", outpatient, admitted("preauthorization", func(t *testing.T, d doc) {
			dropInfo(d.resource(t, "Claim"), "estimated-Length-of-Stay")
		}), "BV-00802", outpatientClaim + ".supportingInfo"},
		{"a dental authorization without its chief complaint", outpatient, func(t *testing.T, d doc) {
			c := d.resource(t, "Claim")
			c["type"] = coded("http://terminology.hl7.org/CodeSystem/claim-type", "oral")
			dropInfo(c, "chief-complaint")
		}, "BV-00751", outpatientClaim + ".supportingInfo"},
		{"a vision prescription in a professional authorization", "6-preauth-vision-prescription-request.json", func(t *testing.T, d doc) {
			d.resource(t, "Claim")["type"] = coded("http://terminology.hl7.org/CodeSystem/claim-type", "professional")
		}, "BV-00468", "Bundle.entry[6].resource"},
	}
	lensAt := func(i int) string { return "Bundle.entry[6].resource.lensSpecification[" + string(rune('0'+i)) + "]" }
	set := func(i int, key string, v any) func(t *testing.T, d doc) {
		return func(t *testing.T, d doc) { lens(t, d, i)[key] = v }
	}
	onContact := func(key string, v any) func(t *testing.T, d doc) {
		return func(t *testing.T, d doc) { contact(t, d, 1)[key] = v }
	}
	without := func(key string) func(t *testing.T, d doc) {
		return func(t *testing.T, d doc) { delete(contact(t, d, 1), key) }
	}
	cases = append(cases,
		sendCase{"a sphere off the quarter steps", vision, set(0, "sphere", 1.6), "IB-00330", lensAt(0) + ".sphere"},
		sendCase{"a cylinder over 12", vision, set(0, "cylinder", 12.25), "IB-00331", lensAt(0) + ".cylinder"},
		sendCase{"an add under -12", vision, set(1, "add", -12.5), "IB-00332", lensAt(1) + ".add"},
		sendCase{"a contact lens power over 12", vision, onContact("power", 12.25), "IB-00333", lensAt(1) + ".power"},
		sendCase{"a prism of no power", vision, func(t *testing.T, d doc) {
			lens(t, d, 0)["prism"].([]any)[0].(map[string]any)["amount"] = 0
		}, "IB-00334", lensAt(0) + ".prism[0].amount"},
		sendCase{"a back curve over 8", vision, onContact("backCurve", 8.5), "IB-00335", lensAt(1) + ".backCurve"},
		sendCase{"a diameter under 5", vision, onContact("diameter", 4.5), "IB-00336", lensAt(1) + ".diameter"},
		sendCase{"a wearing duration in years", vision, func(t *testing.T, d doc) {
			contact(t, d, 1)["duration"].(map[string]any)["code"] = "a"
		}, "IB-00337", lensAt(1) + ".duration"},
		sendCase{"an axis of 181 degrees", vision, set(1, "axis", 181), "IB-00347", lensAt(1) + ".axis"},
		sendCase{"a duration outside UCUM", vision, func(t *testing.T, d doc) {
			delete(contact(t, d, 1)["duration"].(map[string]any), "system")
		}, "BV-00398", lensAt(1) + ".duration.system"},
		sendCase{"a duration without its value", vision, func(t *testing.T, d doc) {
			delete(contact(t, d, 1)["duration"].(map[string]any), "value")
		}, "BV-00399", lensAt(1) + ".duration.value"},
		sendCase{"glasses without a sphere", vision, func(t *testing.T, d doc) { delete(lens(t, d, 1), "sphere") }, "IC-01417", lensAt(1) + ".sphere"},
		sendCase{"a contact lens with a sphere", vision, onContact("sphere", 1.5), "IC-01418", lensAt(1) + ".sphere"},
		sendCase{"a contact lens with a prism", vision, onContact("prism", []any{map[string]any{"amount": 2, "base": "up"}}), "IC-01419", lensAt(1) + ".prism"},
		sendCase{"a contact lens without its power", vision, without("power"), "IC-01421", lensAt(1) + ".power"},
		sendCase{"glasses with a contact lens power", vision, set(1, "power", 1.5), "IC-01422", lensAt(1) + ".power"},
		sendCase{"glasses with a back curve", vision, set(1, "backCurve", 8), "IC-01423", lensAt(1) + ".backCurve"},
		sendCase{"glasses with a diameter", vision, set(1, "diameter", 14), "IC-01424", lensAt(1) + ".diameter"},
		sendCase{"glasses with a wearing duration", vision, set(1, "duration", map[string]any{"value": 1, "system": "http://unitsofmeasure.org", "code": "mo"}), "IC-01425", lensAt(1) + ".duration"},
		sendCase{"a cylinder without its axis", vision, func(t *testing.T, d doc) { delete(lens(t, d, 1), "axis") }, "IC-01420", lensAt(1) + ".axis"},
		sendCase{"an axis without its cylinder", vision, func(t *testing.T, d doc) { delete(lens(t, d, 1), "cylinder") }, "IC-01430", lensAt(1) + ".cylinder"},
		sendCase{"two lenses for the left eye", vision, set(1, "eye", "left"), "BV-00465", lensAt(1) + ".eye"},
		sendCase{"a prescription without its identifier value", vision, func(t *testing.T, d doc) {
			delete(d.resource(t, "VisionPrescription")["identifier"].([]any)[0].(map[string]any), "value")
		}, "IC-01449", "Bundle.entry[6].resource.identifier"},
		sendCase{"a prescription created after the claim", vision, func(t *testing.T, d doc) {
			d.resource(t, "VisionPrescription")["created"] = "2021-08-30T09:00:00+03:00"
		}, "BV-00460", "Bundle.entry[6].resource.created"},
		sendCase{"a prescription written after the claim", vision, func(t *testing.T, d doc) {
			d.resource(t, "VisionPrescription")["dateWritten"] = "2021-08-30T09:00:00+03:00"
		}, "BV-00461", "Bundle.entry[6].resource.dateWritten"},
		sendCase{"a prescriber named by neither display nor typed identifier", vision, func(t *testing.T, d doc) {
			d.resource(t, "VisionPrescription")["prescriber"] = map[string]any{"reference": "http://saudiopticalclinic.com.sa/Practitioner/7"}
		}, "BV-00565", "Bundle.entry[6].resource.prescriber"},
		sendCase{"a device request prescription without its display", vision, func(t *testing.T, d doc) {
			d.resource(t, "Claim")["prescription"] = map[string]any{"type": "DeviceRequest", "identifier": map[string]any{"system": "http://saudiopticalclinic.com.sa/devicerequest", "value": "1"}}
		}, "BV-00136", "Bundle.entry[1].resource.prescription.display"},
	)
	response := "Bundle.entry[1].resource"
	cases = append(cases,
		sendCase{"a prescriber's request for an emergency", outpatient, asEvent("prescriber-request",
			setOn("Claim", "subType", coded(nphiesCodes+"claim-subtype", "emr"))), "BV-00672", outpatientClaim + ".subType"},
		sendCase{"a prescriber's request of a pharmacy", outpatient, asEvent("prescriber-request",
			setOn("Claim", "type", coded("http://terminology.hl7.org/CodeSystem/claim-type", "pharmacy"))), "BV-00690", outpatientClaim + ".type"},
		sendCase{"a prescriber's medicine not saying whether it lacks a scientific code", pharmacyAuth,
			asEvent("prescriber-request", func(*testing.T, doc) {}), "BV-00697", "Bundle.entry[1].resource.item[0].extension"},
		sendCase{"a prescriber's medicine with two days supplies", pharmacyAuth, asEvent("prescriber-request", func(t *testing.T, d doc) {
			scientificCodes(t, d)
			d.resource(t, "Claim")["item"].([]any)[0].(map[string]any)["informationSequence"] = []any{1, 2}
		}), "BV-00696", "Bundle.entry[1].resource.item[0].informationSequence"},
		sendCase{"a partial prescriber's response", authResponse, asEvent("prescriber-response", func(t *testing.T, d doc) {
			approvedDurations(t, d)
			d.resource(t, "ClaimResponse")["outcome"] = "partial"
		}), "BV-00714", response + ".outcome"},
		sendCase{"a prescriber's response saying not required", authResponse, asEvent("prescriber-response", func(t *testing.T, d doc) {
			approvedDurations(t, d)
			r := d.resource(t, "ClaimResponse")
			dropExt(r, "adjudication-outcome")
			r["extension"] = append(r["extension"].([]any), codedExt("adjudication-outcome", nphiesCodes+"adjudication-outcome", "not-required"))
		}), "BV-00715", response + ".extension"},
		sendCase{"a prescriber's response without the approved duration", authResponse, asEvent("prescriber-response", func(*testing.T, doc) {}),
			"BV-00670", response + ".item[0].adjudication"},
		sendCase{"an advanced authorization answering a request", authResponse, asEvent("advanced-authorization", func(*testing.T, doc) {}),
			"BV-00644", "Bundle.entry[0].resource.response"},
		sendCase{"an advanced authorization of a claim", authResponse, asAdvanced(setOn("ClaimResponse", "use", "claim")), "BV-00569", response + ".use"},
		sendCase{"a partial advanced authorization", authResponse, asAdvanced(setOn("ClaimResponse", "outcome", "partial")), "BV-00570", response + ".outcome"},
		sendCase{"a draft advanced authorization", authResponse, asAdvanced(setOn("ClaimResponse", "status", "draft")), "BV-00607", response + ".status"},
		sendCase{"an advanced authorization's item with a surface but no tooth", authResponse, asAdvanced(setOn("ClaimResponse", "addItem", []any{
			map[string]any{"subSite": []any{coded(nphiesCodes+"fdi-tooth-surface", "M")}}})), "BV-00614", response + ".addItem[0].subSite"},
		sendCase{"an authorization response reissued to cancel", authResponse, reissuedToCancel, "BV-00567", response + ".extension"},
		sendCase{"a cancelling advanced authorization with an outcome", authResponse, asAdvanced(reissuedToCancel), "BV-00684", response + ".extension"},
		sendCase{"a communication request about a patient", "18a-communication-request.json", func(t *testing.T, d doc) {
			d.resource(t, "CommunicationRequest")["about"].([]any)[0].(map[string]any)["type"] = "Patient"
		}, "BV-00233", "Bundle.entry[1].resource.about[0].type"},
		sendCase{"a communication about a patient", "18b-communication-response-solicited.json", func(t *testing.T, d doc) {
			d.resource(t, "Communication")["about"].([]any)[0].(map[string]any)["type"] = "Patient"
		}, "BV-00234", "Bundle.entry[1].resource.about[0].type"},
	)
	dropValue := func(i int) func(t *testing.T, d doc) {
		return func(t *testing.T, d doc) { delete(infoAt(t, d, i), "valueString") }
	}
	noQuantity := func(i int) func(t *testing.T, d doc) {
		return func(t *testing.T, d doc) { delete(infoAt(t, d, i), "valueQuantity") }
	}
	tooth := func(key string) func(t *testing.T, d doc) {
		return func(t *testing.T, d doc) {
			mt := missingTooth()
			delete(mt, key)
			addInfo(mt)(t, d)
		}
	}
	at := func(i int) string { return outpatientClaim + ".supportingInfo[" + itoa(i) + "]" }
	cases = append(cases,
		sendCase{"a treatment plan without its text", outpatient, dropValue(11), "BV-00782", at(11) + ".valueString"},
		sendCase{"a patient history without its text", outpatient, dropValue(9), "BV-00783", at(9) + ".valueString"},
		sendCase{"a physical examination without its text", outpatient, dropValue(12), "BV-00784", at(12) + ".valueString"},
		sendCase{"a present illness without its text", outpatient, dropValue(13), "BV-00785", at(13) + ".valueString"},
		sendCase{"a weight with neither value nor reason", outpatient, noQuantity(3), "BV-00812", at(3) + ".valueQuantity"},
		sendCase{"a systolic with neither value nor reason", outpatient, noQuantity(0), "BV-00813", at(0) + ".valueQuantity"},
		sendCase{"a diastolic with neither value nor reason", outpatient, noQuantity(1), "BV-00814", at(1) + ".valueQuantity"},
		sendCase{"a height with neither value nor reason", outpatient, noQuantity(2), "BV-00815", at(2) + ".valueQuantity"},
		sendCase{"a temperature with neither value nor reason", outpatient, noQuantity(5), "BV-00816", at(5) + ".valueQuantity"},
		sendCase{"a pulse with neither value nor reason", outpatient, noQuantity(4), "BV-00817", at(4) + ".valueQuantity"},
		sendCase{"an oxygen saturation with neither value nor reason", outpatient, noQuantity(7), "BV-00818", at(7) + ".valueQuantity"},
		sendCase{"a respiratory rate with neither value nor reason", outpatient, noQuantity(8), "BV-00819", at(8) + ".valueQuantity"},
		sendCase{"an admission weight in grams", outpatient, addInfo(info(30, "admission-weight", map[string]any{
			"valueQuantity": map[string]any{"value": 3100, "system": "http://unitsofmeasure.org", "code": "g"}})), "BV-00787", at(14) + ".valueQuantity"},
		sendCase{"an estimated stay in hours", outpatient, addInfo(info(30, "estimated-Length-of-Stay", map[string]any{
			"valueQuantity": map[string]any{"value": 48, "system": "http://unitsofmeasure.org", "code": "h"}})), "BV-00788", at(14) + ".valueQuantity"},
		sendCase{"an employment impact without its period", "1-preauth-institutional-request.json", func(t *testing.T, d doc) {
			delete(infoAt(t, d, 7), "timingPeriod")
		}, "BV-00409", "Bundle.entry[1].resource.supportingInfo[7].timingPeriod"},
		sendCase{"a last menstrual period without its date", outpatient, addInfo(info(30, "last-menstrual-period", nil)), "BV-00490", at(14) + ".timingDate"},
		sendCase{"a missing tooth not named", outpatient, tooth("code"), "BV-00405", at(14) + ".code"},
		sendCase{"an extracted tooth without its date", outpatient, tooth("timingDate"), "BV-00406", at(14) + ".timingDate"},
		sendCase{"a missing tooth without its reason", outpatient, tooth("reason"), "BV-00407", at(14) + ".reason"},
		sendCase{"an onset without its date", "1-preauth-institutional-request.json", func(t *testing.T, d doc) {
			delete(infoAt(t, d, 4), "timingDate")
		}, "BV-00428", "Bundle.entry[1].resource.supportingInfo[4].timingDate"},
		sendCase{"a chief complaint coded outside ICD-10-AM", outpatient, func(t *testing.T, d doc) {
			infoAt(t, d, 6)["code"] = coded("http://snomed.info/sct", "25064002")
		}, "BV-00429", at(6) + ".code"},
		sendCase{"an item with both a date and a period", outpatient, func(t *testing.T, d doc) {
			d.resource(t, "Claim")["item"].([]any)[0].(map[string]any)["servicedPeriod"] = map[string]any{"start": "2023-12-04"}
		}, "BV-00439", outpatientClaim + ".item[0].servicedDate"},
		sendCase{"a payee other without its party", outpatient, setOn("Claim", "payee", map[string]any{
			"type": coded("http://terminology.hl7.org/CodeSystem/payeetype", "other")}), "BV-00056", outpatientClaim + ".payee.party"},
		sendCase{"a payee that is the subscriber", outpatient, setOn("Claim", "payee", map[string]any{
			"type": coded("http://terminology.hl7.org/CodeSystem/payeetype", "subscriber")}), "BV-00492", outpatientClaim + ".payee.type"},
		sendCase{"a payer share in dollars", outpatient, func(t *testing.T, d doc) {
			d.resource(t, "Claim")["item"].([]any)[0].(map[string]any)["extension"] = []any{map[string]any{"url": nphiesExt + "payerShare", "valueMoney": usd()}}
		}, "BV-00087", outpatientClaim + ".item[0].extension[0].valueMoney.currency"},
		sendCase{"a detail's tax in dollars", outpatient, func(t *testing.T, d doc) {
			d.resource(t, "Claim")["item"].([]any)[0].(map[string]any)["detail"] = []any{map[string]any{"sequence": 1,
				"extension": []any{map[string]any{"url": nphiesExt + "tax", "valueMoney": usd()}}}}
		}, "BV-00089", outpatientClaim + ".item[0].detail[0].extension[0].valueMoney.currency"},
		sendCase{"a copay in dollars", outpatient, setOn("Coverage", "costToBeneficiary", []any{map[string]any{
			"type": coded("http://terminology.hl7.org/CodeSystem/coverage-copay-type", "copaypct"), "valueMoney": usd()}}),
			"BV-00090", "Bundle.entry[3].resource.costToBeneficiary[0].valueMoney.currency"},
		sendCase{"a payment notice in dollars", "13b-payment-notice.json", setOn("PaymentNotice", "amount", usd()),
			"BV-00091", "Bundle.entry[1].resource.amount.currency"},
		sendCase{"an encounter of another patient", outpatient, setOn("Encounter", "subject", map[string]any{"reference": "http://provider.com/Patient/1"}),
			"BV-00761", outpatientEncounter + ".subject"},
		sendCase{"an encounter at another provider", outpatient, setOn("Encounter", "serviceProvider", map[string]any{"reference": "http://provider.com/Organization/1"}),
			"BV-00762", outpatientEncounter + ".serviceProvider"},
		sendCase{"an emergency authorization for an ambulatory encounter", outpatient, setOn("Claim", "subType", coded(nphiesCodes+"claim-subtype", "emr")),
			"BV-00755", outpatientEncounter + ".class"},
		sendCase{"an encounter without its service event type", outpatient, func(t *testing.T, d doc) {
			dropExt(d.resource(t, "Encounter"), "serviceEventType")
		}, "BV-00736", outpatientEncounter + ".extension"},
		sendCase{"a death without its cause", outpatient, admitted("claim", func(t *testing.T, d doc) {
			hospitalization(t, d)["dischargeDisposition"] = coded(nphiesCodes+"discharge-disposition", "died")
		}), "BV-00740", outpatientEncounter + ".extension"},
		sendCase{"a discharge specialty without the disposition", outpatient, admitted("claim", func(t *testing.T, d doc) {
			delete(hospitalization(t, d), "dischargeDisposition")
		}), "BV-00852", outpatientEncounter + ".hospitalization.dischargeDisposition"},
		sendCase{"emergency service before the encounter", outpatient, emergencyExt(1, "2023-12-04T09:00:00+03:00"),
			"BV-00760", outpatientEncounter + ".extension[1].valueDateTime"},
		sendCase{"emergency service start not to the second", outpatient, emergencyExt(1, "2023-12-04T10:30+03:00"),
			"BV-00810", outpatientEncounter + ".extension[1].valueDateTime"},
		sendCase{"a triage date not to the second", outpatient, emergencyExt(2, "2023-12-04"),
			"BV-00828", outpatientEncounter + ".extension[2].valueDateTime"},
		sendCase{"an encounter start not to the second", outpatient, func(t *testing.T, d doc) {
			d.resource(t, "Encounter")["period"].(map[string]any)["start"] = "2023-12-04"
		}, "BV-00811", outpatientEncounter + ".period.start"},
		sendCase{"an encounter before the patient's birth", outpatient, setOn("Patient", "birthDate", "2023-12-05"),
			"BV-00851", outpatientEncounter + ".period.start"},
	)
	patient := "Bundle.entry[2].resource"
	nameIs := func(key string, v any) func(t *testing.T, d doc) {
		return func(t *testing.T, d doc) { patientName(t, d)[key] = v }
	}
	address := func(key string, v any) func(t *testing.T, d doc) {
		return setOn("Patient", "address", []any{map[string]any{key: v}})
	}
	note := func(kind string) func(t *testing.T, d doc) {
		return setOn(kind, "note", []any{map[string]any{"authorString": long(51, true), "text": "see attached"}})
	}
	claimType := func(key string, v any) func(t *testing.T, d doc) {
		return func(t *testing.T, d doc) {
			d.resource(t, "Claim")["type"].(map[string]any)["coding"].([]any)[0].(map[string]any)[key] = v
		}
	}
	cases = append(cases,
		sendCase{"an attachment title of 251 characters", outpatient, func(t *testing.T, d doc) {
			infoAt(t, d, 10)["valueAttachment"].(map[string]any)["title"] = long(251, false)
		}, "BV-00274", at(10) + ".valueAttachment.title"},
		sendCase{"an identifier of 101 characters", outpatient, func(t *testing.T, d doc) {
			d.resource(t, "Claim")["identifier"].([]any)[0].(map[string]any)["value"] = long(101, false)
		}, "BV-00275", outpatientClaim + ".identifier[0].value"},
		sendCase{"a note author of 51 Arabic letters", "18b-communication-response-solicited.json", note("Communication"),
			"BV-00276", "Bundle.entry[1].resource.note[0].authorString"},
		sendCase{"a concept text of 251 characters", outpatient, func(t *testing.T, d doc) {
			d.resource(t, "Claim")["type"].(map[string]any)["text"] = long(251, false)
		}, "BV-00277", outpatientClaim + ".type.text"},
		sendCase{"a coding version of 101 characters", outpatient, claimType("version", long(101, false)), "BV-00278", outpatientClaim + ".type.coding[0].version"},
		sendCase{"a unit of 41 characters", outpatient, func(t *testing.T, d doc) {
			infoAt(t, d, 0)["valueQuantity"].(map[string]any)["unit"] = long(41, false)
		}, "BV-00280", at(0) + ".valueQuantity.unit"},
		sendCase{"a name text of 126 Arabic letters", outpatient, nameIs("text", long(126, true)), "BV-00282", patient + ".name[0].text"},
		sendCase{"a family name of 51 Arabic letters", outpatient, nameIs("family", long(51, true)), "BV-00283", patient + ".name[0].family"},
		sendCase{"a given name of 101 characters", outpatient, nameIs("given", []any{"Khaled", long(101, false)}), "BV-00284", patient + ".name[0].given[1]"},
		sendCase{"a prefix of 101 characters", outpatient, nameIs("prefix", []any{long(101, false)}), "BV-00285", patient + ".name[0].prefix[0]"},
		sendCase{"a suffix of 101 characters", outpatient, nameIs("suffix", []any{long(101, false)}), "BV-00286", patient + ".name[0].suffix[0]"},
		sendCase{"a phone number of 101 characters", outpatient, setOn("Patient", "telecom", []any{map[string]any{"system": "phone", "value": long(101, false)}}),
			"BV-00287", patient + ".telecom[0].value"},
		sendCase{"an address text of 251 Arabic letters", outpatient, address("text", long(251, true)), "BV-00288", patient + ".address[0].text"},
		sendCase{"an address line of 201 characters", outpatient, address("line", []any{long(201, false)}), "BV-00289", patient + ".address[0].line[0]"},
		sendCase{"a city of 101 Arabic letters", outpatient, address("city", long(101, true)), "BV-00290", patient + ".address[0].city"},
		sendCase{"a district of 201 characters", outpatient, address("district", long(201, false)), "BV-00291", patient + ".address[0].district"},
		sendCase{"a state of 201 characters", outpatient, address("state", long(201, false)), "BV-00292", patient + ".address[0].state"},
		sendCase{"a postal code of 51 characters", outpatient, address("postalCode", long(51, false)), "BV-00293", patient + ".address[0].postalCode"},
		sendCase{"a country of 101 characters", outpatient, address("country", long(101, false)), "BV-00294", patient + ".address[0].country"},
		sendCase{"a reference of 251 characters", outpatient, setOn("Claim", "patient", map[string]any{"reference": "http://provider.com/Patient/" + long(230, false)}),
			"BV-00305", outpatientClaim + ".patient.reference"},
		sendCase{"a reference display of 201 characters", outpatient, func(t *testing.T, d doc) {
			d.resource(t, "Claim")["patient"].(map[string]any)["display"] = long(201, false)
		}, "BV-00306", outpatientClaim + ".patient.display"},
		sendCase{"a task description of 2001 characters", "12a-poll-request.json", setOn("Task", "description", long(2001, false)),
			"BV-00309", "Bundle.entry[1].resource.description"},
		sendCase{"an eligibility disposition of 126 Arabic letters", "14b-eligibility-response-ben-val.json",
			setOn("CoverageEligibilityResponse", "disposition", long(126, true)), "BV-00310", "Bundle.entry[1].resource.disposition"},
		sendCase{"a benefit name of 101 characters", "14b-eligibility-response-ben-val.json", func(t *testing.T, d doc) {
			benefit(t, d)["name"] = long(101, false)
		}, "BV-00311", "Bundle.entry[1].resource.insurance[0].item[0].name"},
		sendCase{"a benefit description of 251 characters", "14b-eligibility-response-ben-val.json", func(t *testing.T, d doc) {
			benefit(t, d)["description"] = long(251, false)
		}, "BV-00312", "Bundle.entry[1].resource.insurance[0].item[0].description"},
		sendCase{"an allowed string of 61 characters", "14b-eligibility-response-ben-val.json", func(t *testing.T, d doc) {
			benefit(t, d)["benefit"].([]any)[0].(map[string]any)["allowedString"] = long(61, false)
		}, "BV-00313", "Bundle.entry[1].resource.insurance[0].item[0].benefit[0].allowedString"},
		sendCase{"a used string of 61 characters", "14b-eligibility-response-ben-val.json", func(t *testing.T, d doc) {
			benefit(t, d)["benefit"].([]any)[0].(map[string]any)["usedString"] = long(61, false)
		}, "BV-00314", "Bundle.entry[1].resource.insurance[0].item[0].benefit[0].usedString"},
		sendCase{"an eligibility preAuthRef of 41 characters", "14b-eligibility-response-ben-val.json",
			setOn("CoverageEligibilityResponse", "preAuthRef", long(41, false)), "BV-00315", "Bundle.entry[1].resource.preAuthRef"},
		sendCase{"a claim response disposition of 251 characters", "7b-claim-response.json", setOn("ClaimResponse", "disposition", long(251, false)),
			"BV-00317", "Bundle.entry[1].resource.disposition"},
		sendCase{"a process note of 1001 Arabic letters", "7b-claim-response.json", setOn("ClaimResponse", "processNote", []any{map[string]any{"text": long(1001, true)}}),
			"BV-00318", "Bundle.entry[1].resource.processNote[0].text"},
		sendCase{"a communication request note author of 51 Arabic letters", "18a-communication-request.json", note("CommunicationRequest"),
			"BV-00319", "Bundle.entry[1].resource.note[0].authorString"},
		sendCase{"a communication note author of 51 Arabic letters", "18b-communication-response-solicited.json", note("Communication"),
			"BV-00320", "Bundle.entry[1].resource.note[0].authorString"},
		sendCase{"a payment disposition of 251 characters", "13a-payment-reconciliation.json", setOn("PaymentReconciliation", "disposition", long(251, false)),
			"BV-00326", "Bundle.entry[1].resource.disposition"},
	)
	investigation := func(code string, drop string) func(t *testing.T, d doc) {
		return func(t *testing.T, d doc) {
			s := infoAt(t, d, 10)
			s["code"] = coded(nphiesCodes+"investigation-result", code)
			delete(s, drop)
		}
	}
	fullURL := func(url string) func(t *testing.T, d doc) {
		return func(t *testing.T, d doc) { d["entry"].([]any)[6].(map[string]any)["fullUrl"] = url }
	}
	statusOutput := map[string]any{"type": coded(nphiesCodes+"task-output-type", "status"), "valueCode": "complete"}
	cases = append(cases,
		sendCase{"an emergency claim without the arrival", outpatient, withoutExt(emergencyClaim, "emergencyArrivalCode"), "BV-00732", outpatientEncounter + ".extension"},
		sendCase{"an emergency authorization without the triage date", outpatient, withoutExt(emergency, "triageDate"), "BV-00733", outpatientEncounter + ".extension"},
		sendCase{"an emergency authorization without the triage category", outpatient, withoutExt(emergency, "triageCategory"), "BV-00734", outpatientEncounter + ".extension"},
		sendCase{"an ended emergency claim without the disposition", outpatient, withoutExt(emergencyClaim, "emergencyDepartmentDisposition"),
			"BV-00728", outpatientEncounter + ".extension"},
		sendCase{"a death in the emergency department without its cause", outpatient, func(t *testing.T, d doc) {
			emergencyClaim(t, d)
			dropExt(d.resource(t, "Encounter"), "emergencyDepartmentDisposition")
			enc := d.resource(t, "Encounter")
			enc["extension"] = append(enc["extension"].([]any), codedExt("emergencyDepartmentDisposition", nphiesCodes+"emergency-department-disposition", "DED"))
		}, "BV-00855", outpatientEncounter + ".extension"},
		sendCase{"a ventilated inpatient claim without the ventilation hours", outpatient, admitted("claim", func(t *testing.T, d doc) {
			d.resource(t, "Claim")["item"].([]any)[0].(map[string]any)["productOrService"] = coded(nphiesCodes+"services", "13882-00-00")
		}), "BV-00731", outpatientClaim + ".supportingInfo"},
		sendCase{"an investigation result other without saying what", outpatient, investigation("other", ""), "BV-00753", at(10) + ".code.text"},
		sendCase{"investigation results attached without the attachment", outpatient, investigation("IRA", "valueAttachment"), "BV-00846", at(10) + ".valueAttachment"},
		sendCase{"a newborn served at four months", outpatient, newborn("2023-08-01"), "BV-00553", outpatientClaim + ".item[0].servicedDate"},
		sendCase{"a newborn's period ending at four months", outpatient, func(t *testing.T, d doc) {
			newborn("2023-08-01")(t, d)
			it := d.resource(t, "Claim")["item"].([]any)[0].(map[string]any)
			delete(it, "servicedDate")
			it["servicedPeriod"] = map[string]any{"start": "2023-12-04", "end": "2023-12-05"}
		}, "BV-00556", outpatientClaim + ".item[0].servicedPeriod.end"},
		sendCase{"a newborn's eligibility on a date at four months", "14a-eligibilty-request-ben-val.json", func(t *testing.T, d doc) {
			newbornEligibility("2021-03-01")(t, d)
			r := d.resource(t, "CoverageEligibilityRequest")
			delete(r, "servicedPeriod")
			r["servicedDate"] = "2021-07-15"
		}, "BV-00554", "Bundle.entry[1].resource.servicedDate"},
		sendCase{"a newborn's eligibility period ending at four months", "14a-eligibilty-request-ben-val.json", newbornEligibility("2021-03-01"),
			"BV-00555", "Bundle.entry[1].resource.servicedPeriod.end"},
		sendCase{"an entry URL of another id", outpatient, fullURL("http://provider.com/Encounter/2"), "BV-00207", "Bundle.entry[6].fullUrl"},
		sendCase{"an entry URL of another type", outpatient, fullURL("http://provider.com/Procedure/1"), "BV-00208", "Bundle.entry[6].fullUrl"},
		sendCase{"a resource id with a space", outpatient, setOn("Encounter", "id", "1 2"), "BV-00209", outpatientEncounter + ".id"},
		sendCase{"an identifier system that is no URL", outpatient, func(t *testing.T, d doc) {
			d.resource(t, "Claim")["identifier"].([]any)[0].(map[string]any)["system"] = "provider.com/claim"
		}, "BV-00219", outpatientClaim + ".identifier[0].system"},
		sendCase{"two codings of one system", outpatient, func(t *testing.T, d doc) {
			cc := d.resource(t, "Claim")["type"].(map[string]any)
			cc["coding"] = append(cc["coding"].([]any), map[string]any{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "oral"})
		}, "BV-00526", outpatientClaim + ".type.coding[1].system"},
		sendCase{"a status output without its type", "9c-statuscheck-response.json", output(map[string]any{"valueCode": "complete"}),
			"BV-00239", "Bundle.entry[1].resource.output[0].type"},
		sendCase{"a status output without its value", "9c-statuscheck-response.json", output(map[string]any{"type": statusOutput["type"]}),
			"BV-00240", "Bundle.entry[1].resource.output[0].value[x]"},
		sendCase{"a cancel response with a status output", "17b-cancel-response.json", output(statusOutput),
			"BV-00241", "Bundle.entry[1].resource.output[0].type"},
		sendCase{"an attachment by URL without its hash", outpatient, func(t *testing.T, d doc) {
			a := infoAt(t, d, 10)["valueAttachment"].(map[string]any)
			delete(a, "data")
			a["url"] = "https://provider.com/attachments/1.pdf"
		}, "BV-00345", at(10) + ".valueAttachment.hash"},
	)
	recode := func(file string, i int, system string) sendCase {
		return sendCase{"", file, func(t *testing.T, d doc) {
			infoAt(t, d, i)["code"] = coded(system, "x1")
		}, "", "Bundle.entry[1].resource.supportingInfo[" + itoa(i) + "].code"}
	}
	for _, c := range []struct {
		name, id, file string
		i              int
	}{
		{"a lab test outside LOINC", "BV-00410", "1-preauth-institutional-request.json", 6},
		{"a reason for visit outside its code system", "BV-00412", "8-claim-institutional-request.json", 11},
		{"an investigation result outside its code system", "BV-00786", outpatient, 10},
	} {
		tc := recode(c.file, c.i, "http://snomed.info/sct")
		tc.name, tc.rule = c.name, c.id
		cases = append(cases, tc)
	}
	othersAt := func(depth int) string {
		return outpatientClaim + ".item[0]" + []string{"", ".detail[0]", ".detail[0].subDetail[0]"}[depth] + ".extension[0].valueCodeableConcept.text"
	}
	cases = append(cases,
		sendCase{"a morphology outside its code system", outpatient, addInfo(info(30, "morphology", map[string]any{"code": coded("http://snomed.info/sct", "8000/3")})),
			"BV-00781", at(14) + ".code"},
		sendCase{"an infant's inpatient claim without the admission weight", outpatient, admitted("claim", setOn("Patient", "birthDate", "2023-06-01")),
			"BV-00849", outpatientClaim + ".supportingInfo"},
		sendCase{"a scientific code absent for other reasons, unsaid", outpatient, itemExt(0, othersExt("absenceOfScientificCode")), "BV-00698", othersAt(0)},
		sendCase{"a detail's scientific code absent for other reasons, unsaid", outpatient, itemExt(1, othersExt("absenceOfScientificCode")), "BV-00721", othersAt(1)},
		sendCase{"a subdetail's scientific code absent for other reasons, unsaid", outpatient, itemExt(2, othersExt("absenceOfScientificCode")), "BV-00722", othersAt(2)},
		sendCase{"a substitute for other reasons, unsaid", outpatient, itemExt(0, othersExt("pharmacistSubstitute")), "BV-00719", othersAt(0)},
		sendCase{"a detail's substitute for other reasons, unsaid", outpatient, itemExt(1, othersExt("pharmacistSubstitute")), "BV-00718", othersAt(1)},
		sendCase{"a dosage text of 2001 Arabic letters", outpatient, itemExt(0, map[string]any{"url": nphiesExt + "dosage", "valueDosage": map[string]any{"text": long(2001, true)}}),
			"BV-00307", outpatientClaim + ".item[0].extension[0].valueDosage.text"},
		sendCase{"a dosage instruction of 4001 characters", outpatient, itemExt(0, map[string]any{"url": nphiesExt + "dosage", "valueDosage": map[string]any{"patientInstruction": long(4001, false)}}),
			"BV-00308", outpatientClaim + ".item[0].extension[0].valueDosage.patientInstruction"},
		sendCase{"a care team without an identifier", outpatient, entryOf("CareTeam"), "BV-00133", "Bundle.entry[9].resource.identifier"},
		sendCase{"a device without an identifier", outpatient, entryOf("Device"), "BV-00153", "Bundle.entry[9].resource.identifier"},
		sendCase{"a group without an identifier", outpatient, entryOf("Group"), "BV-00159", "Bundle.entry[9].resource.identifier"},
		sendCase{"a location without an identifier", outpatient, entryOf("Location"), "BV-00162", "Bundle.entry[9].resource.identifier"},
		sendCase{"a practitioner role without an identifier", outpatient, entryOf("PractitionerRole"), "BV-00197", "Bundle.entry[9].resource.identifier"},
		sendCase{"an organization without an identifier", outpatient, dropKey("Organization", "identifier"), "BV-00183", "Bundle.entry[4].resource.identifier"},
		sendCase{"a practitioner without an identifier", outpatient, dropKey("Practitioner", "identifier"), "BV-00198", "Bundle.entry[5].resource.identifier"},
		sendCase{"an operation outcome whose id is no GUID", outpatient, entryOf("OperationOutcome"), "BV-00346", "Bundle.entry[9].resource.id"},
		sendCase{"an inactive patient", outpatient, setOn("Patient", "active", false), "BV-00339", "Bundle.entry[2].resource.active"},
	)
	focusType := func(v string) func(t *testing.T, d doc) {
		return func(t *testing.T, d doc) { d.resource(t, "Task")["focus"].(map[string]any)["type"] = v }
	}
	firstItem := func(t *testing.T, d doc) map[string]any {
		return d.resource(t, "Claim")["item"].([]any)[0].(map[string]any)
	}
	cases = append(cases,
		sendCase{"a status check of an eligibility request", "9b-statuscheck-request.json", focusType("CoverageEligibilityRequest"),
			"BV-00134", "Bundle.entry[1].resource.focus.type"},
		sendCase{"a status answer about a claim response", "9c-statuscheck-response.json", focusType("ClaimResponse"),
			"BV-00135", "Bundle.entry[1].resource.focus.type"},
		sendCase{"a nullify answer about a claim response", "17b-cancel-response.json", func(t *testing.T, d doc) {
			d.resource(t, "Task")["code"] = coded(nphiesCodes+"task-code", "nullify")
			focusType("ClaimResponse")(t, d)
		}, "BV-00179", "Bundle.entry[1].resource.focus.type"},
		sendCase{"a cancel answer sent to a payer", "17b-cancel-response.json", func(t *testing.T, d doc) {
			r := d.resource(t, "MessageHeader")["destination"].([]any)[0].(map[string]any)["receiver"].(map[string]any)
			r["identifier"].(map[string]any)["system"] = "http://nphies.sa/license/payer-license"
		}, "BV-00245", "Bundle.entry[0].resource.destination[0].receiver"},
		sendCase{"an authorization answer NPHIES generated with items", authResponse, setOn("ClaimResponse", "meta", map[string]any{
			"tag": []any{map[string]any{"system": nphiesCodes + "meta-tags", "code": "nphies-generated"}}}), "BV-00246", response + ".item"},
		sendCase{"site eligibility without an insurance", "14b-eligibility-response-ben-val.json", func(t *testing.T, d doc) {
			r := d.resource(t, "CoverageEligibilityResponse")
			delete(r, "insurance")
			r["extension"] = []any{codedExt("siteEligibility", nphiesCodes+"siteEligibility", "eligible")}
		}, "BV-00558", "Bundle.entry[1].resource.extension"},
		sendCase{"a medication request not active", outpatient, entryOf("MedicationRequest"), "BV-00704", "Bundle.entry[9].resource.status"},
		sendCase{"a medication request that is no order", outpatient, entryOf("MedicationRequest"), "BV-00705", "Bundle.entry[9].resource.intent"},
		sendCase{"an item priced apart from its details", outpatient, func(t *testing.T, d doc) {
			firstItem(t, d)["detail"] = []any{map[string]any{"sequence": 1, "unitPrice": map[string]any{"value": 1, "currency": "SAR"}}}
		}, "BV-00372", outpatientClaim + ".item[0].unitPrice"},
		sendCase{"an authorized item served on no date", outpatient, func(t *testing.T, d doc) { delete(firstItem(t, d), "servicedDate") },
			"BV-00122", outpatientClaim + ".item[0]"},
		sendCase{"an item served on a date and over a period", outpatient, func(t *testing.T, d doc) {
			firstItem(t, d)["servicedPeriod"] = map[string]any{"start": "2023-12-04"}
		}, "BV-00123", outpatientClaim + ".item[0]"},
		sendCase{"an investigation result with a code but no coding", outpatient, func(t *testing.T, d doc) {
			infoAt(t, d, 10)["code"] = map[string]any{"text": "see attached"}
		}, "BV-00530", at(10) + ".code.coding"},
		sendCase{"a vision authorization for a home visit", outpatient, func(t *testing.T, d doc) {
			d.resource(t, "Claim")["type"] = coded("http://terminology.hl7.org/CodeSystem/claim-type", "vision")
			d.resource(t, "Encounter")["class"] = map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "HH"}
		}, "BV-00808", outpatientEncounter + ".class"},
	)
	batchClaim := func(t *testing.T, d doc, i int) map[string]any {
		inner := d["entry"].([]any)[i].(map[string]any)["resource"].(map[string]any)
		return doc(inner).resource(t, "Claim")
	}
	valued := func(kind string, v map[string]any) func(t *testing.T, d doc) {
		return itemExt(0, map[string]any{"url": nphiesExt + "x", "value" + kind: v})
	}
	cases = append(cases,
		sendCase{"a lab test without its value", "1-preauth-institutional-request.json", func(t *testing.T, d doc) {
			delete(infoAt(t, d, 6), "valueQuantity")
		}, "BV-00411", "Bundle.entry[1].resource.supportingInfo[6].valueQuantity"},
		sendCase{"a claim without its identifier", outpatient, dropKey("Claim", "identifier"), "BV-00138", outpatientClaim + ".identifier"},
		sendCase{"a patient without an identifier", outpatient, dropKey("Patient", "identifier"), "BV-00188", "Bundle.entry[2].resource.identifier"},
		sendCase{"a response naming its request without an identifier value", "7b-claim-response.json", setOn("ClaimResponse", "request", map[string]any{
			"identifier": map[string]any{"system": "http://saudidentalclinic.com.sa/claim"}}), "BV-00203", "Bundle.entry[1].resource.request.identifier"},
		sendCase{"a response naming its request by reference", "7b-claim-response.json", setOn("ClaimResponse", "request", map[string]any{
			"reference": "http://saudidentalclinic.com.sa/Claim/1", "identifier": map[string]any{"system": "http://saudidentalclinic.com.sa/claim", "value": "req_299060"}}),
			"BV-00204", "Bundle.entry[1].resource.request.reference"},
		sendCase{"a batch claim of another batch", "16-batch-request.json", func(t *testing.T, d doc) {
			batchClaim(t, d, 2)["extension"].([]any)[0].(map[string]any)["valueIdentifier"].(map[string]any)["value"] = "Batch99999"
		}, "BV-00451", "Bundle.entry[2].resource.entry[1].resource.extension[0]"},
		sendCase{"a batch claim of another period", "16-batch-request.json", func(t *testing.T, d doc) {
			batchClaim(t, d, 2)["extension"].([]any)[2].(map[string]any)["valuePeriod"] = map[string]any{"start": "2021-08-01", "end": "2021-08-30"}
		}, "BV-00421", "Bundle.entry[2].resource.entry[1].resource.extension[2]"},
		sendCase{"a batch claim without its number", "16-batch-request.json", func(t *testing.T, d doc) {
			dropExt(batchClaim(t, d, 1), "batch-number")
		}, "BV-00452", "Bundle.entry[1].resource.entry[1].resource.extension"},
		sendCase{"a related artifact label of 51 Arabic letters", outpatient, valued("RelatedArtifact", map[string]any{"type": "citation", "label": long(51, true)}),
			"BV-00297", outpatientClaim + ".item[0].extension[0].valueRelatedArtifact.label"},
		sendCase{"a related artifact display of 251 characters", outpatient, valued("RelatedArtifact", map[string]any{"type": "citation", "display": long(251, false)}),
			"BV-00298", outpatientClaim + ".item[0].extension[0].valueRelatedArtifact.display"},
		sendCase{"a citation of 1001 characters", outpatient, valued("RelatedArtifact", map[string]any{"type": "citation", "citation": long(1001, false)}),
			"BV-00299", outpatientClaim + ".item[0].extension[0].valueRelatedArtifact.citation"},
		sendCase{"a parameter max of 11 characters", outpatient, valued("ParameterDefinition", map[string]any{"use": "in", "type": "string", "max": long(11, false)}),
			"BV-00300", outpatientClaim + ".item[0].extension[0].valueParameterDefinition.max"},
		sendCase{"a parameter documentation of 251 Arabic letters", outpatient, valued("ParameterDefinition", map[string]any{"use": "in", "type": "string", "documentation": long(251, true)}),
			"BV-00301", outpatientClaim + ".item[0].extension[0].valueParameterDefinition.documentation"},
		sendCase{"an expression description of 1001 characters", outpatient, valued("Expression", map[string]any{"language": "text/fhirpath", "description": long(1001, false)}),
			"BV-00302", outpatientClaim + ".item[0].extension[0].valueExpression.description"},
		sendCase{"an expression of 1001 characters", outpatient, valued("Expression", map[string]any{"language": "text/fhirpath", "expression": long(1001, false)}),
			"BV-00303", outpatientClaim + ".item[0].extension[0].valueExpression.expression"},
	)
	typed := func(kind, key, typ string) func(t *testing.T, d doc) {
		return setOn(kind, key, map[string]any{"type": typ, "identifier": map[string]any{"system": "http://provider.com/x", "value": "1"}})
	}
	cases = append(cases,
		sendCase{"an enterer that is an organization", outpatient, typed("Claim", "enterer", "Organization"), "BV-00156", outpatientClaim + ".enterer.type"},
		sendCase{"a facility that is an organization", outpatient, typed("Claim", "facility", "Organization"), "BV-00157", outpatientClaim + ".facility.type"},
		sendCase{"an insurance naming a patient", outpatient, func(t *testing.T, d doc) {
			d.resource(t, "Claim")["insurance"].([]any)[0].(map[string]any)["coverage"].(map[string]any)["type"] = "Patient"
		}, "BV-00160", outpatientClaim + ".insurance[0].coverage.type"},
		sendCase{"a patient managed by a practitioner", outpatient, typed("Patient", "managingOrganization", "Practitioner"), "BV-00164",
			"Bundle.entry[2].resource.managingOrganization.type"},
		sendCase{"a provider that is a patient", outpatient, func(t *testing.T, d doc) {
			d.resource(t, "Claim")["provider"].(map[string]any)["type"] = "Patient"
		}, "BV-00200", outpatientClaim + ".provider.type"},
		sendCase{"a communication to a coverage", "18b-communication-response-solicited.json", func(t *testing.T, d doc) {
			d.resource(t, "Communication")["recipient"].([]any)[0].(map[string]any)["type"] = "Coverage"
		}, "BV-00202", "Bundle.entry[1].resource.recipient[0].type"},
		sendCase{"a response to a coverage", "7b-claim-response.json", func(t *testing.T, d doc) {
			d.resource(t, "ClaimResponse")["request"].(map[string]any)["type"] = "Coverage"
		}, "BV-00205", "Bundle.entry[1].resource.request.type"},
	)
	for id, v := range map[string]struct {
		i      int
		system string
	}{
		"BV-00820": {3, "weight-absence-reason"}, "BV-00821": {0, "blood-pressure-absence-reason"},
		"BV-00822": {1, "blood-pressure-absence-reason"}, "BV-00823": {2, "height-absence-reason"},
		"BV-00824": {5, "temperature-absence-reason"}, "BV-00825": {4, "pulse-absence-reason"},
		"BV-00826": {7, "oxygen-saturation-absence-reason"}, "BV-00827": {8, "respiratory-rate-absence-reason"},
	} {
		cases = append(cases, sendCase{"a vital sign absent for a reason outside " + v.system, outpatient, func(t *testing.T, d doc) {
			s := infoAt(t, d, v.i)
			delete(s, "valueQuantity")
			s["reason"] = coded(nphiesCodes+v.system, "not-a-reason")
		}, id, at(v.i) + ".reason.coding[0]"})
	}
	for id, category := range map[string]string{
		"BV-00763": "vital-sign-diastolic", "BV-00764": "vital-sign-systolic", "BV-00765": "pulse",
		"BV-00766": "temperature", "BV-00767": "vital-sign-height", "BV-00768": "respiratory-rate",
		"BV-00769": "vital-sign-weight", "BV-00770": "chief-complaint", "BV-00771": "oxygen-saturation",
	} {
		cases = append(cases, sendCase{"an institutional claim without " + category, outpatient,
			admitted("claim", func(t *testing.T, d doc) { dropInfo(d.resource(t, "Claim"), category) }),
			id, outpatientClaim + ".supportingInfo"})
	}
	return cases
}

// sendMeets are official examples made to meet rules they would otherwise
// not exercise, with the rules they must then not break.
func sendMeets() []sendCase {
	var out []sendCase
	for _, use := range []string{"claim", "preauthorization"} {
		out = append(out, sendCase{"an inpatient " + use, outpatient, func(t *testing.T, d doc) { admit(t, d, use) }, "", ""})
	}
	out = append(out, sendCase{"a dental authorization with its chief complaint", outpatient, func(t *testing.T, d doc) {
		d.resource(t, "Claim")["type"] = coded("http://terminology.hl7.org/CodeSystem/claim-type", "oral")
	}, "", ""})
	out = append(out, sendCase{"a contact lens for the right eye", vision, func(t *testing.T, d doc) { contact(t, d, 1) }, "", ""},
		sendCase{"a device request prescription with its display", vision, func(t *testing.T, d doc) {
			d.resource(t, "Claim")["prescription"] = map[string]any{"type": "DeviceRequest", "display": "Contact lenses, monthly",
				"identifier": map[string]any{"system": "http://saudiopticalclinic.com.sa/devicerequest", "value": "1"}}
		}, "", ""})
	out = append(out,
		sendCase{"a prescriber's request", outpatient, asEvent("prescriber-request", func(*testing.T, doc) {}), "", ""},
		sendCase{"a prescriber's request for medicines", pharmacyAuth, asEvent("prescriber-request", func(t *testing.T, d doc) {
			scientificCodes(t, d)
			setOn("Claim", "type", coded("http://terminology.hl7.org/CodeSystem/claim-type", "professional"))(t, d)
		}), "", ""},
		sendCase{"medicines with the pharmacist's selection reasons", pharmacyAuth, dispensed(true, ""), "", ""},
		sendCase{"a prescriber's response", authResponse, asEvent("prescriber-response", approvedDurations), "", ""},
		sendCase{"an advanced authorization", authResponse, asAdvanced(func(*testing.T, doc) {}), "", ""},
		sendCase{"names, addresses and notes at their limits in Arabic", outpatient, func(t *testing.T, d doc) {
			name := patientName(t, d)
			name["family"], name["given"], name["text"] = long(50, true), []any{long(50, true)}, long(125, true)
			d.resource(t, "Patient")["address"] = []any{map[string]any{"text": long(250, true), "city": long(100, true), "postalCode": long(50, false)}}
			d.resource(t, "Claim")["identifier"].([]any)[0].(map[string]any)["value"] = long(100, false)
		}, "", ""},
		sendCase{"an emergency claim", outpatient, emergencyClaim, "", ""},
		sendCase{"a newborn at two months", outpatient, newborn("2023-10-01"), "", ""},
		sendCase{"a newborn's eligibility at two months", "14a-eligibilty-request-ben-val.json", newbornEligibility("2021-05-20"), "", ""},
		sendCase{"an attachment by URL with its hash", outpatient, func(t *testing.T, d doc) {
			a := infoAt(t, d, 10)["valueAttachment"].(map[string]any)
			delete(a, "data")
			a["url"], a["hash"] = "https://provider.com/attachments/1.pdf", "2jmj7l5rSw0yVb/vlWAYkK/YBwk="
		}, "", ""},
		sendCase{"an operation outcome with a GUID", outpatient, func(t *testing.T, d doc) {
			d["entry"] = append(d["entry"].([]any), map[string]any{"fullUrl": "urn:uuid:d45fe0ab-b138-4fc7-adbc-28f5c5a4fbf9",
				"resource": map[string]any{"resourceType": "OperationOutcome", "id": "d45fe0ab-b138-4fc7-adbc-28f5c5a4fbf9"}})
		}, "", ""},
		sendCase{"an active medication order", outpatient, func(t *testing.T, d doc) {
			entryOf("MedicationRequest")(t, d)
			r := d["entry"].([]any)[9].(map[string]any)["resource"].(map[string]any)
			r["status"], r["intent"] = "active", "order"
			setOn("Encounter", "class", map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "VR"})(t, d)
		}, "", ""},
		sendCase{"an item priced at the sum of its details", outpatient, func(t *testing.T, d doc) {
			it := d.resource(t, "Claim")["item"].([]any)[0].(map[string]any)
			it["detail"] = []any{map[string]any{"sequence": 1, "unitPrice": it["unitPrice"]}}
		}, "", ""},
		sendCase{"references typed as R4 allows", outpatient, func(t *testing.T, d doc) {
			d.resource(t, "Claim")["provider"].(map[string]any)["type"] = "Organization"
			setOn("Claim", "enterer", map[string]any{"type": "PractitionerRole", "identifier": map[string]any{"system": "http://provider.com/x", "value": "1"}})(t, d)
		}, "", ""},
		sendCase{"a weight not collected", outpatient, func(t *testing.T, d doc) {
			s := infoAt(t, d, 3)
			delete(s, "valueQuantity")
			s["reason"] = coded(nphiesCodes+"weight-absence-reason", "999.9")
		}, "", ""},
		sendCase{"an infant's inpatient claim with the admission weight", outpatient, func(t *testing.T, d doc) {
			admit(t, d, "claim")
			setOn("Patient", "birthDate", "2023-06-01")(t, d)
			addInfo(info(31, "admission-weight", map[string]any{"valueQuantity": map[string]any{"value": 7.2, "system": "http://unitsofmeasure.org", "code": "kg"}}))(t, d)
		}, "", ""},
		sendCase{"reasons others that say what", outpatient, func(t *testing.T, d doc) {
			x := othersExt("absenceOfScientificCode")
			x["valueCodeableConcept"].(map[string]any)["text"] = "compounded at the pharmacy"
			itemExt(2, x)(t, d)
		}, "", ""},
		sendCase{"an extracted tooth", outpatient, addInfo(missingTooth()), "", ""},
		sendCase{"an emergency", outpatient, emergency, "", ""},
		sendCase{"an inpatient who died", outpatient, func(t *testing.T, d doc) {
			admit(t, d, "claim")
			hospitalization(t, d)["dischargeDisposition"] = coded(nphiesCodes+"discharge-disposition", "died")
			enc := d.resource(t, "Encounter")
			enc["extension"] = append(enc["extension"].([]any), codedExt("causeOfDeath", "http://hl7.org/fhir/sid/icd-10-am", "I21.9"))
		}, "", ""},
		sendCase{"a cancelling advanced authorization", authResponse, asAdvanced(func(t *testing.T, d doc) {
			reissuedToCancel(t, d)
			noAdjudicationOutcome(t, d)
		}), "", ""})
	return out
}

func TestMutatedExamplesBreakTheSendRules(t *testing.T) {
	t.Parallel()
	assertBreaks(t, sendBreaks())
}

func TestExamplesMadeToMeetTheSendRulesPassThem(t *testing.T) {
	t.Parallel()
	assertMeets(t, sendBreaks(), sendMeets())
}
