// Package fhirshape compares the shape of a FHIR message bundle with an
// official NPHIES example of its kind: the event, the resource types, the
// profiles each type claims, the extensions and the code systems used.
// Values (ids, names, amounts) are not compared; the shape is what NPHIES's
// structural and binding rules look at, and what a hand-built bundle gets
// wrong most easily.
package fhirshape

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Shape is what a bundle is made of.
type Shape struct {
	// Event is the MessageHeader's eventCoding code.
	Event string
	// Focus is the resource type MessageHeader.focus points at.
	Focus string
	// Profiles lists, per resource type, the profiles its resources claim.
	Profiles map[string]map[string]bool
	// Extensions and Systems are every extension URL and coding system used
	// anywhere in the bundle.
	Extensions, Systems map[string]bool
	// Elements are the paths of every element present, from the resource
	// type down, list positions left out ("Claim.item.bodySite.coding.code");
	// what is inside an extension is named by its URL instead.
	Elements map[string]bool
}

// Of reads a bundle's shape.
func Of(raw []byte) (Shape, error) {
	var b struct {
		Type  string `json:"type"`
		Entry []struct {
			FullURL  string         `json:"fullUrl"`
			Resource map[string]any `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return Shape{}, fmt.Errorf("not a bundle: %w", err)
	}
	if b.Type != "message" || len(b.Entry) == 0 {
		return Shape{}, fmt.Errorf("not a message bundle")
	}
	s := Shape{Profiles: map[string]map[string]bool{}, Extensions: map[string]bool{}, Systems: map[string]bool{},
		Elements: map[string]bool{}}
	byURL := map[string]string{}
	for _, e := range b.Entry {
		rt, _ := e.Resource["resourceType"].(string)
		byURL[e.FullURL] = rt
		if s.Profiles[rt] == nil {
			s.Profiles[rt] = map[string]bool{}
		}
		if meta, ok := e.Resource["meta"].(map[string]any); ok {
			for _, p := range asSlice(meta["profile"]) {
				if p, ok := p.(string); ok {
					s.Profiles[rt][p] = true
				}
			}
		}
		walk(e.Resource, &s)
		elements(rt, e.Resource, s.Elements)
	}
	mh := b.Entry[0].Resource
	if ec, ok := mh["eventCoding"].(map[string]any); ok {
		s.Event, _ = ec["code"].(string)
	}
	if f := asSlice(mh["focus"]); len(f) > 0 {
		if ref, ok := f[0].(map[string]any); ok {
			r, _ := ref["reference"].(string)
			s.Focus = byURL[r]
		}
	}
	return s, nil
}

// walk collects extension URLs and coding systems below v.
func walk(v any, s *Shape) {
	switch v := v.(type) {
	case map[string]any:
		if _, isCoding := v["code"]; isCoding {
			if sys, ok := v["system"].(string); ok {
				s.Systems[sys] = true
			}
		}
		for k, x := range v {
			if k == "extension" || k == "modifierExtension" {
				for _, e := range asSlice(x) {
					if e, ok := e.(map[string]any); ok {
						if u, ok := e["url"].(string); ok {
							s.Extensions[u] = true
						}
					}
				}
			}
			walk(x, s)
		}
	case []any:
		for _, x := range v {
			walk(x, s)
		}
	}
}

// elements records the path of every element below v.
func elements(path string, v any, into map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if k == "extension" || k == "modifierExtension" || k == "resourceType" {
				continue
			}
			into[path+"."+k] = true
			elements(path+"."+k, x, into)
		}
	case []any:
		for _, x := range v {
			elements(path, x, into)
		}
	}
}

func asSlice(v any) []any {
	if s, ok := v.([]any); ok {
		return s
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

// Compare lists how got departs from the example: another event or focal
// type, a resource type the example does not carry or lacks one it does,
// a profile the example does not use for that type, and extensions or code
// systems the example does not use. Extra resource types, extensions and
// systems that the NPHIES profiles allow but this example happens not to
// show are passed in allow.
func Compare(got, example Shape, allow ...string) []string {
	ok := map[string]bool{}
	for _, a := range allow {
		ok[a] = true
	}
	var diffs []string
	if got.Event != example.Event {
		diffs = append(diffs, fmt.Sprintf("event %q, example %q", got.Event, example.Event))
	}
	if got.Focus != example.Focus {
		diffs = append(diffs, fmt.Sprintf("focus %q, example %q", got.Focus, example.Focus))
	}
	for _, rt := range sorted(got.Profiles) {
		want, seen := example.Profiles[rt]
		if !seen {
			if !ok[rt] {
				diffs = append(diffs, "resource type "+rt+" is not in the example")
			}
			continue
		}
		for _, p := range sorted(got.Profiles[rt]) {
			if !want[p] && len(want) > 0 {
				diffs = append(diffs, fmt.Sprintf("%s profile %s, example %s", rt, p, strings.Join(sorted(want), ", ")))
			}
		}
	}
	for _, rt := range sorted(example.Profiles) {
		if _, seen := got.Profiles[rt]; !seen && !ok[rt] {
			diffs = append(diffs, "resource type "+rt+" of the example is missing")
		}
	}
	for _, u := range sorted(got.Extensions) {
		if !example.Extensions[u] && !ok[u] {
			diffs = append(diffs, "extension "+u+" is not in the example")
		}
	}
	for _, sys := range sorted(got.Systems) {
		if !example.Systems[sys] && !ok[sys] {
			diffs = append(diffs, "code system "+sys+" is not in the example")
		}
	}
	return diffs
}

func sorted[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// Missing lists what the example has and got lacks: resource types,
// extensions, code systems and elements (by path), each but those named in
// accepted, which a caller lists with the reason it does without them.
func Missing(got, example Shape, accepted ...string) []string {
	ok := map[string]bool{}
	for _, a := range accepted {
		ok[a] = true
	}
	var out []string
	for _, rt := range sorted(example.Profiles) {
		if _, seen := got.Profiles[rt]; !seen && !ok[rt] {
			out = append(out, "resource type "+rt)
		}
	}
	for _, set := range []struct {
		kind      string
		got, want map[string]bool
	}{{"extension", got.Extensions, example.Extensions}, {"code system", got.Systems, example.Systems},
		{"element", got.Elements, example.Elements}} {
		for _, k := range sorted(set.want) {
			rt, _, _ := strings.Cut(k, ".")
			if _, have := got.Profiles[rt]; set.kind == "element" && !have {
				continue // the resource type is reported (or accepted) as a whole
			}
			if !set.got[k] && !ok[k] {
				out = append(out, set.kind+" "+k)
			}
		}
	}
	return out
}
