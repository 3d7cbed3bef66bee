package rules

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode"
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
			if k, v, ok := lookup(p.obj(), key); ok {
				out = append(out, t.misfits(p.path+"."+k, v)...)
			}
		}
		return out
	}
}

// choiceTypeCheck: a choice element ("Claim.item.serviced[x]") is sent as
// one of R4's choices for it (servicedDate, servicedPeriod; the table lists
// them) and has that choice's shape.
func choiceTypeCheck(path string) func(*message) []string {
	parent, prefix := splitLast(strings.TrimSuffix(path, "[x]"))
	return func(m *message) []string {
		var out []string
		for _, p := range m.selectPath(parent) {
			for k, v := range p.obj() {
				rest, ok := strings.CutPrefix(k, prefix)
				if !ok || rest == "" || !unicode.IsUpper(rune(rest[0])) {
					continue
				}
				t, allowed := typeOf(parent + "." + k)
				if !allowed {
					out = append(out, p.path+"."+k)
					continue
				}
				out = append(out, t.misfits(p.path+"."+k, v)...)
			}
		}
		return out
	}
}

// hasChoices reports whether the table lists R4's choices of a choice element.
func hasChoices(path string) bool {
	parent, prefix := splitLast(strings.TrimSuffix(path, "[x]"))
	loadTypes()
	for p := range types {
		if rest, ok := strings.CutPrefix(p, parent+"."+prefix); ok && rest != "" && !strings.Contains(rest, ".") {
			return true
		}
	}
	return false
}

// splitLast splits "A.b.c" into "A.b" and "c".
func splitLast(path string) (string, string) {
	i := strings.LastIndex(path, ".")
	return path[:i], path[i+1:]
}

// misfits returns the expressions where a value found at `at` does not have
// the type's shape: the element itself when it is (or is not) an array
// against R4, else each item that does not fit.
func (t fhirType) misfits(at string, v any) []string {
	items, isArray := v.([]any)
	if isArray != t.array {
		return []string{at}
	}
	if !isArray {
		if t.fits(v) {
			return nil
		}
		return []string{at}
	}
	var out []string
	for i, x := range items {
		if !t.fits(x) {
			out = append(out, at+"["+itoa(i)+"]")
		}
	}
	return out
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

var (
	r4CodesOnce sync.Once
	r4CodeLists map[string]map[string]bool
)

// r4Codes returns the codes R4 allows for a code element with a required
// binding (data/fhir-codes.tsv), if the table has the element.
func r4Codes(path string) (map[string]bool, bool) {
	r4CodesOnce.Do(func() {
		r4CodeLists = map[string]map[string]bool{}
		for _, row := range readTSV("data/fhir-codes.tsv")[1:] {
			if len(row) < 2 {
				continue
			}
			set := map[string]bool{}
			for _, c := range strings.Fields(row[1]) {
				set[c] = true
			}
			r4CodeLists[row[0]] = set
		}
	})
	set, ok := r4CodeLists[path]
	return set, ok
}

// codeCheck: a code element present carries one of R4's codes for it.
func codeCheck(path string, allowed map[string]bool) func(*message) []string {
	return func(m *message) []string {
		var out []string
		for _, n := range m.selectPath(path) {
			if s, ok := n.val.(string); !ok || !allowed[s] {
				out = append(out, n.path)
			}
		}
		return out
	}
}
