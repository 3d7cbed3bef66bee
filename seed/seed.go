// Package seed fills a database with a synthetic clinic: Demo builds a small
// realistic one with a login per role for trying the API, Patients scales
// it to many thousands of patients for benchmarks. Every person is made up;
// the same seed and clock give the same data.
package seed

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/postgres"
)

// Options make generation repeatable.
type Options struct {
	// Seed picks the clinic: the same seed and Now give the same data.
	Seed uint64
	// Now is the clock appointments are placed around; zero means the
	// current time.
	Now time.Time
	// Clinic is the provider identity the demo's NPHIES bundles are built
	// with; zero means DefaultClinic.
	Clinic nphies.Builder
}

func (o Options) withDefaults() Options {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	o.Now = o.Now.Truncate(time.Microsecond) // Postgres keeps microseconds
	if o.Clinic.ProviderLicense == "" {
		o.Clinic = DefaultClinic
	}
	return o
}

// Login is a demo account. Its password is random for each Demo run and
// exists only in this value: print it once.
type Login struct {
	Role     hg.Role
	Email    string
	Password string
	// PatientID is the patient record a PATIENT login is linked to;
	// PractitionerID the practitioner a PRACTITIONER login is.
	PatientID      *uuid.UUID
	PractitionerID *uuid.UUID
}

// Summary counts what a run wrote.
type Summary struct {
	Users         int
	Practitioners int
	Patients      int
	Coverages     int
	Appointments  int
	Records       int
	VisitFindings int
	Invoices      int
	InvoiceLines  int
	Payments      int
	Claims        int
	ClaimItems    int
	ClaimHistory  int
	// Written by Demo only, after the tables above.
	NPHIESMessages    int
	EligibilityChecks int
	AuditEvents       int
	// Written by Demo after the month (see settle): the payers'
	// reconciliations received and the rejected claims resubmitted.
	Reconciliations int
	Resubmissions   int
}

func (s *Summary) add(b *batch) {
	for _, t := range allTables {
		*s.count(t) += len(b.rows(t))
	}
}

// count is the field that counts t's rows.
func (s *Summary) count(t table) *int {
	return map[string]*int{
		usersTable.name: &s.Users, practitionersTable.name: &s.Practitioners, patientsTable.name: &s.Patients,
		coveragesTable.name: &s.Coverages, appointmentsTable.name: &s.Appointments, recordsTable.name: &s.Records,
		findingsTable.name: &s.VisitFindings, invoicesTable.name: &s.Invoices, invoiceLinesTable.name: &s.InvoiceLines, paymentsTable.name: &s.Payments,
		claimsTable.name: &s.Claims, claimItemsTable.name: &s.ClaimItems, claimHistoryTable.name: &s.ClaimHistory,
	}[t.name]
}

// TableCount is the rows a run wrote to one table.
type TableCount struct {
	Table string
	Rows  int
}

// Tables lists the counts by table, in the order rows are written.
func (s *Summary) Tables() []TableCount {
	var out []TableCount
	for _, t := range allTables {
		out = append(out, TableCount{t.name, *s.count(t)})
	}
	return out
}

// DemoResult is what Demo made: the logins to print and the counts.
type DemoResult struct {
	Logins []Login
	Summary
}

// Demo sizes.
const (
	demoPatients  = 300
	demoPastDays  = 30
	demoAheadDays = 21
	// demoClaimsPerStatus claims at least take each status, so every
	// status shows in the analyst's summaries above hg.Suppress.
	demoClaimsPerStatus = 6
)

// DemoEmailDomain is the domain of every demo login; a reserved name, so
// no demo address can ever reach a real mailbox.
const DemoEmailDomain = "demo.healthgraph.example"

// Demo writes a small synthetic clinic in one transaction: a practitioner
// per specialty, 300 patients with Saudi-style names, national IDs or
// iqamas and payer coverage, appointments over the past month and the
// coming three weeks, records with ICD-10 codes and one amended diagnosis,
// the month's invoices (every status) with their lines and payments,
// claims in every status with items, adjudication, history and their
// NPHIES messages as the mock answered them, the audit trail the billing
// desk left, and a login per role. hash turns each random password into a stored hash (the
// caller passes an auth.Accounts' HashPassword). CONFLICT when demo data already exists.
// Refusing it in production is the caller's job.
func Demo(ctx context.Context, db *postgres.DB, hash func(context.Context, string) (string, error), o Options) (*DemoResult, error) {
	o = o.withDefaults()
	g := newGen(o, 0)
	res := &DemoResult{}
	// Checked before the slow hashing too; the check inside the
	// transaction is the one that counts.
	if _, err := db.UserByEmail(ctx, "admin@"+DemoEmailDomain); err == nil {
		return nil, hg.Errorf(hg.ECONFLICT, "the demo clinic is already seeded")
	}
	roles := []hg.Role{hg.RoleAdmin, hg.RolePractitioner, hg.RoleReception, hg.RoleBilling, hg.RolePatient, hg.RoleAnalyst}
	hashes := map[hg.Role]string{}
	for _, r := range roles {
		pw, err := password()
		if err != nil {
			return nil, err
		}
		if hashes[r], err = hash(ctx, pw); err != nil {
			return nil, fmt.Errorf("hash demo password: %w", err)
		}
		res.Logins = append(res.Logins, Login{Role: r, Email: strings.ToLower(string(r)) + "@" + DemoEmailDomain, Password: pw})
	}

	// The demo clinic bills from the official examples' items; importing
	// them again only refreshes them.
	if _, _, err := db.ImportCatalogue(ctx, DemoCatalogue()); err != nil {
		return nil, fmt.Errorf("import the demo catalogue: %w", err)
	}
	var settled settlement
	err := db.InTx(ctx, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE email = $1)`, res.Logins[0].Email).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return hg.Errorf(hg.ECONFLICT, "the demo clinic is already seeded")
		}
		var offset int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM patients`).Scan(&offset); err != nil {
			return err
		}
		numbers := &invoiceNumbers{}
		if err := tx.QueryRow(ctx, `SELECT nextval('invoice_number_seq')`).Scan(&numbers.next); err != nil {
			return fmt.Errorf("reserve invoice numbers: %w", err)
		}
		g.claimPlan = demoClaimPlan()
		b := &batch{}
		var staff []practitioner
		for i, sp := range specialties {
			email, h, role := fmt.Sprintf("dr.%s.%d@%s", strings.ToLower(strings.Fields(sp.display)[0]), i, DemoEmailDomain), unusablePassword, hg.RolePractitioner
			if i == 0 {
				email, h = res.Logins[1].Email, hashes[hg.RolePractitioner]
			}
			staff = append(staff, g.addPractitioner(b, i, email, sp, h, role))
		}
		var patientUser uuid.UUID
		userIDs := map[hg.Role]uuid.UUID{hg.RolePractitioner: staff[0].userID}
		for i, r := range roles {
			if r == hg.RolePractitioner {
				continue
			}
			id := g.id(o.Now.AddDate(-1, 0, 0))
			b.users = append(b.users, []any{id, res.Logins[i].Email, "Demo " + strings.ToLower(string(r)), hashes[r], string(r), o.Now, o.Now})
			userIDs[r] = id
			if r == hg.RolePatient {
				patientUser = id
			}
		}
		doctor := staff[0]
		res.Logins[1].PractitionerID = &doctor.id

		cal := newCalendar(o.Now, -demoPastDays, demoAheadDays)
		var patients []patient
		for i := range demoPatients {
			pt := g.addPatient(b, offset+i, o.Now.AddDate(0, 0, -demoPastDays))
			patients = append(patients, pt)
			if g.chance(0.15) {
				g.addAllergy(b, pt, pick(g, staff))
			}
			visits := 3 + g.rng.IntN(8)
			for v := range visits {
				pr := pick(g, staff)
				from, to := 0, len(cal.days)
				if i == 0 { // the demo patient sees the demo doctor, before and after today
					pr = doctor
					if v%2 == 0 {
						to = cal.todayIx
					} else {
						from = cal.todayIx + 1
					}
				}
				if s, e, ok := cal.take(g, pr.id, pt.id, from, to); ok {
					g.addDemoVisit(b, numbers, pt, pr, s, e)
				}
			}
		}
		if err := b.write(ctx, db, tx); err != nil {
			return err
		}
		res.add(b)
		if _, err := tx.Exec(ctx, `SELECT setval('invoice_number_seq', $1)`, numbers.next-1); err != nil {
			return fmt.Errorf("advance invoice numbers: %w", err)
		}
		x, err := writeExchange(ctx, tx, g, o, b, &res.Summary)
		if err != nil {
			return err
		}
		settled = settlement{decided: x.decided, queued: x.queued, billing: userIDs[hg.RoleBilling]}
		if err := writeAudit(ctx, tx, g, b, x.checks, userIDs, &res.Summary); err != nil {
			return err
		}

		// The patient login is linked to the first patient's record.
		if _, err := tx.Exec(ctx, `UPDATE patients SET user_id = $1 WHERE id = $2`, patientUser, patients[0].id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET full_name = $2 WHERE id = $1`, patientUser,
			patients[0].first+" "+patients[0].family); err != nil {
			return err
		}
		res.Logins[4].PatientID = &patients[0].id
		return amendOneDiagnosis(ctx, tx, g, patients[0].id, doctor.userID, &res.Summary)
	})
	if err != nil {
		return nil, err
	}
	if err := settle(ctx, db, g, o, settled, &res.Summary); err != nil {
		return nil, fmt.Errorf("settle the demo month: %w", err)
	}
	return res, nil
}

// amendOneDiagnosis corrects the demo patient's latest diagnosis, so the
// demo shows a record with two versions.
func amendOneDiagnosis(ctx context.Context, tx pgx.Tx, g *gen, patientID, author uuid.UUID, s *Summary) error {
	var old uuid.UUID
	var version int
	err := tx.QueryRow(ctx, `SELECT id, version FROM medical_records
		WHERE patient_id = $1 AND kind = 'DIAGNOSIS' AND superseded_by IS NULL
		ORDER BY created_at DESC, id DESC LIMIT 1`, patientID).Scan(&old, &version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	} else if err != nil {
		return err
	}
	id := g.id(g.now)
	if _, err := tx.Exec(ctx, `INSERT INTO medical_records (id, patient_id, author_id, kind, codes, body, version, supersedes_id, created_at)
		VALUES ($1, $2, $3, 'DIAGNOSIS', '{E11.65}', 'Type 2 diabetes mellitus with hyperglycaemia (corrected after HbA1c review).', $4, $5, $6)`,
		id, patientID, author, version+1, old, g.now); err != nil {
		return err
	}
	s.Records++
	_, err = tx.Exec(ctx, `UPDATE medical_records SET superseded_by = $2 WHERE id = $1`, old, id)
	return err
}

// password returns a random password that passes the account policy: 16
// characters from an alphabet without look-alikes, with letters and digits.
func password() (string, error) {
	const alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	for {
		var sb strings.Builder
		for range 16 {
			n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
			if err != nil {
				return "", err
			}
			sb.WriteByte(alphabet[n.Int64()])
		}
		pw := sb.String()
		if strings.ContainsAny(pw, "23456789") && strings.ContainsAny(pw, alphabet[:46]) {
			return pw, nil
		}
	}
}

// Patients sizes.
const (
	patientsPerPractitioner = 500
	scaleChunk              = 2000
	scalePastDays           = 150
	scaleAheadDays          = 30
)

// Patients adds n synthetic patients for benchmarks, with their own
// practitioners (one per 500 patients, accounts that cannot log in),
// coverage, one to three appointments each over the past five months and
// the coming one, and the records of completed visits. Unlike Scale it
// adds to whatever the database holds. Rows go in with COPY in
// transactions of 2,000 patients; progress, if not nil, is told after each.
func Patients(ctx context.Context, db *postgres.DB, n int, o Options, progress Progress) (Summary, error) {
	if n <= 0 {
		return Summary{}, hg.Invalid("patients", "the number of patients must be positive")
	}
	o = o.withDefaults()
	var offset int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM patients`).Scan(&offset); err != nil {
		return Summary{}, fmt.Errorf("count patients: %w", err)
	}
	// The patients already there are part of the seed, so a second run
	// draws new ids and national IDs instead of repeating the first.
	g := newGen(o, uint64(offset))
	b := &batch{}
	var staff []practitioner
	for i := range (n + patientsPerPractitioner - 1) / patientsPerPractitioner {
		email := fmt.Sprintf("staff-%d-%d@scale.healthgraph.example", offset, i)
		staff = append(staff, g.addPractitioner(b, offset+i, email, specialties[i%len(specialties)], unusablePassword, hg.RolePractitioner))
	}
	if err := writeBatch(ctx, db, b); err != nil {
		return Summary{}, err
	}
	t := &tally{total: n, progress: progress}
	t.add(b)
	cal := newCalendar(o.Now, -scalePastDays, scaleAheadDays)
	err := pipeline(ctx, db, func(ctx context.Context, send func(*batch) error) error {
		for done := 0; done < n; {
			b := &batch{units: min(scaleChunk, n-done)}
			for i := range b.units {
				pt := g.addPatient(b, offset+done+i, o.Now.AddDate(0, 0, -scalePastDays))
				if g.chance(0.1) {
					g.addAllergy(b, pt, pick(g, staff))
				}
				for range 1 + g.rng.IntN(3) {
					pr := pick(g, staff)
					if s, e, ok := cal.take(g, pr.id, pt.id, 0, len(cal.days)); ok {
						g.addAppointment(b, pt, pr, s, e)
					}
				}
			}
			done += b.units
			if err := send(b); err != nil {
				return err
			}
		}
		return nil
	}, t.written)
	return t.Summary, err
}

// tally adds up committed batches and reports progress; COPY workers call
// written concurrently.
type tally struct {
	mu sync.Mutex
	Summary
	done, total int
	progress    Progress
}

func (t *tally) written(b *batch) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.add(b)
	t.done += b.units
	if t.progress != nil {
		t.progress(t.done, t.total)
	}
}
