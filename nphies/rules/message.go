package rules

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode"
)

// node is one element of a decoded message with the FHIRPath-like expression
// that locates it from the Bundle.
type node struct {
	path string
	val  any
}

// obj is the node as a JSON object (nil when it is not one).
func (n node) obj() map[string]any {
	m, _ := n.val.(map[string]any)
	return m
}

// has reports whether the object node has key.
func (n node) has(key string) bool {
	_, ok := n.obj()[key]
	return ok
}

// get returns the elements under key: one node per array item (path
// "key[i]"), or the single value. Keys are matched exactly, then ignoring
// case, because the rule sheet spells some elements in lower case.
func (n node) get(key string) []node {
	m := n.obj()
	if m == nil {
		return nil
	}
	v, ok := m[key]
	if !ok {
		for k, x := range m {
			if strings.EqualFold(k, key) {
				key, v, ok = k, x, true
				break
			}
		}
	}
	if !ok {
		return nil
	}
	if a, isArray := v.([]any); isArray {
		out := make([]node, len(a))
		for i, x := range a {
			out[i] = node{path: n.path + "." + key + "[" + strconv.Itoa(i) + "]", val: x}
		}
		return out
	}
	return []node{{path: n.path + "." + key, val: v}}
}

// first is the first element under key, and whether there is one.
func (n node) first(key string) (node, bool) {
	if c := n.get(key); len(c) > 0 {
		return c[0], true
	}
	return node{}, false
}

// str is the string under key ("" when absent or not a string).
func (n node) str(key string) string {
	s, _ := n.obj()[key].(string)
	return s
}

// at follows a dotted key path (no arrays expected) and returns its nodes.
func (n node) at(path string) []node {
	cur := []node{n}
	for _, k := range strings.Split(path, ".") {
		var next []node
		for _, c := range cur {
			next = append(next, c.get(k)...)
		}
		cur = next
	}
	return cur
}

// num is the node's numeric value.
func (n node) num() (float64, bool) {
	switch v := n.val.(type) {
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	case string: // NPHIES's own examples send decimals as strings at times
		f, err := strconv.ParseFloat(v, 64)
		return f, err == nil
	}
	return 0, false
}

// extensions returns the node's extensions whose URL names the NPHIES
// extension name ("…/extension-patientInvoice" for "patientInvoice").
func (n node) extensions(name string) []node {
	var out []node
	for _, e := range n.get("extension") {
		if extensionNamed(e.str("url"), name) {
			out = append(out, e)
		}
	}
	return out
}

// extensionNamed reports whether url is the extension called name.
func extensionNamed(url, name string) bool {
	if prefix, rest, ok := strings.Cut(name, "-"); ok && prefix != "" && unicode.IsUpper(rune(prefix[0])) {
		name = rest // the sheet's "Patient-occupation" is extension-occupation
	}
	last := url[strings.LastIndex(url, "/")+1:]
	last = strings.TrimPrefix(last, "extension-")
	return strings.EqualFold(last, name) || strings.EqualFold(strings.ReplaceAll(last, "-", ""), strings.ReplaceAll(name, "-", ""))
}

// codings returns the codings of a CodeableConcept node.
func (n node) codings() []node { return n.get("coding") }

// hasCode reports whether the CodeableConcept node has a coding with code
// (and system, when system is not empty).
func (n node) hasCode(system, code string) bool {
	for _, c := range n.codings() {
		if c.str("code") == code && (system == "" || c.str("system") == system) {
			return true
		}
	}
	return false
}

// code is the first coding's code of a CodeableConcept node.
func (n node) code() string {
	if c, ok := n.first("coding"); ok {
		return c.str("code")
	}
	return ""
}

// message is a decoded message bundle with its resources indexed.
type message struct {
	bundle    node
	entries   []entry
	byURL     map[string]node // fullUrl → resource
	event     string          // MessageHeader.eventCoding.code
	header    node
	hasHeader bool
	typed     map[string][]node // data type → its instances, filled on first use
}

// entry is one Bundle.entry.
type entry struct {
	fullURL  string
	resource node
	kind     string // resourceType
}

func newMessage(b node) *message {
	m := &message{bundle: b, byURL: map[string]node{}}
	for _, e := range b.get("entry") {
		r, _ := e.first("resource")
		en := entry{fullURL: e.str("fullUrl"), resource: r, kind: r.str("resourceType")}
		m.entries = append(m.entries, en)
		if en.fullURL != "" {
			m.byURL[en.fullURL] = r
		}
	}
	if len(m.entries) > 0 && m.entries[0].kind == "MessageHeader" {
		m.header, m.hasHeader = m.entries[0].resource, true
		if ec, ok := m.header.first("eventCoding"); ok {
			m.event = ec.str("code")
		}
	}
	return m
}

// resources returns the resources of one type (case-insensitive).
func (m *message) resources(kind string) []node {
	var out []node
	for _, e := range m.entries {
		if strings.EqualFold(e.kind, kind) {
			out = append(out, e.resource)
		}
	}
	return out
}

// resolve finds the resource a Reference node points at inside the bundle:
// by fullUrl, or by a relative "Type/id" matching the end of a fullUrl.
func (m *message) resolve(ref node) (node, bool) {
	s := ref.str("reference")
	if s == "" {
		return node{}, false
	}
	if r, ok := m.byURL[s]; ok {
		return r, true
	}
	if !strings.Contains(s, ":") {
		for _, e := range m.entries {
			if strings.HasSuffix(e.fullURL, "/"+s) {
				return e.resource, true
			}
		}
	}
	return node{}, false
}

// select walks an element path of the rule sheet ("Claim.item.extension.
// patientInvoice", "Claim.supportingInfo.value[x]") over every resource of
// its root type and returns the nodes found. After "extension" a name that
// is not an element of Extension selects the extensions of that name; a
// trailing "[x]" matches every choice (valueString, valueQuantity, …).
func (m *message) selectPath(path string) []node {
	segs := strings.Split(path, ".")
	cur := m.resources(segs[0])
	if _, isDataType := dataTypeKeys[segs[0]]; isDataType {
		cur = m.instances(segs[0])
	}
	if segs[0] == "Bundle" { // the message itself; a nested one is checked on its own
		cur = []node{m.bundle}
	}
	for i := 1; i < len(segs); i++ {
		s := segs[i]
		var next []node
		switch {
		case s == "extension" && i+1 < len(segs) && !extensionElement(segs[i+1]):
			i++
			for _, c := range cur {
				next = append(next, c.extensions(segs[i])...)
			}
		case strings.HasSuffix(s, "[x]"):
			prefix := strings.TrimSuffix(s, "[x]")
			for _, c := range cur {
				for k := range c.obj() {
					if strings.HasPrefix(k, prefix) && len(k) > len(prefix) {
						next = append(next, c.get(k)...)
					}
				}
			}
		case i+1 < len(segs) && segs[i+1] == "extension":
			// A primitive's extensions live in its "_name" twin (_gender).
			for _, c := range cur {
				if c.has("_" + s) {
					next = append(next, c.get("_"+s)...)
				} else {
					next = append(next, c.get(s)...)
				}
			}
		default:
			for _, c := range cur {
				next = append(next, c.get(s)...)
			}
		}
		cur = next
	}
	return cur
}

// extensionElement reports whether s is an element of Extension itself
// rather than the name of an NPHIES extension.
func extensionElement(s string) bool {
	return s == "url" || s == "id" || s == "extension" || strings.HasPrefix(s, "value")
}

// dataTypeKeys are, for the data types the sheet roots rules at
// ("Identifier.system", "Attachment.contentType"), the R4 element names of
// that type (from R4's JSON schema; names R4 also uses for another type in
// resources NPHIES does not exchange are kept, "identifier" for one).
var dataTypeKeys = map[string][]string{
	"Identifier": {"identifier", "valueIdentifier", "paymentIdentifier", "masterIdentifier", "groupIdentifier",
		"preAdmissionIdentifier", "requestIdentifier", "additionalIdentifier"},
	"Attachment":          {"valueAttachment", "contentAttachment", "attachment", "photo", "presentedForm"},
	"Extension":           {"extension", "modifierExtension"},
	"Dosage":              {"dosageInstruction", "valueDosage", "dosage"},
	"Coding":              {"coding", "eventCoding"},
	"HumanName":           {"name"},
	"ContactPoint":        {"telecom"},
	"Address":             {"address"},
	"Annotation":          {"note"},
	"RelatedArtifact":     {"relatedArtifact", "valueRelatedArtifact"},
	"ParameterDefinition": {"valueParameterDefinition"},
	"Expression":          {"valueExpression"},
}

// dataTypeShapes tell the data types R4 names too many keys for by their
// own keys: a CodeableConcept has codings, a Quantity a value or code (a
// Coding under a key of its own is never also a Quantity here: codings are
// known by their key), a Reference a reference or a typed identifier.
var dataTypeShapes = map[string]func(node) bool{
	"CodeableConcept": func(n node) bool { return n.has("coding") },
	"Quantity":        func(n node) bool { return n.has("value") || n.has("code") },
	"Reference": func(n node) bool {
		_, typed := n.obj()["type"].(string)
		return n.has("reference") || typed && n.has("identifier")
	},
}

// instances returns every element of a data type in the message, wherever
// it sits (a messages nested in a batch is checked on its own, so its
// resources are left out here).
func (m *message) instances(dataType string) []node {
	if m.typed == nil {
		m.typed = map[string][]node{}
		byKey := map[string]string{}
		for t, keys := range dataTypeKeys {
			for _, k := range keys {
				byKey[k] = t
			}
		}
		m.walk(m.bundle, byKey)
	}
	return m.typed[dataType]
}

// walk indexes the objects under n by the data type their key names.
func (m *message) walk(n node, byKey map[string]string) {
	obj := n.obj()
	if obj == nil || (n.path != "Bundle" && obj["resourceType"] == "Bundle") {
		return
	}
	for k := range obj {
		t, typed := byKey[k]
		for _, c := range n.get(k) {
			if _, isObject := c.val.(map[string]any); isObject {
				if typed {
					m.typed[t] = append(m.typed[t], c)
				}
				for shape, is := range dataTypeShapes {
					if is(c) {
						m.typed[shape] = append(m.typed[shape], c)
					}
				}
			}
			m.walk(c, byKey)
		}
	}
}
