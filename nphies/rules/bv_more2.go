package rules

// Rules on extensions, attachments, payment notices, batches and tasks.

// attachments are where our messages carry Attachments.
var attachments = []string{"Claim.supportingInfo.valueAttachment", "Communication.payload.contentAttachment"}

func init() {
	rule("BV-00389", func(m *message) []string {
		var out []string
		walk(m.bundle, func(n node) {
			for _, e := range n.get("extension") {
				if len(e.get("extension")) == 0 && !hasChoice(e, "value") {
					out = append(out, e.path)
				}
			}
		})
		return out
	})
	attachment := func(m *message) []string {
		var out []string
		for _, p := range attachments {
			for _, a := range m.selectPath(p) {
				if a.str("data") == "" && a.str("url") == "" {
					out = append(out, a.path)
				}
			}
		}
		return out
	}
	rule("BV-00342", attachment)
	rule("BV-00343", attachment)
	rule("BV-00336", fixedValue("PaymentNotice", "status", "active"))
	rule("BV-00469", func(m *message) []string {
		var out []string
		for _, a := range m.selectPath("PaymentNotice.amount") {
			if v, ok := money(a); ok && v < 0 {
				out = append(out, a.path)
			}
		}
		return out
	})
	rule("BV-00360", func(m *message) []string {
		if m.event != "payment-notice" {
			return nil
		}
		for _, d := range m.header.get("destination") {
			r, _ := d.first("receiver")
			if id, ok := r.first("identifier"); ok && id.str("value") == "NPHIES" {
				return nil
			}
		}
		return []string{m.header.path + ".destination"}
	})
	rule("BV-00373", func(m *message) []string {
		if m.event == "batch-request" && len(m.entries) > 101 {
			return []string{m.bundle.path + ".entry"}
		}
		return nil
	})
	rule("BV-00383", func(m *message) []string {
		if m.event != "batch-request" {
			return nil
		}
		var out []string
		for _, e := range m.entries {
			if e.kind == "Bundle" && newMessage(e.resource).event != "claim-request" {
				out = append(out, e.resource.path)
			}
		}
		return out
	})
	rule("BV-00467", func(m *message) []string {
		var out []string
		for _, t := range m.resources("Task") {
			code, _ := t.first("code")
			if len(t.get("reasonCode")) > 0 && !code.hasCode("", "cancel") && !code.hasCode("", "nullify") {
				out = append(out, t.path+".reasonCode")
			}
		}
		return out
	})
}
