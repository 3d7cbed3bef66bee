package resolvers_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
)

// The parties NPHIES needs (issue 15, findings 3, 4 and 8): a dependant's
// coverage with its subscriber, relationship, plan and policy holder, the
// payer's member-ID system, the patient's occupation and marital status,
// the provider type, the facility, the cancel reason and the item
// description limit, each entered over GraphQL and read back from the
// bundle the claim queued.

const (
	createPatientMut = `mutation($in: CreatePatientInput!) { createPatient(input: $in) { id occupation maritalStatus } }`
	addCoverageMut   = `mutation($in: AddCoverageInput!) { addCoverage(input: $in) {
		id memberIdSystem class planName relationship subscriber { id } policyHolder { id name } } }`
)

type coverageOut struct {
	ID, Class, Relationship string
	MemberIDSystem          *string
	PlanName                *string
	Subscriber              *struct{ ID string }
	PolicyHolder            *struct{ ID, Name string }
}

// bundleResources decodes a message bundle into its resources by type, in
// the bundle's order.
func bundleResources(t *testing.T, body string) map[string][]map[string]any {
	t.Helper()
	var b struct {
		Entry []struct {
			FullURL  string         `json:"fullUrl"`
			Resource map[string]any `json:"resource"`
		}
	}
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		t.Fatal(err)
	}
	out := map[string][]map[string]any{}
	for _, e := range b.Entry {
		e.Resource["fullUrl"] = e.FullURL
		rt, _ := e.Resource["resourceType"].(string)
		out[rt] = append(out[rt], e.Resource)
	}
	return out
}

// dig walks a decoded JSON value by object keys and array indexes.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// reference is the fullUrl a Reference element points at.
func reference(v any, path ...any) string {
	s, _ := dig(v, append(path, "reference")...).(string)
	return s
}

// code is the first coding's code of a CodeableConcept at path.
func code(v any, path ...any) string {
	s, _ := dig(v, append(path, "coding", 0, "code")...).(string)
	return s
}

// reception returns a token of a reception clerk, who registers patients
// and their coverages.
func (b billingEnv) reception(t *testing.T) string {
	t.Helper()
	_, token := b.User(t, "desk-"+uuid.NewString()[:8]+"@example.com", hg.RoleReception)
	return token
}

func TestADependantIsClaimedThroughHerSubscribersPolicy(t *testing.T) {
	t.Parallel()
	b := newBillingEnv(t)
	desk := b.reception(t)

	var wife, husband struct {
		CreatePatient struct {
			ID                        string
			Occupation, MaritalStatus *string
		}
	}
	b.Do(t, desk, createPatientMut, map[string]any{"in": map[string]any{"nationalId": "2000000101",
		"firstName": "Huda", "familyName": "Al-Harbi", "birthDate": "1990-03-04", "gender": "FEMALE",
		"occupation": "MEDICAL_FIELD", "maritalStatus": "MARRIED"}}).Decode(t, &wife)
	b.Do(t, desk, createPatientMut, map[string]any{"in": map[string]any{"nationalId": "1000000102",
		"firstName": "Saad", "familyName": "Al-Harbi", "birthDate": "1986-07-01", "gender": "MALE",
		"occupation": "OIL_INDUSTRIES", "maritalStatus": "MARRIED"}}).Decode(t, &husband)
	if o := wife.CreatePatient.Occupation; o == nil || *o != "MEDICAL_FIELD" || *wife.CreatePatient.MaritalStatus != "MARRIED" {
		t.Fatalf("created patient = %+v", wife.CreatePatient)
	}

	var cov struct{ AddCoverage coverageOut }
	b.Do(t, desk, addCoverageMut, map[string]any{"in": map[string]any{
		"patientId": wife.CreatePatient.ID, "payerLicense": "7001463160", "payerName": "Bupa Arabia",
		"memberId": "M-7788", "memberIdSystem": "http://bupa.example/memberid", "policyNumber": "GRP-55",
		"class": "VIP", "planName": "Gold VIP", "relationship": "SPOUSE", "subscriberId": husband.CreatePatient.ID,
		"policyHolder": map[string]any{"id": "EST-7001", "name": "Arabian Drilling Co."},
		"startsOn":     "2020-01-01", "endsOn": "2099-12-31"}}).Decode(t, &cov)
	c := cov.AddCoverage
	if c.Relationship != "SPOUSE" || c.Subscriber == nil || c.Subscriber.ID != husband.CreatePatient.ID || c.Class != "VIP" ||
		c.PlanName == nil || *c.PlanName != "Gold VIP" || c.MemberIDSystem == nil || c.PolicyHolder == nil ||
		c.PolicyHolder.Name != "Arabian Drilling Co." {
		t.Fatalf("coverage = %+v", c)
	}

	dependant := &hg.Patient{ID: rawID(t, wife.CreatePatient.ID)}
	inv := b.createInvoice(t, dependant, &hg.Coverage{ID: rawID(t, c.ID)})
	b.issue(t, inv.ID)
	var claim struct {
		SubmitClaim struct {
			ID       string
			Messages []struct{ Body string }
		}
	}
	b.Do(t, b.billing, submitClaimMut, map[string]any{"in": b.seenVisit(t, dependant).claimInput(inv.ID, "I10")}).Decode(t, &claim)
	if len(claim.SubmitClaim.Messages) != 1 {
		t.Fatalf("messages = %d", len(claim.SubmitClaim.Messages))
	}
	res := bundleResources(t, claim.SubmitClaim.Messages[0].Body)

	coverage := res["Coverage"][0]
	patients := map[string]map[string]any{}
	for _, p := range res["Patient"] {
		patients[p["fullUrl"].(string)] = p
	}
	beneficiary, subscriber := patients[reference(coverage, "beneficiary")], patients[reference(coverage, "subscriber")]
	switch {
	case len(res["Patient"]) != 2 || beneficiary == nil || subscriber == nil:
		t.Fatalf("patients %d, beneficiary %v, subscriber %v", len(res["Patient"]), beneficiary != nil, subscriber != nil)
	case dig(beneficiary, "identifier", 0, "value") != "2000000101" || dig(subscriber, "identifier", 0, "value") != "1000000102":
		t.Fatalf("beneficiary %v, subscriber %v", dig(beneficiary, "identifier"), dig(subscriber, "identifier"))
	case code(coverage, "relationship") != "spouse":
		t.Fatalf("relationship = %q, want spouse", code(coverage, "relationship"))
	case dig(coverage, "identifier", 0, "system") != "http://bupa.example/memberid" || dig(coverage, "identifier", 0, "value") != "M-7788":
		t.Fatalf("member identifier = %v", dig(coverage, "identifier"))
	}
	// BV-00729: one and only one class of type plan.
	var plans []any
	for _, cl := range dig(coverage, "class").([]any) {
		if code(cl, "type") == "plan" {
			plans = append(plans, cl)
		}
	}
	if len(plans) != 1 || dig(plans[0], "value") != "VIP" || dig(plans[0], "name") != "Gold VIP" {
		t.Fatalf("plan classes = %v", plans)
	}
	var holder map[string]any
	for _, o := range res["Organization"] {
		if o["fullUrl"] == reference(coverage, "policyHolder") {
			holder = o
		}
	}
	if holder == nil || dig(holder, "meta", "profile", 0) != "http://nphies.sa/fhir/ksa/nphies-fs/StructureDefinition/policyholder-organization|1.0.0" ||
		dig(holder, "identifier", 0, "value") != "EST-7001" || holder["name"] != "Arabian Drilling Co." {
		t.Fatalf("policy holder = %v", holder)
	}
	// Finding 4: occupation and marital status on the patient, the
	// provider type on the clinic's organisation.
	if dig(beneficiary, "extension", 0, "url") != "http://nphies.sa/fhir/ksa/nphies-fs/StructureDefinition/extension-occupation" ||
		code(beneficiary, "extension", 0, "valueCodeableConcept") != "medical field" || code(beneficiary, "maritalStatus") != "M" {
		t.Fatalf("beneficiary extensions %v, marital status %v", dig(beneficiary, "extension"), dig(beneficiary, "maritalStatus"))
	}
	provider := res["Organization"][0]
	if code(provider, "type", 0) != "prov" || code(provider, "extension", 0, "valueCodeableConcept") != "5" {
		t.Fatalf("provider organisation = %v", provider)
	}
}

func TestBadCoverageAndPatientPartiesNameTheirInput(t *testing.T) {
	t.Parallel()
	b := newBillingEnv(t)
	desk := b.reception(t)
	base := func(extra map[string]any) map[string]any {
		in := map[string]any{"patientId": gid("Patient", b.other.ID), "payerLicense": "7001463160", "payerName": "Bupa Arabia",
			"memberId": "M-9", "class": "A", "startsOn": "2020-01-01", "endsOn": "2099-12-31"}
		for k, v := range extra {
			in[k] = v
		}
		return in
	}
	tests := []struct {
		name, field string
		in          map[string]any
	}{
		{"a spouse without her subscriber", "input.subscriberId", base(map[string]any{"relationship": "SPOUSE"})},
		{"her own subscriber as a child", "input.subscriberId", base(map[string]any{"relationship": "CHILD", "subscriberId": gid("Patient", b.other.ID)})},
		{"a subscriber without the relationship", "input.relationship", base(map[string]any{"subscriberId": gid("Patient", b.patient.ID)})},
		{"a subscriber who is no patient", "input.subscriberId", base(map[string]any{"relationship": "CHILD", "subscriberId": gid("Patient", uuid.New())})},
		{"a plan class over NPHIES's 30 characters", "input.class", base(map[string]any{"class": strings.Repeat("A", 31)})},
		{"a coverage without its plan class (BV-00729)", "input.class", base(map[string]any{"class": nil, "planName": "Gold"})},
		{"a member-ID system that is no URL", "input.memberIdSystem", base(map[string]any{"memberIdSystem": "bupa memberid"})},
		{"a policy holder without a name", "input.policyHolder.name", base(map[string]any{"policyHolder": map[string]any{"id": "EST-1", "name": " "}})},
		// An enum value off the list fails the request's validation,
		// which names the variable rather than the field.
		{"a relationship NPHIES does not know", "", base(map[string]any{"relationship": "COUSIN"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.Do(t, desk, addCoverageMut, map[string]any{"in": tt.in})
			if r.Code() != hg.EINVALID || r.Field() != tt.field {
				t.Fatalf("code %q field %q, want BAD_USER_INPUT %q (%+v)", r.Code(), r.Field(), tt.field, r.Errors)
			}
		})
	}
	if n := b.Count(t, `SELECT count(*) FROM coverages WHERE patient_id = $1`, b.other.ID); n != 0 {
		t.Fatalf("%d coverages written by refused input", n)
	}
	r := b.Do(t, desk, `mutation($id: ID!) { updatePatient(id: $id, input: {occupation: ASTRONAUT}) { id } }`,
		map[string]any{"id": gid("Patient", b.other.ID)})
	if r.Code() != hg.EINVALID {
		t.Fatalf("an occupation off NPHIES's list: code %q (%+v)", r.Code(), r.Errors)
	}
	var upd struct {
		UpdatePatient struct{ Occupation, MaritalStatus *string }
	}
	b.Do(t, desk, `mutation($id: ID!) { updatePatient(id: $id, input: {occupation: STUDENT, maritalStatus: UNMARRIED}) {
		occupation maritalStatus } }`, map[string]any{"id": gid("Patient", b.other.ID)}).Decode(t, &upd)
	if o, m := upd.UpdatePatient.Occupation, upd.UpdatePatient.MaritalStatus; o == nil || *o != "STUDENT" || m == nil || *m != "UNMARRIED" {
		t.Fatalf("updated patient = %+v", upd.UpdatePatient)
	}
}

func TestAClaimWithoutThePayersMemberIDSystemIsRefusedUnqueued(t *testing.T) {
	t.Parallel()
	b := newBillingEnv(t)
	today := hg.DateOf(time.Now())
	cov, err := b.DB.AddCoverage(context.Background(), hg.PatientScope{All: true}, hg.NewCoverage{PatientID: b.other.ID,
		PayerLicense: "7001999999", PayerName: "Unlisted Payer", MemberID: "M-1", PolicyNumber: "POL-1", Class: "A",
		StartsOn: today.AddDate(0, -1, 0), EndsOn: today.AddDate(1, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	inv := b.createInvoice(t, b.other, cov)
	b.issue(t, inv.ID)
	r := b.Do(t, b.billing, submitClaimMut, map[string]any{"in": b.seenVisit(t, b.other).claimInput(inv.ID, "I10")})
	if r.Code() != hg.EINVALID || r.Field() != "input.invoiceId" || !strings.Contains(r.Errors[0].Message, "memberIdSystem") {
		t.Fatalf("claim on a payer whose member-ID system is unknown: %+v", r.Errors)
	}
	if n := b.Count(t, `SELECT (SELECT count(*) FROM claims) + (SELECT count(*) FROM nphies_messages)`); n != 0 {
		t.Fatalf("%d claim rows or messages written", n)
	}
}

func TestAnItemDescriptionOverNPHIESsLimitIsRefused(t *testing.T) {
	t.Parallel()
	b := newBillingEnv(t)
	line := func(desc string) map[string]any {
		return map[string]any{"patientId": gid("Patient", b.patient.ID), "coverageId": gid("Coverage", b.coverage.ID),
			"lines": []map[string]any{{"serviceCode": "83600-00-10", "description": desc, "quantity": 1, "unitPrice": "10.00"}}}
	}
	if r := b.Do(t, b.billing, createInvoiceMut, map[string]any{"in": line(strings.Repeat("é", 101))}); r.Code() != hg.EINVALID ||
		r.Field() != "input.lines.description" {
		t.Fatalf("101 characters: %+v", r.Errors)
	}
	if r := b.Do(t, b.billing, createInvoiceMut, map[string]any{"in": line(strings.Repeat("é", 100))}); r.Code() != "" {
		t.Fatalf("100 characters: %+v", r.Errors)
	}
	if n := b.Count(t, `SELECT count(*) FROM invoices`); n != 1 {
		t.Fatalf("invoices = %d, want the one within the limit", n)
	}
}

func TestCancelClaimSendsTheReasonChosen(t *testing.T) {
	t.Parallel()
	b := newBillingEnv(t)
	visit := b.seenVisit(t, b.patient)
	submitted := func() string {
		inv := b.createInvoice(t, b.patient, b.coverage)
		b.issue(t, inv.ID)
		var out struct{ SubmitClaim struct{ ID string } }
		b.Do(t, b.billing, submitClaimMut, map[string]any{"in": visit.claimInput(inv.ID, "I10")}).Decode(t, &out)
		for _, sql := range []string{`UPDATE claims SET status = 'SUBMITTED' WHERE id = $1`,
			`UPDATE nphies_messages SET delivery = 'SENT' WHERE claim_id = $1`} {
			if _, err := b.DB.Pool.Exec(context.Background(), sql, rawID(t, out.SubmitClaim.ID)); err != nil {
				t.Fatal(err)
			}
		}
		return out.SubmitClaim.ID
	}
	reasonSent := func(claim string) string {
		var body []byte
		if err := b.DB.Pool.QueryRow(context.Background(), `SELECT body FROM nphies_messages WHERE claim_id = $1
			AND event = 'cancel-request'`, rawID(t, claim)).Scan(&body); err != nil {
			t.Fatal(err)
		}
		return code(bundleResources(t, string(body))["Task"][0], "reasonCode")
	}
	const cancel = `mutation($id: ID!, $code: CancelReason) { cancelClaim(id: $id, reason: "not done", reasonCode: $code) { id } }`
	for code, want := range map[string]string{"SERVICE_NOT_PERFORMED": "NP", "TRANSACTION_ALREADY_SUBMITTED": "TAS"} {
		id := submitted()
		if r := b.Do(t, b.billing, cancel, map[string]any{"id": id, "code": code}); r.Code() != "" {
			t.Fatalf("cancel %s: %+v", code, r.Errors)
		}
		if got := reasonSent(id); got != want {
			t.Fatalf("cancel %s sent reason %q, want %q", code, got, want)
		}
	}
	id := submitted()
	if r := b.Do(t, b.billing, cancel, map[string]any{"id": id}); r.Code() != "" || reasonSent(id) != "WI" {
		t.Fatalf("cancel without a code: %+v", r.Errors)
	}
	if r := b.Do(t, b.billing, cancel, map[string]any{"id": submitted(), "code": "BORED"}); r.Code() != hg.EINVALID {
		t.Fatalf("a reason NPHIES does not know: %+v", r.Errors)
	}
}
