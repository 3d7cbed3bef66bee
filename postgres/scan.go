package postgres

import (
	"fmt"

	"github.com/jackc/pgx/v5/pgtype"
)

// text scans a text column into a string type of the domain (a gender, a
// status). pgx has no plan for a type it does not know and converts
// through reflection on every row; the rows of a page hold a few such
// columns each.
type text[T ~string] struct{ to *T }

// ScanText implements pgtype.TextScanner.
func (t text[T]) ScanText(v pgtype.Text) error {
	if !v.Valid {
		return fmt.Errorf("cannot scan NULL into %T", t.to)
	}
	*t.to = T(v.String)
	return nil
}
