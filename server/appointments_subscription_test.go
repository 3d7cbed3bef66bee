package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"
	"time"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/server/servertest"
)

const appointmentChanged = `subscription($id: ID!) { appointmentChanged(practitionerId: $id) { gap appointment { status patient { firstName } } } }`

// TestAppointmentChangesReachSubscribersOnOtherReplicas books on replica A
// and expects the practitioner watching on replica B to hear of it, while
// another practitioner may not watch that schedule.
func TestAppointmentChangesReachSubscribersOnOtherReplicas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := replicas(t, nil)
	_, reception := a.User(t, "reception@clinic.test", hg.RoleReception)
	docUser, docToken := a.User(t, "doctor@clinic.test", hg.RolePractitioner)
	otherUser, otherToken := a.User(t, "other-doctor@clinic.test", hg.RolePractitioner)
	doc, err := a.DB.CreatePractitioner(ctx, hg.NewPractitioner{UserID: docUser.ID, FirstName: "Huda", FamilyName: "Alqahtani",
		SpecialtyCode: "08.00", Specialty: "Internal Medicine", License: "L-100"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.DB.CreatePractitioner(ctx, hg.NewPractitioner{UserID: otherUser.ID, FirstName: "Omar", FamilyName: "Alharbi",
		SpecialtyCode: "08.00", Specialty: "Internal Medicine", License: "L-101"}); err != nil {
		t.Fatal(err)
	}
	patient, err := a.DB.CreatePatient(ctx, hg.NewPatient{NationalID: "1000000077", FirstName: "Salma", FamilyName: "Alotaibi",
		BirthDate: time.Date(1990, 1, 2, 0, 0, 0, 0, time.UTC), Gender: hg.GenderFemale})
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]any{"id": gid("Practitioner", doc.ID.String())}

	t.Run("another practitioner may not watch the schedule", func(t *testing.T) {
		ws, err := servertest.DialSocket(t, b.URL, nil, map[string]any{"Authorization": "Bearer " + otherToken})
		if err != nil {
			t.Fatal(err)
		}
		ws.Subscribe("1", appointmentChanged, vars)
		m, err := ws.Next(5 * time.Second)
		var ev struct {
			Errors []struct{ Extensions map[string]any }
		}
		_ = json.Unmarshal(m.Payload, &ev)
		if err != nil || len(ev.Errors) == 0 || ev.Errors[0].Extensions["code"] != hg.EFORBIDDEN {
			t.Fatalf("got %s %s (%v), want FORBIDDEN", m.Type, m.Payload, err)
		}
	})

	ws, err := servertest.DialSocket(t, b.URL, nil, map[string]any{"Authorization": "Bearer " + docToken})
	if err != nil {
		t.Fatal(err)
	}
	ws.Subscribe("1", appointmentChanged, vars)
	start := time.Now().Add(48 * time.Hour).Truncate(time.Hour)
	book := `mutation($in: BookAppointmentInput!) { bookAppointment(input: $in) { id } }`
	deadline := time.Now().Add(10 * time.Second)
	for {
		// graphql-transport-ws does not acknowledge a subscribe: book until
		// an event arrives, each booking in a slot of its own.
		if r := a.Do(t, reception, book, map[string]any{"in": map[string]any{"patientId": gid("Patient", patient.ID.String()),
			"practitionerId": vars["id"], "startsAt": start.Format(time.RFC3339), "endsAt": start.Add(30 * time.Minute).Format(time.RFC3339)}}); r.Code() != "" {
			t.Fatalf("booking: %+v", r.Errors)
		}
		start = start.Add(time.Hour)
		m, err := ws.Next(500 * time.Millisecond)
		if errors.Is(err, servertest.ErrNoMessage) && time.Now().Before(deadline) {
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		var ev struct {
			Data struct {
				AppointmentChanged struct {
					Gap         bool
					Appointment *struct {
						Status  string
						Patient struct{ FirstName string }
					}
				}
			}
		}
		if err := json.Unmarshal(m.Payload, &ev); err != nil {
			t.Fatal(err)
		}
		got := ev.Data.AppointmentChanged
		if got.Appointment == nil || got.Appointment.Status != "BOOKED" || got.Appointment.Patient.FirstName != "Salma" {
			t.Fatalf("event = %s", m.Payload)
		}
		return
	}
}

func gid(typ, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(typ + ":" + id))
}
