package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/server/servertest"
)

// TestEverySubscriptionDeliveryOfPHIIsAudited watches a practitioner's
// schedule as reception, books appointments until three were delivered,
// and expects exactly one appointment.delivered audit row per delivered
// event, naming the watcher, their role, the appointment and its patient.
func TestEverySubscriptionDeliveryOfPHIIsAudited(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.New(t)
	desk, deskToken := env.User(t, "desk@clinic.test", hg.RoleReception)
	_, booker := env.User(t, "booker@clinic.test", hg.RoleReception)
	docUser, _ := env.User(t, "doctor@clinic.test", hg.RolePractitioner)
	doc, err := env.DB.CreatePractitioner(ctx, hg.NewPractitioner{UserID: docUser.ID, FirstName: "Huda", FamilyName: "Alqahtani",
		SpecialtyCode: "08.00", Specialty: "Internal Medicine", License: "L-100"})
	if err != nil {
		t.Fatal(err)
	}
	patient, err := env.DB.CreatePatient(ctx, hg.NewPatient{NationalID: "1000000078", FirstName: "Salma", FamilyName: "Alotaibi",
		BirthDate: time.Date(1990, 1, 2, 0, 0, 0, 0, time.UTC), Gender: hg.GenderFemale})
	if err != nil {
		t.Fatal(err)
	}
	ws, err := servertest.DialSocket(t, env.URL, nil, map[string]any{"Authorization": "Bearer " + deskToken})
	if err != nil {
		t.Fatal(err)
	}
	ws.Subscribe("1", `subscription($id: ID!) { appointmentChanged(practitionerId: $id) { gap appointment { id patient { firstName } } } }`,
		map[string]any{"id": gid("Practitioner", doc.ID.String())})

	var delivered []uuid.UUID
	start := time.Now().Add(48 * time.Hour).Truncate(time.Hour)
	deadline := time.Now().Add(15 * time.Second)
	for len(delivered) < 3 {
		// graphql-transport-ws does not acknowledge a subscribe: book until
		// events arrive, each booking in a slot of its own.
		if r := env.Do(t, booker, `mutation($in: BookAppointmentInput!) { bookAppointment(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"patientId": gid("Patient", patient.ID.String()),
				"practitionerId": gid("Practitioner", doc.ID.String()), "startsAt": start.Format(time.RFC3339),
				"endsAt": start.Add(30 * time.Minute).Format(time.RFC3339)}}); r.Code() != "" {
			t.Fatalf("booking: %+v", r.Errors)
		}
		start = start.Add(time.Hour)
		m, err := ws.Next(500 * time.Millisecond)
		if errors.Is(err, servertest.ErrNoMessage) && time.Now().Before(deadline) {
			continue
		} else if err != nil {
			t.Fatalf("after %d deliveries: %v", len(delivered), err)
		}
		var ev struct {
			Data struct {
				AppointmentChanged struct {
					Appointment *struct {
						ID      string
						Patient struct{ FirstName string }
					}
				}
			}
		}
		if err := json.Unmarshal(m.Payload, &ev); err != nil {
			t.Fatal(err)
		}
		a := ev.Data.AppointmentChanged.Appointment
		if a == nil || a.Patient.FirstName != "Salma" {
			t.Fatalf("event = %s, want an appointment of Salma", m.Payload)
		}
		delivered = append(delivered, rawUUID(t, a.ID))
	}

	rows, err := env.DB.Pool.Query(ctx, `SELECT entity_id FROM audit_events
		WHERE action = 'appointment.delivered' AND actor_id = $1 AND actor_role = $2 AND entity_type = 'Appointment'
		  AND patient_id = $3 ORDER BY created_at`, desk.ID, hg.RoleReception, patient.ID)
	if err != nil {
		t.Fatal(err)
	}
	var audited []uuid.UUID
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		audited = append(audited, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sortIDs := func(ids []uuid.UUID) {
		slices.SortFunc(ids, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	}
	sortIDs(audited)
	sortIDs(delivered)
	if !slices.Equal(audited, delivered) {
		t.Errorf("audited deliveries %v, want exactly the delivered %v", audited, delivered)
	}
	if n := env.Count(t, `SELECT count(*) FROM audit_events WHERE action = 'appointment.delivered'`); n != len(delivered) {
		t.Errorf("%d delivery audit rows in all, want %d", n, len(delivered))
	}
}

// rawUUID decodes a global ID from an answer.
func rawUUID(t *testing.T, global string) uuid.UUID {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(global)
	_, id, ok := strings.Cut(string(raw), ":")
	u, err2 := uuid.Parse(id)
	if err != nil || !ok || err2 != nil {
		t.Fatalf("not a global ID: %q", global)
	}
	return u
}

// TestARefusedSubscriptionIsCounted subscribes a practitioner to a
// colleague's schedule over the WebSocket and expects the refusal counted
// like any other, with the practitioner id it named.
func TestARefusedSubscriptionIsCounted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.New(t)
	prober, proberToken := env.User(t, "prober@clinic.test", hg.RolePractitioner)
	docUser, _ := env.User(t, "doctor@clinic.test", hg.RolePractitioner)
	for i, u := range []*hg.User{prober, docUser} {
		if _, err := env.DB.CreatePractitioner(ctx, hg.NewPractitioner{UserID: u.ID, FirstName: "Huda", FamilyName: "Alqahtani",
			SpecialtyCode: "08.00", Specialty: "Internal Medicine", License: "L-" + string(rune('1'+i))}); err != nil {
			t.Fatal(err)
		}
	}
	doc, err := env.DB.PractitionerByUserID(ctx, docUser.ID)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := servertest.DialSocket(t, env.URL, nil, map[string]any{"Authorization": "Bearer " + proberToken})
	if err != nil {
		t.Fatal(err)
	}
	ws.Subscribe("1", appointmentChanged, map[string]any{"id": gid("Practitioner", doc.ID.String())})
	m, err := ws.Next(5 * time.Second)
	var ev struct {
		Errors []struct{ Extensions map[string]any }
	}
	_ = json.Unmarshal(m.Payload, &ev)
	if err != nil || len(ev.Errors) == 0 || ev.Errors[0].Extensions["code"] != hg.EFORBIDDEN {
		t.Fatalf("got %s %s (%v), want FORBIDDEN", m.Type, m.Payload, err)
	}
	var attempts int
	var subjects []uuid.UUID
	err = env.DB.Pool.QueryRow(ctx, `SELECT attempts, subjects FROM audit_refusals
		WHERE actor_id = $1 AND actor_role = 'PRACTITIONER' AND action = 'Subscription.appointmentChanged' AND code = 'FORBIDDEN'`,
		prober.ID).Scan(&attempts, &subjects)
	if err != nil {
		t.Fatalf("the refused subscription left no count: %v", err)
	}
	if attempts != 1 || !slices.Equal(subjects, []uuid.UUID{doc.ID}) {
		t.Errorf("counted %d attempts naming %v, want 1 naming %v", attempts, subjects, doc.ID)
	}
}
