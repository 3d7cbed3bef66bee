package dataloader_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/dataloader"
	"github.com/healthgraph/healthgraph/internal/eventually"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
)

// fixture is a clinic of 50 patients, each with a coverage, a record and
// an upcoming appointment, spread over five practitioners.
type fixture struct {
	db            *postgres.DB
	statements    *pgtest.Statements
	patients      []uuid.UUID
	practitioners []uuid.UUID
	appointments  []*hg.Appointment
	careUser      uuid.UUID // the first practitioner's user
}

var all = dataloader.Scopes{Patients: hg.PatientScope{All: true}, Clinical: hg.PatientScope{All: true}}

func setup(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{statements: &pgtest.Statements{}}
	f.db = pgtest.New(t, postgres.Options{Tracer: f.statements})
	author := &hg.User{Email: "author@clinic.test", FullName: "Author", PasswordHash: "x", Role: hg.RoleAdmin}
	if err := f.db.CreateUser(ctx, author); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		u := &hg.User{Email: fmt.Sprintf("doc%d@clinic.test", i), FullName: "Doctor", PasswordHash: "x", Role: hg.RolePractitioner}
		if err := f.db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		p, err := f.db.CreatePractitioner(ctx, hg.NewPractitioner{UserID: u.ID, FirstName: "Sara", FamilyName: "Alzahrani",
			SpecialtyCode: "08.00", Specialty: "Internal Medicine", License: fmt.Sprintf("L-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			f.careUser = u.ID
		}
		f.practitioners = append(f.practitioners, p.ID)
	}
	base := time.Now().Add(24 * time.Hour).Truncate(time.Hour)
	for i := range 50 {
		p, err := f.db.CreatePatient(ctx, hg.NewPatient{NationalID: fmt.Sprintf("1%09d", i), FirstName: "Patient",
			FamilyName: fmt.Sprint(i), BirthDate: time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC), Gender: hg.GenderMale})
		if err != nil {
			t.Fatal(err)
		}
		f.patients = append(f.patients, p.ID)
		if _, err := f.db.AddCoverage(ctx, all.Patients, hg.NewCoverage{PatientID: p.ID, PayerLicense: "7001463160",
			PayerName: "Payer", MemberID: fmt.Sprint("M", i), Class: "A", StartsOn: base, EndsOn: base.AddDate(1, 0, 0)}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.AddRecord(ctx, all.Clinical, hg.NewRecord{PatientID: p.ID, AuthorID: author.ID,
			Kind: hg.RecordDiagnosis, Codes: []string{"I10"}, Body: "Hypertension"}); err != nil {
			t.Fatal(err)
		}
		start := base.Add(time.Duration(i/5) * 30 * time.Minute)
		a, err := f.db.BookAppointment(ctx, all.Patients, hg.NewAppointment{PatientID: p.ID,
			PractitionerID: f.practitioners[i%5], StartsAt: start, EndsAt: start.Add(30 * time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		f.appointments = append(f.appointments, a)
	}
	return f
}

// count runs fn and returns how many statements it sent.
func (f *fixture) count(fn func()) int64 {
	before := f.statements.Count()
	fn()
	return f.statements.Count() - before
}

// concurrently calls fn for each index from its own goroutine, as gqlgen
// resolves the fields of a list.
func concurrently(n int, fn func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); fn(i) }()
	}
	wg.Wait()
}

func TestFiftyLookupsAreOneStatement(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		load func(l *dataloader.Loaders, i int) (int, error)
	}{
		{"patient by id", func(l *dataloader.Loaders, i int) (int, error) {
			_, err := l.Patient(ctx, f.patients[i])
			return 1, err
		}},
		{"practitioner by id", func(l *dataloader.Loaders, i int) (int, error) {
			_, err := l.Practitioner(ctx, f.practitioners[i%5])
			return 1, err
		}},
		{"coverages by patient", func(l *dataloader.Loaders, i int) (int, error) {
			cs, err := l.Coverages(ctx, f.patients[i])
			return len(cs), err
		}},
		{"upcoming appointments by patient", func(l *dataloader.Loaders, i int) (int, error) {
			as, err := l.UpcomingAppointments(ctx, f.patients[i])
			return len(as), err
		}},
		{"latest records by patient", func(l *dataloader.Loaders, i int) (int, error) {
			rs, err := l.LatestRecords(ctx, f.patients[i])
			return len(rs), err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := dataloader.New(f.db, all, batchPatiently)
			n := f.count(func() {
				concurrently(50, func(i int) {
					if got, err := tc.load(l, i); err != nil || got != 1 {
						t.Errorf("load %d: %d items, %v; want 1", i, got, err)
					}
				})
			})
			if n != 1 {
				t.Fatalf("50 lookups sent %d statements, want 1", n)
			}
		})
	}
}

// TestAppointmentPageWithRelations is the figure: a page of 50
// appointments with each one's patient, practitioner and coverages.
func TestAppointmentPageWithRelations(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	for _, size := range []int{10, 50} {
		t.Run(fmt.Sprint(size, " appointments"), func(t *testing.T) {
			l := dataloader.New(f.db, all, batchPatiently)
			n := f.count(func() { loadPage(t, ctx, f, l, size) })
			if n > 4 {
				t.Fatalf("%d statements for a page of %d with relations, want at most 4", n, size)
			}
			t.Logf("%d appointments with patient, practitioner and coverages: %d statements", size, n)
		})
	}
}

func loadPage(t testing.TB, ctx context.Context, f *fixture, l *dataloader.Loaders, size int) {
	page, total, err := f.db.ListAppointments(ctx, all.Patients, hg.AppointmentFilter{}, hg.Page{First: size, Count: true})
	if err != nil || len(page) != size || total != 50 {
		t.Fatalf("page: %d (total %d), %v", len(page), total, err)
	}
	concurrently(len(page), func(i int) {
		a := page[i]
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := l.Patient(ctx, a.PatientID); err != nil {
				t.Error(err)
			}
			if _, err := l.Coverages(ctx, a.PatientID); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			if _, err := l.Practitioner(ctx, a.PractitionerID); err != nil {
				t.Error(err)
			}
		}()
		wg.Wait()
	})
}

func TestLoadersApplyTheScope(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	// The first practitioner has appointments with patients 0, 5, 10, ...
	care := hg.PatientScope{CareUserID: &f.careUser}
	l := dataloader.New(f.db, dataloader.Scopes{Patients: care, Clinical: care})
	concurrently(10, func(i int) {
		related := i%5 == 0
		_, err := l.Patient(ctx, f.patients[i])
		if related && err != nil {
			t.Errorf("related patient %d: %v", i, err)
		}
		if !related && hg.ErrorCode(err) != hg.ENOTFOUND {
			t.Errorf("unrelated patient %d: %v, want NOT_FOUND", i, err)
		}
		rs, err := l.LatestRecords(ctx, f.patients[i])
		if err != nil || (len(rs) == 1) != related {
			t.Errorf("records of patient %d: %d, %v; want visible %v", i, len(rs), err, related)
		}
	})
	t.Run("a scope admitting nobody loads nothing", func(t *testing.T) {
		l := dataloader.New(f.db, dataloader.Scopes{})
		if _, err := l.Patient(ctx, f.patients[0]); hg.ErrorCode(err) != hg.ENOTFOUND {
			t.Fatalf("patient: %v, want NOT_FOUND", err)
		}
		if cs, err := l.Coverages(ctx, f.patients[0]); err != nil || len(cs) != 0 {
			t.Fatalf("coverages: %d, %v; want none", len(cs), err)
		}
	})
	t.Run("an unknown id fails alone", func(t *testing.T) {
		l := dataloader.New(f.db, all)
		var known, unknown error
		concurrently(2, func(i int) {
			if i == 0 {
				_, known = l.Patient(ctx, f.patients[0])
			} else {
				_, unknown = l.Patient(ctx, uuid.New())
			}
		})
		if known != nil || hg.ErrorCode(unknown) != hg.ENOTFOUND {
			t.Fatalf("known: %v, unknown: %v; want nil and NOT_FOUND", known, unknown)
		}
	})
	t.Run("missing loaders answer INTERNAL, not a panic", func(t *testing.T) {
		_, err := dataloader.For(ctx).Patient(ctx, f.patients[0])
		if hg.ErrorCode(err) != hg.EINTERNAL {
			t.Fatalf("err = %v, want INTERNAL", err)
		}
	})
}

// BenchmarkAppointmentPage measures a page of 50 appointments with patient,
// practitioner and coverages through fresh loaders, as one request does.
func BenchmarkAppointmentPage(b *testing.B) {
	f := setup(b)
	ctx := context.Background()
	b.ReportAllocs()
	before := f.statements.Count()
	for b.Loop() {
		loadPage(b, ctx, f, dataloader.New(f.db, all), 50)
	}
	b.ReportMetric(float64(f.statements.Count()-before)/float64(b.N), "statements/op")
}

// BenchmarkPatientChart measures a patient chart: the patient, coverages,
// upcoming appointments and the latest 20 records.
func BenchmarkPatientChart(b *testing.B) {
	f := setup(b)
	ctx := context.Background()
	b.ReportAllocs()
	before := f.statements.Count()
	for b.Loop() {
		l := dataloader.New(f.db, all)
		id := f.patients[7]
		concurrently(4, func(i int) {
			var err error
			switch i {
			case 0:
				_, err = l.Patient(ctx, id)
			case 1:
				_, err = l.Coverages(ctx, id)
			case 2:
				_, err = l.UpcomingAppointments(ctx, id)
			case 3:
				_, err = l.LatestRecords(ctx, id)
			}
			if err != nil {
				b.Error(err)
			}
		})
	}
	b.ReportMetric(float64(f.statements.Count()-before)/float64(b.N), "statements/op")
}

// TestPrefetchedKeysAreOneBatch: keys queued together by LoadAllThunk (as
// the resolvers prefetch a page) and then loaded one by one from many
// goroutines, however late, cost one statement.
func TestPrefetchedKeysAreOneBatch(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	l := dataloader.New(f.db, all)
	n := f.count(func() {
		l.PatientByID.LoadAllThunk(ctx, f.patients)
		concurrently(len(f.patients), func(i int) {
			time.Sleep(time.Duration(i%5) * time.Millisecond)
			if _, err := l.Patient(ctx, f.patients[i]); err != nil {
				t.Error(err)
			}
		})
	})
	if n != 1 {
		t.Fatalf("%d prefetched patients took %d statements, want 1", len(f.patients), n)
	}
}

// panicky is a store whose patient lookup panics.
type panicky struct{ dataloader.Store }

func (panicky) PatientsByIDs(context.Context, hg.PatientScope, []uuid.UUID) ([]*hg.Patient, error) {
	panic("boom")
}

func TestAPanickingFetchIsAnInternalError(t *testing.T) {
	t.Parallel()
	l := dataloader.New(panicky{}, all)
	if _, err := l.Patient(context.Background(), uuid.New()); hg.ErrorCode(err) != hg.EINTERNAL {
		t.Fatalf("err = %v, want INTERNAL", err)
	}
}

// batchPatiently is the wait the statement-count tests batch with. They count
// batches, not time: on a machine loaded enough that a resolver goroutine
// waits more than the production idle time (1 ms) to run, a batch splits and
// costs one more statement, which is right in production and wrong here.
var batchPatiently = dataloader.WithWait(eventually.Scale(200*time.Millisecond), eventually.Scale(5*time.Second))

// TestDisclosuresAreOneStatementAndForgetRefetches: fifty nested reads
// audit in one statement, a repeated one once per request; after Forget
// (a subscription's next delivery) they are loaded and audited again. A
// coverage is found through its patient's list, and one that is not the
// patient's is NOT_FOUND.
func TestDisclosuresAreOneStatementAndForgetRefetches(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := hg.WithPrincipal(context.Background(), &hg.Principal{UserID: f.careUser, Role: hg.RoleBilling})
	l := dataloader.New(f.db, all, dataloader.WithWait(eventually.Scale(50*time.Millisecond), eventually.Scale(2*time.Second)))
	disclose := func() {
		concurrently(len(f.patients), func(i int) {
			p := f.patients[i%10] // ten patients, five reads each
			if err := l.Disclose(ctx, dataloader.Disclosure{Action: "patient.read", EntityType: "Patient", Entity: p, Patient: p}); err != nil {
				t.Error(err)
			}
		})
	}
	rows := func() int {
		var n int
		if err := f.db.Pool.QueryRow(context.Background(),
			`SELECT count(*) FROM audit_disclosures WHERE action = 'patient.read' AND actor_id = $1`, f.careUser).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := f.count(disclose); n != 1 || rows() != 10 {
		t.Fatalf("50 disclosures of 10 patients: %d statements, %d rows; want 1 and 10", n, rows())
	}
	if n := f.count(disclose); n != 0 || rows() != 10 {
		t.Fatalf("the same disclosures again: %d statements, %d rows; want none", n, rows())
	}
	l.Forget()
	if n := f.count(disclose); n != 1 || rows() != 20 {
		t.Fatalf("after Forget: %d statements, %d rows; want 1 and 20", n, rows())
	}

	cs, err := l.Coverages(ctx, f.patients[0])
	if err != nil || len(cs) != 1 {
		t.Fatalf("coverages: %d, %v", len(cs), err)
	}
	if c, err := l.Coverage(ctx, f.patients[0], cs[0].ID); err != nil || c.ID != cs[0].ID {
		t.Fatalf("the patient's coverage: %+v, %v", c, err)
	}
	if _, err := l.Coverage(ctx, f.patients[1], cs[0].ID); hg.ErrorCode(err) != hg.ENOTFOUND {
		t.Fatalf("another patient's coverage: %v, want NOT_FOUND", err)
	}
}
