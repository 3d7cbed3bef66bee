package postgres

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	hg "github.com/healthgraph/healthgraph"
)

var _ hg.CatalogueStore = (*DB)(nil)

const catalogueColumns = `c.id, c.system, c.code, c.display, c.unit_price, c.created_at, c.updated_at`

func scanCatalogueItem(row pgx.CollectableRow) (*hg.CatalogueItem, error) {
	var c hg.CatalogueItem
	err := row.Scan(&c.ID, &c.System, &c.Code, &c.Display, &c.UnitPrice, &c.CreatedAt, &c.UpdatedAt)
	return &c, err
}

// ImportCatalogue upserts the items by (system, code) in one statement, so
// an import lands whole or not at all.
func (db *DB) ImportCatalogue(ctx context.Context, items []hg.NewCatalogueItem) (added, updated int, err error) {
	n := len(items)
	ids, systems, codes, displays, prices := make([]uuid.UUID, n), make([]string, n), make([]string, n), make([]string, n), make([]int64, n)
	for i := range items {
		it := &items[i]
		if err := it.Validate(); err != nil {
			return 0, 0, hg.Invalid("csv", "item %d: %s", i+1, err)
		}
		if ids[i], err = uuid.NewV7(); err != nil {
			return 0, 0, err
		}
		systems[i], codes[i], displays[i], prices[i] = string(it.System), it.Code, it.Display, int64(it.UnitPrice)
	}
	// xmax = 0 tells a freshly inserted row from an updated one.
	err = db.Pool.QueryRow(ctx, `WITH up AS (
			INSERT INTO catalogue_items AS c (id, system, code, display, unit_price)
			SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bigint[])
			ON CONFLICT (system, code) DO UPDATE SET display = excluded.display, unit_price = excluded.unit_price,
				updated_at = now()
			RETURNING (xmax = 0) AS inserted)
		SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up`,
		ids, systems, codes, displays, prices).Scan(&added, &updated)
	if err != nil {
		return 0, 0, translate(err, "catalogue")
	}
	return added, updated, nil
}

// catalogueSorts: the catalogue is listed by creation.
var catalogueSorts = newestFirst("c.created_at", nil)

// ListCatalogue returns a page of items in p.Sort (newest first by default).
func (db *DB) ListCatalogue(ctx context.Context, f hg.CatalogueFilter, p hg.Page) ([]*hg.CatalogueItem, int, error) {
	where := `(@system::text IS NULL OR c.system = @system)
		AND (@search = '' OR c.code ILIKE '%' || @search || '%' OR c.display ILIKE '%' || @search || '%')`
	args := pageArgs(p, namedArgs{"system": f.System, "search": escapeLike(f.Search)})
	keyset, order, err := catalogueSorts.keyset(p, "c.id", args)
	if err != nil {
		return nil, 0, err
	}
	rows, _ := db.Pool.Query(ctx, `SELECT `+catalogueColumns+` FROM catalogue_items c WHERE `+where+` AND `+keyset+`
		ORDER BY `+order+` LIMIT @first`, args)
	items, err := pgx.CollectRows(rows, scanCatalogueItem)
	if err != nil {
		return nil, 0, translate(err, "catalogue")
	}
	var total int
	if p.Count {
		if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM catalogue_items c WHERE `+where, args).Scan(&total); err != nil {
			return nil, 0, translate(err, "catalogue")
		}
	}
	return items, total, nil
}

// CatalogueItems returns the items with the given ids that exist.
func (db *DB) CatalogueItems(ctx context.Context, ids []uuid.UUID) ([]*hg.CatalogueItem, error) {
	return catalogueItems(ctx, db.Pool, ids)
}

func catalogueItems(ctx context.Context, q querier, ids []uuid.UUID) ([]*hg.CatalogueItem, error) {
	rows, _ := q.Query(ctx, `SELECT `+catalogueColumns+` FROM catalogue_items c WHERE c.id = ANY($1)`, ids)
	items, err := pgx.CollectRows(rows, scanCatalogueItem)
	return items, translate(err, "catalogue")
}

// billFromCatalogue fills the catalogue lines of an invoice from their
// items inside tx (see hg.BillFromCatalogue).
func billFromCatalogue(ctx context.Context, tx pgx.Tx, lines []hg.NewInvoiceLine) error {
	return hg.BillFromCatalogue(lines, "lines.itemId", func(ids []uuid.UUID) ([]*hg.CatalogueItem, error) {
		return catalogueItems(ctx, tx, ids)
	})
}
