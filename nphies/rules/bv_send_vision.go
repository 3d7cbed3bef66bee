package rules

import "math"

// Rules on the VisionPrescription a vision claim or authorization carries
// (examples 6 and 11): its lenses' powers and the elements each lens
// product allows, its dates against the claim's, and its prescriber.

// lenses returns every lensSpecification of the message's prescriptions.
func lenses(m *message) []node { return m.selectPath("VisionPrescription.lensSpecification") }

// eachLens runs f over every lens specification.
func eachLens(f func(lens node, out *[]string)) func(*message) []string {
	return func(m *message) []string {
		var out []string
		for _, l := range lenses(m) {
			f(l, &out)
		}
		return out
	}
}

// lensProduct is the lens's product code: lens (glasses) or contact.
func lensProduct(lens node) string {
	p, _ := lens.first("product")
	return p.code()
}

// lensRange: the lens element at path (below lensSpecification) lies
// within [lo, hi] and, when step is not 0, is a multiple of step.
func lensRange(path string, lo, hi, step float64) func(*message) []string {
	return eachLens(func(l node, out *[]string) {
		for _, n := range l.at(path) {
			v, ok := n.num()
			off := ok && step != 0 && math.Abs(v/step-math.Round(v/step)) > 1e-9
			if !ok || v < lo || v > hi || off {
				*out = append(*out, n.path)
			}
		}
	})
}

// lensElement: for lenses of the product, the element is present (want)
// or absent (!want).
func lensElement(product, element string, want bool) func(*message) []string {
	return eachLens(func(l node, out *[]string) {
		if lensProduct(l) == product && l.has(element) != want {
			*out = append(*out, l.path+"."+element)
		}
	})
}

// lensPair: a lens with element a present also has element b.
func lensPair(a, b string) func(*message) []string {
	return eachLens(func(l node, out *[]string) {
		if l.has(a) && !l.has(b) {
			*out = append(*out, l.path+"."+b)
		}
	})
}

// prescribedBefore: the prescription's date element is on or before the
// created date of every claim of the message.
func prescribedBefore(element string) func(*message) []string {
	return func(m *message) []string {
		var out []string
		for _, vp := range m.resources("VisionPrescription") {
			when := vp.str(element)
			for _, c := range claims(m) {
				if created := c.str("created"); when != "" && created != "" && before(created, when) {
					out = append(out, vp.path+"."+element)
					break
				}
			}
		}
		return out
	}
}

func init() {
	// Powers (dioptres) in quarter steps, and the other measures.
	rule("IB-00330", lensRange("sphere", -30, 30, 0.25))
	rule("IB-00331", lensRange("cylinder", -12, 12, 0.25))
	rule("IB-00332", lensRange("add", -12, 12, 0.25))
	rule("IB-00333", lensRange("power", -12, 12, 0.25))
	rule("IB-00334", lensRange("prism.amount", 0.25, 30, 0.25))
	rule("IB-00335", lensRange("backCurve", 4, 8, 0))
	rule("IB-00336", lensRange("diameter", 5, 30, 0))
	rule("IB-00347", lensRange("axis", 1, 180, 1))
	rule("IB-00337", eachLens(func(l node, out *[]string) {
		for _, d := range l.get("duration") {
			if c := d.str("code"); c != "d" && c != "wk" && c != "mo" {
				*out = append(*out, d.path)
			}
		}
	}))
	rule("BV-00398", eachLens(func(l node, out *[]string) {
		for _, d := range l.get("duration") {
			if d.str("system") != systemUCUM {
				*out = append(*out, d.path+".system")
			}
		}
	}))
	rule("BV-00399", eachLens(func(l node, out *[]string) {
		for _, d := range l.get("duration") {
			if !d.has("value") {
				*out = append(*out, d.path+".value")
			}
		}
	}))

	// What glasses and contact lenses specify: glasses a sphere and none
	// of a contact lens's power, back curve, diameter and wearing
	// duration; contact lenses a power and no sphere or prism.
	rule("IC-01417", lensElement("lens", "sphere", true))
	rule("IC-01418", lensElement("contact", "sphere", false))
	rule("IC-01419", lensElement("contact", "prism", false))
	rule("IC-01421", lensElement("contact", "power", true))
	rule("IC-01422", lensElement("lens", "power", false))
	rule("IC-01423", lensElement("lens", "backCurve", false))
	rule("IC-01424", lensElement("lens", "diameter", false))
	rule("IC-01425", lensElement("lens", "duration", false))
	rule("IC-01420", lensPair("cylinder", "axis"))
	rule("IC-01430", lensPair("axis", "cylinder"))
	rule("BV-00465", func(m *message) []string {
		var out []string
		for _, vp := range m.resources("VisionPrescription") {
			seen := map[string]bool{}
			for _, l := range vp.get("lensSpecification") {
				eye := l.str("eye")
				if seen[eye] {
					out = append(out, l.path+".eye")
				}
				seen[eye] = true
			}
		}
		return out
	})

	// The prescription itself.
	rule("IC-01449", nonEmptyIdentifier("VisionPrescription"))
	rule("BV-00460", prescribedBefore("created"))
	rule("BV-00461", prescribedBefore("dateWritten"))
	rule("BV-00565", func(m *message) []string {
		var out []string
		for _, p := range m.selectPath("VisionPrescription.prescriber") {
			if p.str("display") == "" && (p.str("type") == "" || !p.has("identifier")) {
				out = append(out, p.path)
			}
		}
		return out
	})
	// A prescription that is a DeviceRequest is named with its display.
	rule("BV-00136", func(m *message) []string {
		var out []string
		for _, c := range claims(m) {
			for _, p := range c.get("prescription") {
				r, found := m.resolve(p)
				isDevice := p.str("type") == "DeviceRequest" || (found && r.str("resourceType") == "DeviceRequest")
				if isDevice && p.str("display") == "" {
					out = append(out, p.path+".display")
				}
			}
		}
		return out
	})
}
