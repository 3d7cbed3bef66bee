package postgres_test

import (
	"testing"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/server/servertest"
)

// The GraphQL contract does not change with sealing, and neither the
// patients table nor the audit trail it leaves holds a national ID or phone
// in clear.
func TestGraphQLPatientsOverSealedIdentifiers(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	_, admin := env.User(t, "admin@phi.test", hg.RoleAdmin)
	nid, phone, newPhone := nextNationalID(), "+966555000001", "+966555000002"
	type patient struct {
		ID, NationalID, Phone string
	}
	var created struct{ CreatePatient patient }
	env.Do(t, admin, `mutation($in: CreatePatientInput!) { createPatient(input: $in) { id nationalId phone } }`,
		map[string]any{"in": map[string]any{"nationalId": nid, "phone": phone, "firstName": "Reem", "familyName": "Alghamdi",
			"birthDate": "1991-02-03", "gender": "FEMALE"}}).Decode(t, &created)
	if created.CreatePatient.NationalID != nid || created.CreatePatient.Phone != phone {
		t.Fatalf("createPatient answered %+v", created.CreatePatient)
	}
	id := created.CreatePatient.ID
	var updated struct{ UpdatePatient patient }
	env.Do(t, admin, `mutation($id: ID!, $phone: String) { updatePatient(id: $id, input: {phone: $phone}) { id nationalId phone } }`,
		map[string]any{"id": id, "phone": newPhone}).Decode(t, &updated)
	if updated.UpdatePatient != (patient{id, nid, newPhone}) {
		t.Fatalf("updatePatient answered %+v", updated.UpdatePatient)
	}
	var found struct {
		Patients struct {
			TotalCount int
			Edges      []struct{ Node patient }
		}
	}
	env.Do(t, admin, `query($q: String) { patients(filter: {search: $q}) { totalCount edges { node { id nationalId phone } } } }`,
		map[string]any{"q": nid}).Decode(t, &found)
	if found.Patients.TotalCount != 1 || found.Patients.Edges[0].Node != (patient{id, nid, newPhone}) {
		t.Fatalf("search by national ID found %+v", found.Patients)
	}
	res := env.Do(t, admin, `mutation($in: CreatePatientInput!) { createPatient(input: $in) { id } }`,
		map[string]any{"in": map[string]any{"nationalId": nid, "firstName": "Other", "familyName": "Person",
			"birthDate": "1980-01-01", "gender": "MALE"}})
	if res.Code() != "CONFLICT" || res.Field() != "input.nationalId" {
		t.Fatalf("duplicate national ID: %q on %q (%+v), want CONFLICT on input.nationalId", res.Code(), res.Field(), res.Errors)
	}
	if n := env.Count(t, `SELECT count(*) FROM audit_events WHERE patient_id IS NOT NULL`); n == 0 {
		t.Fatal("no audit events about the patient: the check below would prove nothing")
	}
	if n := plaintextLeft(t, env.DB, nid, phone, newPhone); n != 0 {
		t.Errorf("%d patients rows or audit events hold the national ID or a phone in clear", n)
	}
}
