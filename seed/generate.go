package seed

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/postgres"
)

// gen draws every synthetic value from one seeded source, so the same seed,
// clock and stream give the same clinic.
type gen struct {
	rng *rand.Rand
	now time.Time
	mix recordMix
	// claimPlan lists claim statuses the next claims must take, so a
	// small clinic still shows every status.
	claimPlan []hg.ClaimStatus
}

// recordMix is how likely a completed visit leaves each optional record;
// a diagnosis is always written.
type recordMix struct{ vitals, note, prescription, lab float64 }

// fullCharts is the demo's: every visit has a note, many have vitals.
var fullCharts = recordMix{vitals: 0.4, note: 1, prescription: 0.25, lab: 0.15}

func newGen(o Options, stream uint64) *gen {
	// Seeded on purpose: the same seed must give the same synthetic clinic.
	return &gen{rng: rand.New(rand.NewPCG(o.Seed, stream^0x9e3779b97f4a7c15)), now: o.Now, mix: fullCharts} //nolint:gosec // synthetic data, not secrets
}

func pick[T any](g *gen, xs []T) T { return xs[g.rng.IntN(len(xs))] }

func (g *gen) chance(p float64) bool { return g.rng.Float64() < p }

// id returns a UUIDv7 for a row created at t whose random bits come from
// the seeded source, so ids are deterministic and still sort by time.
func (g *gen) id(t time.Time) uuid.UUID {
	var u uuid.UUID
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(t.UnixMilli()))
	copy(u[0:6], ts[2:8])
	binary.BigEndian.PutUint64(u[8:16], g.rng.Uint64())
	r := g.rng.Uint32()
	u[6] = 0x70 | byte(r>>8)&0x0f // version 7
	u[7] = byte(r)
	u[8] = 0x80 | u[8]&0x3f // RFC 4122 variant
	return u
}

// nationalID returns a synthetic national ID (prefix 1) or iqama (prefix 2)
// unique for each index below 10^8, with a Luhn check digit as real ones
// carry. Multiplying by a number coprime to 10 spreads consecutive indexes
// out while keeping them distinct.
func nationalID(index int, iqama bool) string {
	prefix := 1
	if iqama {
		prefix = 2
	}
	body := fmt.Sprintf("%d%08d", prefix, (uint64(index)*7919+104729)%100_000_000)
	sum := 0
	for i, c := range body {
		d := int(c - '0')
		if i%2 == 0 { // positions 1, 3, 5, … from the left are doubled
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return body + fmt.Sprint((10-sum%10)%10)
}

// table is a table the generator copies into, with its columns in the
// order of its rows.
type table struct {
	name string
	cols []string
}

var (
	usersTable         = table{"users", []string{"id", "email", "full_name", "password_hash", "role", "created_at", "updated_at"}}
	practitionersTable = table{"practitioners", []string{"id", "user_id", "first_name", "family_name", "specialty_code", "specialty", "license", "created_at"}}
	patientsTable      = table{"patients", []string{"id", "national_id", "first_name", "family_name", "first_name_ar", "family_name_ar", "birth_date", "gender", "phone", "email", "created_at", "updated_at", "occupation", "marital_status"}}
	coveragesTable     = table{"coverages", []string{"id", "patient_id", "payer_license", "payer_name", "member_id", "policy_number", "class", "copay_percent", "starts_on", "ends_on", "created_at", "member_id_system", "plan_name"}}
	appointmentsTable  = table{"appointments", []string{"id", "patient_id", "practitioner_id", "starts_at", "ends_at", "status", "reason", "cancel_reason", "created_at", "updated_at"}}
	recordsTable       = table{"medical_records", []string{"id", "patient_id", "author_id", "kind", "codes", "body", "version", "created_at"}}
)

// allTables is every table seed writes, in the order it writes them;
// invoices leave DRAFT after invoice_lines.
var allTables = []table{usersTable, practitionersTable, patientsTable, coveragesTable, appointmentsTable, recordsTable,
	findingsTable, invoicesTable, invoiceLinesTable, paymentsTable, claimsTable, claimItemsTable, claimHistoryTable}

// batch collects rows for COPY; write sends them in one transaction.
type batch struct {
	users, practitioners, patients, coverages, appointments, records, findings [][]any
	billing
	// units is how much of the run's work the batch is, for progress.
	units int
}

// rows are the batch's rows for t.
func (b *batch) rows(t table) [][]any {
	return map[string][][]any{
		usersTable.name: b.users, practitionersTable.name: b.practitioners, patientsTable.name: b.patients,
		coveragesTable.name: b.coverages, appointmentsTable.name: b.appointments, recordsTable.name: b.records,
		findingsTable.name: b.findings, invoicesTable.name: b.invoices, invoiceLinesTable.name: b.invoiceLines, paymentsTable.name: b.payments,
		claimsTable.name: b.claims, claimItemsTable.name: b.claimItems, claimHistoryTable.name: b.claimHistory,
	}[t.name]
}

// write copies the batch table by table in the order foreign keys need:
// COPY is the one way seed writes rows. Invoices go in as DRAFT, because
// lines cannot be added to an issued invoice, and take their final state
// right after their lines, before the claims that refer to them.
func (b *batch) write(ctx context.Context, db *postgres.DB, tx pgx.Tx) error {
	for _, t := range allTables {
		if rows := b.rows(t); len(rows) > 0 {
			if t.name == patientsTable.name {
				var err error
				if t, rows, err = sealPatients(db, rows); err != nil {
					return err
				}
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, pgx.CopyFromRows(rows)); err != nil {
				return fmt.Errorf("copy %s: %w", t.name, err)
			}
		}
		if t.name == invoiceLinesTable.name {
			if err := b.finishInvoices(ctx, tx); err != nil {
				return err
			}
		}
	}
	return nil
}

// sealPatients turns generated patient rows, national ID and phone in clear,
// into the rows the patients table takes: both sealed by the store's keys,
// with the national ID's blind index (see migration 0007).
func sealPatients(db *postgres.DB, rows [][]any) (table, [][]any, error) {
	t := table{name: patientsTable.name}
	var keep []int
	for i, c := range patientsTable.cols {
		if c != "national_id" && c != "phone" {
			keep, t.cols = append(keep, i), append(t.cols, c)
		}
	}
	t.cols = append(t.cols, "national_id_enc", "national_id_hash", "phone_enc")
	id, nid, phone := slices.Index(patientsTable.cols, "id"), slices.Index(patientsTable.cols, "national_id"), slices.Index(patientsTable.cols, "phone")
	out := make([][]any, len(rows))
	for i, r := range rows {
		sealed, err := db.SealPatientPHI(r[id].(uuid.UUID), r[nid].(string), r[phone].(string))
		if err != nil {
			return table{}, nil, err
		}
		row := make([]any, 0, len(t.cols))
		for _, k := range keep {
			row = append(row, r[k])
		}
		out[i] = append(row, sealed.NationalIDEnc, sealed.NationalIDHash, sealed.PhoneEnc)
	}
	return t, out, nil
}

// practitioner is a generated practitioner, kept for booking and authoring.
type practitioner struct {
	id, userID uuid.UUID
	specialty  specialty
}

// unusablePassword is a hash no password matches: generated staff exist to
// be seen, not to log in.
const unusablePassword = "!"

// addPractitioner appends a practitioner and their user account. index
// makes the licence unique among practitioners the seed makes.
func (g *gen) addPractitioner(b *batch, index int, email string, sp specialty, passwordHash string, role hg.Role) practitioner {
	first, family := g.personName(g.chance(0.5), g.chance(0.25))
	created := g.now.AddDate(-2, 0, -g.rng.IntN(365))
	p := practitioner{id: g.id(created), userID: g.id(created), specialty: sp}
	b.users = append(b.users, []any{p.userID, email, "Dr. " + first.en + " " + family.en, passwordHash, string(role), created, created})
	b.practitioners = append(b.practitioners, []any{p.id, p.userID, first.en, family.en, sp.code, sp.display,
		fmt.Sprintf("SCFHS-%02d-%06d", g.rng.IntN(100), (uint64(index)*7919+104729)%1_000_000), created})
	return p
}

// personName draws a given and a family name, a Saudi's or an
// expatriate's.
func (g *gen) personName(female, expat bool) (given, family name) {
	givens, families := maleNames, familyNames
	switch {
	case expat && female:
		givens, families = expatFemaleNames, expatFamilyNames
	case expat:
		givens, families = expatMaleNames, expatFamilyNames
	case female:
		givens = femaleNames
	}
	return pick(g, givens), pick(g, families)
}

// patient is a generated patient, kept for booking and billing.
type patient struct {
	id        uuid.UUID
	first     string
	family    string
	createdAt time.Time
	coverage  *coverage
}

// coverage is a patient's insurance, kept for billing.
type coverage struct {
	id             uuid.UUID
	payer          payer
	copay          int
	startsOn, ends time.Time // dates, as hg.DateOf gives them
}

// covers reports whether the coverage is in force on the date of t.
func (c *coverage) covers(t time.Time) bool {
	d := hg.DateOf(t.In(hg.ClinicZone))
	return !d.Before(c.startsOn) && !d.After(c.ends)
}

// addPatient appends a patient of the given index and, mostly, a coverage.
func (g *gen) addPatient(b *batch, index int, registeredBefore time.Time) patient {
	female, iqama := g.chance(0.5), g.chance(0.2)
	gender := hg.GenderMale
	if female {
		gender = hg.GenderFemale
	}
	first, family := g.personName(female, iqama && g.chance(0.7))
	created := registeredBefore.Add(-time.Duration(g.rng.Int64N(int64(3 * 365 * 24 * time.Hour))))
	p := patient{id: g.id(created), first: first.en, family: family.en, createdAt: created}
	// Born before they were registered, so no visit precedes a birth (NPHIES
	// refuses an encounter before the patient's birth date, BV-00851).
	birth := hg.DateOf(created.AddDate(-g.rng.IntN(86), 0, -g.rng.IntN(365)))
	phone := fmt.Sprintf("+9665%08d", g.rng.IntN(100_000_000))
	email := ""
	if g.chance(0.4) {
		email = fmt.Sprintf("%s.%s%d@mail.example", strings.ToLower(first.en), strings.ToLower(family.en), index)
	}
	b.patients = append(b.patients, []any{p.id, nationalID(index, iqama), first.en, family.en, first.ar, family.ar,
		birth, string(gender), phone, email, created, created,
		string(demoOccupations[index%len(demoOccupations)]), string(demoMaritalStatuses[index%len(demoMaritalStatuses)])})
	if g.chance(0.85) {
		class := pick(g, planClasses)
		start := hg.DateOf(g.now.AddDate(0, -g.rng.IntN(12), -g.rng.IntN(28)))
		c := &coverage{id: g.id(created), payer: pick(g, payers), copay: class.copay, startsOn: start, ends: start.AddDate(1, 0, -1)}
		b.coverages = append(b.coverages, []any{c.id, p.id, c.payer.license, c.payer.name,
			fmt.Sprintf("%d", 100_000_000+g.rng.IntN(900_000_000)), fmt.Sprintf("POL-%05d", g.rng.IntN(100_000)),
			class.name, c.copay, c.startsOn, c.ends, created, c.payer.memberSystem, "Class " + class.name})
		p.coverage = c
	}
	return p
}

// calendar hands out a practitioner's slots over a window of working days,
// each at most once, so generated appointments never overlap and COPY never
// trips the exclusion constraint.
type calendar struct {
	days    []time.Time // local midnights of working days
	perDay  int
	used    map[uuid.UUID][]bool
	sched   hg.Schedule
	todayIx int // index of the first day not before today
}

func newCalendar(now time.Time, fromDays, toDays int) *calendar {
	s := hg.DefaultSchedule
	c := &calendar{perDay: int((s.DayEnd - s.DayStart) / s.SlotLength), used: map[uuid.UUID][]bool{}, sched: s}
	local := now.In(s.Zone)
	c.todayIx = -1
	for d := fromDays; d <= toDays; d++ {
		day := time.Date(local.Year(), local.Month(), local.Day()+d, 0, 0, 0, 0, s.Zone)
		if !s.WorkingDay(day) {
			continue
		}
		if d >= 0 && c.todayIx < 0 {
			c.todayIx = len(c.days)
		}
		c.days = append(c.days, day)
	}
	if c.todayIx < 0 {
		c.todayIx = len(c.days)
	}
	return c
}

// take books a slot on a day in [fromIx, toIx) free for both practitioner
// p and patient pt, starting from a random one and probing onwards; false
// when none is. Neither is ever booked twice at once (the database refuses
// overlapping appointments of either).
func (c *calendar) take(g *gen, p, pt uuid.UUID, fromIx, toIx int) (time.Time, time.Time, bool) {
	if toIx <= fromIx {
		return time.Time{}, time.Time{}, false
	}
	used, busy := c.slots(p), c.slots(pt)
	n := (toIx - fromIx) * c.perDay
	start := g.rng.IntN(n)
	for i := range n {
		k := fromIx*c.perDay + (start+i)%n
		if used[k] || busy[k] {
			continue
		}
		used[k], busy[k] = true, true
		day := c.days[k/c.perDay]
		off := c.sched.DayStart + time.Duration(k%c.perDay)*c.sched.SlotLength
		s := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, int(off), c.sched.Zone)
		return s, s.Add(c.sched.SlotLength), true
	}
	return time.Time{}, time.Time{}, false
}

// slots returns who's bookings, one flag per slot of the calendar.
func (c *calendar) slots(who uuid.UUID) []bool {
	s := c.used[who]
	if s == nil {
		s = make([]bool, len(c.days)*c.perDay)
		c.used[who] = s
	}
	return s
}

// addAppointment appends one appointment of pt with pr at [start, end),
// its status following the clock, and the records a completed visit
// leaves.
func (g *gen) addAppointment(b *batch, pt patient, pr practitioner, start, end time.Time) hg.AppointmentStatus {
	status := hg.AppointmentBooked
	var cancel *string
	switch {
	case !end.After(g.now):
		switch r := g.rng.Float64(); {
		case r < 0.78:
			status = hg.AppointmentCompleted
		case r < 0.88:
			status = hg.AppointmentNoShow
		default:
			status = hg.AppointmentCancelled
		}
	case !start.After(g.now):
		status = hg.AppointmentCheckedIn
	case g.chance(0.1):
		status = hg.AppointmentCancelled
	}
	if status == hg.AppointmentCancelled {
		reason := pick(g, cancelReasons)
		cancel = &reason
	}
	booked := start.AddDate(0, 0, -1-g.rng.IntN(20))
	if booked.Before(pt.createdAt) {
		booked = pt.createdAt
	}
	if booked.After(g.now) {
		booked = g.now
	}
	reason := pick(g, visitReasons)
	b.appointments = append(b.appointments, []any{g.id(booked), pt.id, pr.id, start, end, string(status), reason, cancel, booked, booked})
	if status == hg.AppointmentCompleted {
		g.addVisitRecords(b, pt, pr, end, reason)
	}
	return status
}

// addVisitRecords appends what a completed visit leaves in the chart: a
// diagnosis, and as likely as g.mix says a note, vitals, a prescription or
// a lab result.
func (g *gen) addVisitRecords(b *batch, pt patient, pr practitioner, end time.Time, reason string) {
	at := end
	add := func(kind hg.RecordKind, codes []string, body string) {
		at = at.Add(time.Minute)
		if at.After(g.now) {
			at = g.now
		}
		b.records = append(b.records, []any{g.id(at), pt.id, pr.userID, string(kind), codes, body, 1, at})
	}
	dx := pick(g, pr.specialty.diagnoses)
	if g.chance(g.mix.vitals) {
		add(hg.RecordVitals, []string{}, fmt.Sprintf("BP %d/%d mmHg, HR %d bpm, Temp %.1f C, SpO2 %d%%, Weight %d kg.",
			105+g.rng.IntN(45), 65+g.rng.IntN(30), 60+g.rng.IntN(40), 36.4+g.rng.Float64(), 95+g.rng.IntN(5), 45+g.rng.IntN(60)))
	}
	add(hg.RecordDiagnosis, []string{dx.code}, dx.text+".")
	if g.chance(g.mix.note) {
		add(hg.RecordNote, []string{dx.code}, fmt.Sprintf("%s. Assessment: %s. Plan discussed with the patient; follow up in %d weeks.",
			reason, strings.ToLower(dx.text), 2+g.rng.IntN(10)))
	}
	if g.chance(g.mix.prescription) {
		add(hg.RecordPrescription, []string{dx.code}, pick(g, prescriptions))
	}
	if g.chance(g.mix.lab) {
		add(hg.RecordLabResult, []string{}, pick(g, labResults))
	}
}

// addAllergy appends an allergy to a patient's chart, authored by pr.
func (g *gen) addAllergy(b *batch, pt patient, pr practitioner) {
	a := pick(g, allergies)
	b.records = append(b.records, []any{g.id(pt.createdAt), pt.id, pr.userID, string(hg.RecordAllergy), []string{a.code}, a.text + ".", 1, pt.createdAt})
}
