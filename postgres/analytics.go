package postgres

import (
	"context"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	hg "github.com/healthgraph/healthgraph"
)

var _ hg.AnalyticsStore = (*DB)(nil)

// Aggregates are computed in three steps. One query counts the finest
// cells (a practitioner's day, a payer's claims of one status in one
// month) over whole months; Go rolls them up into the cells of the
// grouping asked for and runs hg.Suppress over them; a group's figures are
// then the sum of its shown cells inside the window. Suppression is decided
// over whole months whatever the window, so no choice of window shows a
// cell that another hides.

// cell is one hg.Cell with the figures M it stands for.
type cell[M any] struct {
	hg.Cell
	m M
}

// cells collects cells in first-seen order.
type cells[M any] struct {
	index map[string]*cell[M]
	list  []*cell[M]
}

// add adds n records and their figures (through plus) to the cell of key
// in period, under parent.
func (cs *cells[M]) add(key, period, parent string, n int, plus func(*M)) {
	id := key + "\x00" + period
	c, ok := cs.index[id]
	if !ok {
		if cs.index == nil {
			cs.index = map[string]*cell[M]{}
		}
		c = &cell[M]{Cell: hg.Cell{Key: key, Period: period, Parent: parent}}
		cs.index[id], cs.list = c, append(cs.list, c)
	}
	c.Count += n
	plus(&c.m)
}

// get returns the cell of key in period, if any.
func (cs *cells[M]) get(key, period string) (*cell[M], bool) {
	c, ok := cs.index[key+"\x00"+period]
	return c, ok
}

// suppress runs hg.Suppress over every cell.
func (cs *cells[M]) suppress() {
	ptrs := make([]*hg.Cell, len(cs.list))
	for i, c := range cs.list {
		ptrs[i] = &c.Cell
	}
	hg.Suppress(ptrs)
}

// group is one group's sum over its cells in the window.
type group[M any] struct {
	key           string
	m             M
	shown, hidden int
}

// rollUp sums, per key in key order, the shown cells whose period
// lies in [from, to) (periods are keys that sort as dates).
func (cs *cells[M]) rollUp(from, to string, plus func(dst *M, src M)) []*group[M] {
	var out []*group[M]
	byKey := map[string]*group[M]{}
	for _, c := range cs.list {
		if c.Period < from || c.Period >= to {
			continue
		}
		g, ok := byKey[c.Key]
		if !ok {
			g = &group[M]{key: c.Key}
			byKey[c.Key], out = g, append(out, g)
		}
		if c.Suppressed {
			g.hidden++
			continue
		}
		g.shown++
		plus(&g.m, c.m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

// scanMonths widens a snapped window to the whole months suppression is
// decided over, and gives the window's bounds as period keys of p.
func scanMonths(from, to time.Time, p hg.Period) (scanFrom, scanTo time.Time, fromKey, toKey string) {
	scanFrom, scanTo = hg.SnapWindow(from, to, hg.PeriodMonth)
	layout := "2006-01-02"
	if p == hg.PeriodMonth {
		layout = "2006-01"
	}
	return scanFrom, scanTo, from.In(hg.ClinicZone).Format(layout), to.In(hg.ClinicZone).Format(layout)
}

// claimsKeys are the groupings claimsSummary allows.
var claimsKeys = map[string]func(payer, status, month string) string{
	"PAYER":  func(payer, _, _ string) string { return payer },
	"STATUS": func(_, status, _ string) string { return status },
	"MONTH":  func(_, _, month string) string { return month },
}

// ClaimsSummary groups claims by payer, status or month, each group the sum
// of its shown months (see hg.Suppress).
func (db *DB) ClaimsSummary(ctx context.Context, from, to time.Time, groupBy string) ([]hg.ClaimsGroup, error) {
	keyOf, ok := claimsKeys[groupBy]
	if !ok {
		return nil, hg.Invalid("groupBy", "groupBy must be PAYER, STATUS or MONTH")
	}
	from, to, err := hg.SummaryWindow(from, to, hg.PeriodMonth, hg.MaxSummaryRange)
	if err != nil {
		return nil, err
	}
	scanFrom, scanTo, fromKey, toKey := scanMonths(from, to, hg.PeriodMonth)
	rows, _ := db.Pool.Query(ctx, `SELECT c.payer_license, c.status, to_char(c.created_at AT TIME ZONE @zone, 'YYYY-MM'),
			count(*), coalesce(sum(c.total), 0), coalesce(sum(c.approved), 0)
		FROM claims c WHERE c.created_at >= @from AND c.created_at < @to
		GROUP BY 1, 2, 3`,
		namedArgs{"from": scanFrom, "to": scanTo, "zone": zoneName(hg.ClinicZone)})
	var cs cells[hg.ClaimsGroup]
	var payer, status, month string
	var n int
	var total, approved hg.Halalas
	_, err = pgx.ForEachRow(rows, []any{&payer, &status, &month, &n, &total, &approved}, func() error {
		cs.add(keyOf(payer, status, month), month, month, n, func(g *hg.ClaimsGroup) {
			g.Claims, g.Total, g.Approved = g.Claims+n, g.Total+total, g.Approved+approved
		})
		return nil
	})
	if err != nil {
		return nil, translate(err, "claims summary")
	}
	cs.suppress()
	groups := cs.rollUp(fromKey, toKey, func(dst *hg.ClaimsGroup, src hg.ClaimsGroup) {
		dst.Claims, dst.Total, dst.Approved = dst.Claims+src.Claims, dst.Total+src.Total, dst.Approved+src.Approved
	})
	out := make([]hg.ClaimsGroup, len(groups))
	for i, g := range groups {
		out[i] = hg.ClaimsGroup{Key: g.key, Suppressed: true}
		if g.shown > 0 {
			out[i] = g.m
			out[i].Key, out[i].Partial = g.key, g.hidden > 0
		}
	}
	return out, nil
}

// RevenueSummary groups issued, unvoided invoices by day or month. A day is
// its own cell, the sibling of the other days of its month.
func (db *DB) RevenueSummary(ctx context.Context, from, to time.Time, groupBy string) ([]hg.RevenueGroup, error) {
	if groupBy != "DAY" && groupBy != "MONTH" {
		return nil, hg.Invalid("groupBy", "groupBy must be DAY or MONTH")
	}
	p := hg.PeriodOf(groupBy)
	from, to, err := hg.SummaryWindow(from, to, p, hg.MaxSummaryRange)
	if err != nil {
		return nil, err
	}
	scanFrom, scanTo, fromKey, toKey := scanMonths(from, to, p)
	rows, _ := db.Pool.Query(ctx, `SELECT to_char(i.issued_at AT TIME ZONE @zone, 'YYYY-MM-DD'), count(*),
			sum(i.total), sum(i.vat), sum(i.patient_share), sum(i.insurer_share), sum(i.paid)
		FROM invoices i WHERE i.issued_at >= @from AND i.issued_at < @to AND i.status <> 'VOID'
		GROUP BY 1`, namedArgs{"from": scanFrom, "to": scanTo, "zone": zoneName(hg.ClinicZone)})
	var cs cells[hg.RevenueGroup]
	var day string
	var r hg.RevenueGroup
	_, err = pgx.ForEachRow(rows, []any{&day, &r.Invoices, &r.Billed, &r.VAT, &r.PatientShare, &r.InsurerShare, &r.Collected}, func() error {
		month, key := day[:7], day
		if p == hg.PeriodMonth {
			key = month
		}
		cs.add(key, key, month, r.Invoices, func(g *hg.RevenueGroup) { addRevenue(g, r) })
		return nil
	})
	if err != nil {
		return nil, translate(err, "revenue summary")
	}
	cs.suppress()
	groups := cs.rollUp(fromKey, toKey, addRevenue)
	out := make([]hg.RevenueGroup, len(groups))
	for i, g := range groups {
		out[i] = hg.RevenueGroup{Key: g.key, Suppressed: true}
		if g.shown > 0 {
			out[i] = g.m
			out[i].Key = g.key
		}
	}
	return out, nil
}

func addRevenue(dst *hg.RevenueGroup, src hg.RevenueGroup) {
	dst.Invoices += src.Invoices
	dst.Billed += src.Billed
	dst.VAT += src.VAT
	dst.PatientShare += src.PatientShare
	dst.InsurerShare += src.InsurerShare
	dst.Collected += src.Collected
}

// utilizationRow is one practitioner's appointments of one day.
type utilizationRow struct {
	practitioner, name, specialtyCode, specialty, day string
	m                                                 hg.UtilizationGroup
}

// AppointmentUtilization aggregates appointments starting in [from, to),
// widened to whole days (DAY) or months. Only counts and hours leave the
// database. A practitioner's month is the child of their specialty's month:
// a hidden specialty hides its practitioners, and within a shown one the
// hidden practitioners cannot be told apart by subtraction. Groups with
// no shown cell are left out.
func (db *DB) AppointmentUtilization(ctx context.Context, from, to time.Time, groupBy hg.UtilizationGroupBy) ([]hg.UtilizationGroup, error) {
	if !groupBy.Valid() {
		return nil, hg.Invalid("groupBy", "groupBy must be PRACTITIONER, SPECIALTY or DAY")
	}
	p := hg.PeriodOf(string(groupBy))
	from, to, err := hg.SummaryWindow(from, to, p, hg.MaxUtilizationRange)
	if err != nil {
		return nil, err
	}
	scanFrom, scanTo, fromKey, toKey := scanMonths(from, to, p)
	rows, err := db.utilizationRows(ctx, scanFrom, scanTo)
	if err != nil {
		return nil, err
	}
	cs, labels := utilizationCells(rows, groupBy)
	groups := cs.rollUp(fromKey, toKey, addUtilization)
	out := make([]hg.UtilizationGroup, 0, len(groups))
	for _, g := range groups {
		if g.shown == 0 {
			continue
		}
		u := g.m
		u.Key, u.Label, u.Partial = g.key, labels[g.key], g.hidden > 0
		if u.ScheduledHours > 0 {
			u.Utilization = u.CompletedHours / u.ScheduledHours
		}
		out = append(out, u)
	}
	return out, nil
}

// utilizationCells builds and suppresses the cells of groupBy, and returns
// the display label of each key.
func utilizationCells(rows []utilizationRow, groupBy hg.UtilizationGroupBy) (*cells[hg.UtilizationGroup], map[string]string) {
	labels := map[string]string{}
	var cs, specialties cells[hg.UtilizationGroup]
	for _, r := range rows {
		month := r.day[:7]
		plus := func(g *hg.UtilizationGroup) { addUtilization(g, r.m) }
		switch groupBy {
		case hg.GroupByDay:
			labels[r.day] = r.day
			cs.add(r.day, r.day, month, r.m.Booked, plus)
		case hg.GroupBySpecialty:
			labels[r.specialtyCode] = r.specialty
			cs.add(r.specialtyCode, month, month, r.m.Booked, plus)
		default:
			labels[r.practitioner] = r.name
			specialties.add(r.specialtyCode, month, month, r.m.Booked, plus)
			cs.add(r.practitioner, month, r.specialtyCode+"\x00"+month, r.m.Booked, plus)
		}
	}
	if groupBy == hg.GroupByPractitioner {
		specialties.suppress()
		for _, r := range rows {
			month := r.day[:7]
			if s, _ := specialties.get(r.specialtyCode, month); s.Suppressed {
				c, _ := cs.get(r.practitioner, month)
				c.Suppressed = true
			}
		}
	}
	cs.suppress()
	return &cs, labels
}

func addUtilization(dst *hg.UtilizationGroup, src hg.UtilizationGroup) {
	dst.Booked += src.Booked
	dst.Completed += src.Completed
	dst.Cancelled += src.Cancelled
	dst.NoShow += src.NoShow
	dst.ScheduledHours += src.ScheduledHours
	dst.CompletedHours += src.CompletedHours
}

// utilizationRows counts each practitioner's appointments per day (clinic
// time) starting in [from, to).
func (db *DB) utilizationRows(ctx context.Context, from, to time.Time) ([]utilizationRow, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT pr.id::text, min(pr.first_name || ' ' || pr.family_name), pr.specialty_code,
			min(pr.specialty), to_char(a.starts_at AT TIME ZONE @zone, 'YYYY-MM-DD'),
			count(*),
			count(*) FILTER (WHERE a.status = 'COMPLETED'),
			count(*) FILTER (WHERE a.status = 'CANCELLED'),
			count(*) FILTER (WHERE a.status = 'NO_SHOW'),
			COALESCE(sum(extract(epoch FROM a.ends_at - a.starts_at)) FILTER (WHERE a.status <> 'CANCELLED'), 0) / 3600,
			COALESCE(sum(extract(epoch FROM a.ends_at - a.starts_at)) FILTER (WHERE a.status = 'COMPLETED'), 0) / 3600
		FROM appointments a JOIN practitioners pr ON pr.id = a.practitioner_id
		WHERE a.starts_at >= @from AND a.starts_at < @to
		GROUP BY pr.id, pr.specialty_code, 5`, namedArgs{"from": from, "to": to, "zone": zoneName(hg.ClinicZone)})
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (utilizationRow, error) {
		var r utilizationRow
		err := row.Scan(&r.practitioner, &r.name, &r.specialtyCode, &r.specialty, &r.day, &r.m.Booked, &r.m.Completed,
			&r.m.Cancelled, &r.m.NoShow, &r.m.ScheduledHours, &r.m.CompletedHours)
		return r, err
	})
	return out, translate(err, "appointment utilization")
}
