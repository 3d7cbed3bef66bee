package healthgraph

import (
	"github.com/google/uuid"
)

// MaxPageSize caps `first` and `last` on every connection: the GraphQL
// contract's page limit, which complexity costs use too.
const MaxPageSize = 100

// DefaultPageSize is the page a connection gives when neither first nor
// last is set.
const DefaultPageSize = 20

// Page asks for one page of a keyset-paginated list read in Sort: up to
// First items after the position After. Backward reads against Sort (a
// connection's last/before): the First items before After, the nearest
// first, so a store only flips its comparison and its ORDER BY. Count asks
// for the number of all matches too; it is the costly part of a page over
// a large table, so a store counts only when asked and reports 0
// otherwise.
type Page struct {
	First    int
	After    *Cursor
	Backward bool
	Sort     Sort
	Count    bool
}

// Sort is the order of a list: one of the fields the list documents, the
// id breaking ties, both in one direction. The zero Sort is the list's
// default order, the one its store method names.
type Sort struct {
	Field SortField
	Desc  bool
}

// SortField names the key a list is ordered by.
type SortField string

// The keys lists are ordered by; each list documents those it takes.
const (
	SortCreated SortField = "CREATED_AT" // creation time
	SortName    SortField = "NAME"       // family name, then given name
	SortStarts  SortField = "STARTS_AT"  // an appointment's start
	SortAmount  SortField = "AMOUNT"     // a claim's total
)

// Cursor is a decoded keyset position: the sort key of an item, each part
// as text in the form Postgres reads for the key's type, and its id.
type Cursor struct {
	Key []string
	ID  uuid.UUID
}
