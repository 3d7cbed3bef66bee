package model

import (
	"io"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"

	hg "github.com/healthgraph/healthgraph"
)

// MarshalTime writes a time as RFC 3339 in UTC.
func MarshalTime(t time.Time) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.Quote(t.UTC().Format(time.RFC3339Nano)))
	})
}

// UnmarshalTime reads an RFC 3339 timestamp; anything else is a
// BAD_USER_INPUT error rather than an internal one.
func UnmarshalTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, hg.Invalid("", "a Time must be an RFC 3339 string")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, hg.Invalid("", "%q is not an RFC 3339 timestamp with a zone offset", truncate(s, 40))
	}
	return t, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// MarshalDate writes a calendar date as YYYY-MM-DD.
func MarshalDate(t time.Time) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.Quote(t.Format(time.DateOnly)))
	})
}

// UnmarshalDate reads a YYYY-MM-DD date as midnight UTC.
func UnmarshalDate(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, hg.Invalid("", "a Date must be a YYYY-MM-DD string")
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, hg.Invalid("", "%q is not a YYYY-MM-DD date", truncate(s, 40))
	}
	return t, nil
}
