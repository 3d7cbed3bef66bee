// Command gentypes derives data/fhir-types.tsv from HL7's FHIR R4 JSON
// schema: for every element path named by a data-type (DT) rule of the
// sheet, the JSON shape R4 gives it (string, number, boolean or object),
// whether it is an array, and the R4 pattern of a primitive (a choice
// element listed by each of R4's choices). The rule engine checks DT rules
// against that table. It also writes data/fhir-codes.tsv: R4's codes for the
// code elements with a required binding that binding (IB) rules name.
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
	"path/filepath"
	"regexp"
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
	codesOut := flag.String("codes", "nphies/rules/data/fhir-codes.tsv", "the table of R4's required codes to write")
	examples := flag.String("examples", "nphies/testdata/examples", "the official example bundles")
	extOut := flag.String("extensions", "nphies/rules/data/extension-types.tsv", "the table of extensions' value types to write")
	resOut := flag.String("resources", "nphies/rules/data/fhir-resources.tsv", "the list of R4's resource types to write")
	flag.Parse()
	raw, err := os.ReadFile(*schema)
	if err != nil {
		log.Fatal(err)
	}
	var s struct {
		Definitions map[string]prop `json:"definitions"`
	}
	var list struct {
		Definitions struct {
			ResourceList struct {
				OneOf []prop `json:"oneOf"`
			} `json:"ResourceList"`
		} `json:"definitions"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		log.Fatal(err)
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		log.Fatal(err)
	}
	paths, err := sheetPaths(*sheet, "DT")
	if err != nil {
		log.Fatal(err)
	}
	var rows []string
	for _, p := range expandChoices(s.Definitions, paths) {
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
	log.Printf("%d rows for %d DT element paths and their choices", len(rows), len(paths))
	if err := writeCodes(s.Definitions, *sheet, *codesOut); err != nil {
		log.Fatal(err)
	}
	if err := writeExtensionTypes(*examples, *extOut); err != nil {
		log.Fatal(err)
	}
	if err := writeResources(list.Definitions.ResourceList.OneOf, *resOut); err != nil {
		log.Fatal(err)
	}
}

// writeResources writes R4's resource types, one a line, from the schema's
// ResourceList. HL7 lists them in alphabetical order; the package the schema
// comes from appends its own (Project, User, …) after VisionPrescription,
// so the list stops where the order breaks.
func writeResources(list []prop, out string) error {
	var names []string
	for _, p := range list {
		name := p.Ref[strings.LastIndex(p.Ref, "/")+1:]
		if len(names) > 0 && name < names[len(names)-1] {
			break
		}
		names = append(names, name)
	}
	if len(names) == 0 {
		return fmt.Errorf("the schema has no ResourceList")
	}
	body := "# R4's resource types (from the FHIR R4 JSON schema's ResourceList by nphies/rules/gentypes; do not edit)\n" +
		strings.Join(names, "\n") + "\n"
	log.Printf("%d resource types", len(names))
	return os.WriteFile(out, []byte(body), 0o644) //nolint:gosec // G306: committed data, readable by all
}

// writeCodes writes, for every element path of the sheet's binding (IB)
// rules that R4 types as a code with a required binding, the codes R4
// allows (the schema's enum).
func writeCodes(defs map[string]prop, sheet, out string) error {
	paths, err := sheetPaths(sheet, "IB")
	if err != nil {
		return err
	}
	var rows []string
	for _, p := range paths {
		if enum := enumOf(defs, p); len(enum) > 0 {
			rows = append(rows, p+"\t"+strings.Join(enum, " "))
		}
	}
	sort.Strings(rows)
	body := "# element\tcodes (R4's required binding, from the FHIR R4 JSON schema by nphies/rules/gentypes; do not edit)\n" +
		strings.Join(rows, "\n") + "\n"
	log.Printf("%d of %d IB element paths have R4 codes", len(rows), len(paths))
	return os.WriteFile(out, []byte(body), 0o644) //nolint:gosec // G306: committed data, readable by all
}

// dataTypeRoots are the data types the engine finds wherever a message has
// them (rules.dataTypeKeys).
var dataTypeRoots = map[string]bool{"Identifier": true, "Attachment": true, "Extension": true, "Dosage": true}

// enumOf is the enum of the code element at path, or nil.
func enumOf(defs map[string]prop, path string) []string {
	i := strings.LastIndex(path, ".")
	owner, ok := definitionAt(defs, path[:i])
	if !ok {
		return nil
	}
	root := strings.Split(path, ".")[0]
	if _, isResource := defs[root].Properties["resourceType"]; !isResource && !dataTypeRoots[root] {
		return nil
	}
	p, ok := property(owner, path[i+1:])
	if !ok {
		return nil
	}
	if p.Items != nil {
		p = *p.Items
	}
	return p.Enum
}

// sheetPaths returns the element paths of the sheet's rules of a type,
// normalised as the engine normalises them.
func sheetPaths(sheet, ruleType string) ([]string, error) {
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
		if len(cols) < 4 || strings.TrimSpace(cols[1]) != ruleType {
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

// choiceSlice is a slice of a choice element as the sheet writes it
// ("serviced[x]:servicedDate"); the slice names the JSON property.
var choiceSlice = regexp.MustCompile(`\w+\[x\]:(\w+)`)

// sheetTypos mirrors rules.sheetTypos.
var sheetTypos = strings.NewReplacer("CoverageEligibilty", "CoverageEligibility", "locationAdress", "locationAddress",
	"cyclinder", "cylinder", "rateQunatity", "rateQuantity")

// normalise mirrors rules.elementPath.
func normalise(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, " (,"); i >= 0 {
		s = s[:i]
	}
	s = choiceSlice.ReplaceAllString(s, "$1")
	s = sheetTypos.Replace(s)
	if !strings.Contains(s, ".") || strings.Contains(s, ":") || s == "" {
		return ""
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// expandChoices adds, for every choice element of paths ("Claim.item.
// serviced[x]"), R4's choices of it ("Claim.item.servicedDate", "….
// servicedPeriod"): the engine accepts exactly the choices the table has.
func expandChoices(defs map[string]prop, paths []string) []string {
	out := append([]string(nil), paths...)
	seen := map[string]bool{}
	for _, p := range paths {
		seen[p] = true
	}
	for _, p := range paths {
		parent, last, _ := strings.Cut(p, "[x]")
		if last != "" || !strings.HasSuffix(p, "[x]") {
			continue
		}
		i := strings.LastIndex(parent, ".")
		owner, prefix := parent[:i], parent[i+1:]
		def, ok := definitionAt(defs, owner)
		if !ok {
			continue
		}
		for name := range def.Properties {
			rest, ok := strings.CutPrefix(name, prefix)
			if choice := owner + "." + name; ok && rest != "" && unicode.IsUpper(rune(rest[0])) && !seen[choice] {
				seen[choice] = true
				out = append(out, choice)
			}
		}
	}
	return out
}

// definitionAt is the schema definition of the (complex) element at path.
func definitionAt(defs map[string]prop, path string) (prop, bool) {
	segs := strings.Split(path, ".")
	cur, found := defs[segs[0]]
	for _, seg := range segs[1:] {
		if !found {
			return prop{}, false
		}
		p, ok := property(cur, seg)
		if !ok {
			return prop{}, false
		}
		if p.Items != nil {
			p = *p.Items
		}
		cur, found = refDef(defs, p.Ref)
	}
	return cur, found && cur.Properties != nil
}

// resolve walks path through the schema's definitions.
func resolve(defs map[string]prop, path string) (kind string, array bool, pattern string, ok bool) {
	segs := strings.Split(path, ".")
	cur, found := defs[segs[0]]
	if _, isResource := cur.Properties["resourceType"]; !found || (!isResource && !dataTypeRoots[segs[0]]) {
		return "", false, "", false // rooted at a data type the engine does not look for
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

// writeExtensionTypes writes, for every extension the official examples
// use, the value[x] property they give it, and in how many places: NPHIES's
// extension definitions are not vendored, and the examples use each
// extension with one value type throughout (an extension used two ways
// would stop the run).
func writeExtensionTypes(dir, out string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return fmt.Errorf("examples in %s: %w", dir, err)
	}
	if len(files) == 0 {
		return fmt.Errorf("no examples in %s", dir)
	}
	uses := map[string]map[string]int{}
	for _, f := range files {
		raw, err := os.ReadFile(f) //nolint:gosec // G304: the examples the flag names
		if err != nil {
			return err
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		collectExtensions(v, uses)
	}
	var rows []string
	for url, byType := range uses {
		if len(byType) != 1 {
			return fmt.Errorf("extension %s used with value types %v", url, byType)
		}
		for t, n := range byType {
			rows = append(rows, fmt.Sprintf("%s\t%s\t%d", url, t, n))
		}
	}
	sort.Strings(rows)
	body := "# url\tvalue\tuses (the value type the official examples give each extension, by nphies/rules/gentypes; do not edit)\n" +
		strings.Join(rows, "\n") + "\n"
	log.Printf("%d extensions typed from %d examples", len(rows), len(files))
	return os.WriteFile(out, []byte(body), 0o644) //nolint:gosec // G306: committed data, readable by all
}

// collectExtensions counts, under every extension element of v, each
// extension's url and value[x] property.
func collectExtensions(v any, uses map[string]map[string]int) {
	switch x := v.(type) {
	case []any:
		for _, item := range x {
			collectExtensions(item, uses)
		}
	case map[string]any:
		for k, child := range x {
			if exts, ok := child.([]any); ok && (k == "extension" || k == "modifierExtension") {
				for _, e := range exts {
					countExtension(e, uses)
				}
			}
			collectExtensions(child, uses)
		}
	}
}

// countExtension counts one extension's value type (none for a complex
// extension, which nests others).
func countExtension(e any, uses map[string]map[string]int) {
	ext, _ := e.(map[string]any)
	url, _ := ext["url"].(string)
	for k := range ext {
		if strings.HasPrefix(k, "value") && url != "" {
			if uses[url] == nil {
				uses[url] = map[string]int{}
			}
			uses[url][k]++
		}
	}
}
