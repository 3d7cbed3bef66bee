package rules

import (
	"encoding/json"
	"regexp"
	"strings"
	"sync"
)

// fhirType is the R4 shape of one element (data/fhir-types.tsv).
type fhirType struct {
	kind    string // string, number, boolean or object
	array   bool
	pattern *regexp.Regexp // for primitives; nil when R4 gives none
}

var (
	typesOnce sync.Once
	types     map[string]fhirType
)

// typeOf returns the R4 shape of an element path, if the table has it.
func typeOf(path string) (fhirType, bool) {
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
			types[row[0]] = t
		}
	})
	t, ok := types[path]
	return t, ok
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
