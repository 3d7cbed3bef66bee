package resolvers_test

import (
	"context"
	"fmt"
	"runtime/metrics"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
	"github.com/healthgraph/healthgraph/seed"
	"github.com/healthgraph/healthgraph/server"
	"github.com/healthgraph/healthgraph/server/servertest"
)

// The standard mix: one benchmark per screen, each one GraphQL request
// through the real handler, loaders and store, reporting allocations and
// statements/op so benchstat can compare runs:
//
//	go test ./resolvers -run '^$' -bench Mix -benchmem -count 6 | tee new.txt
//	benchstat old.txt new.txt

// mixPatients is the seeded clinic's size: two practitioners' worth, with
// their appointments over five months and records of completed visits.
const mixPatients = 1000

// mixClaims is how many claims the billing screens page and summarise.
const mixClaims = 200

const (
	headlineQuery = `query { appointments(first: 50, filter: {status: BOOKED}) { edges { node { id startsAt status
		patient { id mrn firstName familyName birthDate gender }
		practitioner { id license firstName familyName specialty } } } } }`

	dayScheduleQuery = `query($p: ID!, $from: Time!, $to: Time!) {
		appointments(first: 50, filter: {practitionerId: $p, from: $from, to: $to}) { edges { node { id startsAt endsAt status reason
			patient { id mrn firstName familyName birthDate gender coverages { payer { name } memberId active } } } } } }`

	chartQuery = `query($id: ID!) { patient(id: $id) { id mrn firstName familyName birthDate gender
		coverages { payer { name } memberId active }
		latestRecords { id kind codes body createdAt }
		upcomingAppointments { id startsAt status practitioner { id firstName familyName specialty } } } }`

	searchQuery = `query($q: String!) { patients(filter: {search: $q}, first: 20) { edges { node {
		id mrn firstName familyName birthDate gender } } } }`

	claimsQuery = `query { claims(first: 20) { edges { node { id use status total { amount } approved { amount }
		payer { license name } items { sequence serviceCode description quantity net { amount }
			approved { amount } outcome reasons } } } } }`

	claimsSummaryQuery = `query($from: Time!, $to: Time!) { claimsSummary(from: $from, to: $to, groupBy: PAYER) {
		key suppressed claims total { amount } approved { amount } } }`

	loginMutation = `mutation($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }`

	bookMutation = `mutation($in: BookAppointmentInput!) { bookAppointment(input: $in) { id startsAt status } }`
)

// mixEnv is a seeded clinic behind a real server, counting statements.
type mixEnv struct {
	env   *servertest.Env
	stmts *pgtest.Statements
	// practitioner is a seeded practitioner's id and token; patient the
	// practitioner's patient with the most records.
	practitioner, patient uuid.UUID
	// busiestDay is the clinic-zone midnight of the practitioner's day
	// with the most appointments: today may have none (a weekend).
	busiestDay        time.Time
	practitionerToken string
	tokens            map[hg.Role]string
	loginEmail        string
	calls             int
}

// setupMix seeds mixPatients patients and mixClaims claims on a fresh
// database behind a real server.
func setupMix(b *testing.B) *mixEnv {
	b.Helper()
	ctx := context.Background()
	m := &mixEnv{stmts: &pgtest.Statements{}, tokens: map[hg.Role]string{}}
	m.env = servertest.New(b, func(_ *server.Config, o *postgres.Options) { o.Tracer = m.stmts })
	if _, err := seed.Patients(ctx, m.env.DB, mixPatients, seed.Options{Seed: 8}, nil); err != nil {
		b.Fatal(err)
	}
	for _, r := range []hg.Role{hg.RoleAdmin, hg.RoleReception, hg.RoleBilling, hg.RoleAnalyst} {
		_, m.tokens[r] = m.env.User(b, string(r)+"@mix.example", r)
	}
	m.loginEmail = string(hg.RoleReception) + "@mix.example"
	var userID uuid.UUID
	if err := m.env.DB.Pool.QueryRow(ctx, `SELECT a.practitioner_id, pr.user_id, a.patient_id
		FROM appointments a JOIN practitioners pr ON pr.id = a.practitioner_id
		JOIN medical_records r ON r.patient_id = a.patient_id
		GROUP BY 1, 2, 3 ORDER BY count(*) DESC, 3 LIMIT 1`).Scan(&m.practitioner, &userID, &m.patient); err != nil {
		b.Fatal(err)
	}
	if err := m.env.DB.Pool.QueryRow(ctx, `SELECT (starts_at AT TIME ZONE $2)::date
		FROM appointments WHERE practitioner_id = $1 GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`,
		m.practitioner, hg.ClinicZone.String()).Scan(&m.busiestDay); err != nil {
		b.Fatal(err)
	}
	m.busiestDay = time.Date(m.busiestDay.Year(), m.busiestDay.Month(), m.busiestDay.Day(), 0, 0, 0, 0, hg.ClinicZone)
	u, err := m.env.DB.UserByID(ctx, userID)
	if err != nil {
		b.Fatal(err)
	}
	if m.practitionerToken, _, err = m.env.Tokens.Issue(u); err != nil {
		b.Fatal(err)
	}
	addClaims(b, m.env.DB, mixClaims)
	return m
}

// addClaims writes n adjudicated prior authorizations of two items each
// against seeded coverages, spread over the last 90 days.
func addClaims(b *testing.B, db *postgres.DB, n int) {
	b.Helper()
	err := db.InTx(context.Background(), func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), `
			WITH c AS (
				INSERT INTO claims (id, use, patient_id, coverage_id, payer_license, payer_name, status, total, approved, created_at)
				SELECT gen_random_uuid(), 'preauthorization', cv.patient_id, cv.id, cv.payer_license, 'Payer',
					'APPROVED', 23000, 20000, now() - (g * interval '11 hours')
				FROM generate_series(1, $1) g
				JOIN LATERAL (SELECT * FROM coverages ORDER BY id OFFSET (g % 500) LIMIT 1) cv ON true
				RETURNING id)
			INSERT INTO claim_items (claim_id, sequence, service_code, description, quantity, unit_price, vat, net,
				patient_share, approved, outcome, reasons)
			SELECT c.id, s, '83600-00-' || s, 'Consultation', 1, 10000, 1500, 11500, 1000, 10000, 'approved', '{}'
			FROM c CROSS JOIN generate_series(1, 2) s`, n)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
}

// screen is one request of the mix: who sends it, and the query with its
// variables for iteration i (bookings need a new slot each time).
type screen struct {
	name  string
	token func(*mixEnv) string
	query string
	vars  func(m *mixEnv, i int) map[string]any
}

func role(r hg.Role) func(*mixEnv) string { return func(m *mixEnv) string { return m.tokens[r] } }

func asPractitioner(m *mixEnv) string { return m.practitionerToken }

func noVars(*mixEnv, int) map[string]any { return nil }

var mixScreens = []screen{
	{"Headline", role(hg.RoleAdmin), headlineQuery, noVars},
	{"DaySchedule", asPractitioner, dayScheduleQuery, func(m *mixEnv, _ int) map[string]any {
		return map[string]any{"p": gid("Practitioner", m.practitioner),
			"from": m.busiestDay.Format(time.RFC3339), "to": m.busiestDay.AddDate(0, 0, 1).Format(time.RFC3339)}
	}},
	{"PatientChart", asPractitioner, chartQuery, func(m *mixEnv, _ int) map[string]any {
		return map[string]any{"id": gid("Patient", m.patient)}
	}},
	{"PatientSearch", role(hg.RoleReception), searchQuery, func(_ *mixEnv, i int) map[string]any {
		return map[string]any{"q": []string{"ab", "mo", "fa", "sa", "nou"}[i%5]}
	}},
	{"ClaimsPage", role(hg.RoleBilling), claimsQuery, noVars},
	{"ClaimsSummary", role(hg.RoleAnalyst), claimsSummaryQuery, func(*mixEnv, int) map[string]any {
		now := time.Now()
		return map[string]any{"from": now.AddDate(0, 0, -90).Format(time.RFC3339), "to": now.Format(time.RFC3339)}
	}},
	{"Login", func(*mixEnv) string { return "" }, loginMutation, func(m *mixEnv, _ int) map[string]any {
		return map[string]any{"email": m.loginEmail, "password": servertest.Password}
	}},
	{"BookAppointment", role(hg.RoleReception), bookMutation, func(m *mixEnv, i int) map[string]any {
		// Each iteration takes the next half hour of the practitioner's
		// calendar past the seeded month, so no booking conflicts.
		start := time.Now().AddDate(0, 2, 0).Truncate(24 * time.Hour).Add(time.Duration(i) * 30 * time.Minute)
		return map[string]any{"in": map[string]any{"patientId": gid("Patient", m.patient),
			"practitionerId": gid("Practitioner", m.practitioner),
			"startsAt":       start.Format(time.RFC3339), "endsAt": start.Add(30 * time.Minute).Format(time.RFC3339)}}
	}},
}

// BenchmarkMix measures each screen of the standard mix end to end.
func BenchmarkMix(b *testing.B) {
	m := setupMix(b)
	for _, s := range mixScreens {
		b.Run(s.name, func(b *testing.B) { m.measure(b, s) })
	}
}

// measure runs one screen per iteration, failing on any GraphQL error, and
// reports statements, CPU milliseconds and goroutines started per request.
// CPU is the whole process's (server and in-process client), which on a
// loaded machine says more than the wall time: other work stretches ns/op,
// not cpu-ms/op. Goroutines are the process's too (the client's and the
// loaders' included); gqlgen starts one per concurrent field.
func (m *mixEnv) measure(b *testing.B, s screen) {
	token := s.token(m)
	b.ReportAllocs()
	before, cpu, goroutines := m.stmts.Count(), processCPU(b), goroutinesCreated()
	for b.Loop() {
		// The call number keeps growing across runs (-count), so a booking
		// never takes a slot an earlier run took.
		if res := m.env.Do(b, token, s.query, s.vars(m, m.calls)); len(res.Errors) > 0 {
			b.Fatalf("%s: %+v", s.name, res.Errors)
		}
		m.calls++
	}
	b.ReportMetric(float64(m.stmts.Count()-before)/float64(b.N), "statements/op")
	b.ReportMetric(float64(processCPU(b)-cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(goroutinesCreated()-goroutines)/float64(b.N), "goroutines/op")
}

// goroutinesCreated is how many goroutines the process has started.
func goroutinesCreated() uint64 {
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// processCPU is the user and system CPU time the process has used.
func processCPU(b *testing.B) time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		b.Fatal(err)
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// TestPatientChartStatements: the chart costs the same statements whether
// the patient has one upcoming appointment or fifteen, each with its own
// practitioner. At most 7: the session check, the patient, its read audit,
// coverages, records, upcoming appointments and their practitioners.
func TestPatientChartStatements(t *testing.T) {
	t.Parallel()
	c := setupClinic(t, batchPatiently)
	ctx := context.Background()
	all := hg.PatientScope{All: true}
	start := time.Now().Add(72 * time.Hour).Truncate(time.Hour)
	booked, first := 1, int64(0) // setupClinic booked one, with doctor 1
	chart := map[string]any{"id": gid("Patient", c.patientA.ID)}
	c.env.Do(t, c.tokens["ADMIN"], chartQuery, chart) // fills the session and user caches
	for _, n := range []int{1, 5, 15} {
		for ; booked < n; booked++ {
			u, _ := c.env.User(t, fmt.Sprintf("chart-doc-%d@clinic.example", booked), hg.RolePractitioner)
			pr, err := c.env.DB.CreatePractitioner(ctx, hg.NewPractitioner{UserID: u.ID, FirstName: "Omar", FamilyName: "Alotaibi",
				SpecialtyCode: "08.00", Specialty: "Internal Medicine", License: fmt.Sprint("L-chart-", booked)})
			if err != nil {
				t.Fatal(err)
			}
			s := start.Add(time.Duration(booked) * time.Hour)
			if _, err := c.env.DB.BookAppointment(ctx, all, hg.NewAppointment{PatientID: c.patientA.ID, PractitionerID: pr.ID,
				StartsAt: s, EndsAt: s.Add(30 * time.Minute)}); err != nil {
				t.Fatal(err)
			}
		}
		var out struct {
			Patient struct {
				UpcomingAppointments []struct{ Practitioner struct{ ID string } }
			}
		}
		statements := func() int64 {
			before := c.stmts.Count()
			c.env.Do(t, c.tokens["ADMIN"], chartQuery, chart).Decode(t, &out)
			return c.stmts.Count() - before
		}
		// The new practitioners are not in the cache yet: the cold chart
		// loads them in one more statement, the warm one not at all.
		cold, got := statements(), statements()
		if first == 0 {
			first = got
		}
		// 7: patient, its read audit, coverages, latest records, their read
		// audit, upcoming appointments, practitioners.
		if len(out.Patient.UpcomingAppointments) != n || got != first || got > 7 || cold > got+1 {
			t.Fatalf("a chart with %d upcoming appointments took %d statements cold and %d warm, want %d appointments in %d (at most 7) warm and one more cold",
				len(out.Patient.UpcomingAppointments), cold, got, n, first)
		}
		t.Logf("chart with %d upcoming appointments: %d statements", n, got)
	}
}
