package model

import (
	"io"
	"regexp"
	"time"

	"github.com/99designs/gqlgen/graphql"

	hg "github.com/healthgraph/healthgraph"
)

// MarshalTime writes a time as RFC 3339 in UTC.
func MarshalTime(t time.Time) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) { writeQuotedTime(w, t.UTC(), time.RFC3339Nano) })
}

// rfc3339 is the shape of an RFC 3339 timestamp. time.Parse alone also
// takes a one-digit hour, a comma before the fraction and an offset of 24
// hours, which other readers of the same text would not, and drops
// fraction digits past the nanosecond without a word.
var rfc3339 = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$`)

// UnmarshalTime reads an RFC 3339 timestamp; anything else is a
// BAD_USER_INPUT error rather than an internal one. The instant must fall
// in the years 0001 to 9999 in UTC too, as MarshalTime writes it: an offset
// can push a valid local time to year 0 or 10000, which RFC 3339 cannot
// write.
func UnmarshalTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, hg.Invalid("", "a Time must be an RFC 3339 string")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || !rfc3339.MatchString(s) {
		return time.Time{}, hg.Invalid("", "%q is not an RFC 3339 timestamp with a zone offset", truncate(s, 40))
	}
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return time.Time{}, hg.Invalid("", "a Time must fall between the years 0001 and 9999 in UTC")
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
	return graphql.WriterFunc(func(w io.Writer) { writeQuotedTime(w, t, time.DateOnly) })
}

// writeQuotedTime writes t in layout as a JSON string: what
// strconv.Quote(t.Format(layout)) writes, as the layouts spell only ASCII
// digits and punctuation, without the two strings. The response is written
// to a bytes.Buffer, whose spare capacity takes the text; a page writes two
// times a row.
func writeQuotedTime(w io.Writer, t time.Time, layout string) {
	var b []byte
	if a, ok := w.(interface{ AvailableBuffer() []byte }); ok {
		b = a.AvailableBuffer()
	}
	b = append(b, '"')
	b = t.AppendFormat(b, layout)
	b = append(b, '"')
	_, _ = w.Write(b)
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
