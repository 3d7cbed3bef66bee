package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
)

// clinic is a small clinic for a test: two practitioners, and patients A
// (with a login and an appointment with doctor 1) and B (unrelated).
type clinic struct {
	db           *postgres.DB
	admin        *hg.User
	doc1, doc2   *hg.Practitioner
	doc1User     *hg.User
	doc2User     *hg.User
	patientA     *hg.Patient
	patientB     *hg.Patient
	patientAUser *hg.User
	apptA        *hg.Appointment
}

var seq atomic.Int64

// nextNationalID returns a fresh valid-format national ID.
func nextNationalID() string { return fmt.Sprintf("1%09d", seq.Add(1)) }

func mustUser(t *testing.T, db *postgres.DB, role hg.Role) *hg.User {
	t.Helper()
	u := &hg.User{Email: fmt.Sprintf("u%d@clinic.test", seq.Add(1)), FullName: "Test " + string(role), PasswordHash: "x", Role: role}
	if err := db.CreateUser(context.Background(), u); err != nil {
		t.Fatalf("create user: %v", err)
	}
	return u
}

func mustPractitioner(t *testing.T, db *postgres.DB, code, specialty string) (*hg.Practitioner, *hg.User) {
	t.Helper()
	u := mustUser(t, db, hg.RolePractitioner)
	p, err := db.CreatePractitioner(context.Background(), hg.NewPractitioner{UserID: u.ID, FirstName: "Khalid",
		FamilyName: "Alharbi", SpecialtyCode: code, Specialty: specialty, License: fmt.Sprintf("SCFHS-%d", seq.Add(1))})
	if err != nil {
		t.Fatalf("create practitioner: %v", err)
	}
	return p, u
}

func mustPatient(t *testing.T, db *postgres.DB, first, family string) *hg.Patient {
	t.Helper()
	p, err := db.CreatePatient(context.Background(), hg.NewPatient{NationalID: nextNationalID(), FirstName: first,
		FamilyName: family, BirthDate: time.Date(1985, 3, 14, 0, 0, 0, 0, time.UTC), Gender: hg.GenderFemale})
	if err != nil {
		t.Fatalf("create patient: %v", err)
	}
	return p
}

// slot returns a window days ahead at hour:00 Riyadh time, lasting 30 min.
func slot(days, hour int) (time.Time, time.Time) {
	d := time.Now().In(hg.ClinicZone).AddDate(0, 0, days)
	start := time.Date(d.Year(), d.Month(), d.Day(), hour, 0, 0, 0, hg.ClinicZone)
	return start, start.Add(30 * time.Minute)
}

func setup(t *testing.T) *clinic {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t, postgres.Options{})
	c := &clinic{db: db, admin: mustUser(t, db, hg.RoleAdmin)}
	c.doc1, c.doc1User = mustPractitioner(t, db, "08.00", "Internal Medicine")
	c.doc2, c.doc2User = mustPractitioner(t, db, "14.00", "Pediatric")
	c.patientA = mustPatient(t, db, "Amal", "Alotaibi")
	c.patientB = mustPatient(t, db, "Badr", "Alqahtani")
	c.patientAUser = mustUser(t, db, hg.RolePatient)
	var err error
	if c.patientA, err = db.LinkPatientUser(ctx, c.patientA.ID, c.patientAUser.ID); err != nil {
		t.Fatalf("link patient: %v", err)
	}
	start, end := slot(2, 9)
	c.apptA, err = db.BookAppointment(ctx, all, hg.NewAppointment{PatientID: c.patientA.ID,
		PractitionerID: c.doc1.ID, StartsAt: start, EndsAt: end, Reason: "follow-up"})
	if err != nil {
		t.Fatalf("book: %v", err)
	}
	return c
}

var all = hg.PatientScope{All: true}

func wantCode(t *testing.T, err error, code, field string) {
	t.Helper()
	if got := hg.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
	if field != "" && hg.ErrorField(err) != field {
		t.Fatalf("error field = %q (%v), want %q", hg.ErrorField(err), err, field)
	}
}

func TestCreatePatientRejectsBadInput(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ok := func() hg.NewPatient {
		return hg.NewPatient{NationalID: nextNationalID(), FirstName: "Noura", FamilyName: "Alshehri",
			BirthDate: time.Date(1990, 1, 2, 0, 0, 0, 0, time.UTC), Gender: hg.GenderFemale}
	}
	long := string(make([]rune, hg.MaxNameLength+1))
	for _, tc := range []struct {
		name  string
		edit  func(*hg.NewPatient)
		code  string
		field string
	}{
		{"national ID of 9 digits", func(p *hg.NewPatient) { p.NationalID = "123456789" }, hg.EINVALID, "nationalId"},
		{"national ID starting with 3", func(p *hg.NewPatient) { p.NationalID = "3123456789" }, hg.EINVALID, "nationalId"},
		{"missing first name", func(p *hg.NewPatient) { p.FirstName = "  " }, hg.EINVALID, "firstName"},
		{"over-long family name", func(p *hg.NewPatient) { p.FamilyName = "x" + long }, hg.EINVALID, "familyName"},
		{"birth date in the future", func(p *hg.NewPatient) { p.BirthDate = time.Now().AddDate(0, 0, 2) }, hg.EINVALID, "birthDate"},
		{"unknown gender", func(p *hg.NewPatient) { p.Gender = "X" }, hg.EINVALID, "gender"},
		{"bad phone", func(p *hg.NewPatient) { p.Phone = "call me" }, hg.EINVALID, "phone"},
		{"bad email", func(p *hg.NewPatient) { p.Email = "not-an-email" }, hg.EINVALID, "email"},
		{"bad MRN", func(p *hg.NewPatient) { p.MRN = "MRN 1" }, hg.EINVALID, "mrn"},
		{"taken national ID", func(p *hg.NewPatient) { p.NationalID = c.patientA.NationalID }, hg.ECONFLICT, "nationalId"},
		{"taken MRN", func(p *hg.NewPatient) { p.MRN = c.patientA.MRN }, hg.ECONFLICT, "mrn"},
		{"unknown user", func(p *hg.NewPatient) { id := uuid.New(); p.UserID = &id }, hg.EINVALID, "userId"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := ok()
			tc.edit(&in)
			_, err := c.db.CreatePatient(context.Background(), in)
			wantCode(t, err, tc.code, tc.field)
		})
	}
	t.Run("an iqama and an assigned MRN are accepted", func(t *testing.T) {
		in := ok()
		in.NationalID = "2" + in.NationalID[1:]
		p, err := c.db.CreatePatient(context.Background(), in)
		if err != nil || p.MRN == "" {
			t.Fatalf("create = %+v, %v; want a patient with an MRN", p, err)
		}
	})
}

func TestUpdatePatientLeavesOmittedFields(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := context.Background()
	phone, ar := "+966512345678", "أمل"
	got, err := c.db.UpdatePatient(ctx, all, c.patientA.ID, hg.PatientPatch{Phone: &phone, FirstNameAr: &ar})
	if err != nil {
		t.Fatal(err)
	}
	if got.Phone != phone || got.FirstNameAr != ar || got.FirstName != "Amal" || got.NationalID != c.patientA.NationalID {
		t.Fatalf("after patch: %+v; want phone and Arabic name set, the rest unchanged", got)
	}
	t.Run("unknown id is NOT_FOUND", func(t *testing.T) {
		_, err := c.db.UpdatePatient(ctx, all, uuid.New(), hg.PatientPatch{Phone: &phone})
		wantCode(t, err, hg.ENOTFOUND, "")
	})
	t.Run("bad field is BAD_USER_INPUT and writes nothing", func(t *testing.T) {
		bad, name := "12", "Changed"
		_, err := c.db.UpdatePatient(ctx, all, c.patientA.ID, hg.PatientPatch{FirstName: &name, NationalID: &bad})
		wantCode(t, err, hg.EINVALID, "nationalId")
		p, _ := c.db.PatientByID(ctx, all, c.patientA.ID)
		if p.FirstName != "Amal" {
			t.Fatalf("first name = %q after a refused patch, want Amal", p.FirstName)
		}
	})
}

func TestPatientSearch(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := context.Background()
	ar, arFamily := "أمل", "العتيبي"
	if _, err := c.db.UpdatePatient(ctx, all, c.patientA.ID, hg.PatientPatch{FirstNameAr: &ar, FamilyNameAr: &arFamily}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.db.AddCoverage(ctx, all, hg.NewCoverage{PatientID: c.patientB.ID, PayerLicense: "7001463160",
		PayerName: "Saudi National Insurance", MemberID: "M-1", Class: "A", StartsOn: time.Now(), EndsOn: time.Now().AddDate(1, 0, 0)}); err != nil {
		t.Fatal(err)
	}
	birth := time.Date(1985, 3, 14, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		f    hg.PatientFilter
		want []uuid.UUID
	}{
		{"first-name prefix in any case", hg.PatientFilter{Search: "AM"}, []uuid.UUID{c.patientA.ID}},
		{"family-name prefix", hg.PatientFilter{Search: "alq"}, []uuid.UUID{c.patientB.ID}},
		{"Arabic family-name prefix", hg.PatientFilter{Search: "العت"}, []uuid.UUID{c.patientA.ID}},
		{"not a prefix", hg.PatientFilter{Search: "mal"}, nil},
		{"like wildcards match literally", hg.PatientFilter{Search: "%a"}, nil},
		{"underscore matches literally", hg.PatientFilter{Search: "a_"}, nil},
		{"exact MRN", hg.PatientFilter{Search: c.patientB.MRN}, []uuid.UUID{c.patientB.ID}},
		{"exact national ID", hg.PatientFilter{Search: c.patientA.NationalID}, []uuid.UUID{c.patientA.ID}},
		{"payer", hg.PatientFilter{PayerLicense: "7001463160"}, []uuid.UUID{c.patientB.ID}},
		{"birth date", hg.PatientFilter{BirthDate: &birth}, []uuid.UUID{c.patientB.ID, c.patientA.ID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, total, err := c.db.ListPatients(ctx, all, tc.f, hg.Page{First: 10, Count: true})
			if err != nil {
				t.Fatal(err)
			}
			if total != len(tc.want) || len(got) != len(tc.want) {
				t.Fatalf("got %d patients (total %d), want %d", len(got), total, len(tc.want))
			}
			for i := range got {
				if got[i].ID != tc.want[i] {
					t.Fatalf("patient %d = %s, want %s", i, got[i].ID, tc.want[i])
				}
			}
		})
	}
}

// TestPatientScope proves the scope is applied in SQL for every read path.
func TestPatientScope(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := context.Background()
	if _, err := c.db.AddRecord(ctx, all, hg.NewRecord{PatientID: c.patientB.ID, AuthorID: c.admin.ID,
		Kind: hg.RecordNote, Body: "B's note"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.db.AddRecord(ctx, all, hg.NewRecord{PatientID: c.patientA.ID, AuthorID: c.admin.ID,
		Kind: hg.RecordNote, Body: "A's note"}); err != nil {
		t.Fatal(err)
	}
	var covs []*hg.Coverage
	for _, p := range []*hg.Patient{c.patientA, c.patientB} {
		cv, err := c.db.AddCoverage(ctx, all, hg.NewCoverage{PatientID: p.ID, PayerLicense: "7001463160",
			PayerName: "Payer", MemberID: "M-" + p.MRN, Class: "A", StartsOn: time.Now(), EndsOn: time.Now().AddDate(1, 0, 0)})
		if err != nil {
			t.Fatal(err)
		}
		covs = append(covs, cv)
	}
	self := hg.PatientScope{SelfUserID: &c.patientAUser.ID}
	care1 := hg.PatientScope{CareUserID: &c.doc1User.ID}
	care2 := hg.PatientScope{CareUserID: &c.doc2User.ID}
	// Bookings below go to a third practitioner, so they create no care
	// relationship for the scopes under test.
	doc3, _ := mustPractitioner(t, c.db, "06.00", "Family Medicine")
	for _, tc := range []struct {
		name  string
		scope hg.PatientScope
		sees  map[uuid.UUID]bool
	}{
		{"admin sees everyone", all, map[uuid.UUID]bool{c.patientA.ID: true, c.patientB.ID: true}},
		{"patient sees only self", self, map[uuid.UUID]bool{c.patientA.ID: true}},
		{"practitioner sees patients with an appointment", care1, map[uuid.UUID]bool{c.patientA.ID: true}},
		{"practitioner without relationships sees no one", care2, map[uuid.UUID]bool{}},
		{"nobody sees no one", hg.PatientScope{}, map[uuid.UUID]bool{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			list, total, err := c.db.ListPatients(ctx, tc.scope, hg.PatientFilter{}, hg.Page{First: 50, Count: true})
			if err != nil || total != len(tc.sees) || len(list) != len(tc.sees) {
				t.Fatalf("list: %d patients, total %d, err %v; want %d", len(list), total, err, len(tc.sees))
			}
			for _, p := range []*hg.Patient{c.patientA, c.patientB} {
				_, err := c.db.PatientByID(ctx, tc.scope, p.ID)
				if visible := err == nil; visible != tc.sees[p.ID] {
					t.Errorf("PatientByID(%s) visible = %v (%v), want %v", p.FirstName, visible, err, tc.sees[p.ID])
				} else if !visible {
					wantCode(t, err, hg.ENOTFOUND, "")
				}
				recs, _, err := c.db.ListRecords(ctx, tc.scope, p.ID, hg.RecordFilter{}, hg.Page{First: 10})
				if visible := err == nil && len(recs) == 1; visible != tc.sees[p.ID] {
					t.Errorf("ListRecords(%s) visible = %v (%v), want %v", p.FirstName, visible, err, tc.sees[p.ID])
				}
			}
			batch, err := c.db.PatientsByIDs(ctx, tc.scope, []uuid.UUID{c.patientA.ID, c.patientB.ID})
			if err != nil || len(batch) != len(tc.sees) {
				t.Errorf("PatientsByIDs: %d, %v; want %d", len(batch), err, len(tc.sees))
			}
			latest, err := c.db.LatestRecordsByPatientIDs(ctx, tc.scope, []uuid.UUID{c.patientA.ID, c.patientB.ID}, 5)
			if err != nil || len(latest) != len(tc.sees) {
				t.Errorf("LatestRecordsByPatientIDs: %d, %v; want %d", len(latest), err, len(tc.sees))
			}
			cov, err := c.db.CoveragesByPatientIDs(ctx, tc.scope, []uuid.UUID{c.patientA.ID, c.patientB.ID})
			if err != nil || len(cov) != len(tc.sees) {
				t.Errorf("CoveragesByPatientIDs: %d, %v; want %d", len(cov), err, len(tc.sees))
			}
			for _, cv := range covs {
				_, err := c.db.CoverageByID(ctx, tc.scope, cv.ID)
				if visible := err == nil; visible != tc.sees[cv.PatientID] {
					t.Errorf("CoverageByID visible = %v (%v), want %v", visible, err, tc.sees[cv.PatientID])
				}
			}
			appts, total, err := c.db.ListAppointments(ctx, tc.scope, hg.AppointmentFilter{}, hg.Page{First: 10, Count: true})
			if wantA := tc.sees[c.patientA.ID]; err != nil || (len(appts) == 1) != wantA || (total == 1) != wantA {
				t.Errorf("ListAppointments: %d (total %d), %v; want visible %v", len(appts), total, err, wantA)
			}
			s, e := slot(20+len(tc.name)%5, 8+len(tc.name)%8)
			_, err = c.db.BookAppointment(ctx, tc.scope, hg.NewAppointment{PatientID: c.patientB.ID,
				PractitionerID: doc3.ID, StartsAt: s, EndsAt: e})
			if booked := err == nil; booked != tc.sees[c.patientB.ID] {
				t.Errorf("booking for B succeeded = %v (%v), want %v", booked, err, tc.sees[c.patientB.ID])
			}
		})
	}
	t.Run("break-glass grants access until it expires", func(t *testing.T) {
		if _, err := c.db.PatientByID(ctx, care2, c.patientA.ID); hg.ErrorCode(err) != hg.ENOTFOUND {
			t.Fatalf("before the grant: %v, want NOT_FOUND", err)
		}
		g, err := c.db.GrantBreakGlass(ctx, c.doc2User.ID, c.patientA.ID, "unconscious in the ER", time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.db.PatientByID(ctx, care2, c.patientA.ID); err != nil {
			t.Fatalf("during the grant: %v, want the patient", err)
		}
		if recs, _, err := c.db.ListRecords(ctx, care2, c.patientA.ID, hg.RecordFilter{}, hg.Page{First: 5}); err != nil || len(recs) != 1 {
			t.Fatalf("records during the grant: %d, %v", len(recs), err)
		}
		if _, err := c.db.PatientByID(ctx, care2, c.patientB.ID); hg.ErrorCode(err) != hg.ENOTFOUND {
			t.Fatalf("the grant leaked to another patient: %v", err)
		}
		// The clock moves for the grant instead of the test waiting for it.
		if _, err := c.db.Pool.Exec(ctx, `UPDATE break_glass_grants SET created_at = now() - interval '2 hours', expires_at = now() - interval '1 second' WHERE id = $1`, g.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := c.db.PatientByID(ctx, care2, c.patientA.ID); hg.ErrorCode(err) != hg.ENOTFOUND {
			t.Fatalf("after expiry: %v, want NOT_FOUND", err)
		}
	})
	t.Run("break-glass needs a reason", func(t *testing.T) {
		_, err := c.db.GrantBreakGlass(ctx, c.doc2User.ID, c.patientA.ID, "why", time.Now().Add(time.Hour))
		wantCode(t, err, hg.EINVALID, "reason")
	})
}

func TestDoubleBookingHasOneWinner(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := context.Background()
	start, end := slot(3, 10)
	const n = 20
	var wg sync.WaitGroup
	var won, conflicts atomic.Int32
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Overlapping, not identical, windows: the constraint is about
			// time ranges, not equal start times.
			off := time.Duration(i%3) * 10 * time.Minute
			_, err := c.db.BookAppointment(ctx, all, hg.NewAppointment{PatientID: c.patientB.ID,
				PractitionerID: c.doc2.ID, StartsAt: start.Add(off), EndsAt: end.Add(off)})
			switch hg.ErrorCode(err) {
			case "":
				won.Add(1)
			case hg.ECONFLICT:
				conflicts.Add(1)
			default:
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("unexpected error: %v", err)
	}
	if won.Load() != 1 || conflicts.Load() != n-1 {
		t.Fatalf("%d won and %d got CONFLICT, want 1 and %d", won.Load(), conflicts.Load(), n-1)
	}

	t.Run("a cancelled slot can be booked again", func(t *testing.T) {
		s, e := slot(4, 11)
		first, err := c.db.BookAppointment(ctx, all, hg.NewAppointment{PatientID: c.patientA.ID, PractitionerID: c.doc1.ID, StartsAt: s, EndsAt: e})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.db.BookAppointment(ctx, all, hg.NewAppointment{PatientID: c.patientB.ID, PractitionerID: c.doc1.ID, StartsAt: s, EndsAt: e})
		wantCode(t, err, hg.ECONFLICT, "startsAt")
		cancelled, err := c.db.CancelAppointment(ctx, all, first.ID, "patient travelling")
		if err != nil || cancelled.Status != hg.AppointmentCancelled || cancelled.CancelReason != "patient travelling" {
			t.Fatalf("cancel = %+v, %v", cancelled, err)
		}
		if _, err := c.db.BookAppointment(ctx, all, hg.NewAppointment{PatientID: c.patientB.ID, PractitionerID: c.doc1.ID, StartsAt: s, EndsAt: e}); err != nil {
			t.Fatalf("rebooking the cancelled slot: %v", err)
		}
	})
	t.Run("rescheduling onto a taken slot is CONFLICT, onto a free one succeeds", func(t *testing.T) {
		s, e := slot(5, 9)
		other, err := c.db.BookAppointment(ctx, all, hg.NewAppointment{PatientID: c.patientB.ID, PractitionerID: c.doc1.ID, StartsAt: s, EndsAt: e})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.db.RescheduleAppointment(ctx, all, c.apptA.ID, s.Add(15*time.Minute), e.Add(15*time.Minute))
		wantCode(t, err, hg.ECONFLICT, "startsAt")
		moved, err := c.db.RescheduleAppointment(ctx, all, other.ID, s.Add(10*time.Minute), e.Add(10*time.Minute))
		if err != nil || !moved.StartsAt.Equal(s.Add(10*time.Minute)) {
			t.Fatalf("reschedule onto an overlap of itself = %+v, %v", moved, err)
		}
	})
}

func TestBookAppointmentRejectsBadInput(t *testing.T) {
	t.Parallel()
	c := setup(t)
	s, e := slot(6, 9)
	for _, tc := range []struct {
		name  string
		in    hg.NewAppointment
		code  string
		field string
	}{
		{"start in the past", hg.NewAppointment{PatientID: c.patientA.ID, PractitionerID: c.doc1.ID, StartsAt: time.Now().Add(-time.Hour), EndsAt: time.Now()}, hg.EINVALID, "startsAt"},
		{"end before start", hg.NewAppointment{PatientID: c.patientA.ID, PractitionerID: c.doc1.ID, StartsAt: s, EndsAt: s.Add(-time.Minute)}, hg.EINVALID, "endsAt"},
		{"too long", hg.NewAppointment{PatientID: c.patientA.ID, PractitionerID: c.doc1.ID, StartsAt: s, EndsAt: s.Add(5 * time.Hour)}, hg.EINVALID, "endsAt"},
		{"over-long reason", hg.NewAppointment{PatientID: c.patientA.ID, PractitionerID: c.doc1.ID, StartsAt: s, EndsAt: e, Reason: string(make([]byte, 501))}, hg.EINVALID, "reason"},
		{"unknown patient", hg.NewAppointment{PatientID: uuid.New(), PractitionerID: c.doc1.ID, StartsAt: s, EndsAt: e}, hg.ENOTFOUND, ""},
		{"unknown practitioner", hg.NewAppointment{PatientID: c.patientA.ID, PractitionerID: uuid.New(), StartsAt: s, EndsAt: e}, hg.ENOTFOUND, "practitionerId"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.db.BookAppointment(context.Background(), all, tc.in)
			wantCode(t, err, tc.code, tc.field)
		})
	}
}

func TestAppointmentStatusTransitions(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := context.Background()
	for i, tc := range []struct {
		path []hg.AppointmentStatus
		code string // of the last step
	}{
		{[]hg.AppointmentStatus{hg.AppointmentCheckedIn, hg.AppointmentCompleted}, ""},
		{[]hg.AppointmentStatus{hg.AppointmentNoShow}, ""},
		{[]hg.AppointmentStatus{hg.AppointmentCompleted}, hg.ECONFLICT},
		{[]hg.AppointmentStatus{hg.AppointmentNoShow, hg.AppointmentCheckedIn}, hg.ECONFLICT},
		{[]hg.AppointmentStatus{hg.AppointmentCheckedIn, hg.AppointmentCompleted, hg.AppointmentBooked}, hg.ECONFLICT},
		{[]hg.AppointmentStatus{hg.AppointmentCancelled}, hg.EINVALID},
	} {
		t.Run(fmt.Sprint(tc.path), func(t *testing.T) {
			s, e := slot(7, 8+i)
			a, err := c.db.BookAppointment(ctx, all, hg.NewAppointment{PatientID: c.patientB.ID, PractitionerID: c.doc2.ID, StartsAt: s, EndsAt: e})
			if err != nil {
				t.Fatal(err)
			}
			for j, st := range tc.path {
				a, err = c.db.UpdateAppointmentStatus(ctx, all, a.ID, st)
				if j < len(tc.path)-1 && err != nil {
					t.Fatalf("step %s: %v", st, err)
				}
			}
			wantCode(t, err, tc.code, "")
		})
	}
	t.Run("a completed appointment cannot be cancelled", func(t *testing.T) {
		s, e := slot(8, 9)
		a, _ := c.db.BookAppointment(ctx, all, hg.NewAppointment{PatientID: c.patientB.ID, PractitionerID: c.doc2.ID, StartsAt: s, EndsAt: e})
		c.db.UpdateAppointmentStatus(ctx, all, a.ID, hg.AppointmentCheckedIn)
		c.db.UpdateAppointmentStatus(ctx, all, a.ID, hg.AppointmentCompleted)
		_, err := c.db.CancelAppointment(ctx, all, a.ID, "changed mind")
		wantCode(t, err, hg.ECONFLICT, "")
	})
	t.Run("cancel needs a reason", func(t *testing.T) {
		_, err := c.db.CancelAppointment(ctx, all, c.apptA.ID, " ")
		wantCode(t, err, hg.EINVALID, "reason")
	})
	t.Run("unknown appointment is NOT_FOUND", func(t *testing.T) {
		_, err := c.db.UpdateAppointmentStatus(ctx, all, uuid.New(), hg.AppointmentCheckedIn)
		wantCode(t, err, hg.ENOTFOUND, "")
	})
	t.Run("racing transitions from one status: one wins", func(t *testing.T) {
		s, e := slot(9, 9)
		a, _ := c.db.BookAppointment(ctx, all, hg.NewAppointment{PatientID: c.patientB.ID, PractitionerID: c.doc2.ID, StartsAt: s, EndsAt: e})
		var wg sync.WaitGroup
		var ok atomic.Int32
		for _, st := range []hg.AppointmentStatus{hg.AppointmentCheckedIn, hg.AppointmentNoShow, hg.AppointmentCheckedIn, hg.AppointmentNoShow} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := c.db.UpdateAppointmentStatus(ctx, all, a.ID, st); err == nil {
					ok.Add(1)
				} else if hg.ErrorCode(err) != hg.ECONFLICT {
					t.Errorf("racing transition: %v, want CONFLICT", err)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 1 {
			t.Fatalf("%d transitions from BOOKED won, want 1", ok.Load())
		}
	})
}

func TestAmendKeepsTheOriginal(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := context.Background()
	orig, err := c.db.AddRecord(ctx, all, hg.NewRecord{PatientID: c.patientA.ID, AuthorID: c.doc1User.ID,
		Kind: hg.RecordDiagnosis, Codes: []string{"e11.9"}, Body: "Type 2 diabetes"})
	if err != nil {
		t.Fatal(err)
	}
	if orig.Codes[0] != "E11.9" || orig.Version != 1 {
		t.Fatalf("added record = %+v, want code E11.9 version 1", orig)
	}
	amended, err := c.db.AmendRecord(ctx, all, hg.RecordAmendment{RecordID: orig.ID, AuthorID: c.doc1User.ID,
		Codes: []string{"E11.65"}, Body: "Type 2 diabetes with hyperglycaemia"})
	if err != nil {
		t.Fatal(err)
	}
	if amended.Version != 2 || amended.SupersedesID == nil || *amended.SupersedesID != orig.ID || amended.Kind != hg.RecordDiagnosis {
		t.Fatalf("amendment = %+v, want version 2 superseding the original", amended)
	}
	kept, err := c.db.RecordByID(ctx, all, orig.ID)
	if err != nil || kept.Body != "Type 2 diabetes" || kept.SupersededByID == nil || *kept.SupersededByID != amended.ID {
		t.Fatalf("original after amend = %+v, %v; want it unchanged and linked", kept, err)
	}
	current, total, _ := c.db.ListRecords(ctx, all, c.patientA.ID, hg.RecordFilter{}, hg.Page{First: 10, Count: true})
	every, totalAll, _ := c.db.ListRecords(ctx, all, c.patientA.ID, hg.RecordFilter{IncludeSuperseded: true}, hg.Page{First: 10, Count: true})
	if total != 1 || current[0].ID != amended.ID || totalAll != 2 || len(every) != 2 {
		t.Fatalf("current %d (total %d), every %d (total %d); want 1 and 2", len(current), total, len(every), totalAll)
	}
	for _, tc := range []struct {
		name  string
		in    hg.RecordAmendment
		code  string
		field string
	}{
		{"amending a superseded version", hg.RecordAmendment{RecordID: orig.ID, AuthorID: c.doc1User.ID, Codes: []string{"E11.9"}, Body: "again"}, hg.ECONFLICT, "id"},
		{"an invalid ICD-10 code", hg.RecordAmendment{RecordID: amended.ID, AuthorID: c.doc1User.ID, Codes: []string{"E1"}, Body: "x"}, hg.EINVALID, "codes"},
		{"a diagnosis without codes", hg.RecordAmendment{RecordID: amended.ID, AuthorID: c.doc1User.ID, Body: "x"}, hg.EINVALID, "codes"},
		{"an empty body", hg.RecordAmendment{RecordID: amended.ID, AuthorID: c.doc1User.ID, Codes: []string{"E11.9"}}, hg.EINVALID, "body"},
		{"an unknown record", hg.RecordAmendment{RecordID: uuid.New(), AuthorID: c.doc1User.ID, Body: "x"}, hg.ENOTFOUND, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.db.AmendRecord(ctx, all, tc.in)
			wantCode(t, err, tc.code, tc.field)
		})
	}
	t.Run("the database refuses to change or delete a record", func(t *testing.T) {
		for _, sql := range []string{
			`UPDATE medical_records SET body = 'tampered'`,
			`DELETE FROM medical_records`,
			`UPDATE medical_records SET superseded_by = NULL`,
		} {
			if _, err := c.db.Pool.Exec(ctx, sql); err == nil {
				t.Errorf("%s succeeded, want it refused", sql)
			}
		}
	})
	t.Run("nothing is half-written when the link fails", func(t *testing.T) {
		var n int
		c.db.Pool.QueryRow(ctx, `SELECT count(*) FROM medical_records`).Scan(&n)
		if n != 2 {
			t.Fatalf("%d records after refused amendments, want 2", n)
		}
	})
}

func TestKeysetPaginationIsStableUnderInserts(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := context.Background()
	for i := range 23 {
		mustPatient(t, c.db, fmt.Sprintf("Page%02d", i), "Test")
	}
	before, total, err := c.db.ListPatients(ctx, all, hg.PatientFilter{}, hg.Page{First: 100, Count: true})
	if err != nil || total != 25 {
		t.Fatalf("total = %d, %v; want 25", total, err)
	}
	var seen []uuid.UUID
	var after *hg.Cursor
	for page := 0; ; page++ {
		got, _, err := c.db.ListPatients(ctx, all, hg.PatientFilter{}, hg.Page{First: 7, After: after})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			break
		}
		for _, p := range got {
			seen = append(seen, p.ID)
		}
		last := got[len(got)-1]
		after = &hg.Cursor{Key: []string{last.CreatedAt.Format(time.RFC3339Nano)}, ID: last.ID}
		mustPatient(t, c.db, fmt.Sprintf("Inserted%d", page), "Meanwhile") // lands before the cursor
	}
	if len(seen) != len(before) {
		t.Fatalf("walked %d patients, want the %d that existed", len(seen), len(before))
	}
	for i := range seen {
		if seen[i] != before[i].ID {
			t.Fatalf("item %d = %s, want %s: a page shifted", i, seen[i], before[i].ID)
		}
	}
}

func TestPractitionerSchedule(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := context.Background()
	days := 11
	for s, _ := slot(days, 0); !hg.DefaultSchedule.WorkingDay(s); s, _ = slot(days, 0) {
		days++
	}
	start, end := slot(days, 9)
	booked, err := c.db.BookAppointment(ctx, all, hg.NewAppointment{PatientID: c.patientB.ID,
		PractitionerID: c.doc2.ID, StartsAt: start.Add(10 * time.Minute), EndsAt: end.Add(10 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	slots, err := c.db.PractitionerSchedule(ctx, c.doc2.ID, start, hg.Schedule{})
	if err != nil {
		t.Fatal(err)
	}
	if len(slots) != 16 {
		t.Fatalf("%d slots, want 16 (08:00-16:00 in 30 minutes)", len(slots))
	}
	for _, s := range slots {
		// 09:10-09:40 overlaps the 09:00 and 09:30 slots.
		taken := s.StartsAt.Before(booked.EndsAt) && s.EndsAt.After(booked.StartsAt)
		if s.Free == taken {
			t.Errorf("slot %s free = %v, want %v", s.StartsAt.In(hg.ClinicZone).Format("15:04"), s.Free, !taken)
		}
	}
	weekend := start
	for hg.DefaultSchedule.WorkingDay(weekend) {
		weekend = weekend.AddDate(0, 0, 1)
	}
	if slots, err := c.db.PractitionerSchedule(ctx, c.doc2.ID, weekend, hg.Schedule{}); err != nil || len(slots) != 0 {
		t.Fatalf("weekend: %d slots, %v; want none", len(slots), err)
	}
	if h := slots[0].StartsAt.In(hg.ClinicZone); h.Hour() != 8 || h.Minute() != 0 {
		t.Fatalf("first slot at %s, want 08:00 Riyadh", h.Format("15:04"))
	}
	_, err = c.db.PractitionerSchedule(ctx, uuid.New(), start, hg.Schedule{})
	wantCode(t, err, hg.ENOTFOUND, "")
}

func TestClaimPatientRecord(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := context.Background()
	birth := c.patientB.BirthDate
	u := mustUser(t, c.db, hg.RolePatient)
	for _, tc := range []struct {
		name      string
		nid       string
		birth     time.Time
		user      uuid.UUID
		code      string
		wantField string
	}{
		{"wrong birth date", c.patientB.NationalID, birth.AddDate(0, 0, 1), u.ID, hg.ENOTFOUND, ""},
		{"unknown national ID", "1999999999", birth, u.ID, hg.ENOTFOUND, ""},
		{"malformed national ID", "12", birth, u.ID, hg.EINVALID, "nationalId"},
		{"a record already claimed", c.patientA.NationalID, c.patientA.BirthDate, u.ID, hg.ECONFLICT, ""},
		{"a user who already has a record", c.patientB.NationalID, birth, c.patientAUser.ID, hg.ECONFLICT, "userId"},
		{"matching identity", c.patientB.NationalID, birth, u.ID, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := c.db.ClaimPatientRecord(ctx, tc.user, hg.PatientClaim{NationalID: tc.nid, BirthDate: tc.birth}, hg.ClaimAttemptLimit)
			wantCode(t, err, tc.code, tc.wantField)
			if tc.code == "" && (p.UserID == nil || *p.UserID != u.ID) {
				t.Fatalf("claimed record = %+v, want it linked to the user", p)
			}
		})
	}
}
