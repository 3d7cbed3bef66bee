// Command gentypes derives data/fhir-types.tsv from HL7's FHIR R4 JSON
// schema: for every element path named by a data-type (DT) rule of the
// sheet, the JSON shape R4 gives it (string, number, boolean or object),
// whether it is an array, and the R4 pattern of a primitive. The rule engine
// checks DT rules against that table.
//
// The schema is not vendored (4 MB); fetch it first:
//
//	go run ./nphies/rules/gentypes -schema "$(nphies/testdata/fetch-fhir-schema.sh)"
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"sort"
	"strings"
	"unicode"
)

// prop is a property or definition of the schema.
type prop struct {
	Ref        string          `json:"$ref"`
	Type       string          `json:"type"`
	Pattern    string          `json:"pattern"`
	Items      *prop           `json:"items"`
	Properties map[string]prop `json:"properties"`
	Enum       []string        `json:"enum"`
}

func main() {
	schema := flag.String("schema", "", "path of fhir.schema.json (nphies/testdata/fetch-fhir-schema.sh prints it)")
	sheet := flag.String("sheet", "nphies/rules/data/validation-rules.tsv", "the validation-rule sheet")
	out := flag.String("out", "nphies/rules/data/fhir-types.tsv", "the table to write")
	flag.Parse()
	raw, err := os.ReadFile(*schema)
	if err != nil {
		log.Fatal(err)
	}
	var s struct {
		Definitions map[string]prop `json:"definitions"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		log.Fatal(err)
	}
	paths, err := dtPaths(*sheet)
	if err != nil {
		log.Fatal(err)
	}
	var rows []string
	for _, p := range paths {
		if kind, array, pattern, ok := resolve(s.Definitions, p); ok {
			rows = append(rows, fmt.Sprintf("%s\t%s\t%v\t%s\t%s", p, kind, array, pattern, primitiveName(s.Definitions, kind, pattern)))
		}
	}
	sort.Strings(rows)
	body := "# element\tjson\tarray\tpattern\tprimitive (derived from the FHIR R4 JSON schema by nphies/rules/gentypes; do not edit)\n" +
		strings.Join(rows, "\n") + "\n"
	if err := os.WriteFile(*out, []byte(body), 0o644); err != nil { //nolint:gosec // G306: committed data, readable by all
		log.Fatal(err)
	}
	log.Printf("%d of %d DT element paths resolved", len(rows), len(paths))
}

// dtPaths returns the element paths of the sheet's DT rules, normalised as
// the engine normalises them.
func dtPaths(sheet string) ([]string, error) {
	f, err := os.Open(sheet) //nolint:gosec // G304: the sheet the flag names
	if err != nil {
		return nil, err
	}
	defer f.Close()
	seen := map[string]bool{}
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 4 || strings.TrimSpace(cols[1]) != "DT" {
			continue
		}
		p := normalise(cols[3])
		if p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out, sc.Err()
}

// normalise mirrors rules.elementPath.
func normalise(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, " (,"); i >= 0 {
		s = s[:i]
	}
	if !strings.Contains(s, ".") || strings.Contains(s, ":") || s == "" {
		return ""
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// resolve walks path through the schema's definitions.
func resolve(defs map[string]prop, path string) (kind string, array bool, pattern string, ok bool) {
	segs := strings.Split(path, ".")
	cur, found := defs[segs[0]]
	if _, isResource := cur.Properties["resourceType"]; !found || !isResource {
		return "", false, "", false // rooted at a data type, which no message carries as an entry
	}
	var p prop
	for i, seg := range segs[1:] {
		p, found = property(cur, seg)
		if !found {
			return "", false, "", false
		}
		array = p.Type == "array"
		target := p
		if array && p.Items != nil {
			target = *p.Items
		}
		def, complexType := refDef(defs, target.Ref)
		last := i == len(segs)-2
		if last {
			switch {
			case complexType && def.Properties != nil:
				return "object", array, "", true
			case target.Ref == "#/definitions/ResourceList":
				return "object", array, "", true
			case complexType:
				return def.Type, array, def.Pattern, def.Type != ""
			case target.Enum != nil:
				return "string", array, "", true
			default:
				return target.Type, array, target.Pattern, target.Type != ""
			}
		}
		if !complexType || def.Properties == nil {
			return "", false, "", false
		}
		cur = def
	}
	return "", false, "", false
}

// primitiveName names the R4 primitive type with this JSON kind and
// pattern ("date", "code", …; "string" for a string without one), or "" for
// objects. R4's JSON schema inlines some primitives, so the pattern, which
// each primitive has its own, identifies them.
func primitiveName(defs map[string]prop, kind, pattern string) string {
	if kind == "object" {
		return ""
	}
	if pattern == "" {
		return kind
	}
	names := make([]string, 0, len(defs))
	for name := range defs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		d := defs[name]
		if d.Properties == nil && d.Pattern == pattern && d.Type == kind && name != "xhtml" {
			return name
		}
	}
	return ""
}

// property finds seg in def, ignoring case (the sheet writes some in lower case).
func property(def prop, seg string) (prop, bool) {
	if p, ok := def.Properties[seg]; ok {
		return p, true
	}
	for k, p := range def.Properties {
		if strings.EqualFold(k, seg) {
			return p, true
		}
	}
	return prop{}, false
}

// refDef follows a local $ref.
func refDef(defs map[string]prop, ref string) (prop, bool) {
	name, ok := strings.CutPrefix(ref, "#/definitions/")
	if !ok {
		return prop{}, false
	}
	d, ok := defs[name]
	return d, ok
}
