package seed_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/auth"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
	"github.com/healthgraph/healthgraph/seed"
)

var clock = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

// hashCheaply hashes demo logins for real at the cheapest cost, which keeps
// the race detector's slowdown of bcrypt out of the suite.
var hashCheaply = (&auth.Accounts{Cost: bcrypt.MinCost}).HashPassword

func TestDemo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t, postgres.Options{})
	res, err := seed.Demo(ctx, db, hashCheaply, seed.Options{Seed: 7, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("demo: %+v", res.Summary)

	t.Run("a login per role whose password works", func(t *testing.T) {
		roles := map[hg.Role]bool{}
		for _, l := range res.Logins {
			roles[l.Role] = true
			u, err := db.UserByEmail(ctx, l.Email)
			if err != nil || u.Role != l.Role || !auth.CheckPassword(u.PasswordHash, l.Password) {
				t.Errorf("login %s (%s): user %+v, %v; want the role and a working password", l.Email, l.Role, u, err)
			}
			if err := auth.ValidatePassword(l.Password, l.Email); err != nil {
				t.Errorf("demo password of %s breaks the policy: %v", l.Role, err)
			}
		}
		if len(roles) != len(hg.Roles) {
			t.Fatalf("logins cover %d roles, want %d", len(roles), len(hg.Roles))
		}
	})
	t.Run("the patient login sees its own record with visits before and after today", func(t *testing.T) {
		var patientLogin, doctorLogin seed.Login
		for _, l := range res.Logins {
			switch l.Role {
			case hg.RolePatient:
				patientLogin = l
			case hg.RolePractitioner:
				doctorLogin = l
			}
		}
		u, _ := db.UserByEmail(ctx, patientLogin.Email)
		self := hg.PatientScope{SelfUserID: &u.ID}
		ps, total, err := db.ListPatients(ctx, self, hg.PatientFilter{}, hg.Page{First: 10, Count: true})
		if err != nil || total != 1 || ps[0].ID != *patientLogin.PatientID {
			t.Fatalf("patient login sees %d patients (%v), want exactly its own", total, err)
		}
		appts, _, _ := db.ListAppointments(ctx, self, hg.AppointmentFilter{}, hg.Page{First: 50})
		var past, future int
		for _, a := range appts {
			if a.PractitionerID != *doctorLogin.PractitionerID {
				t.Errorf("demo patient's appointment is with %s, want the demo doctor", a.PractitionerID)
			}
			if a.StartsAt.Before(clock) {
				past++
			} else {
				future++
			}
		}
		if past == 0 || future == 0 {
			t.Fatalf("demo patient has %d past and %d future appointments, want both", past, future)
		}
		doc, _ := db.UserByEmail(ctx, doctorLogin.Email)
		care := hg.PatientScope{CareUserID: &doc.ID}
		if _, err := db.PatientByID(ctx, care, *patientLogin.PatientID); err != nil {
			t.Fatalf("demo doctor cannot see the demo patient: %v", err)
		}
	})
	t.Run("data satisfies the domain's own validation", func(t *testing.T) {
		ps, _, err := db.ListPatients(ctx, hg.PatientScope{All: true}, hg.PatientFilter{}, hg.Page{First: 200})
		if err != nil || len(ps) != 150 {
			t.Fatalf("%d patients, %v; want 150", len(ps), err)
		}
		var arabic int
		for _, p := range ps {
			in := hg.NewPatient{NationalID: p.NationalID, FirstName: p.FirstName, FamilyName: p.FamilyName,
				FirstNameAr: p.FirstNameAr, FamilyNameAr: p.FamilyNameAr, BirthDate: p.BirthDate, Gender: p.Gender,
				Phone: p.Phone, Email: p.Email}
			if err := in.Validate(clock); err != nil {
				t.Errorf("generated patient fails validation: %v", err)
			}
			if p.FirstNameAr != "" {
				arabic++
			}
		}
		if arabic != len(ps) {
			t.Errorf("%d of %d patients have Arabic names", arabic, len(ps))
		}
		var badCodes int
		db.Pool.QueryRow(ctx, `SELECT count(*) FROM medical_records WHERE kind = 'DIAGNOSIS' AND cardinality(codes) = 0`).Scan(&badCodes)
		if badCodes != 0 {
			t.Errorf("%d diagnoses without a code", badCodes)
		}
		var amended int
		db.Pool.QueryRow(ctx, `SELECT count(*) FROM medical_records WHERE superseded_by IS NOT NULL`).Scan(&amended)
		if amended != 1 {
			t.Errorf("%d amended records, want the one demo amendment", amended)
		}
	})
	t.Run("seeding twice is CONFLICT", func(t *testing.T) {
		_, err := seed.Demo(ctx, db, hashCheaply, seed.Options{Seed: 7, Now: clock})
		if hg.ErrorCode(err) != hg.ECONFLICT {
			t.Fatalf("second demo: %v, want CONFLICT", err)
		}
	})
}

func TestPatientsScalesAndIsDeterministic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	type snapshot struct {
		sum      seed.Summary
		patients []uuid.UUID
		ids      []string
	}
	run := func() snapshot {
		db := pgtest.New(t, postgres.Options{})
		var calls int
		sum, err := seed.Patients(ctx, db, 2500, seed.Options{Seed: 42, Now: clock}, func(done, total int) {
			calls++
			if total != 2500 || done > total {
				t.Errorf("progress(%d, %d)", done, total)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if calls != 2 {
			t.Errorf("progress called %d times, want 2 (chunks of 2000)", calls)
		}
		// A second run on the same database adds, never collides.
		more, err := seed.Patients(ctx, db, 10, seed.Options{Seed: 42, Now: clock}, nil)
		if err != nil || more.Patients != 10 {
			t.Fatalf("second run: %+v, %v", more, err)
		}
		var s snapshot
		s.sum = sum
		rows, _ := db.Pool.Query(ctx, `SELECT id FROM patients ORDER BY id LIMIT 20`)
		ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			t.Fatal(err)
		}
		var clear int
		if err := db.Pool.QueryRow(ctx, `SELECT count(national_id) + count(phone) FROM patients`).Scan(&clear); err != nil || clear != 0 {
			t.Fatalf("%d national IDs or phones copied in clear (%v), want all sealed", clear, err)
		}
		for _, id := range ids { // national IDs are sealed: read them through the store
			p, err := db.PatientByID(ctx, hg.PatientScope{All: true}, id)
			if err != nil {
				t.Fatal(err)
			}
			s.patients, s.ids = append(s.patients, id), append(s.ids, p.NationalID)
		}
		return s
	}
	a, b := run(), run()
	t.Logf("2,500 patients: %+v", a.sum)
	if a.sum.Patients != 2500 || a.sum.Appointments < 2500 || a.sum.Records == 0 || a.sum.Coverages < 1800 {
		t.Fatalf("summary %+v, want 2500 patients, ≥1 appointment each on average, records and coverage", a.sum)
	}
	if a.sum != b.sum {
		t.Fatalf("same seed, different runs: %+v vs %+v", a.sum, b.sum)
	}
	for i := range a.patients {
		if a.patients[i] != b.patients[i] || a.ids[i] != b.ids[i] {
			t.Fatalf("same seed, different patient %d: %s/%s vs %s/%s", i, a.patients[i], a.ids[i], b.patients[i], b.ids[i])
		}
		if !hg.ValidNationalID(a.ids[i]) {
			t.Fatalf("national ID %q has the wrong format", a.ids[i])
		}
	}
}
