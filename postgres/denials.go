package postgres

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	hg "github.com/healthgraph/healthgraph"
)

var _ hg.DenialStore = (*DB)(nil)

// denialKeys are the SQL expressions, over denialItems' columns, of each
// grouping: constants, never input.
var denialKeys = map[hg.DenialGroupBy]string{
	hg.DenialsByPayer:        "payer_license",
	hg.DenialsByReason:       "reason",
	hg.DenialsByService:      "service_code",
	hg.DenialsByPractitioner: "coalesce(practitioner_id::text, '')",
	hg.DenialsByMonth:        "month",
}

// denialItems is every item of the original claims created in [@from,
// @to) that the payer adjudicated, with what was asked, what was denied
// (the insurer share not granted on a rejected or cut item) and what the
// best resubmission of the claim won back on the same item, plus the
// claim's submission time and first payment date (in the clinic's zone).
// Triggers keep claim_denial_facts in step with the tables (migration
// 0024), so this reads one row per item.
const denialItems = `WITH items AS (
	SELECT f.claim_id AS id, f.payer_license, f.practitioner_id, f.service_code, f.reason, f.claimed, f.denied,
		f.shortfall, f.gained, f.submitted_at, to_char(f.created_at AT TIME ZONE @zone, 'YYYY-MM') AS month,
		least(f.first_payment_date, (f.first_received_at AT TIME ZONE @zone)::date) AS paid_on
	FROM claim_denial_facts f
	WHERE f.created_at >= @from AND f.created_at < @to
)`

// denialCells counts, per key of groupBy and month, the claims and their
// figures. A claim counts once per group however many of its items fall
// in it.
func (db *DB) denialCells(ctx context.Context, from, to time.Time, groupBy hg.DenialGroupBy) (*cells[hg.DenialFigures], error) {
	key := denialKeys[groupBy]
	rows, _ := db.Pool.Query(ctx, denialItems+`, per_claim AS (
			SELECT `+key+` AS key, month, id, bool_or(denied) AS denied, sum(claimed) AS claimed,
				coalesce(sum(shortfall) FILTER (WHERE denied), 0) AS denied_amount,
				coalesce(sum(least(shortfall, gained)) FILTER (WHERE denied), 0) AS recovered,
				min(paid_on - (submitted_at AT TIME ZONE @zone)::date) AS days
			FROM items WHERE NOT @denied_only OR denied
			GROUP BY 1, 2, 3)
		SELECT key, month, count(*), count(*) FILTER (WHERE denied), sum(claimed), sum(denied_amount), sum(recovered),
			count(days), coalesce(sum(greatest(days, 0)), 0)
		FROM per_claim GROUP BY 1, 2`,
		namedArgs{"from": from, "to": to, "zone": zoneName(hg.ClinicZone), "denied_only": groupBy == hg.DenialsByReason})
	var cs cells[hg.DenialFigures]
	var k, month string
	var f hg.DenialFigures
	_, err := pgx.ForEachRow(rows, []any{&k, &month, &f.Claims, &f.Denied, &f.Claimed, &f.DeniedAmount, &f.Recovered,
		&f.Paid, &f.PaymentDays}, func() error {
		cs.add(k, month, month, f.Claims, func(g *hg.DenialFigures) { g.Add(f) })
		return nil
	})
	return &cs, translate(err, "denial summary")
}

// DenialSummary groups denials like ClaimsSummary groups claims: per key,
// the sum of its months that suppression shows.
func (db *DB) DenialSummary(ctx context.Context, from, to time.Time, groupBy hg.DenialGroupBy) ([]hg.DenialGroup, error) {
	if !groupBy.Valid() {
		return nil, hg.Invalid("groupBy", "groupBy must be PAYER, REASON, SERVICE, PRACTITIONER or MONTH")
	}
	from, to, err := hg.SummaryWindow(from, to, hg.PeriodMonth, hg.MaxSummaryRange)
	if err != nil {
		return nil, err
	}
	scanFrom, scanTo, fromKey, toKey := scanMonths(from, to, hg.PeriodMonth)
	cs, err := db.denialCells(ctx, scanFrom, scanTo, groupBy)
	if err != nil {
		return nil, err
	}
	cs.suppress()
	groups := cs.rollUp(fromKey, toKey, func(dst *hg.DenialFigures, src hg.DenialFigures) { dst.Add(src) })
	out := make([]hg.DenialGroup, len(groups))
	for i, g := range groups {
		out[i] = hg.DenialGroup{Key: g.key, Label: g.key, Suppressed: true}
		if g.shown > 0 {
			out[i] = hg.DenialGroup{Key: g.key, Label: g.key, Partial: g.hidden > 0, DenialFigures: g.m}
		}
	}
	if groupBy == hg.DenialsByPractitioner {
		return out, db.practitionerLabels(ctx, out)
	}
	return out, nil
}

// practitionerLabels names the practitioner groups.
func (db *DB) practitionerLabels(ctx context.Context, groups []hg.DenialGroup) error {
	ids := make([]string, 0, len(groups))
	for _, g := range groups {
		ids = append(ids, g.Key)
	}
	rows, _ := db.Pool.Query(ctx, `SELECT id::text, first_name || ' ' || family_name FROM practitioners
		WHERE id::text = ANY($1)`, ids)
	names := map[string]string{}
	var id, name string
	if _, err := pgx.ForEachRow(rows, []any{&id, &name}, func() error { names[id] = name; return nil }); err != nil {
		return translate(err, "practitioners")
	}
	for i := range groups {
		groups[i].Label = names[groups[i].Key]
		if groups[i].Key == "" {
			groups[i].Label = "unknown"
		}
	}
	return nil
}

// otherGroup is the label value of the metric series small groups fold
// into.
const otherGroup = "other"

// DenialTotals returns all-time figures per payer and per reason. Which
// series stand alone is decided by hg.Suppress, as for denialSummary: the
// groups it hides are folded into "other", which by its complement rule
// holds at least two of them and MinUtilizationGroup claims, so no series,
// "other" included, stands for a handful of claims; when even all of them
// together are fewer, no series is given.
func (db *DB) DenialTotals(ctx context.Context) ([]hg.DenialTotal, error) {
	var out []hg.DenialTotal
	for _, by := range []hg.DenialGroupBy{hg.DenialsByPayer, hg.DenialsByReason} {
		monthly, err := db.denialCells(ctx, time.Unix(0, 0), time.Now().Add(24*time.Hour), by)
		if err != nil {
			return nil, err
		}
		// One all-time cell per key, the siblings of one another.
		var all cells[hg.DenialFigures]
		for _, c := range monthly.list {
			all.add(c.Key, "", "", c.m.Claims, func(f *hg.DenialFigures) { f.Add(c.m) })
		}
		all.suppress()
		folded := map[string]*hg.DenialFigures{}
		for _, c := range all.list {
			k := c.Key
			if c.Suppressed {
				k = otherGroup
			}
			if folded[k] == nil {
				folded[k] = &hg.DenialFigures{}
			}
			folded[k].Add(c.m)
		}
		if o := folded[otherGroup]; o != nil && o.Claims < hg.MinUtilizationGroup {
			delete(folded, otherGroup)
		}
		for _, k := range slices.Sorted(maps.Keys(folded)) {
			t := hg.DenialTotal{DenialFigures: *folded[k]}
			if by == hg.DenialsByPayer {
				t.Payer = k
			} else {
				t.Reason = k
			}
			out = append(out, t)
		}
	}
	return out, nil
}

// PaymentAnomalies counts unknown-claim lines and duplicate deliveries.
func (db *DB) PaymentAnomalies(ctx context.Context) (unknownClaims, duplicates int, err error) {
	err = db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM claim_payments WHERE claim_id IS NULL),
		(SELECT coalesce(sum(duplicates), 0) FROM payment_reconciliations)`).Scan(&unknownClaims, &duplicates)
	return unknownClaims, duplicates, translate(err, "payment anomalies")
}
