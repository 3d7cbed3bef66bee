package resolvers_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/dataloader"
	"github.com/healthgraph/healthgraph/internal/eventually"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
	"github.com/healthgraph/healthgraph/seed"
	"github.com/healthgraph/healthgraph/server"
	"github.com/healthgraph/healthgraph/server/servertest"
)

// clinic is a small clinic behind a real server: patient A (with a login
// and an appointment and a record with doctor 1) and patient B (unrelated),
// and a token per role.
type clinic struct {
	env                *servertest.Env
	stmts              *pgtest.Statements
	patientA, patientB *hg.Patient
	doc1, doc2         *hg.Practitioner
	recordA            *hg.MedicalRecord
	apptA              *hg.Appointment
	tokens             map[string]string // by role, plus "DOCTOR2"
}

func setupClinic(t *testing.T, modify ...func(*server.Config)) *clinic {
	t.Helper()
	ctx := context.Background()
	c := &clinic{stmts: &pgtest.Statements{}, tokens: map[string]string{}}
	c.env = servertest.New(t, func(cfg *server.Config, o *postgres.Options) {
		o.Tracer = c.stmts
		for _, m := range modify {
			m(cfg)
		}
	})
	db := c.env.DB
	all := hg.PatientScope{All: true}
	for _, r := range hg.Roles {
		if r == hg.RolePractitioner || r == hg.RolePatient {
			continue
		}
		_, c.tokens[string(r)] = c.env.User(t, string(r)+"@clinic.example", r)
	}
	doctor := func(key, license string) *hg.Practitioner {
		u, tok := c.env.User(t, key+"@clinic.example", hg.RolePractitioner)
		c.tokens[key] = tok
		p, err := db.CreatePractitioner(ctx, hg.NewPractitioner{UserID: u.ID, FirstName: "Sara", FamilyName: "Alzahrani",
			SpecialtyCode: "08.00", Specialty: "Internal Medicine", License: license})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	c.doc1, c.doc2 = doctor("PRACTITIONER", "L-1"), doctor("DOCTOR2", "L-2")
	patient := func(nid, first string) *hg.Patient {
		p, err := db.CreatePatient(ctx, hg.NewPatient{NationalID: nid, FirstName: first, FamilyName: "Alharbi",
			BirthDate: time.Date(1980, 5, 1, 0, 0, 0, 0, time.UTC), Gender: hg.GenderFemale})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	c.patientA, c.patientB = patient("1000000001", "Amal"), patient("1000000002", "Badriya")
	u, tok := c.env.User(t, "patient@clinic.example", hg.RolePatient)
	c.tokens["PATIENT"] = tok
	if _, err := db.LinkPatientUser(ctx, c.patientA.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(48 * time.Hour).Truncate(time.Hour)
	var err error
	if c.apptA, err = db.BookAppointment(ctx, all, hg.NewAppointment{PatientID: c.patientA.ID, PractitionerID: c.doc1.ID,
		StartsAt: start, EndsAt: start.Add(30 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*hg.Patient{c.patientA, c.patientB} {
		rec, err := db.AddRecord(ctx, all, hg.NewRecord{PatientID: p.ID, AuthorID: c.doc1.UserID, Kind: hg.RecordDiagnosis,
			Codes: []string{"I10"}, Body: "Hypertension"})
		if err != nil {
			t.Fatal(err)
		}
		if p == c.patientA {
			c.recordA = rec
		}
	}
	return c
}

// TestChartsShowOnlyWhereClinicalRolesLook covers what the operation matrix
// (matrix_test.go) does not: a chart nested in another answer
// (appointments → patient → latestRecords) follows clinical visibility
// field by field, and break-glass opens exactly one patient's records to
// the practitioner who broke it.
func TestChartsShowOnlyWhereClinicalRolesLook(t *testing.T) {
	t.Parallel()
	c := setupClinic(t)
	A, B := gid("Patient", c.patientA.ID), gid("Patient", c.patientB.ID)
	const (
		nested    = `{ appointments { edges { node { patient { latestRecords { body } } } } } }`
		patient   = `query($id: ID!) { patient(id: $id) { id } }`
		records   = `query($id: ID!) { medicalRecords(patientId: $id) { totalCount } }`
		forbidden = hg.EFORBIDDEN
	)
	for role, want := range map[string]string{
		"ADMIN": "", "PRACTITIONER": "", "DOCTOR2": "", "PATIENT": "",
		"RECEPTION": forbidden, "BILLING": forbidden, "ANALYST": forbidden,
	} {
		t.Run(role+" reads the charts nested in appointments", func(t *testing.T) {
			if got := c.env.Do(t, c.tokens[role], nested, nil).Code(); got != want {
				t.Fatalf("code = %q, want %q", got, want)
			}
		})
	}
	t.Run("the nested chart shows only charts the caller may read", func(t *testing.T) {
		var out struct {
			Appointments struct {
				Edges []struct {
					Node struct {
						Patient struct{ LatestRecords []struct{ Body string } }
					}
				}
			}
		}
		c.env.Do(t, c.tokens["DOCTOR2"], nested, nil).Decode(t, &out)
		if len(out.Appointments.Edges) != 0 {
			t.Fatalf("an unrelated practitioner listed %d appointments", len(out.Appointments.Edges))
		}
	})
	t.Run("break-glass opens one patient to a practitioner, audited", func(t *testing.T) {
		if code := c.env.Do(t, c.tokens["DOCTOR2"], records, map[string]any{"id": B}).Code(); code != hg.ENOTFOUND {
			t.Fatalf("records of B before break-glass: %q, want %s", code, hg.ENOTFOUND)
		}
		res := c.env.Do(t, c.tokens["DOCTOR2"], `mutation($id: ID!) { breakGlass(patientId: $id, reason: "Unconscious in the emergency room") { patient { firstName } expiresAt } }`, map[string]any{"id": B})
		var out struct {
			BreakGlass struct{ Patient struct{ FirstName string } }
		}
		res.Decode(t, &out)
		if out.BreakGlass.Patient.FirstName != "Badriya" {
			t.Fatalf("grant = %+v", out)
		}
		if code := c.env.Do(t, c.tokens["DOCTOR2"], records, map[string]any{"id": B}).Code(); code != "" {
			t.Fatalf("records of B after break-glass: %q, want access", code)
		}
		if code := c.env.Do(t, c.tokens["DOCTOR2"], patient, map[string]any{"id": A}).Code(); code != hg.ENOTFOUND {
			t.Fatalf("break-glass on B leaked A: %q", code)
		}
		if n := c.env.Count(t, `SELECT count(*) FROM audit_events WHERE action = 'patient.break_glass' AND patient_id = $1`, c.patientB.ID); n != 1 {
			t.Fatalf("%d break-glass audit rows, want 1", n)
		}
	})
}

func TestClinicalBadInput(t *testing.T) {
	t.Parallel()
	c := setupClinic(t)
	admin := c.tokens["ADMIN"]
	book := `mutation($in: BookAppointmentInput!) { bookAppointment(input: $in) { id } }`
	soon := time.Now().Add(72 * time.Hour).Truncate(time.Hour)
	bookVars := func(start, end time.Time, patient string) map[string]any {
		return map[string]any{"in": map[string]any{"patientId": patient, "practitionerId": gid("Practitioner", c.doc1.ID),
			"startsAt": start.Format(time.RFC3339), "endsAt": end.Format(time.RFC3339)}}
	}
	A := gid("Patient", c.patientA.ID)
	for _, tc := range []struct {
		name, query string
		vars        map[string]any
		code, field string
	}{
		{"malformed id", `query($id: ID!) { patient(id: $id) { id } }`, map[string]any{"id": "nope"}, hg.EINVALID, "id"},
		{"id of another type", `query($id: ID!) { patient(id: $id) { id } }`, map[string]any{"id": gid("Practitioner", c.doc1.ID)}, hg.EINVALID, "id"},
		{"unknown id", `query($id: ID!) { patient(id: $id) { id } }`, map[string]any{"id": gid("Patient", uuid.New())}, hg.ENOTFOUND, ""},
		{"malformed cursor", `{ patients(after: "zzz") { totalCount } }`, nil, hg.EINVALID, "after"},
		{"first over the cap", `{ patients(first: 101) { totalCount } }`, nil, hg.EINVALID, "first"},
		{"one-letter name search", `{ patients(filter: {search: "a"}) { totalCount } }`, nil, hg.EINVALID, "filter.search"},
		{"malformed date", `query($id: ID!) { practitionerSchedule(practitionerId: $id, date: "22/11/2026") { free } }`, map[string]any{"id": gid("Practitioner", c.doc1.ID)}, hg.EINVALID, "date"},
		{"appointment in the past", book, bookVars(time.Now().Add(-time.Hour), time.Now(), A), hg.EINVALID, "input.startsAt"},
		{"appointment ending before it starts", book, bookVars(soon, soon.Add(-time.Minute), A), hg.EINVALID, "input.endsAt"},
		{"invalid ICD-10 code", `mutation($in: AddMedicalRecordInput!) { addMedicalRecord(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"patientId": A, "kind": "DIAGNOSIS", "codes": []string{"XYZ"}, "body": "x"}}, hg.EINVALID, "input.codes"},
		{"over-long name", `mutation($in: CreatePatientInput!) { createPatient(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"nationalId": "1000000009", "firstName": string(make([]byte, 101)), "familyName": "X", "birthDate": "1990-01-01", "gender": "MALE"}}, hg.EINVALID, "input.firstName"},
		{"bad national ID", `mutation($in: CreatePatientInput!) { createPatient(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"nationalId": "3000000009", "firstName": "Ali", "familyName": "X", "birthDate": "1990-01-01", "gender": "MALE"}}, hg.EINVALID, "input.nationalId"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := c.env.Do(t, admin, tc.query, tc.vars)
			if res.Code() != tc.code || (tc.field != "" && res.Field() != tc.field) {
				t.Fatalf("code %q field %q (%+v), want %q %q", res.Code(), res.Field(), res.Errors, tc.code, tc.field)
			}
		})
	}
	if n := c.env.Count(t, `SELECT count(*) FROM appointments`); n != 1 {
		t.Fatalf("%d appointments after refused bookings, want the 1 from setup", n)
	}
}

func TestConcurrentBookingsThroughGraphQL(t *testing.T) {
	t.Parallel()
	c := setupClinic(t)
	start := time.Now().Add(96 * time.Hour).Truncate(time.Hour)
	var wg sync.WaitGroup
	var won, conflicts atomic.Int32
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := start.Add(time.Duration(i%2) * 15 * time.Minute)
			res := c.env.Do(t, c.tokens["RECEPTION"], `mutation($in: BookAppointmentInput!) { bookAppointment(input: $in) { id } }`,
				map[string]any{"in": map[string]any{"patientId": gid("Patient", c.patientB.ID), "practitionerId": gid("Practitioner", c.doc2.ID),
					"startsAt": s.Format(time.RFC3339), "endsAt": s.Add(30 * time.Minute).Format(time.RFC3339)}})
			switch res.Code() {
			case "":
				won.Add(1)
			case hg.ECONFLICT:
				conflicts.Add(1)
			default:
				t.Errorf("booking: %+v", res.Errors)
			}
		}()
	}
	wg.Wait()
	if won.Load() != 1 || conflicts.Load() != 9 {
		t.Fatalf("%d won, %d CONFLICT; want 1 and 9", won.Load(), conflicts.Load())
	}
}

const appointmentPage = `query($n: Int!) { appointments(first: $n) { totalCount edges { node {
	startsAt status
	patient { firstName familyName coverages { payer { name } memberId } }
	practitioner { familyName specialty } } } } }`

// batchPatiently makes the server's loaders wait 200 ms (scaled under CI)
// for more keys. Tests that count statements count batches, not time: on a
// machine loaded enough that a resolver goroutine waits longer than the
// idle time to run, a batch splits and costs one more statement, which is
// right in production and wrong in such a test (50 ms split a 100-row page
// under a loaded CI run).
func batchPatiently(c *server.Config) {
	c.Loaders = []dataloader.Option{dataloader.WithWait(eventually.Scale(200*time.Millisecond), eventually.Scale(5*time.Second))}
}

// TestAppointmentPageStatements is the figure: a page of
// appointments with patient, practitioner and coverage runs a constant
// number of statements, whatever the page size.
func TestAppointmentPageStatements(t *testing.T) {
	t.Parallel()
	c := setupClinic(t, batchPatiently)
	if _, err := seed.Patients(context.Background(), c.env.DB, 60, seed.Options{Seed: 3}, nil); err != nil {
		t.Fatal(err)
	}
	// A first request fills the session and user caches, which are
	// per-token costs, not per-page ones.
	c.env.Do(t, c.tokens["ADMIN"], appointmentPage, map[string]any{"n": 1})
	for _, n := range []int{5, 50, 100} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			before := c.stmts.Count()
			var out struct {
				Appointments struct{ Edges []struct{} }
			}
			c.env.Do(t, c.tokens["ADMIN"], appointmentPage, map[string]any{"n": n}).Decode(t, &out)
			got := c.stmts.Count() - before
			if len(out.Appointments.Edges) != n || got > 5 {
				t.Fatalf("%d appointments took %d statements, want %d in at most 5", len(out.Appointments.Edges), got, n)
			}
			t.Logf("%d appointments with patient, practitioner and coverages: %d statements", n, got)
		})
	}
}

// TestPatientPageStatements: a page of patients with their coverages
// costs the same statements however many rows it has: the coverages,
// marshalled inline, are queued for the whole page by the first patient
// to ask (model.NewPatients).
func TestPatientPageStatements(t *testing.T) {
	t.Parallel()
	c := setupClinic(t, batchPatiently)
	if _, err := seed.Patients(context.Background(), c.env.DB, 30, seed.Options{Seed: 4}, nil); err != nil {
		t.Fatal(err)
	}
	const page = `query($n: Int!) { patients(first: $n) { edges { node { id phone coverages { memberId active payer { name } } } } } }`
	c.env.Do(t, c.tokens["ADMIN"], page, map[string]any{"n": 1}) // fills the session and user caches
	var first int64
	for _, n := range []int{2, 10, 25} {
		before := c.stmts.Count()
		var out struct {
			Patients struct{ Edges []struct{} }
		}
		c.env.Do(t, c.tokens["ADMIN"], page, map[string]any{"n": n}).Decode(t, &out)
		got := c.stmts.Count() - before
		if first == 0 {
			first = got
		}
		if len(out.Patients.Edges) != n || got != first {
			t.Fatalf("%d patients with coverages took %d statements, want %d in %d as for the first page", len(out.Patients.Edges), got, n, first)
		}
	}
}

// TestTotalCountOnlyWhenAsked: a page that does not select totalCount runs
// no count (the users page counts in a statement of its own), and one that
// does gets the true count.
func TestTotalCountOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	c := setupClinic(t)
	want := c.env.Count(t, `SELECT count(*) FROM users`)
	statements := func(q string) (int64, int) {
		var out struct{ Users struct{ TotalCount int } }
		before := c.stmts.Count()
		c.env.Do(t, c.tokens["ADMIN"], q, nil).Decode(t, &out)
		return c.stmts.Count() - before, out.Users.TotalCount
	}
	statements(`{ users(first: 1) { edges { node { id } } } }`) // warms the session and user caches
	without, _ := statements(`{ users(first: 2) { edges { node { id } } } }`)
	with, total := statements(`{ users(first: 2) { totalCount edges { node { id } } } }`)
	if with != without+1 || total != want {
		t.Fatalf("statements without totalCount %d, with %d (total %d, want %d); want one more with it", without, with, total, want)
	}
}

// TestAppointmentsLatestFirst pages the newest bookings on top, through
// cursors, and gets exactly the database's order.
func TestAppointmentsLatestFirst(t *testing.T) {
	t.Parallel()
	c := setupClinic(t)
	if _, err := seed.Patients(context.Background(), c.env.DB, 40, seed.Options{Seed: 7}, nil); err != nil {
		t.Fatal(err)
	}
	rows, err := c.env.DB.Pool.Query(context.Background(),
		`SELECT id FROM appointments WHERE status = 'BOOKED' ORDER BY starts_at DESC, id DESC`)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil || len(ids) < 10 {
		t.Fatalf("%d booked appointments (%v), want at least 10", len(ids), err)
	}
	const q = `query($after: String) { appointments(first: 7, after: $after, filter: {status: BOOKED, latestFirst: true}) {
		edges { node { id } } pageInfo { hasNextPage endCursor } } }`
	var got []string
	var after any
	for {
		var out struct {
			Appointments struct {
				Edges    []struct{ Node struct{ ID string } }
				PageInfo struct {
					HasNextPage bool
					EndCursor   string
				}
			}
		}
		c.env.Do(t, c.tokens["ADMIN"], q, map[string]any{"after": after}).Decode(t, &out)
		for _, e := range out.Appointments.Edges {
			got = append(got, e.Node.ID)
		}
		if !out.Appointments.PageInfo.HasNextPage {
			break
		}
		after = out.Appointments.PageInfo.EndCursor
	}
	want := make([]string, len(ids))
	for i, id := range ids {
		want[i] = gid("Appointment", id)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("latest first through cursors: %d appointments, want the database's %d in its order", len(got), len(want))
	}
}
