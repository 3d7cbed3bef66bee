package model

import (
	"strings"

	"github.com/99designs/gqlgen/graphql"

	hg "github.com/healthgraph/healthgraph"
)

// The schema's String scalar is bound to MarshalText and UnmarshalText
// (gqlgen.yml), so every String the API reads — an argument or an input
// field, a variable or a literal, in any operation — passes one check at
// the GraphQL edge. Postgres cannot store a NUL byte in text and refuses
// the whole statement; a client that sends one gets BAD_USER_INPUT before
// any resolver runs or anything is written. The error presenter names the
// field from the error's path, as for the other scalars.

// MarshalText writes a string as gqlgen's built-in String does.
func MarshalText(s string) graphql.Marshaler {
	return graphql.MarshalString(s)
}

// UnmarshalText reads a String input as gqlgen's built-in String does,
// refusing a NUL byte with BAD_USER_INPUT.
func UnmarshalText(v any) (string, error) {
	s, err := graphql.UnmarshalString(v)
	if err != nil {
		return "", err
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "", hg.Invalid("", "text must not contain a NUL character")
	}
	return s, nil
}
