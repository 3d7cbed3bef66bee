package nphies_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/nphies/mock"
	"github.com/healthgraph/healthgraph/nphies/rules"
)

// TestServicesAreDatedOnTheVisit: a visit invoiced the day after (or
// late in the evening, when Riyadh is already on the next day) is claimed
// with its services dated on the visit, within the encounter, as NPHIES
// requires (BV-00041), not on the day the invoice was written.
func TestServicesAreDatedOnTheVisit(t *testing.T) {
	t.Parallel()
	f := newOBFixture(t, mock.Options{})
	inv, p, c := f.invoice(t, "M-SERVED-1")
	riyadh := time.FixedZone("AST", 3*3600)
	y := inv.CreatedAt.In(riyadh).AddDate(0, 0, -1)
	visit := &hg.Appointment{ID: uuid.New(), PatientID: p.ID, PractitionerID: f.doctor.ID, Status: hg.AppointmentCompleted,
		StartsAt: time.Date(y.Year(), y.Month(), y.Day(), 10, 0, 0, 0, riyadh)}
	visit.EndsAt = visit.StartsAt.Add(30 * time.Minute)
	n, err := nphies.NewClaimMessage(f.builder, hg.UseClaim, nphies.ClaimParties{Invoice: inv, Patient: p, Coverage: c,
		Practitioner: f.doctor, Appointment: visit, Diagnoses: []string{"E11.9"}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		Entry []struct {
			Resource struct {
				ResourceType string
				Item         []struct{ ServicedDate string }
			}
		}
	}
	if err := json.Unmarshal(n.Message.Body, &b); err != nil {
		t.Fatal(err)
	}
	items := 0
	for _, e := range b.Entry {
		for _, it := range e.Resource.Item {
			if e.Resource.ResourceType == "Claim" {
				items++
				if want := y.Format(time.DateOnly); it.ServicedDate != want {
					t.Errorf("an item is dated %s, want the visit's day %s", it.ServicedDate, want)
				}
			}
		}
	}
	if items != len(inv.Lines) {
		t.Fatalf("%d items in the claim, want %d", items, len(inv.Lines))
	}
	vs, err := rules.Check(n.Message.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if v.Rule == "BV-00041" {
			t.Errorf("%s at %s: %s", v.Rule, v.Expression, v.Message)
		}
	}
}
