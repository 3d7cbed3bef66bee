package resolvers_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/vektah/gqlparser/v2/ast"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/graph"
)

// inputPath reports whether path names an input of the operation field
// op: an argument, then fields of input objects down from it.
func inputPath(schema *ast.Schema, op *ast.FieldDefinition, path string) bool {
	names := strings.Split(path, ".")
	arg := op.Arguments.ForName(names[0])
	if arg == nil {
		return false
	}
	typ := arg.Type.Name()
	for _, n := range names[1:] {
		def := schema.Types[typ]
		if def == nil || def.Kind != ast.InputObject || def.Fields.ForName(n) == nil {
			return false
		}
		typ = def.Fields.ForName(n).Type.Name()
	}
	return true
}

// TestErrorFieldsAreInputPaths: extensions.field is spelt one way, as the
// path of the input at fault from the field's arguments (filter.search,
// input.birthDate, id), whichever layer refused it: a scalar that did not
// parse, a resolver, a domain validator or the store.
func TestErrorFieldsAreInputPaths(t *testing.T) {
	t.Parallel()
	c := setupClinic(t)
	schema := graph.NewExecutableSchema(graph.Config{}).Schema()
	A := gid("Patient", c.patientA.ID)
	soon := time.Now().Add(72 * time.Hour).Truncate(time.Hour)
	newPatient := func(field string, v any) map[string]any {
		in := map[string]any{"nationalId": "1000000099", "firstName": "Ali", "familyName": "Alharbi", "birthDate": "1990-01-01", "gender": "MALE"}
		in[field] = v
		return map[string]any{"in": in}
	}
	const (
		createPatient = `mutation($in: CreatePatientInput!) { createPatient(input: $in) { id } }`
		book          = `mutation($in: BookAppointmentInput!) { bookAppointment(input: $in) { id } }`
	)
	for _, tc := range []struct {
		name, role, op, query string
		vars                  map[string]any
		field                 string
	}{
		{"a birth date that does not parse", "ADMIN", "createPatient", createPatient, newPatient("birthDate", "1990-13-01"), "input.birthDate"},
		{"a national ID of the wrong form", "ADMIN", "createPatient", createPatient, newPatient("nationalId", "12"), "input.nationalId"},
		{"a duplicate national ID", "ADMIN", "createPatient", createPatient, newPatient("nationalId", "1000000001"), "input.nationalId"},
		{"a malformed phone on update", "ADMIN", "updatePatient", `mutation($id: ID!) { updatePatient(id: $id, input: {phone: "12"}) { id } }`,
			map[string]any{"id": A}, "input.phone"},
		{"a malformed patient id", "ADMIN", "updatePatient", `mutation { updatePatient(id: "zz", input: {phone: "+966500000001"}) { id } }`, nil, "id"},
		{"a one-letter search", "RECEPTION", "patients", `{ patients(filter: {search: "a"}) { totalCount } }`, nil, "filter.search"},
		{"a reversed appointment window", "ADMIN", "appointments", `query($t: Time!) { appointments(filter: {from: $t, to: $t}) { totalCount } }`,
			map[string]any{"t": soon.Format(time.RFC3339)}, "filter.to"},
		{"a malformed practitioner filter", "ADMIN", "appointments", `{ appointments(filter: {practitionerId: "zz"}) { totalCount } }`, nil, "filter.practitionerId"},
		{"a booking in the past", "ADMIN", "bookAppointment", book, map[string]any{"in": map[string]any{"patientId": A,
			"practitionerId": gid("Practitioner", c.doc1.ID), "startsAt": time.Now().Add(-time.Hour).Format(time.RFC3339),
			"endsAt": time.Now().Format(time.RFC3339)}}, "input.startsAt"},
		{"a booking for a malformed patient", "ADMIN", "bookAppointment", book, map[string]any{"in": map[string]any{"patientId": "zz",
			"practitionerId": gid("Practitioner", c.doc1.ID), "startsAt": soon.Format(time.RFC3339), "endsAt": soon.Add(time.Hour).Format(time.RFC3339)}},
			"input.patientId"},
		{"a coverage ending before it starts", "ADMIN", "addCoverage", `mutation($in: AddCoverageInput!) { addCoverage(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"patientId": A, "payerLicense": "7001463160", "payerName": "Bupa", "memberId": "M-9", "class": "A",
				"startsOn": "2026-05-01", "endsOn": "2026-04-01"}}, "input.endsOn"},
		{"a diagnosis without codes", "PRACTITIONER", "addMedicalRecord", `mutation($in: AddMedicalRecordInput!) { addMedicalRecord(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"patientId": A, "kind": "DIAGNOSIS", "body": "x"}}, "input.codes"},
		{"a record window reversed", "ADMIN", "medicalRecords", `query($id: ID!, $t: Time!) { medicalRecords(patientId: $id, filter: {from: $t, to: $t}) { totalCount } }`,
			map[string]any{"id": A, "t": soon.Format(time.RFC3339)}, "filter.to"},
		{"an invoice line of no quantity", "BILLING", "createInvoice", `mutation($in: CreateInvoiceInput!) { createInvoice(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"patientId": A, "lines": []map[string]any{{"serviceCode": "99213", "description": "Visit", "quantity": 0, "unitPrice": "10"}}}},
			"input.lines.quantity"},
		{"an invoice filter of a malformed patient", "BILLING", "invoices", `{ invoices(filter: {patientId: "zz"}) { totalCount } }`, nil, "filter.patientId"},
		{"a claim filter of a malformed patient", "BILLING", "claims", `{ claims(filter: {patientId: "zz"}) { totalCount } }`, nil, "filter.patientId"},
		{"a record claim naming neither MRN nor national ID", "PATIENT", "claimPatientRecord",
			`mutation { claimPatientRecord(input: {birthDate: "1980-05-01"}) { id } }`, nil, "input.mrn"},
		{"a signup with a weak password", "", "signup", `mutation { signup(input: {email: "n@example.com", password: "short1", fullName: "N"}) { id } }`, nil, "input.password"},
		{"a login without a password", "", "login", `mutation { login(email: "n@example.com", password: "") { accessToken } }`, nil, "password"},
		{"a page too large", "ADMIN", "patients", `{ patients(first: 500) { totalCount } }`, nil, "first"},
		{"a void without a reason", "BILLING", "voidInvoice", `mutation($id: ID!) { voidInvoice(id: $id, reason: "") { id } }`,
			map[string]any{"id": gid("Invoice", uuid.New())}, "reason"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := c.env.Do(t, c.tokens[tc.role], tc.query, tc.vars)
			if code := res.Code(); code != hg.EINVALID && code != hg.ECONFLICT {
				t.Fatalf("code %q (%+v), want BAD_USER_INPUT or CONFLICT", code, res.Errors)
			}
			op := schema.Query.Fields.ForName(tc.op)
			if op == nil {
				op = schema.Mutation.Fields.ForName(tc.op)
			}
			if !inputPath(schema, op, res.Field()) {
				t.Fatalf("extensions.field %q is not a path of %s's inputs (%+v)", res.Field(), tc.op, res.Errors)
			}
			if res.Field() != tc.field {
				t.Fatalf("extensions.field %q, want %q", res.Field(), tc.field)
			}
		})
	}
}
