package postgres

import (
	"maps"
	"strconv"
	"strings"

	hg "github.com/healthgraph/healthgraph"
)

// sortKey is the SQL of one order a list can be read in: the expressions of
// its key, most significant first, each with the type its cursor text is
// cast to. The row's id follows them as the tie-break.
type sortKey []struct{ expr, typ string }

// sorts are the orders a list can be read in: its default, for a page
// whose Sort is zero, and the key of each field it takes.
type sorts struct {
	def  hg.Sort
	keys map[hg.SortField]sortKey
}

// newestFirst are the orders of a list read newest first by default, by
// the creation time createdAt, and also in the other orders given.
func newestFirst(createdAt string, others map[hg.SortField]sortKey) sorts {
	keys := map[hg.SortField]sortKey{hg.SortCreated: {{createdAt, "timestamptz"}}}
	maps.Copy(keys, others)
	return sorts{def: hg.Sort{Field: hg.SortCreated, Desc: true}, keys: keys}
}

// keyset returns the predicate that starts the page p after its cursor and
// the ORDER BY that reads it, for a list whose rows' id is the SQL
// expression id, binding the cursor into args. Every key part and the id
// run in one direction, so one row comparison positions the page and one
// index on (key, id) serves it either way. A field the list does not take
// or a cursor of another shape is BAD_USER_INPUT; the resolvers check
// cursors first, so neither reaches here from a client.
func (s sorts) keyset(p hg.Page, id string, args namedArgs) (where, order string, err error) {
	if p.Sort == (hg.Sort{}) {
		p.Sort = s.def
	}
	key, ok := s.keys[p.Sort.Field]
	if !ok {
		return "", "", hg.Invalid("orderBy.field", "this list cannot be ordered by %s", p.Sort.Field)
	}
	cols := make([]string, 0, len(key)+1)
	dir, cmp := " ASC", " > "
	if p.Sort.Desc != p.Backward {
		dir, cmp = " DESC", " < "
	}
	for _, k := range key {
		cols = append(cols, k.expr)
	}
	cols = append(cols, id)
	order = strings.Join(cols, dir+", ") + dir
	if p.After == nil {
		return "true", order, nil
	}
	if len(p.After.Key) != len(key) {
		return "", "", hg.Invalid("after", "the cursor is not one of this order")
	}
	vals := make([]string, 0, len(key)+1)
	for i, k := range key {
		name := "after_k" + strconv.Itoa(i)
		args[name] = p.After.Key[i]
		vals = append(vals, "@"+name+"::"+k.typ)
	}
	args["after_id"] = p.After.ID
	vals = append(vals, "@after_id::uuid")
	return "(" + strings.Join(cols, ", ") + ")" + cmp + "(" + strings.Join(vals, ", ") + ")", order, nil
}

// pageArgs binds the size of a page, @first (a negative First is an empty
// page), and whether it asks for a count, @count.
func pageArgs(p hg.Page, args namedArgs) namedArgs {
	args["first"] = max(p.First, 0)
	args["count"] = p.Count
	return args
}
