package healthgraph_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
)

func TestValidNationalID(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]bool{
		"1000000001": true, "2123456789": true, // citizen, iqama
		"3123456789": false, "0123456789": false, // wrong first digit
		"112345678": false, "11234567890": false, // 9 and 11 digits
		"11234567a9": false, "": false, " 1123456789": false,
	} {
		if got := hg.ValidNationalID(id); got != want {
			t.Errorf("ValidNationalID(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestValidICD10(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]bool{
		"E11.9": true, "I10": true, "E11.65": true, "C7A.01": true, "A09": true, "Z88.0": true, "S93.401A": true,
		"E1": false, "e11.9": false, "E11.": false, "11.9": false, "E11.12345": false, "E11 9": false, "": false,
	} {
		if got := hg.ValidICD10(code); got != want {
			t.Errorf("ValidICD10(%q) = %v, want %v", code, got, want)
		}
	}
}

func TestAppointmentTransitions(t *testing.T) {
	t.Parallel()
	allowed := map[[2]hg.AppointmentStatus]bool{
		{hg.AppointmentBooked, hg.AppointmentCheckedIn}:    true,
		{hg.AppointmentBooked, hg.AppointmentCancelled}:    true,
		{hg.AppointmentBooked, hg.AppointmentNoShow}:       true,
		{hg.AppointmentCheckedIn, hg.AppointmentCompleted}: true,
		{hg.AppointmentCheckedIn, hg.AppointmentCancelled}: true,
	}
	for _, from := range hg.AppointmentStatuses {
		for _, to := range hg.AppointmentStatuses {
			if got := from.CanBecome(to); got != allowed[[2]hg.AppointmentStatus{from, to}] {
				t.Errorf("%s → %s allowed = %v, want %v", from, to, got, !got)
			}
		}
	}
}

func TestNewAppointmentValidate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)
	start := now.Add(24 * time.Hour)
	ok := hg.NewAppointment{PatientID: uuid.New(), PractitionerID: uuid.New(), StartsAt: start, EndsAt: start.Add(30 * time.Minute)}
	for _, tc := range []struct {
		name  string
		edit  func(*hg.NewAppointment)
		field string
	}{
		{"valid", func(*hg.NewAppointment) {}, ""},
		{"in the past", func(a *hg.NewAppointment) { a.StartsAt = now.Add(-time.Minute) }, "startsAt"},
		{"ends before it starts", func(a *hg.NewAppointment) { a.EndsAt = start.Add(-time.Minute) }, "endsAt"},
		{"ends when it starts", func(a *hg.NewAppointment) { a.EndsAt = start }, "endsAt"},
		{"longer than four hours", func(a *hg.NewAppointment) { a.EndsAt = start.Add(5 * time.Hour) }, "endsAt"},
		{"over a year ahead", func(a *hg.NewAppointment) { a.StartsAt = now.AddDate(2, 0, 0); a.EndsAt = a.StartsAt.Add(time.Hour) }, "startsAt"},
		{"no practitioner", func(a *hg.NewAppointment) { a.PractitionerID = uuid.Nil }, "practitionerId"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := ok
			tc.edit(&a)
			err := a.Validate(now)
			if got := hg.ErrorField(err); got != tc.field || (tc.field != "" && hg.ErrorCode(err) != hg.EINVALID) {
				t.Fatalf("Validate = %v, want field %q", err, tc.field)
			}
		})
	}
}

func TestScheduleSlots(t *testing.T) {
	t.Parallel()
	sunday := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC) // a working day in Riyadh
	slots := hg.DefaultSchedule.Slots(sunday)
	if len(slots) != 16 {
		t.Fatalf("%d slots, want 16", len(slots))
	}
	first, last := slots[0].StartsAt.In(hg.ClinicZone), slots[15].EndsAt.In(hg.ClinicZone)
	if first.Format("2006-01-02 15:04") != "2026-11-22 08:00" || last.Format("15:04") != "16:00" {
		t.Fatalf("slots run %s to %s, want 08:00 to 16:00 Riyadh on the 22nd", first, last)
	}
	if got := first.UTC().Hour(); got != 5 {
		t.Fatalf("08:00 Riyadh is %02d:00 UTC, want 05:00", got)
	}
	for _, d := range []int{27, 28} { // Friday, Saturday
		if n := len(hg.DefaultSchedule.Slots(time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC))); n != 0 {
			t.Errorf("%d slots on the weekend day %d, want none", n, d)
		}
	}
}

func TestNewRecordNormalisesCodes(t *testing.T) {
	t.Parallel()
	r := hg.NewRecord{PatientID: uuid.New(), Kind: hg.RecordDiagnosis, Codes: []string{" e11.9", "E11.9", "i10"}, Body: " note "}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(r.Codes) != 2 || r.Codes[0] != "E11.9" || r.Codes[1] != "I10" || r.Body != "note" {
		t.Fatalf("normalised to %q / %q, want [E11.9 I10] / note", r.Codes, r.Body)
	}
	r = hg.NewRecord{PatientID: uuid.New(), Kind: hg.RecordDiagnosis, Body: "x"}
	if hg.ErrorField(r.Validate()) != "codes" {
		t.Fatal("a diagnosis without codes passed validation")
	}
}

func FuzzNewPatientValidate(f *testing.F) {
	f.Add("1000000001", "Amal", "أمل", "+966512345678", "a@b.example")
	f.Add("2x", "", "\x00", "call", "no")
	f.Fuzz(func(t *testing.T, nid, first, ar, phone, email string) {
		p := hg.NewPatient{NationalID: nid, FirstName: first, FamilyName: "X", FirstNameAr: ar, Phone: phone,
			Email: email, BirthDate: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), Gender: hg.GenderMale}
		err := p.Validate(time.Now())
		if err != nil && (hg.ErrorCode(err) != hg.EINVALID || hg.ErrorField(err) == "") {
			t.Fatalf("error without code or field: %v", err)
		}
		if err == nil && !hg.ValidNationalID(p.NationalID) {
			t.Fatalf("accepted national ID %q", p.NationalID)
		}
	})
}
