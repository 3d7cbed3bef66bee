package model_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/healthgraph/healthgraph/graph/model"
)

// TestTimesWriteAsTheirQuotedFormat: MarshalTime and MarshalDate write
// what quoting the formatted time writes, after what a bytes.Buffer (the
// executor's writer) holds already and to a writer without spare capacity
// alike.
func TestTimesWriteAsTheirQuotedFormat(t *testing.T) {
	t.Parallel()
	riyadh := time.FixedZone("AST", 3*3600)
	for _, tm := range []time.Time{
		{}, time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC), time.Date(2026, 11, 22, 1, 30, 0, 123456789, riyadh),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 10, riyadh), time.Date(2026, 2, 28, 23, 0, 0, 100, riyadh),
	} {
		for _, c := range []struct {
			name string
			m    graphql.Marshaler
			want string
		}{
			{"Time", model.MarshalTime(tm), strconv.Quote(tm.UTC().Format(time.RFC3339Nano))},
			{"Date", model.MarshalDate(tm), strconv.Quote(tm.Format(time.DateOnly))},
		} {
			var buf bytes.Buffer
			buf.WriteString("{")
			c.m.MarshalGQL(&buf)
			var sb strings.Builder
			c.m.MarshalGQL(&sb)
			if buf.String() != "{"+c.want || sb.String() != c.want {
				t.Errorf("%s of %v: wrote %s and %s, want %s", c.name, tm, buf.String()[1:], sb.String(), c.want)
			}
		}
	}
}
