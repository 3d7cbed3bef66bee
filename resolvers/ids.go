package resolvers

import (
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/graph/model"
)

// Global IDs are opaque to clients: base64url of "Type:uuid", so node(id:)
// knows what to load and an ID of one type cannot be passed as another.

// globalID returns the opaque ID of the object of type typ with id. A
// page of 50 rows mints a few hundred, so "Type:uuid" is spelt into a
// buffer on the stack rather than through id.String and concatenation.
func globalID(typ string, id uuid.UUID) string {
	var buf [64 + 1 + 36]byte
	raw := append(buf[:0], typ...)
	raw = append(raw, ':')
	raw = appendUUID(raw, id)
	out := make([]byte, base64.RawURLEncoding.EncodedLen(len(raw)))
	base64.RawURLEncoding.Encode(out, raw)
	return string(out)
}

// appendUUID appends id in its canonical form, as id.String spells it.
func appendUUID(b []byte, id uuid.UUID) []byte {
	for i, part := range [][]byte{id[0:4], id[4:6], id[6:8], id[8:10], id[10:16]} {
		if i > 0 {
			b = append(b, '-')
		}
		b = hex.AppendEncode(b, part)
	}
	return b
}

// parseAnyID decodes a global ID of any type. Only the form globalID mints
// is accepted: base64 and uuid.Parse both take other spellings of the same
// bytes, which would give one object many IDs. The type must be a GraphQL
// type name, so that no cursor reads as an ID.
func parseAnyID(field, id string) (string, uuid.UUID, error) {
	raw, err := base64.RawURLEncoding.DecodeString(id)
	typ, rest, ok := strings.Cut(string(raw), ":")
	u, err2 := uuid.Parse(rest)
	if err != nil || !ok || err2 != nil || !typeName(typ) || globalID(typ, u) != id {
		return "", uuid.Nil, hg.Invalid(field, "%s is not a valid ID", field)
	}
	return typ, u, nil
}

// typeName reports whether s is a GraphQL type name of ours: a letter, then
// letters and digits.
func typeName(s string) bool {
	for i, c := range s {
		letter := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return s != ""
}

// parseID decodes a global ID that must be of type typ; field names the
// argument in the error.
func parseID(field, typ, id string) (uuid.UUID, error) {
	got, u, err := parseAnyID(field, id)
	if err != nil {
		return uuid.Nil, err
	}
	if got != typ {
		return uuid.Nil, hg.Invalid(field, "%s is not a %s ID", field, typ)
	}
	return u, nil
}

// encodeCursor makes an opaque keyset cursor from the sort key of an item.
func encodeCursor(t time.Time, id uuid.UUID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(t.UnixNano(), 10) + ":" + id.String()))
}

// page validates first/after into a store page.
func page(first *int, after *string) (hg.Page, error) {
	n := 20
	if first != nil {
		n = *first
	}
	if n < 1 || n > hg.MaxPageSize {
		return hg.Page{}, hg.Invalid("first", "first must be between 1 and %d", hg.MaxPageSize)
	}
	p := hg.Page{First: n}
	if after != nil && *after != "" {
		raw, err := base64.RawURLEncoding.DecodeString(*after)
		ts, rest, ok := strings.Cut(string(raw), ":")
		nanos, err2 := strconv.ParseInt(ts, 10, 64)
		id, err3 := uuid.Parse(rest)
		// As with IDs, only the form encodeCursor mints.
		at := time.Unix(0, nanos).UTC()
		if err != nil || !ok || err2 != nil || err3 != nil || encodeCursor(at, id) != *after {
			return hg.Page{}, hg.Invalid("after", "after is not a valid cursor")
		}
		p.After = &hg.Cursor{Time: at, ID: id}
	}
	return p, nil
}

// edges trims a page fetched by connectionPage with one extra item (which
// tells whether more follow) and builds its edges with opaque keyset cursors. Every connection
// uses it, so paging behaves the same everywhere.
func edges[T, E any](items []T, p hg.Page, key func(T) (time.Time, uuid.UUID), edge func(cursor string, node T) E) ([]E, *model.PageInfo) {
	info := &model.PageInfo{}
	if len(items) >= p.First {
		items, info.HasNextPage = items[:p.First-1], true
	}
	out := make([]E, 0, len(items))
	for _, it := range items {
		c := encodeCursor(key(it))
		out = append(out, edge(c, it))
		info.EndCursor = &c
	}
	return out, info
}
