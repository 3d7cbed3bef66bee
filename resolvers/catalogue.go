package resolvers

import (
	"strings"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/graph/model"
)

// codeSystemIn maps the schema's enum (MEDICATION_CODES) onto the NPHIES
// name (medication-codes).
func codeSystemIn(s model.CodeSystem) hg.CodeSystem {
	return hg.CodeSystem(strings.ReplaceAll(strings.ToLower(string(s)), "_", "-"))
}

// codeSystemOut maps an NPHIES system name onto the schema's enum; nil for
// none (a free-text line).
func codeSystemOut(s hg.CodeSystem) *model.CodeSystem {
	if s == "" {
		return nil
	}
	e := model.CodeSystem(strings.ReplaceAll(strings.ToUpper(string(s)), "-", "_"))
	return &e
}

// invoiceLine reads one line of createInvoice: a catalogue item with a
// quantity, or a free-text line.
func invoiceLine(l *model.InvoiceLineInput) (hg.NewInvoiceLine, error) {
	out := hg.NewInvoiceLine{Quantity: l.Quantity}
	if l.ItemID != nil {
		id, err := parseID("lines.itemId", "CatalogueItem", *l.ItemID)
		if err != nil {
			return out, err
		}
		out.ItemID = &id
	}
	if l.ServiceCode != nil {
		out.ServiceCode = *l.ServiceCode
	}
	if l.Description != nil {
		out.Description = *l.Description
	}
	if l.UnitPrice != nil {
		price, err := hg.ParseSAR("lines.unitPrice", *l.UnitPrice)
		if err != nil {
			return out, err
		}
		out.UnitPrice = price
	}
	return out, nil
}
