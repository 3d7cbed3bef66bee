package model_test

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/graph/model"
)

// scalarInput turns fuzz bytes into what gqlgen hands a scalar: a JSON
// value decoded with UseNumber as the transports decode variables, or the
// bytes as a string when they are not JSON.
func scalarInput(raw []byte) any {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return string(raw)
	}
	return v
}

// marshal writes m and unquotes the JSON string it must be.
func marshal(t *testing.T, m graphql.Marshaler) string {
	t.Helper()
	var b bytes.Buffer
	m.MarshalGQL(&b)
	s, err := strconv.Unquote(b.String())
	if err != nil {
		t.Fatalf("marshalled to %s, not a JSON string", b.String())
	}
	return s
}

// wantInvalid fails unless err is a BAD_USER_INPUT domain error: a bad
// scalar is the caller's fault, never an INTERNAL one.
func wantInvalid(t *testing.T, in any, err error) {
	t.Helper()
	if code := hg.ErrorCode(err); code != hg.EINVALID {
		t.Fatalf("%#v: error code %s (%v), want %s", in, code, err, hg.EINVALID)
	}
}

// FuzzTime checks that a Time either fails as BAD_USER_INPUT or reads an
// instant that writes back in a canonical form which reads the same
// instant, so what we answer is always something we accept.
func FuzzTime(f *testing.F) {
	for _, s := range []string{
		`"2026-11-22T08:00:00Z"`, `"2026-11-22T11:00:00.123456789+03:00"`, `"2026-11-22T08:00:00.10-00:00"`, `"2026-11-22T08:00:00"`,
		`"0001-01-01T00:00:00Z"`, `"9999-12-31T23:59:59.999999999Z"`, `"2026-02-29T00:00:00Z"`, `"2026-11-22 08:00:00Z"`, `1763798400`,
		`null`, `true`, `{"t":"2026-11-22T08:00:00Z"}`, `["2026-11-22T08:00:00Z"]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		in := scalarInput(raw)
		got, err := model.UnmarshalTime(in)
		if err != nil {
			wantInvalid(t, in, err)
			return
		}
		if written := writtenAs(got, in.(string)); written != in {
			t.Fatalf("%#v read as %v, which is written %q: read leniently", in, got, written)
		}
		out := marshal(t, model.MarshalTime(got))
		again, err := model.UnmarshalTime(out)
		if err != nil {
			t.Fatalf("%#v read as %v, written as %q, which does not read back: %v", in, got, out, err)
		}
		if !again.Equal(got) {
			t.Fatalf("%#v read as %v, round-tripped to %v", in, got, again)
		}
		if canon := marshal(t, model.MarshalTime(again)); canon != out {
			t.Fatalf("%#v written as %q, then as %q: not canonical", in, out, canon)
		}
	})
}

// writtenAs writes t in the offset it was read in, with as many fraction
// digits as s has, so an exact reading of s gives s back.
func writtenAs(t time.Time, s string) string {
	layout := "2006-01-02T15:04:05"
	if _, frac, ok := strings.Cut(s, "."); ok {
		digits := strings.IndexAny(frac, "Z+-")
		if digits < 0 {
			digits = len(frac)
		}
		layout += "." + strings.Repeat("0", digits)
	}
	w := t.Format(layout + "Z07:00")
	if strings.HasSuffix(s, "+00:00") || strings.HasSuffix(s, "-00:00") {
		w = strings.TrimSuffix(w, "Z") + s[len(s)-6:]
	}
	return w
}

// FuzzDate checks that a Date either fails as BAD_USER_INPUT or is
// midnight UTC and writes back exactly as it was written.
func FuzzDate(f *testing.F) {
	for _, s := range []string{
		`"2026-11-22"`, `"1990-02-28"`, `"2024-02-29"`, `"2026-02-29"`, `"0000-01-01"`, `"9999-12-31"`,
		`"2026-1-2"`, `"2026-11-22T00:00:00Z"`, `" 2026-11-22"`, `"20261122"`, `19901231`, `null`, `["1990-01-01"]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		in := scalarInput(raw)
		got, err := model.UnmarshalDate(in)
		if err != nil {
			wantInvalid(t, in, err)
			return
		}
		if got.Location() != time.UTC || got.Hour() != 0 || got.Minute() != 0 || got.Second() != 0 || got.Nanosecond() != 0 {
			t.Fatalf("%#v read as %v, not midnight UTC", in, got)
		}
		if out := marshal(t, model.MarshalDate(got)); out != in {
			t.Fatalf("%#v read as %v, written back as %q", in, got, out)
		}
	})
}
