package healthgraph

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// CodeSystem is the NPHIES code system a chargeable item is billed under,
// by its short name (the last segment of
// http://nphies.sa/terminology/CodeSystem/<name>).
type CodeSystem string

// The NPHIES product-or-service code systems.
const (
	SystemServices       CodeSystem = "services"
	SystemProcedures     CodeSystem = "procedures"
	SystemLaboratory     CodeSystem = "laboratory"
	SystemImaging        CodeSystem = "imaging"
	SystemMedication     CodeSystem = "medication-codes"
	SystemMedicalDevices CodeSystem = "medical-devices"
	SystemOralHealthOP   CodeSystem = "oral-health-op"
	SystemOralHealthIP   CodeSystem = "oral-health-ip"
	SystemTransportation CodeSystem = "transportation-srca"
)

// CodeSystemBase prefixes a CodeSystem's short name to make its URL.
const CodeSystemBase = "http://nphies.sa/terminology/CodeSystem/"

// codeShapes is the shape of a code in each system. The Saudi Billing
// System (SBS) codes of services, procedures and imaging look like
// 83600-00-10; medication codes are 14-digit GTINs; the others are checked only for
// plain characters. A CPT code (99213) therefore never passes as a service.
// It is the one definition of these shapes: nphies/rules checks codings
// against it too.
var codeShapes = map[CodeSystem]*regexp.Regexp{
	SystemServices:       sbsCode,
	SystemProcedures:     sbsCode,
	SystemImaging:        sbsCode,
	SystemMedication:     regexp.MustCompile(`^[0-9]{14}$`),
	SystemLaboratory:     regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.\-]{0,31}$`),
	SystemMedicalDevices: regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.\-]{0,31}$`),
	SystemOralHealthOP:   regexp.MustCompile(`^[0-9]{3,5}$`),
	SystemOralHealthIP:   regexp.MustCompile(`^[0-9]{3,5}$`),
	SystemTransportation: regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.\-]{0,31}$`),
}

// sbsCode is the Saudi Billing System's code shape, NNNNN-NN-NN.
var sbsCode = regexp.MustCompile(`^[0-9]{5}-[0-9]{2}-[0-9]{2}$`)

// ParseCodeSystem accepts a system's short name or its full URL.
func ParseCodeSystem(s string) (CodeSystem, bool) {
	cs := CodeSystem(strings.TrimPrefix(strings.TrimSpace(s), CodeSystemBase))
	_, ok := codeShapes[cs]
	return cs, ok
}

// Valid reports whether s is a known system.
func (s CodeSystem) Valid() bool { _, ok := codeShapes[s]; return ok }

// URL is the system's canonical URL, as NPHIES expects it in a coding.
func (s CodeSystem) URL() string { return CodeSystemBase + string(s) }

// ValidCode reports whether code has the shape of a code of s.
func (s CodeSystem) ValidCode(code string) bool {
	re, ok := codeShapes[s]
	return ok && re.MatchString(code)
}

// CatalogueItem is one thing the clinic bills: its code in its NPHIES code
// system, how it is described, and its price before VAT.
type CatalogueItem struct {
	ID        uuid.UUID
	System    CodeSystem
	Code      string
	Display   string
	UnitPrice Halalas
	CreatedAt time.Time
	UpdatedAt time.Time
}

// NewCatalogueItem is one row to import: an item is identified by system
// and code, so importing it again updates its display and price.
type NewCatalogueItem struct {
	System    CodeSystem
	Code      string
	Display   string
	UnitPrice Halalas
}

// Validate checks one item, describing the fault without naming a field
// (the caller says which row).
func (n *NewCatalogueItem) Validate() error {
	n.Code, n.Display = strings.TrimSpace(n.Code), strings.TrimSpace(n.Display)
	switch {
	case !n.System.Valid():
		return fmt.Errorf("unknown code system %q", truncate(string(n.System), 40))
	case !n.System.ValidCode(n.Code):
		return fmt.Errorf("%q is not a %s code", truncate(n.Code, 40), n.System)
	case n.Display == "" || utf8.RuneCountInString(n.Display) > 500 || !utf8.ValidString(n.Display):
		return errors.New("display must be 1 to 500 characters")
	case n.UnitPrice <= 0 || n.UnitPrice > MaxAmount/10_000:
		return fmt.Errorf("price must be more than 0.00 and at most %s", MaxAmount/10_000)
	}
	return nil
}

// MaxCatalogueRows bounds one import.
const MaxCatalogueRows = 5000

// CatalogueCSVHeader is the header an import must start with.
var CatalogueCSVHeader = []string{"system", "code", "display", "price"}

// ParseCatalogueCSV reads a catalogue import: a header (system, code,
// display, price), then one item per row, price in SAR with at most two
// places. It reports every bad row (up to 20) in one BAD_USER_INPUT error
// naming field, so a file is imported whole or not at all.
func ParseCatalogueCSV(field string, r io.Reader) ([]NewCatalogueItem, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(CatalogueCSVHeader)
	cr.TrimLeadingSpace = true
	head, err := cr.Read()
	if err != nil || !equalFold(head, CatalogueCSVHeader) {
		return nil, Invalid(field, "the first row must be the header %s", strings.Join(CatalogueCSVHeader, ","))
	}
	var items []NewCatalogueItem
	var faults []string
	seen := map[string]int{}
	for row := 2; ; row++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if len(faults) >= 20 {
			faults = append(faults, "…")
			break
		}
		if err != nil {
			faults = append(faults, fmt.Sprintf("row %d: %s", row, csvFault(err)))
			continue
		}
		if len(items) >= MaxCatalogueRows {
			return nil, Invalid(field, "at most %d items per import", MaxCatalogueRows)
		}
		n, err := catalogueRow(rec)
		if err == nil {
			key := string(n.System) + "|" + n.Code
			if first, dup := seen[key]; dup {
				err = fmt.Errorf("%s %s is already on row %d", n.System, n.Code, first)
			}
			seen[key] = row
		}
		if err != nil {
			faults = append(faults, fmt.Sprintf("row %d: %s", row, err))
			continue
		}
		items = append(items, n)
	}
	if len(faults) > 0 {
		return nil, Invalid(field, "nothing was imported: %s", strings.Join(faults, "; "))
	}
	if len(items) == 0 {
		return nil, Invalid(field, "the file has no items")
	}
	return items, nil
}

// catalogueRow reads and validates one CSV record.
func catalogueRow(rec []string) (NewCatalogueItem, error) {
	sys, ok := ParseCodeSystem(rec[0])
	if !ok {
		return NewCatalogueItem{}, fmt.Errorf("unknown code system %q", truncate(rec[0], 40))
	}
	price, err := ParseSAR("price", strings.TrimSpace(rec[3]))
	if err != nil {
		return NewCatalogueItem{}, fmt.Errorf("price %q is not an amount like 106.00", truncate(rec[3], 20))
	}
	n := NewCatalogueItem{System: sys, Code: rec[1], Display: rec[2], UnitPrice: price}
	return n, n.Validate()
}

// csvFault says what is wrong with a CSV record without quoting it.
func csvFault(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
		return fmt.Sprintf("expected %d fields", len(CatalogueCSVHeader))
	}
	return "not valid CSV"
}

func equalFold(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !strings.EqualFold(strings.TrimSpace(strings.TrimPrefix(a[i], "\ufeff")), b[i]) {
			return false
		}
	}
	return true
}

// CatalogueFilter narrows catalogue(filter). Empty fields do not filter.
type CatalogueFilter struct {
	System *CodeSystem
	// Search matches code or display, case-insensitively.
	Search string
}

// CatalogueStore keeps the chargeable-item catalogue. It holds no patient
// data, so it takes no scope.
type CatalogueStore interface {
	// ImportCatalogue inserts or updates every item in one transaction and
	// returns how many were new and how many updated.
	ImportCatalogue(ctx context.Context, items []NewCatalogueItem) (added, updated int, err error)
	// ListCatalogue returns one page, newest first, and how many match.
	ListCatalogue(ctx context.Context, f CatalogueFilter, p Page) ([]*CatalogueItem, int, error)
	// CatalogueItems returns the items with the given ids that exist, in
	// no particular order.
	CatalogueItems(ctx context.Context, ids []uuid.UUID) ([]*CatalogueItem, error)
}

// BillFromCatalogue fills each line that names a catalogue item with the
// item's code, system, description and current price, looking the items up
// with find in one call, so a line keeps what was billed even if the
// catalogue changes later. Lines without an item are left as they are.
// BAD_USER_INPUT naming field for an item find does not return.
func BillFromCatalogue(lines []NewInvoiceLine, field string, find func(ids []uuid.UUID) ([]*CatalogueItem, error)) error {
	var ids []uuid.UUID
	for _, l := range lines {
		if l.ItemID != nil {
			ids = append(ids, *l.ItemID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	items, err := find(ids)
	if err != nil {
		return err
	}
	byID := make(map[uuid.UUID]*CatalogueItem, len(items))
	for _, it := range items {
		byID[it.ID] = it
	}
	for i := range lines {
		l := &lines[i]
		if l.ItemID == nil {
			continue
		}
		it, ok := byID[*l.ItemID]
		if !ok {
			return Invalid(field, "line %d: no such catalogue item", i+1)
		}
		l.CodeSystem, l.ServiceCode, l.Description, l.UnitPrice = it.System, it.Code, it.Display, it.UnitPrice
	}
	return nil
}
