package resolvers_test

import (
	"testing"
	"time"
)

// TestNULBytesAreBadInput: Postgres refuses a NUL byte in text, so every
// String input refuses it at the edge with BAD_USER_INPUT naming the field,
// whether sent in a variable or as a literal, and nothing is written.
func TestNULBytesAreBadInput(t *testing.T) {
	t.Parallel()
	c := setupClinic(t)
	const nul = "x\u0000y"
	A := gid("Patient", c.patientA.ID)
	start := time.Now().Add(120 * time.Hour).Truncate(time.Hour)
	book := map[string]any{"patientId": A, "practitionerId": gid("Practitioner", c.doc1.ID),
		"startsAt": start.Format(time.RFC3339), "endsAt": start.Add(30 * time.Minute).Format(time.RFC3339), "reason": nul}
	line := map[string]any{"serviceCode": "99213", "description": nul, "quantity": 1, "unitPrice": "300.00"}
	tests := []struct {
		name, who, query string
		vars             map[string]any
		field            string
	}{
		{"login email", "", loginMut, map[string]any{"e": "a" + nul + "@clinic.example", "p": "test-password-42"}, "email"},
		{"login password", "", loginMut, map[string]any{"e": "ADMIN@clinic.example", "p": nul}, "password"},
		{"signup email", "", signupMut, map[string]any{"in": map[string]any{"email": "n" + nul + "@example.com", "password": "a-good-passw0rd", "fullName": "N"}}, "input.email"},
		{"signup name", "", signupMut, map[string]any{"in": map[string]any{"email": "n@example.com", "password": "a-good-passw0rd", "fullName": nul}}, "input.fullName"},
		{"refresh token", "", refreshMut, map[string]any{"t": nul}, "token"},
		{"patient search", "RECEPTION", `query($s: String!) { patients(filter: {search: $s}) { totalCount } }`, map[string]any{"s": "Am" + nul}, "filter.search"},
		{"patient search as a literal", "RECEPTION", `{ patients(filter: {search: "Am\u0000al"}) { totalCount } }`, nil, "filter.search"},
		{"new patient's name", "RECEPTION", `mutation($in: CreatePatientInput!) { createPatient(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"nationalId": "1000000077", "firstName": nul, "familyName": "X", "birthDate": "1990-01-01", "gender": "MALE"}}, "input.firstName"},
		{"patient update", "RECEPTION", `mutation($id: ID!, $n: String) { updatePatient(id: $id, input: {familyName: $n}) { id } }`, map[string]any{"id": A, "n": nul}, "input.familyName"},
		{"appointment reason", "RECEPTION", `mutation($in: BookAppointmentInput!) { bookAppointment(input: $in) { id } }`, map[string]any{"in": book}, "input.reason"},
		{"cancel reason", "RECEPTION", `mutation($id: ID!, $r: String!) { cancelAppointment(id: $id, reason: $r) { id } }`,
			map[string]any{"id": gid("Appointment", c.apptA.ID), "r": "Travelling " + nul}, "reason"},
		{"break-glass reason", "DOCTOR2", `mutation($id: ID!, $r: String!) { breakGlass(patientId: $id, reason: $r) { id } }`,
			map[string]any{"id": A, "r": "Unconscious in the emergency room " + nul}, "reason"},
		{"record body", "PRACTITIONER", `mutation($in: AddMedicalRecordInput!) { addMedicalRecord(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"patientId": A, "kind": "NOTE", "body": nul}}, "input.body"},
		{"record code in a list", "PRACTITIONER", `mutation($in: AddMedicalRecordInput!) { addMedicalRecord(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"patientId": A, "kind": "DIAGNOSIS", "codes": []string{"I10" + nul}, "body": "Hypertension"}}, "input.codes"},
		{"invoice line description", "BILLING", `mutation($in: CreateInvoiceInput!) { createInvoice(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"patientId": A, "lines": []any{line}}}, "input.lines.description"},
	}
	const written = `SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM patients) + (SELECT count(*) FROM appointments
		WHERE status = 'BOOKED') + (SELECT count(*) FROM medical_records) + (SELECT count(*) FROM invoices)
		+ (SELECT count(*) FROM break_glass_grants) + (SELECT count(*) FROM refresh_tokens)`
	before := c.env.Count(t, written)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := c.env.Do(t, c.tokens[tc.who], tc.query, tc.vars)
			if res.Code() != "BAD_USER_INPUT" || res.Field() != tc.field {
				t.Fatalf("code %q field %q (%+v), want BAD_USER_INPUT %q", res.Code(), res.Field(), res.Errors, tc.field)
			}
		})
	}
	if after := c.env.Count(t, written); after != before {
		t.Fatalf("%d rows before the NUL inputs, %d after; want nothing written", before, after)
	}
	var p struct{ Patient struct{ FamilyName string } }
	c.env.Do(t, c.tokens["ADMIN"], `query($id: ID!) { patient(id: $id) { familyName } }`, map[string]any{"id": A}).Decode(t, &p)
	if p.Patient.FamilyName != c.patientA.FamilyName {
		t.Fatalf("family name = %q after a refused update, want %q", p.Patient.FamilyName, c.patientA.FamilyName)
	}
}
