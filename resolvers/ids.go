package resolvers

import (
	"encoding/base64"
	"strings"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
)

// Global IDs are opaque to clients: base64url of "Type:uuid", minted by
// hg.GlobalID, so node(id:) knows what to load and an ID of one type cannot
// be passed as another.

// parseAnyID decodes a global ID of any type. Only the form hg.GlobalID mints
// is accepted: base64 and uuid.Parse both take other spellings of the same
// bytes, which would give one object many IDs. The type must be a GraphQL
// type name, so that no cursor reads as an ID.
func parseAnyID(field, id string) (string, uuid.UUID, error) {
	raw, err := base64.RawURLEncoding.DecodeString(id)
	typ, rest, ok := strings.Cut(string(raw), ":")
	u, err2 := uuid.Parse(rest)
	if err != nil || !ok || err2 != nil || !typeName(typ) || hg.GlobalID(typ, u) != id {
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
