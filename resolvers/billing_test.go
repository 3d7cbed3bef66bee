package resolvers_test

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/server"
	"github.com/healthgraph/healthgraph/server/servertest"
)

func gid(typ string, id uuid.UUID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(typ + ":" + id.String()))
}

// billingEnv has a billing clerk, a patient with a login and a coverage,
// and a second patient.
type billingEnv struct {
	*servertest.Env
	billing, patientToken, practitioner string
	// consultation and eeg are catalogue items (300.00 and 45.50).
	consultation, eeg string
	patient, other    *hg.Patient
	coverage          *hg.Coverage
}

func newBillingEnv(t *testing.T, modify ...func(*server.Config, *postgres.Options)) billingEnv {
	t.Helper()
	return billingFixtures(t, servertest.New(t, modify...))
}

// billingFixtures adds billingEnv's users, patients and coverage to env.
func billingFixtures(t *testing.T, env *servertest.Env) billingEnv {
	t.Helper()
	ctx := context.Background()
	_, billing := env.User(t, "billing@example.com", hg.RoleBilling)
	_, practitioner := env.User(t, "dr@example.com", hg.RolePractitioner)
	pu, patientToken := env.User(t, "patient@example.com", hg.RolePatient)
	newPatient := func(mrn, nid string, user *uuid.UUID) *hg.Patient {
		p, err := env.DB.CreatePatient(ctx, hg.NewPatient{MRN: mrn, NationalID: nid, FirstName: "Reem", FamilyName: "Al-Otaibi",
			BirthDate: time.Date(1985, 5, 5, 0, 0, 0, 0, time.UTC), Gender: hg.GenderFemale, UserID: user})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	b := billingEnv{Env: env, billing: billing, patientToken: patientToken, practitioner: practitioner,
		consultation: env.CatalogueItem(t, hg.NewCatalogueItem{System: hg.SystemServices, Code: "83600-00-10", Display: "Consultation", UnitPrice: 30000}),
		eeg:          env.CatalogueItem(t, hg.NewCatalogueItem{System: hg.SystemProcedures, Code: "11000-00-00", Display: "EEG", UnitPrice: 4550}),
		patient:      newPatient("MRN-A", "1000000001", &pu.ID), other: newPatient("MRN-B", "1000000002", nil)}
	today := hg.DateOf(time.Now())
	c, err := env.DB.AddCoverage(ctx, hg.PatientScope{All: true}, hg.NewCoverage{PatientID: b.patient.ID, PayerLicense: "7001463160",
		PayerName: "Bupa Arabia", MemberIDSystem: "http://payer.example/memberid", Class: "A", MemberID: "M-1", PolicyNumber: "POL-77", StartsOn: today.AddDate(0, -1, 0), EndsOn: today.AddDate(1, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	b.coverage = c
	return b
}

const createInvoiceMut = `mutation($in: CreateInvoiceInput!) { createInvoice(input: $in) {
	id number status total { amount currency } patientShare { amount } insurerShare { amount } due { amount }
	lines { sequence net { amount } vat { amount } } } }`

type money struct{ Amount, Currency string }

type invoiceOut struct {
	ID, Number, Status                     string
	Total, PatientShare, InsurerShare, Due money
}

func (b billingEnv) createInvoice(t *testing.T, patient *hg.Patient, coverage *hg.Coverage) invoiceOut {
	t.Helper()
	in := map[string]any{"patientId": gid("Patient", patient.ID), "lines": []map[string]any{
		{"itemId": b.consultation, "quantity": 1},
		{"itemId": b.eeg, "quantity": 2},
	}}
	if coverage != nil {
		in["coverageId"] = gid("Coverage", coverage.ID)
	}
	var out struct{ CreateInvoice invoiceOut }
	b.Do(t, b.billing, createInvoiceMut, map[string]any{"in": in}).Decode(t, &out)
	return out.CreateInvoice
}

func TestInvoiceLifecycleOverGraphQL(t *testing.T) {
	t.Parallel()
	b := newBillingEnv(t)
	inv := b.createInvoice(t, b.patient, b.coverage)
	// net 391.00, VAT 58.65, total 449.65; 20% co-pay: 60.00+14.... per line
	if inv.Status != "DRAFT" || inv.Total != (money{"449.65", "SAR"}) || inv.PatientShare.Amount != "89.93" || inv.InsurerShare.Amount != "359.72" {
		t.Fatalf("invoice = %+v", inv)
	}
	var issued struct{ IssueInvoice invoiceOut }
	b.Do(t, b.billing, `mutation($id: ID!) { issueInvoice(id: $id) { status due { amount } } }`, map[string]any{"id": inv.ID}).Decode(t, &issued)
	if issued.IssueInvoice.Status != "ISSUED" || issued.IssueInvoice.Due.Amount != "89.93" {
		t.Fatalf("issued = %+v", issued.IssueInvoice)
	}
	pay := `mutation($id: ID!, $a: String!) { recordPayment(input: {invoiceId: $id, amount: $a, method: CARD}) { status due { amount } payments { amount { amount } } } }`
	if r := b.Do(t, b.billing, pay, map[string]any{"id": inv.ID, "a": "89.94"}); r.Code() != hg.EINVALID || r.Field() != "input.amount" {
		t.Fatalf("overpayment: %+v", r.Errors)
	}
	var paid struct {
		RecordPayment struct {
			Status   string
			Due      money
			Payments []struct{ Amount money }
		}
	}
	b.Do(t, b.billing, pay, map[string]any{"id": inv.ID, "a": "50"}).Decode(t, &paid)
	if paid.RecordPayment.Status != "PARTIALLY_PAID" || paid.RecordPayment.Due.Amount != "39.93" {
		t.Fatalf("after 50.00: %+v", paid.RecordPayment)
	}
	b.Do(t, b.billing, pay, map[string]any{"id": inv.ID, "a": "39.93"}).Decode(t, &paid)
	if paid.RecordPayment.Status != "PAID" || len(paid.RecordPayment.Payments) != 2 {
		t.Fatalf("after paying the rest: %+v", paid.RecordPayment)
	}
	void := `mutation($id: ID!) { voidInvoice(id: $id, reason: "duplicate") { status } }`
	if r := b.Do(t, b.billing, void, map[string]any{"id": inv.ID}); r.Code() != hg.ECONFLICT {
		t.Fatalf("voiding a paid invoice: code %q", r.Code())
	}
	if n := b.Count(t, `SELECT count(*) FROM audit_disclosures WHERE entity_type = 'Invoice' AND patient_id = $1`, b.patient.ID); n != 4 {
		t.Fatalf("invoice audit rows = %d, want 4 (created, issued, two payments)", n)
	}
	resp, err := http.Get(b.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"healthgraph_billed_halalas_total 44965", "healthgraph_paid_halalas_total 8993"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestInvoiceAccessByRole(t *testing.T) {
	t.Parallel()
	b := newBillingEnv(t)
	own := b.createInvoice(t, b.patient, b.coverage)
	others := b.createInvoice(t, b.other, nil)
	one := `query($id: ID!) { invoice(id: $id) { number } }`
	list := `{ invoices { totalCount } }`

	if r := b.Do(t, b.patientToken, one, map[string]any{"id": own.ID}); r.Code() != "" {
		t.Fatalf("patient reading own invoice: %+v", r.Errors)
	}
	if r := b.Do(t, b.patientToken, one, map[string]any{"id": others.ID}); r.Code() != hg.ENOTFOUND {
		t.Fatalf("patient reading another's invoice: code %q, want NOT_FOUND", r.Code())
	}
	var l struct{ Invoices struct{ TotalCount int } }
	b.Do(t, b.patientToken, list, nil).Decode(t, &l)
	if l.Invoices.TotalCount != 1 {
		t.Fatalf("patient sees %d invoices, want their 1", l.Invoices.TotalCount)
	}
	b.Do(t, b.billing, list, nil).Decode(t, &l)
	if l.Invoices.TotalCount != 2 {
		t.Fatalf("billing sees %d invoices, want 2", l.Invoices.TotalCount)
	}
	if r := b.Do(t, b.practitioner, list, nil); r.Code() != hg.EFORBIDDEN {
		t.Fatalf("practitioner listing invoices: code %q, want FORBIDDEN", r.Code())
	}
	if r := b.Do(t, b.patientToken, `mutation($id: ID!) { issueInvoice(id: $id) { status } }`, map[string]any{"id": own.ID}); r.Code() != hg.EFORBIDDEN {
		t.Fatalf("patient issuing an invoice: code %q, want FORBIDDEN", r.Code())
	}
}

func TestBadInvoiceInputWritesNothing(t *testing.T) {
	t.Parallel()
	b := newBillingEnv(t)
	line := func(qty int, price string) []map[string]any {
		return []map[string]any{{"serviceCode": "X", "description": "x", "quantity": qty, "unitPrice": price}}
	}
	tests := []struct {
		name      string
		in        map[string]any
		wantCode  string
		wantField string
	}{
		{"zero quantity", map[string]any{"patientId": gid("Patient", b.patient.ID), "lines": line(0, "10")}, hg.EINVALID, "input.lines.quantity"},
		{"negative quantity", map[string]any{"patientId": gid("Patient", b.patient.ID), "lines": line(-2, "10")}, hg.EINVALID, "input.lines.quantity"},
		{"three decimals", map[string]any{"patientId": gid("Patient", b.patient.ID), "lines": line(1, "10.005")}, hg.EINVALID, "input.lines.unitPrice"},
		{"negative price", map[string]any{"patientId": gid("Patient", b.patient.ID), "lines": line(1, "-10")}, hg.EINVALID, "input.lines.unitPrice"},
		{"zero price", map[string]any{"patientId": gid("Patient", b.patient.ID), "lines": line(1, "0.00")}, hg.EINVALID, "input.lines.unitPrice"},
		{"no lines", map[string]any{"patientId": gid("Patient", b.patient.ID), "lines": []map[string]any{}}, hg.EINVALID, "input.lines"},
		{"malformed patient id", map[string]any{"patientId": "nope", "lines": line(1, "10")}, hg.EINVALID, "input.patientId"},
		{"a user id as patient id", map[string]any{"patientId": gid("User", b.patient.ID), "lines": line(1, "10")}, hg.EINVALID, "input.patientId"},
		{"unknown patient", map[string]any{"patientId": gid("Patient", uuid.New()), "lines": line(1, "10")}, hg.ENOTFOUND, ""},
		{"another patient's coverage", map[string]any{"patientId": gid("Patient", b.other.ID), "coverageId": gid("Coverage", b.coverage.ID), "lines": line(1, "10")}, hg.EINVALID, "input.coverageId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.Do(t, b.billing, createInvoiceMut, map[string]any{"in": tt.in})
			if r.Code() != tt.wantCode || r.Field() != tt.wantField {
				t.Fatalf("code %q field %q, want %q %q (%+v)", r.Code(), r.Field(), tt.wantCode, tt.wantField, r.Errors)
			}
		})
	}
	if n := b.Count(t, `SELECT count(*) FROM invoices`); n != 0 {
		t.Fatalf("%d invoices written by bad input", n)
	}
}
