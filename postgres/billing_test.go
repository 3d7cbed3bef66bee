package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
)

var everyone = hg.PatientScope{All: true}

// billingSetup gives a patient with an active coverage at 20% co-pay.
func billingSetup(t *testing.T) (*postgres.DB, *hg.Patient, *hg.Coverage) {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t, postgres.Options{})
	p, err := db.CreatePatient(ctx, hg.NewPatient{MRN: "MRN-1", NationalID: "1012345678", FirstName: "Saad",
		FamilyName: "Al-Qahtani", BirthDate: time.Date(1980, 3, 1, 0, 0, 0, 0, time.UTC), Gender: hg.GenderMale})
	if err != nil {
		t.Fatal(err)
	}
	today := hg.DateOf(time.Now())
	c, err := db.AddCoverage(ctx, everyone, hg.NewCoverage{PatientID: p.ID, PayerLicense: "7001463160", PayerName: "Bupa Arabia", MemberIDSystem: "http://payer.example/memberid", Class: "A",
		MemberID: "M-100", StartsOn: today.AddDate(-1, 0, 0), EndsOn: today.AddDate(1, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	return db, p, c
}

func TestInvoiceTotalsAndShares(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p, c := billingSetup(t)
	inv, err := db.CreateInvoice(ctx, everyone, hg.NewInvoice{PatientID: p.ID, CoverageID: &c.ID, Lines: []hg.NewInvoiceLine{
		{ServiceCode: "83036", Description: "HbA1c", Quantity: 1, UnitPrice: 12_000},
		{CodeSystem: hg.SystemServices, ServiceCode: "83600-00-10", Description: "Consultation", Quantity: 2, UnitPrice: 25_050},
	}})
	if err != nil {
		t.Fatal(err)
	}
	// net 120.00 + 501.00 = 621.00; VAT 18.00 + 75.15 = 93.15; total 714.15;
	// patient 20%: 27.60 + 115.23 = 142.83; insurer 571.32.
	want := hg.InvoiceTotals{Net: 62_100, VAT: 9_315, Total: 71_415, PatientShare: 14_283, InsurerShare: 57_132}
	if inv.InvoiceTotals != want || inv.Status != hg.InvoiceDraft || len(inv.Lines) != 2 {
		t.Fatalf("invoice %+v, want totals %+v as a DRAFT with 2 lines", inv.InvoiceTotals, want)
	}
	got, err := db.InvoiceByID(ctx, everyone, inv.ID)
	if err != nil || got.InvoiceTotals != want || got.Lines[1].Total != 57_615 {
		t.Fatalf("read back %+v, %v", got, err)
	}
}

func TestDatabaseRefusesMoneyThatDoesNotAddUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p, _ := billingSetup(t)
	inv, err := db.CreateInvoice(ctx, everyone, hg.NewInvoice{PatientID: p.ID, Lines: []hg.NewInvoiceLine{
		{ServiceCode: "A", Description: "a", Quantity: 1, UnitPrice: 10_000}}})
	if err != nil {
		t.Fatal(err)
	}
	for name, sql := range map[string]string{
		"header total off by a halala":  `UPDATE invoices SET total = total + 1, vat = vat + 1, patient_share = patient_share + 1 WHERE id = $1`,
		"line net not quantity × price": `INSERT INTO invoice_lines VALUES ($1, 9, 'X', 'x', 2, 100, 100, 0, 100, 100, 0)`,
		"overpaid":                      `UPDATE invoices SET paid = patient_share + 1 WHERE id = $1`,
		"line deleted":                  `DELETE FROM invoice_lines WHERE invoice_id = $1`,
	} {
		if _, err := db.Pool.Exec(ctx, sql, inv.ID); err == nil {
			t.Errorf("%s: the database accepted it", name)
		}
	}
}

func TestInvoiceLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p, c := billingSetup(t)
	inv, err := db.CreateInvoice(ctx, everyone, hg.NewInvoice{PatientID: p.ID, CoverageID: &c.ID, Lines: []hg.NewInvoiceLine{
		{CodeSystem: hg.SystemServices, ServiceCode: "83600-00-10", Description: "Consultation", Quantity: 1, UnitPrice: 50_000}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.RecordPayment(ctx, hg.Payment{InvoiceID: inv.ID, Amount: 100, Method: hg.PaymentCash}); hg.ErrorCode(err) != hg.ECONFLICT {
		t.Fatalf("payment on a draft: %v, want CONFLICT", err)
	}
	if inv, err = db.IssueInvoice(ctx, inv.ID); err != nil || inv.Status != hg.InvoiceIssued {
		t.Fatalf("issue: %v %v", inv, err)
	}
	if _, err := db.IssueInvoice(ctx, inv.ID); hg.ErrorCode(err) != hg.ECONFLICT {
		t.Fatalf("issue twice: %v, want CONFLICT", err)
	}
	due := inv.Due() // 20% of 575.00 = 115.00
	if due != 11_500 {
		t.Fatalf("due = %s, want 115.00", due)
	}
	if _, err := db.RecordPayment(ctx, hg.Payment{InvoiceID: inv.ID, Amount: due + 1, Method: hg.PaymentCard}); hg.ErrorField(err) != "amount" {
		t.Fatalf("overpayment: %v, want BAD_USER_INPUT on amount", err)
	}
	if inv, err = db.RecordPayment(ctx, hg.Payment{InvoiceID: inv.ID, Amount: 5_000, Method: hg.PaymentCard}); err != nil || inv.Status != hg.InvoicePartiallyPaid {
		t.Fatalf("partial payment: %v %v", inv, err)
	}
	if _, err := db.VoidInvoice(ctx, inv.ID, "entered twice"); hg.ErrorCode(err) != hg.ECONFLICT {
		t.Fatalf("void with payments: %v, want CONFLICT", err)
	}
	if inv, err = db.RecordPayment(ctx, hg.Payment{InvoiceID: inv.ID, Amount: 6_500, Method: hg.PaymentCash}); err != nil || inv.Status != hg.InvoicePaid {
		t.Fatalf("final payment: %v %v", inv, err)
	}
	if ps, _ := db.PaymentsByInvoice(ctx, inv.ID); len(ps) != 2 {
		t.Fatalf("payments = %d, want 2", len(ps))
	}
}

func TestConcurrentPaymentsNeverOverpay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p, _ := billingSetup(t)
	inv, err := db.CreateInvoice(ctx, everyone, hg.NewInvoice{PatientID: p.ID, Lines: []hg.NewInvoiceLine{
		{ServiceCode: "A", Description: "a", Quantity: 1, UnitPrice: 10_000}}})
	if err != nil {
		t.Fatal(err)
	}
	if inv, err = db.IssueInvoice(ctx, inv.ID); err != nil { // due 115.00
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	paid := hg.Halalas(0)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := db.RecordPayment(ctx, hg.Payment{InvoiceID: inv.ID, Amount: 1_000, Method: hg.PaymentCash}); err == nil {
				mu.Lock()
				paid += 1_000
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	got, _ := db.InvoiceByID(ctx, everyone, inv.ID)
	if got.Paid != paid || paid > got.PatientShare || paid != 11_000 {
		t.Fatalf("accepted %s, stored %s, share %s: want 110.00 accepted of 115.00", paid, got.Paid, got.PatientShare)
	}
}

func TestInvoiceInputRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p, c := billingSetup(t)
	other, _ := db.CreatePatient(ctx, hg.NewPatient{MRN: "MRN-2", NationalID: "2012345678", FirstName: "Ana",
		FamilyName: "Cruz", BirthDate: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), Gender: hg.GenderFemale})
	line := []hg.NewInvoiceLine{{ServiceCode: "A", Description: "a", Quantity: 1, UnitPrice: 100}}
	missing := uuid.New()
	tests := []struct {
		name      string
		in        hg.NewInvoice
		wantCode  string
		wantField string
	}{
		{"no lines", hg.NewInvoice{PatientID: p.ID}, hg.EINVALID, "lines"},
		{"zero quantity", hg.NewInvoice{PatientID: p.ID, Lines: []hg.NewInvoiceLine{{ServiceCode: "A", Description: "a", Quantity: 0, UnitPrice: 100}}}, hg.EINVALID, "lines.quantity"},
		{"negative price", hg.NewInvoice{PatientID: p.ID, Lines: []hg.NewInvoiceLine{{ServiceCode: "A", Description: "a", Quantity: 1, UnitPrice: -5}}}, hg.EINVALID, "lines.unitPrice"},
		{"unknown patient", hg.NewInvoice{PatientID: missing, Lines: line}, hg.ENOTFOUND, ""},
		{"another patient's coverage", hg.NewInvoice{PatientID: other.ID, CoverageID: &c.ID, Lines: line}, hg.EINVALID, "coverageId"},
		{"unknown coverage", hg.NewInvoice{PatientID: p.ID, CoverageID: &missing, Lines: line}, hg.ENOTFOUND, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.CreateInvoice(ctx, everyone, tt.in)
			if hg.ErrorCode(err) != tt.wantCode || hg.ErrorField(err) != tt.wantField {
				t.Fatalf("err %v, want %s on %q", err, tt.wantCode, tt.wantField)
			}
		})
	}
	var n int
	_ = db.Pool.QueryRow(ctx, `SELECT count(*) FROM invoices`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d invoices written by refused input", n)
	}
}

func TestHalalasArithmetic(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]hg.Halalas{"0": 0, "12": 1200, "12.5": 1250, "12.05": 1205, "0.01": 1} {
		got, err := hg.ParseSAR("amount", in)
		if err != nil || got != want || hg.Halalas(want).String() == "" {
			t.Errorf("ParseSAR(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1", "1.234", "1e3", "1,5", ".5", "5.", "12345678901.00", "NaN"} {
		if _, err := hg.ParseSAR("amount", bad); hg.ErrorField(err) != "amount" {
			t.Errorf("ParseSAR(%q) accepted", bad)
		}
	}
	if s := hg.Halalas(-5).String(); s != "-0.05" {
		t.Errorf("String(-5) = %q", s)
	}
}
