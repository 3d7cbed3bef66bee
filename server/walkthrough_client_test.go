package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/server/servertest"
)

// walkthrough is what clients/walkthrough/walkthrough.mjs prints.
type walkthrough struct {
	Reception struct {
		Role           string
		RecordHasMRN   bool
		CoverageActive bool
	}
	Billing struct{ Role string }
	Signup  struct {
		Role, MeRole string
		SameUser     bool
		MePatient    *struct{ ID string }
	}
	Claim struct {
		WrongBirthDate       string
		ClaimedTheRecord     bool
		MePatientIsTheRecord bool
		MePractitioner       *struct{ ID string }
	}
	AppointmentChanged struct {
		Heard              bool
		Moves              int
		Status             string
		PatientIsTheRecord bool
	}
	ClaimUpdated struct {
		Heard              bool
		Attempts           int
		Status             string
		InvoiceIsOurs      bool
		PatientIsTheRecord bool
	}
	PatientSees struct {
		Appointments, Upcoming, Invoices, InvoicedVisits int
		TheBookedOne, EveryInvoiceIssuedToThem           bool
		OnlyTheirOwn                                     bool
		InvoiceTotal                                     string
	}
}

// TestWalkthroughWithGraphQLRequestAndGraphQLWS runs the npm clients
// frontends use (graphql-request, graphql-ws) through a new patient's first
// day and the front desk's and billing desk's live screens, as
// clients/walkthrough/walkthrough.mjs writes them, against the real server:
// signup, login, me, claiming the record, booking (heard live by reception),
// an invoice and its claim (heard live by billing), and the patient's own
// appointments and invoices.
func TestWalkthroughWithGraphQLRequestAndGraphQLWS(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("..", "clients", "walkthrough")
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("skipping the Node walkthrough: node is not installed")
	}
	for _, pkg := range []string{"graphql-request", "graphql-ws"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg)); err != nil {
			t.Skip("skipping the Node walkthrough: run `npm ci --prefix clients/walkthrough` first")
		}
	}
	env := servertest.New(t)
	reception, _ := env.User(t, "reception@clinic.test", hg.RoleReception)
	billing, _ := env.User(t, "billing@clinic.test", hg.RoleBilling)
	docUser, _ := env.User(t, "doctor@clinic.test", hg.RolePractitioner)
	doc, err := env.DB.CreatePractitioner(context.Background(), hg.NewPractitioner{UserID: docUser.ID, FirstName: "Huda",
		FamilyName: "Alqahtani", SpecialtyCode: "08.00", Specialty: "Internal Medicine", License: "L-100"})
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "walkthrough.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HG_URL="+env.URL, "HG_PASSWORD="+servertest.Password,
		"HG_RECEPTION_EMAIL="+reception.Email, "HG_BILLING_EMAIL="+billing.Email,
		"HG_PRACTITIONER_EMAIL="+docUser.Email, "HG_PRACTITIONER_ID="+gid("Practitioner", doc.ID.String()),
		"HG_ITEM_ID="+env.CatalogueItem(t, hg.NewCatalogueItem{System: hg.SystemServices, Code: "83600-00-10",
			Display: "Consultation", UnitPrice: 30000}))
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Fatalf("walkthrough.mjs failed: %v\n%s", err, exit.Stderr)
	} else if err != nil {
		t.Fatal(err)
	}
	var got walkthrough
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("walkthrough.mjs printed %q: %v", out, err)
	}
	t.Logf("walkthrough saw %s", out)

	w := got
	for _, c := range []struct {
		what string
		ok   bool
		got  any
		want string
	}{
		{"the front desk registers the record with a coverage", w.Reception.Role == "RECEPTION" && w.Reception.RecordHasMRN && w.Reception.CoverageActive,
			w.Reception, "RECEPTION, an MRN, an active coverage"},
		{"signup makes a PATIENT who logs in and sees themselves in me", w.Signup.Role == "PATIENT" && w.Signup.MeRole == "PATIENT" && w.Signup.SameUser,
			w.Signup, "PATIENT, the same user"},
		{"before claiming, me has no patient record", w.Signup.MePatient == nil, w.Signup.MePatient, "null"},
		{"a wrong birth date does not claim the record", w.Claim.WrongBirthDate == hg.ENOTFOUND, w.Claim.WrongBirthDate, hg.ENOTFOUND},
		{"the MRN and birth date claim the record, and me.patient is it", w.Claim.ClaimedTheRecord && w.Claim.MePatientIsTheRecord && w.Claim.MePractitioner == nil,
			w.Claim, "the record, no practitioner"},
		{"reception hears the patient's booking live", w.AppointmentChanged.Heard && w.AppointmentChanged.Status == "BOOKED" && w.AppointmentChanged.PatientIsTheRecord,
			w.AppointmentChanged, "heard, BOOKED, the patient's record"},
		{"billing hears the claim live", w.ClaimUpdated.Heard && w.ClaimUpdated.InvoiceIsOurs && w.ClaimUpdated.PatientIsTheRecord && w.ClaimUpdated.Status != "",
			w.ClaimUpdated, "heard, on the visit's invoice, for the patient"},
		{"the patient sees their appointments", w.PatientSees.Appointments == 2 && w.PatientSees.TheBookedOne && w.PatientSees.Upcoming == 1,
			w.PatientSees, "2 appointments (the walk-in visit completed), the booked one upcoming"},
		{"the patient sees their invoices", w.PatientSees.Invoices == w.PatientSees.InvoicedVisits && w.PatientSees.EveryInvoiceIssuedToThem && w.PatientSees.InvoiceTotal != "",
			w.PatientSees, "every invoiced visit, with its total"},
		{"the patient sees only their own", w.PatientSees.OnlyTheirOwn, w.PatientSees.OnlyTheirOwn, "true"},
	} {
		if !c.ok {
			t.Errorf("%s: got %+v, want %s", c.what, c.got, c.want)
		}
	}
}
