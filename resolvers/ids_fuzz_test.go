package resolvers

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
)

// nodeTypes are the types global IDs are minted for.
var nodeTypes = []string{"Appointment", "BreakGlassGrant", "Claim", "Coverage", "EligibilityCheck", "Invoice",
	"MedicalRecord", "NphiesMessage", "Patient", "Payment", "Practitioner", "User"}

// idInput turns fuzz bytes into an ID argument as gqlgen's ID scalar reads
// it from JSON variables, or the bytes as a string when they are not JSON.
func idInput(raw []byte) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil || dec.More() {
		return string(raw)
	}
	id, err := graphql.UnmarshalID(v)
	if err != nil {
		return string(raw)
	}
	return id
}

func wantCodeOn(t *testing.T, what string, err error, fields ...string) {
	t.Helper()
	if hg.ErrorCode(err) != hg.EINVALID {
		t.Fatalf("%s: error %v, want %s", what, err, hg.EINVALID)
	}
	for _, f := range fields {
		if hg.ErrorField(err) == f {
			return
		}
	}
	t.Fatalf("%s: error names field %q, want one of %q", what, hg.ErrorField(err), fields)
}

func fuzzUUID(b []byte) uuid.UUID {
	var u uuid.UUID
	copy(u[:], b)
	return u
}

// FuzzGlobalID checks that an ID is accepted only in the one form we mint,
// names its field when refused, is accepted as at most one type, and is
// never also a cursor; and that every ID we mint reads back.
func FuzzGlobalID(f *testing.F) {
	u := uuid.MustParse("0b6f5e7a-5a9e-4b8e-9d3c-2f1e0a9b8c7d")
	for _, typ := range []string{"Patient", "Claim"} {
		f.Add([]byte(`"`+hg.GlobalID(typ, u)+`"`), uint8(0), u[:])
	}
	raw := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, s := range []string{
		raw("Patient:" + "0B6F5E7A-5A9E-4B8E-9D3C-2F1E0A9B8C7D"),
		raw("Patient:" + "0b6f5e7a5a9e4b8e9d3c2f1e0a9b8c7d"),
		raw("Patient:{0b6f5e7a-5a9e-4b8e-9d3c-2f1e0a9b8c7d}"),
		raw("Patient:urn:uuid:0b6f5e7a-5a9e-4b8e-9d3c-2f1e0a9b8c7d"),
		raw(":0b6f5e7a-5a9e-4b8e-9d3c-2f1e0a9b8c7d"),
		raw("1763798400000000000:0b6f5e7a-5a9e-4b8e-9d3c-2f1e0a9b8c7d"),
		hg.GlobalID("Patient", u) + "=", "", "Patient", "not base64!",
	} {
		f.Add([]byte(`"`+s+`"`), uint8(1), []byte{})
	}
	f.Add([]byte(`12`), uint8(2), []byte{1})
	f.Add([]byte(`true`), uint8(3), []byte{2})
	f.Fuzz(func(t *testing.T, raw []byte, typIndex uint8, idBytes []byte) {
		checkAnyID(t, idInput(raw))
		typ := nodeTypes[int(typIndex)%len(nodeTypes)]
		minted := hg.GlobalID(typ, fuzzUUID(idBytes))
		if got, err := parseID("id", typ, minted); err != nil || got != fuzzUUID(idBytes) {
			t.Fatalf("minted %s ID %q read back as %v, %v", typ, minted, got, err)
		}
	})
}

func checkAnyID(t *testing.T, id string) {
	typ, u, err := parseAnyID("id", id)
	if err != nil {
		wantCodeOn(t, "parseAnyID("+id+")", err, "id")
	} else if canon := hg.GlobalID(typ, u); canon != id {
		t.Fatalf("ID %q accepted as %s %v, whose ID is %q", id, typ, u, canon)
	}
	accepted := 0
	for _, want := range nodeTypes {
		got, err := parseID("patientId", want, id)
		switch {
		case err != nil:
			wantCodeOn(t, "parseID("+id+")", err, "patientId")
		case want != typ || got != u:
			t.Fatalf("ID %q of type %q accepted as %s %v", id, typ, want, got)
		default:
			accepted++
		}
	}
	if accepted > 1 {
		t.Fatalf("ID %q accepted as %d types", id, accepted)
	}
	if _, err := readPaging("Patient", fuzzSort, paging{after: &id}); typ != "" && err == nil {
		t.Fatalf("%q reads as a cursor too", id)
	}
}

// fuzzSort is the order the cursor fuzzers read cursors in.
var fuzzSort = hg.Sort{Field: hg.SortName}

// FuzzCursor checks that readPaging accepts only a page size within [1,
// hg.MaxPageSize] and cursors in the one form we mint for its list and
// order, that an accepted cursor is never also a global ID, and that every
// cursor we mint reads back to its key.
func FuzzCursor(f *testing.F) {
	u := uuid.MustParse("0b6f5e7a-5a9e-4b8e-9d3c-2f1e0a9b8c7d")
	minted := encodeCursor("Patient", fuzzSort, hg.Cursor{Key: []string{"Alharbi", "Amal"}, ID: u})
	raw := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	f.Add(minted, 20, true, "Alharbi", u[:])
	for _, s := range []string{
		"", raw(`{"l":"Patient","s":"NAME","d":false,"k":["Alharbi","Amal"],"i":"0B6F5E7A-5A9E-4B8E-9D3C-2F1E0A9B8C7D"}`),
		raw(`{"s":"NAME","l":"Patient","d":false,"k":["Alharbi","Amal"],"i":"` + u.String() + `"}`),
		raw(`{"l":"Patient","s":"NAME","d":false,"k":[],"i":"` + u.String() + `"}`),
		raw(`{"L":"Patient","s":"NAME","d":false,"k":["A"],"i":"` + u.String() + `"}`),
		encodeCursor("Patient", hg.Sort{Field: hg.SortName, Desc: true}, hg.Cursor{Key: []string{"A"}, ID: u}),
		encodeCursor("Claim", fuzzSort, hg.Cursor{Key: []string{"A"}, ID: u}),
		raw("1763798400:" + u.String()), raw("Patient:" + u.String()),
		hg.GlobalID("Patient", u), minted + "==", "%%%",
	} {
		f.Add(s, 1, false, "", []byte{})
	}
	f.Add("", 0, true, "", []byte{})
	f.Add("", hg.MaxPageSize+1, false, "\xff", []byte{0xff})
	f.Fuzz(func(t *testing.T, cursor string, size int, backward bool, family string, idBytes []byte) {
		checkPaging(t, size, cursor, backward)
		if !utf8.ValidString(family) {
			return // Postgres stores no such text, so no key holds it
		}
		key := hg.Cursor{Key: []string{family, "x"}, ID: fuzzUUID(idBytes)}
		c := encodeCursor("Patient", fuzzSort, key)
		p, err := readPaging("Patient", fuzzSort, paging{after: &c})
		if err != nil || p.page.After == nil || p.page.After.ID != key.ID || !slices.Equal(p.page.After.Key, key.Key) {
			t.Fatalf("minted cursor %q for %v read back as %+v, %v", c, key, p.page.After, err)
		}
	})
}

func checkPaging(t *testing.T, size int, cursor string, backward bool) {
	a := paging{first: &size, after: &cursor}
	if backward {
		a = paging{last: &size, before: &cursor}
	}
	pg, err := readPaging("Patient", fuzzSort, a)
	if err != nil {
		wantCodeOn(t, "readPaging", err, "first", "after", "last", "before")
		return
	}
	if pg.size < 1 || pg.size > hg.MaxPageSize || pg.size != size || pg.page.First != size+1 || pg.page.Backward != backward {
		t.Fatalf("size %d (backward %v) read as %+v", size, backward, pg)
	}
	if cursor == "" {
		if pg.page.After != nil {
			t.Fatalf("no cursor read as %+v", pg.page.After)
		}
		return
	}
	if canon := encodeCursor("Patient", fuzzSort, *pg.page.After); canon != cursor {
		t.Fatalf("cursor %q accepted as %+v, whose cursor is %q", cursor, pg.page.After, canon)
	}
	if typ, _, err := parseAnyID("id", cursor); err == nil {
		t.Fatalf("cursor %q reads as a %s ID too", cursor, typ)
	}
}
