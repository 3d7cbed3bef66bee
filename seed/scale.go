package seed

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/postgres"
)

// Size is how much Scale writes. Coverages, records, invoices and claims
// follow from it: about 85% of patients are insured, a completed visit
// leaves about two records, and about one in five is billed.
type Size struct {
	Patients      int
	Practitioners int
	Appointments  int
}

// Sizes are the named sizes of `healthgraph seed --scale`.
var Sizes = map[string]Size{
	"small": {Patients: 10_000, Practitioners: 50, Appointments: 100_000},
	"large": {Patients: 200_000, Practitioners: 1_000, Appointments: 2_000_000},
}

func (s Size) validate() error {
	switch {
	case s.Patients < 1 || s.Practitioners < 1:
		return hg.Invalid("size", "a scale run needs patients and practitioners")
	case s.Patients < s.Practitioners:
		return hg.Invalid("size", "a scale run needs at least as many patients as practitioners, so each has someone to see")
	case s.Appointments < s.Practitioners:
		return hg.Invalid("size", "a scale run needs at least one appointment per practitioner")
	}
	return nil
}

// LoadEmailDomain is the domain of the load-test logins Scale creates; a
// reserved name, so no address can reach a real mailbox.
const LoadEmailDomain = "scale.healthgraph.test"

// LoadRoles are the roles Scale creates a load-test login for.
var LoadRoles = []hg.Role{hg.RoleReception, hg.RoleBilling, hg.RoleAnalyst, hg.RoleAdmin, hg.RolePractitioner}

// LoadEmail is the email of the load-test login of role r.
func LoadEmail(r hg.Role) string {
	return "load-" + strings.ToLower(string(r)) + "@" + LoadEmailDomain
}

// ScaleOptions say what Scale writes.
type ScaleOptions struct {
	Options
	Size Size
	// AllowExisting lets Scale add to a database that already has
	// patients; without it that is CONFLICT.
	AllowExisting bool
	// LoginHash is the stored password hash of every load-test login.
	LoginHash string
	// Progress, if not nil, is told of patients and appointments written.
	Progress Progress
}

// ScaleResult is what Scale wrote.
type ScaleResult struct {
	Summary
	// Logins are the load-test accounts created (an account that already
	// existed is kept as it is and not listed). Passwords are not kept.
	Logins []Login
}

// Scale tuning: rows per COPY transaction and concurrent writers.
const (
	patientChunk      = 5_000
	appointmentsChunk = 20_000
	writers           = 2
	// futureShare caps the part of a practitioner's appointments that
	// are today or later; the rest fill the past.
	futureShare = 0.3
	aheadDays   = 42
	// billRate is the share of completed visits invoiced.
	billRate = 0.25
)

// scaleCharts keeps about two records per completed visit, so records
// and appointments come out about equal.
var scaleCharts = recordMix{vitals: 0.2, note: 0.4, prescription: 0.12, lab: 0.06}

// Scale writes a synthetic clinic of the given size for load tests, with
// COPY on parallel connections: practitioners working shifts around the
// clock, patients with Saudi and expatriate names, appointments over the
// past months and the coming six weeks, charts, invoices with payments,
// claims with adjudication and history, and one load-test login per role
// in LoadRoles (the PRACTITIONER one works today). It ends with VACUUM
// ANALYZE. CONFLICT when the database has patients and AllowExisting is
// not set. Refusing it in production is the caller's job.
func Scale(ctx context.Context, db *postgres.DB, so ScaleOptions) (*ScaleResult, error) {
	if err := so.Size.validate(); err != nil {
		return nil, err
	}
	if so.LoginHash == "" {
		return nil, hg.Invalid("password", "the load-test logins need a password")
	}
	so.Options = so.withDefaults()
	var patients, practitioners int
	if err := db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM patients), (SELECT count(*) FROM practitioners)`).
		Scan(&patients, &practitioners); err != nil {
		return nil, fmt.Errorf("count existing rows: %w", err)
	}
	if patients > 0 && !so.AllowExisting {
		return nil, hg.Errorf(hg.ECONFLICT, "the database already has %d patients; a scale dataset goes into an empty one unless adding is allowed", patients)
	}
	s := &scaler{db: db, so: so, patientOffset: patients, staffOffset: practitioners, numbers: &invoiceNumbers{},
		tally: tally{total: so.Size.Patients + so.Size.Appointments, progress: so.Progress}}
	if err := s.run(ctx); err != nil {
		return nil, err
	}
	return &ScaleResult{Summary: s.Summary, Logins: s.logins}, nil
}

// scaler is one Scale run.
type scaler struct {
	db                         *postgres.DB
	so                         ScaleOptions
	patientOffset, staffOffset int

	staff    []practitioner
	shifts   []shift
	patients []patient
	// busy holds (slot, patient index) pairs booked, keeping patients
	// from being in two appointments at once.
	busy    map[uint64]struct{}
	numbers *invoiceNumbers

	logins []Login
	tally
}

func (s *scaler) run(ctx context.Context) error {
	if err := s.db.Pool.QueryRow(ctx, `SELECT nextval('invoice_number_seq')`).Scan(&s.numbers.next); err != nil {
		return fmt.Errorf("reserve invoice numbers: %w", err)
	}
	if err := s.writeStaff(ctx); err != nil {
		return err
	}
	if err := pipeline(ctx, s.db, s.producePatients, s.written); err != nil {
		return err
	}
	if err := pipeline(ctx, s.db, s.produceVisits, s.written); err != nil {
		return err
	}
	// The store numbers invoices from this sequence: start after ours.
	if _, err := s.db.Pool.Exec(ctx, `SELECT setval('invoice_number_seq', $1)`, s.numbers.next-1); err != nil {
		return fmt.Errorf("advance invoice numbers: %w", err)
	}
	return analyze(ctx, s.db)
}

// gen gives each phase its own random stream, distinct per run on the
// same database so a second run draws new ids.
func (s *scaler) gen(phase uint64) *gen {
	g := newGen(s.so.Options, phase<<40^uint64(s.patientOffset)<<1^uint64(s.staffOffset)<<20)
	g.mix = scaleCharts
	return g
}

// writeStaff writes the practitioners and the load-test logins in one
// transaction; everything after refers to them.
func (s *scaler) writeStaff(ctx context.Context) error {
	g := s.gen(1)
	var existing []string
	if err := s.db.Pool.QueryRow(ctx, `SELECT coalesce(array_agg(email::text), '{}') FROM users WHERE email = ANY($1)`,
		loadEmails()).Scan(&existing); err != nil {
		return fmt.Errorf("look up load-test logins: %w", err)
	}
	taken := map[string]bool{}
	for _, e := range existing {
		taken[strings.ToLower(e)] = true
	}
	today := localDay(g.now, 0)
	b := &batch{}
	linked := taken[LoadEmail(hg.RolePractitioner)]
	for i := range s.so.Size.Practitioners {
		sh := g.newShift()
		email, hash := fmt.Sprintf("dr-%d-%d@%s", s.staffOffset, i, LoadEmailDomain), unusablePassword
		if !linked && sh.works(today) {
			email, hash, linked = LoadEmail(hg.RolePractitioner), s.so.LoginHash, true
		}
		pr := g.addPractitioner(b, s.staffOffset+i, email, specialties[i%len(specialties)], hash, hg.RolePractitioner)
		if email == LoadEmail(hg.RolePractitioner) {
			s.logins = append(s.logins, Login{Role: hg.RolePractitioner, Email: email, PractitionerID: &pr.id})
		}
		s.staff, s.shifts = append(s.staff, pr), append(s.shifts, sh)
	}
	for _, r := range LoadRoles[:len(LoadRoles)-1] {
		if email := LoadEmail(r); !taken[email] {
			b.users = append(b.users, []any{g.id(g.now), email, "Load test " + strings.ToLower(string(r)), s.so.LoginHash, string(r), g.now, g.now})
			s.logins = append(s.logins, Login{Role: r, Email: email})
		}
	}
	if err := writeBatch(ctx, s.db, b); err != nil {
		return err
	}
	s.add(b)
	return nil
}

func loadEmails() []string {
	var out []string
	for _, r := range LoadRoles {
		out = append(out, LoadEmail(r))
	}
	return out
}

// producePatients generates patients in chunks, registered over the past
// three years, and keeps them for booking.
func (s *scaler) producePatients(ctx context.Context, send func(*batch) error) error {
	g := s.gen(2)
	for done := 0; done < s.so.Size.Patients; {
		b := &batch{units: min(patientChunk, s.so.Size.Patients-done)}
		for i := range b.units {
			pt := g.addPatient(b, s.patientOffset+done+i, g.now)
			if g.chance(0.1) {
				g.addAllergy(b, pt, pick(g, s.staff))
			}
			s.patients = append(s.patients, pt)
		}
		done += b.units
		if err := send(b); err != nil {
			return err
		}
	}
	return nil
}

// produceVisits fills each practitioner's days with appointments, a batch
// per group of practitioners, and charts and bills the completed ones.
func (s *scaler) produceVisits(ctx context.Context, send func(*batch) error) error {
	g := s.gen(3)
	n := len(s.staff)
	per := max(1, appointmentsChunk/(s.so.Size.Appointments/n))
	b := &batch{}
	for i := range n {
		quota := s.so.Size.Appointments / n
		if i < s.so.Size.Appointments%n {
			quota++
		}
		s.fillDays(g, b, i, quota)
		b.units += quota
		if (i+1)%per == 0 || i == n-1 {
			if err := send(b); err != nil {
				return err
			}
			b = &batch{}
		}
	}
	return nil
}

// fillDays books quota appointments for practitioner i: today and the
// coming weeks thinning out with distance, then the past back from
// yesterday, each working day 20 to 40 of the shift's 40 slots.
func (s *scaler) fillDays(g *gen, b *batch, i, quota int) {
	pr, sh := s.staff[i], s.shifts[i]
	type dayCount struct {
		day time.Time
		n   int
	}
	var days []dayCount
	var ahead int
	for k := 0; k <= aheadDays; k++ {
		if day := localDay(g.now, k); sh.works(day) {
			n := int((0.95 - 0.65*float64(k)/aheadDays) * slotsPerShift)
			days, ahead = append(days, dayCount{day, n}), ahead+n
		}
	}
	if budget := int(float64(quota) * futureShare); ahead > budget {
		for j := range days {
			days[j].n = days[j].n * budget / ahead
		}
	}
	left := quota
	for _, d := range days {
		left -= d.n
	}
	for k := -1; left > 0; k-- {
		if day := localDay(g.now, k); sh.works(day) {
			n := min(left, 20+g.rng.IntN(slotsPerShift-19))
			days, left = append(days, dayCount{day, n}), left-n
		}
	}
	for _, d := range days {
		for _, slot := range g.rng.Perm(slotsPerShift)[:d.n] {
			start := sh.slot(d.day, slot)
			pt := s.pickPatient(g, start)
			if g.addAppointment(b, pt, pr, start, start.Add(slotLength)) == hg.AppointmentCompleted && g.chance(billRate) {
				g.billVisit(b, s.numbers, pt, pr, start.Add(slotLength), defaultDiagnosis)
			}
		}
	}
}

// pickPatient picks a patient free at start, trying a few times for one
// registered a day before (a patient registered later cannot have booked
// it). No patient is ever booked twice at once: slots are on one grid, so
// two appointments overlap only when they start together.
func (s *scaler) pickPatient(g *gen, start time.Time) patient {
	if s.busy == nil {
		s.busy = map[uint64]struct{}{}
	}
	slot := uint64(start.Unix()/int64(slotLength/time.Second)) << 32
	free := func(i int) bool {
		_, taken := s.busy[slot|uint64(i)]
		return !taken
	}
	i := -1
	for try := 0; try < 16 && i < 0; try++ {
		if k := g.rng.IntN(len(s.patients)); free(k) && (try >= 8 || s.patients[k].createdAt.Before(start.Add(-24*time.Hour))) {
			i = k
		}
	}
	for k := 0; i < 0; k++ { // more practitioners at work than patients free: take the first free
		if free(k) {
			i = k
		}
	}
	s.busy[slot|uint64(i)] = struct{}{}
	return s.patients[i]
}

// shift is a practitioner's working pattern: slotsPerShift slots of
// slotLength from start (after local midnight) on every day but two.
type shift struct {
	start time.Duration
	off   [2]time.Weekday
}

const (
	slotsPerShift = 40
	slotLength    = 15 * time.Minute
)

// newShift draws a pattern: most work days, some evenings or nights; most
// have the clinic's weekend off, the rest another pair of days, so every
// day of the week someone works.
func (g *gen) newShift() shift {
	sh := shift{start: 8 * time.Hour, off: [2]time.Weekday{time.Friday, time.Saturday}}
	switch r := g.rng.Float64(); {
	case r < 0.1:
		sh.start = 0
	case r < 0.3:
		sh.start = 14 * time.Hour
	}
	if g.chance(0.35) {
		d := time.Weekday(g.rng.IntN(7))
		sh.off = [2]time.Weekday{d, (d + 1) % 7}
	}
	return sh
}

func (sh shift) works(day time.Time) bool {
	wd := day.Weekday()
	return wd != sh.off[0] && wd != sh.off[1]
}

// slot returns the start of slot k of the shift on day (a local midnight).
func (sh shift) slot(day time.Time, k int) time.Time {
	off := sh.start + time.Duration(k)*slotLength
	return time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, int(off), day.Location())
}

// localDay is the clinic's local midnight k days from the date of now.
func localDay(now time.Time, k int) time.Time {
	l := now.In(hg.ClinicZone)
	return time.Date(l.Year(), l.Month(), l.Day()+k, 0, 0, 0, 0, hg.ClinicZone)
}

// pipeline copies the batches produce sends, each in its own transaction,
// on several connections at once, and calls written after each commit.
// The first error stops it.
func pipeline(ctx context.Context, db *postgres.DB, produce func(context.Context, func(*batch) error) error, written func(*batch)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	queue := make(chan *batch, writers)
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for b := range queue {
				if err := writeBatch(ctx, db, b); err != nil {
					errs <- err
					cancel()
					return
				}
				written(b)
			}
		})
	}
	err := produce(ctx, func(b *batch) error {
		select {
		case queue <- b:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(queue)
	wg.Wait()
	close(errs)
	if werr := <-errs; werr != nil {
		return werr
	}
	return err
}

// writeBatch writes b in one transaction. Losing the last commits of a
// crashed seed costs nothing, so commits do not wait for the disk.
func writeBatch(ctx context.Context, db *postgres.DB, b *batch) error {
	return db.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return err
		}
		return b.write(ctx, db, tx)
	})
}

// analyze refreshes the planner's statistics and the visibility map of
// every table seeded, so queries are planned as on a settled database.
func analyze(ctx context.Context, db *postgres.DB) error {
	_, err := db.Pool.Exec(ctx, `VACUUM (ANALYZE) users, practitioners, patients, coverages, appointments, patient_busy,
		medical_records, invoices, invoice_lines, payments, claims, claim_items, claim_status_history`)
	if err != nil {
		return fmt.Errorf("vacuum analyze: %w", err)
	}
	return nil
}
