package rules

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

// fhirType is the R4 shape of one element (data/fhir-types.tsv).
type fhirType struct {
	kind      string // string, number, boolean or object
	array     bool
	pattern   *regexp.Regexp // for primitives; nil when R4 gives none
	primitive string         // R4 primitive type (date, code, …); "" for objects
}

var (
	typesOnce sync.Once
	types     map[string]fhirType
)

// typeOf returns the R4 shape of an element path, if the table has it.
func typeOf(path string) (fhirType, bool) {
	loadTypes()
	t, ok := types[path]
	return t, ok
}

// pathsOf returns the element paths of the table whose primitive type is one of names.
func pathsOf(names ...string) []string {
	loadTypes()
	var out []string
	for p, t := range types {
		for _, n := range names {
			if t.primitive == n {
				out = append(out, p)
			}
		}
	}
	sort.Strings(out)
	return out
}

// maxPrimitiveLength: values of elements of the primitive types are at most
// max characters long (BV-00258–273: NPHIES's length limits per data type).
func maxPrimitiveLength(max int, names ...string) func(*message) []string {
	return func(m *message) []string {
		var out []string
		for _, p := range pathsOf(names...) {
			for _, n := range m.selectPath(p) {
				var text string
				switch v := n.val.(type) {
				case string:
					text = v
				case json.Number:
					text = v.String()
				default:
					continue
				}
				if utf8.RuneCountInString(text) > max {
					out = append(out, n.path)
				}
			}
		}
		return out
	}
}

func init() {
	for id, limit := range map[string]struct {
		max   int
		names []string
	}{
		"BV-00258": {5, []string{"boolean"}}, "BV-00259": {12, []string{"integer"}},
		"BV-00260": {30, []string{"decimal"}}, "BV-00261": {255, []string{"canonical", "uri", "url"}},
		"BV-00263": {29, []string{"instant"}}, "BV-00264": {10, []string{"date"}},
		"BV-00265": {29, []string{"dateTime"}}, "BV-00266": {8, []string{"time"}},
		"BV-00267": {30, []string{"code"}}, "BV-00268": {60, []string{"oid"}}, "BV-00269": {64, []string{"id"}},
		"BV-00271": {11, []string{"unsignedInt"}}, "BV-00272": {11, []string{"positiveInt"}},
		"BV-00273": {45, []string{"uuid"}},
	} {
		rule(id, maxPrimitiveLength(limit.max, limit.names...))
	}
}

// loadTypes reads data/fhir-types.tsv once.
func loadTypes() {
	typesOnce.Do(func() {
		types = map[string]fhirType{}
		for _, row := range readTSV("data/fhir-types.tsv")[1:] {
			if len(row) < 3 {
				continue
			}
			t := fhirType{kind: row[1], array: row[2] == "true"}
			if len(row) > 3 && row[3] != "" {
				t.pattern = regexp.MustCompile(row[3])
			}
			if len(row) > 4 {
				t.primitive = row[4]
			}
			types[row[0]] = t
		}
	})
}

// dataTypeCheck: wherever the element is present, its JSON has the shape
// R4 gives its data type — an array exactly when the element repeats, the
// right JSON type, and a primitive matching R4's pattern (dates, codes,
// positive integers, …).
func dataTypeCheck(path string, t fhirType) func(*message) []string {
	segs := strings.Split(path, ".")
	parent, key := strings.Join(segs[:len(segs)-1], "."), segs[len(segs)-1]
	return func(m *message) []string {
		var out []string
		for _, p := range m.selectPath(parent) {
			obj := p.obj()
			k, v, ok := lookup(obj, key)
			if !ok {
				continue
			}
			at := p.path + "." + k
			items, isArray := v.([]any)
			if isArray != t.array {
				out = append(out, at)
				continue
			}
			if !isArray {
				items = []any{v}
			}
			for i, x := range items {
				if !t.fits(x) {
					if isArray {
						out = append(out, at+"["+itoa(i)+"]")
					} else {
						out = append(out, at)
					}
				}
			}
		}
		return out
	}
}

// fits reports whether a decoded JSON value has the type's shape.
func (t fhirType) fits(v any) bool {
	var text string
	switch x := v.(type) {
	case string:
		if t.kind != "string" {
			return false
		}
		text = x
	case json.Number:
		if t.kind != "number" {
			return false
		}
		text = x.String()
	case bool:
		return t.kind == "boolean"
	case map[string]any:
		return t.kind == "object"
	default:
		return false
	}
	return t.pattern == nil || t.pattern.MatchString(text)
}

// lookup finds key in obj, exactly or ignoring case.
func lookup(obj map[string]any, key string) (string, any, bool) {
	if v, ok := obj[key]; ok {
		return key, v, true
	}
	for k, v := range obj {
		if strings.EqualFold(k, key) {
			return k, v, true
		}
	}
	return "", nil, false
}
