package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	hg "github.com/healthgraph/healthgraph"
)

var _ hg.AnalyticsStore = (*DB)(nil)

// claimsKeys are the grouping expressions claimsSummary allows; nothing
// from the caller is ever spliced into SQL.
var claimsKeys = map[string]string{
	"PAYER":  `c.payer_license`,
	"STATUS": `c.status`,
	"MONTH":  `to_char(c.created_at AT TIME ZONE @zone, 'YYYY-MM')`,
}

// ClaimsSummary groups claims by payer, status or month. Groups smaller
// than hg.MinUtilizationGroup keep their key but lose their figures.
func (db *DB) ClaimsSummary(ctx context.Context, from, to time.Time, groupBy string) ([]hg.ClaimsGroup, error) {
	key, ok := claimsKeys[groupBy]
	if !ok {
		return nil, hg.Invalid("groupBy", "groupBy must be PAYER, STATUS or MONTH")
	}
	if err := hg.ValidateRange(from, to); err != nil {
		return nil, err
	}
	rows, _ := db.Pool.Query(ctx, `SELECT `+key+` AS k, count(*), coalesce(sum(c.total), 0), coalesce(sum(c.approved), 0)
		FROM claims c WHERE c.created_at >= @from AND c.created_at < @to GROUP BY k ORDER BY k`,
		pgx.NamedArgs{"from": from, "to": to, "zone": zoneName(hg.ClinicZone)})
	groups, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (hg.ClaimsGroup, error) {
		var g hg.ClaimsGroup
		err := row.Scan(&g.Key, &g.Claims, &g.Total, &g.Approved)
		if g.Claims < hg.MinUtilizationGroup {
			g = hg.ClaimsGroup{Key: g.Key, Suppressed: true}
		}
		return g, err
	})
	return groups, translate(err, "claims summary")
}

var revenueKeys = map[string]string{
	"DAY":   `to_char(i.issued_at AT TIME ZONE @zone, 'YYYY-MM-DD')`,
	"MONTH": `to_char(i.issued_at AT TIME ZONE @zone, 'YYYY-MM')`,
}

// RevenueSummary groups issued, unvoided invoices by day or month.
func (db *DB) RevenueSummary(ctx context.Context, from, to time.Time, groupBy string) ([]hg.RevenueGroup, error) {
	key, ok := revenueKeys[groupBy]
	if !ok {
		return nil, hg.Invalid("groupBy", "groupBy must be DAY or MONTH")
	}
	if err := hg.ValidateRange(from, to); err != nil {
		return nil, err
	}
	rows, _ := db.Pool.Query(ctx, `SELECT `+key+` AS k, count(*), sum(i.total), sum(i.vat), sum(i.patient_share),
			sum(i.insurer_share), sum(i.paid)
		FROM invoices i WHERE i.issued_at >= @from AND i.issued_at < @to AND i.status <> 'VOID'
		GROUP BY k ORDER BY k`, pgx.NamedArgs{"from": from, "to": to, "zone": zoneName(hg.ClinicZone)})
	groups, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (hg.RevenueGroup, error) {
		var g hg.RevenueGroup
		err := row.Scan(&g.Key, &g.Invoices, &g.Billed, &g.VAT, &g.PatientShare, &g.InsurerShare, &g.Collected)
		if g.Invoices < hg.MinUtilizationGroup {
			g = hg.RevenueGroup{Key: g.Key, Suppressed: true}
		}
		return g, err
	})
	return groups, translate(err, "revenue summary")
}
