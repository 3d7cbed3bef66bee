package resolvers

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/graph/model"
)

// Every connection pages the same way: forward with first/after or
// backward with last/before, over a keyset in one Sort. A cursor carries
// the list (the GraphQL type listed), the Sort and the item's key, so a
// cursor of another list or order is refused instead of silently
// positioning a different walk.

// pager is a page being answered: what the store is asked for (one item
// more than the client asked, which tells whether another page follows),
// and what the page's cursors are minted for.
type pager struct {
	list string
	size int
	page hg.Page
	// edgeCursorsUnselected: the query reads no edge's cursor, so only the
	// first and last are minted, for pageInfo. A page of 50 spent 50
	// JSON encodings on cursors nobody read.
	edgeCursorsUnselected bool
}

// paging is the paging arguments of a connection field.
type paging struct {
	first, last   *int
	after, before *string
}

// connectionPage validates a connection's paging arguments for a list read
// in sort. It asks the store to count every match only when the query
// selects totalCount: over a large table the count costs more than the page
// itself.
func connectionPage(ctx context.Context, list string, sort hg.Sort, a paging) (pager, error) {
	pg, err := readPaging(list, sort, a)
	pg.page.Count = err == nil && slices.Contains(graphql.CollectAllFields(ctx), "totalCount")
	pg.edgeCursorsUnselected = err == nil && !selectsIn(ctx, []string{list + "Connection", list + "Edge"}, "edges", "cursor")
	return pg, err
}

// readPaging validates paging arguments into the page to ask for.
func readPaging(list string, sort hg.Sort, a paging) (pager, error) {
	pg := pager{list: list, size: hg.DefaultPageSize, page: hg.Page{Sort: sort}}
	after, before := deref(a.after), deref(a.before)
	switch {
	case a.first != nil && a.last != nil:
		return pager{}, hg.Invalid("last", "first and last cannot be used together: page forward with first and after, or backward with last and before")
	case after != "" && before != "":
		return pager{}, hg.Invalid("before", "after and before cannot be used together")
	case a.last != nil && after != "":
		return pager{}, hg.Invalid("after", "after goes with first; page backward from a cursor with last and before")
	case a.first != nil && before != "":
		return pager{}, hg.Invalid("before", "before goes with last; page forward from a cursor with first and after")
	}
	cursor, field, size := after, "first", a.first
	if a.last != nil || before != "" {
		cursor, field, size = before, "last", a.last
		pg.page.Backward = true
	}
	if size != nil {
		if *size < 1 || *size > hg.MaxPageSize {
			return pager{}, hg.Invalid(field, "%s must be between 1 and %d", field, hg.MaxPageSize)
		}
		pg.size = *size
	}
	if cursor != "" {
		name := "after"
		if pg.page.Backward {
			name = "before"
		}
		c, err := decodeCursor(name, list, sort, cursor)
		if err != nil {
			return pager{}, err
		}
		pg.page.After = c
	}
	pg.page.First = pg.size + 1
	return pg, nil
}

// newestFirst is the order of a list without orderBy: the latest created
// first.
var newestFirst = hg.Sort{Field: hg.SortCreated, Desc: true}

// sortOf is the Sort an orderBy asks for. Each list's order enum spells
// its fields as hg.SortField does.
func sortOf(field string, dir model.OrderDirection) hg.Sort {
	return hg.Sort{Field: hg.SortField(field), Desc: dir == model.OrderDirectionDesc}
}

// timeKey is a time as a cursor key, in a form Postgres reads exactly.
func timeKey(t time.Time) []string { return []string{t.UTC().Format(time.RFC3339Nano)} }

// cursorContent is what a cursor says, before base64.
type cursorContent struct {
	List string       `json:"l"`
	Sort hg.SortField `json:"s"`
	Desc bool         `json:"d"`
	Key  []string     `json:"k"`
	ID   uuid.UUID    `json:"i"`
}

// encodeCursor makes the opaque cursor of the item with key c in list read
// in sort.
func encodeCursor(list string, sort hg.Sort, c hg.Cursor) string {
	raw, _ := json.Marshal(cursorContent{list, sort.Field, sort.Desc, c.Key, c.ID}) // strings and a UUID always marshal
	return base64.RawURLEncoding.EncodeToString(raw)
}

// decodeCursor reads a cursor given as the argument name. As with IDs,
// only the form encodeCursor mints is accepted, and only for the list and
// sort it was minted for.
func decodeCursor(name, list string, sort hg.Sort, s string) (*hg.Cursor, error) {
	var cc cursorContent
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(raw, &cc)
	}
	c := hg.Cursor{Key: cc.Key, ID: cc.ID}
	if err != nil || len(cc.Key) == 0 || encodeCursor(cc.List, hg.Sort{Field: cc.Sort, Desc: cc.Desc}, c) != s {
		return nil, hg.Invalid(name, "%s is not a valid cursor", name)
	}
	if cc.List != list || cc.Sort != sort.Field || cc.Desc != sort.Desc {
		return nil, hg.Invalid(name, "%s is a cursor of another list or order; ask again with the orderBy it came from, or without it", name)
	}
	return &c, nil
}

// edges trims a page fetched through connectionPage, puts a backward page
// back in the list's order and builds its edges with opaque keyset cursors
// from key, the item's sort key under the page's Sort and its id. Every
// connection uses it, so paging behaves the same everywhere.
//
// The side the page was read towards is known exactly (the extra item);
// the side it came from is taken to go on when the walk started from a
// cursor, as the Relay specification allows, rather than costing a query.
func edges[T, E any](pg pager, items []T, key func(T) ([]string, uuid.UUID), edge func(cursor string, node T) E) ([]E, *model.PageInfo) {
	info := &model.PageInfo{}
	more := len(items) > pg.size
	if more {
		items = items[:pg.size]
	}
	info.HasNextPage, info.HasPreviousPage = more, pg.page.After != nil
	if pg.page.Backward {
		items = slices.Clone(items)
		slices.Reverse(items)
		info.HasNextPage, info.HasPreviousPage = info.HasPreviousPage, info.HasNextPage
	}
	out := make([]E, 0, len(items))
	for i, it := range items {
		var c string
		if !pg.edgeCursorsUnselected || i == 0 || i == len(items)-1 {
			k, id := key(it)
			c = encodeCursor(pg.list, pg.page.Sort, hg.Cursor{Key: k, ID: id})
		}
		out = append(out, edge(c, it))
		if info.StartCursor == nil {
			info.StartCursor = &c
		}
		info.EndCursor = &c
	}
	return out, info
}
