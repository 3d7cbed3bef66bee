package resolvers_test

import (
	"encoding/json"
	"strings"
	"testing"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/seed"
)

const importCatalogueMut = `mutation($csv: String!) { importCatalogue(csv: $csv) { added updated } }`

// TestImportCatalogueIsAllOrNothing imports the demo catalogue, imports it
// again (updates, no duplicates), and refuses a file with bad rows whole,
// naming every bad row.
func TestImportCatalogueIsAllOrNothing(t *testing.T) {
	t.Parallel()
	b := newBillingEnv(t)
	_, admin := b.User(t, "admin@example.com", hg.RoleAdmin)
	before := b.Count(t, `SELECT count(*) FROM catalogue_items`)

	var out struct{ ImportCatalogue struct{ Added, Updated int } }
	b.Do(t, admin, importCatalogueMut, map[string]any{"csv": seed.DemoCatalogueCSV()}).Decode(t, &out)
	demo := len(seed.DemoCatalogue())
	// The billing env already holds 83600-00-10 and 11000-00-00.
	if out.ImportCatalogue.Added != demo-2 || out.ImportCatalogue.Updated != 2 {
		t.Fatalf("first import = %+v, want %d added and 2 updated", out.ImportCatalogue, demo-2)
	}
	b.Do(t, admin, importCatalogueMut, map[string]any{"csv": seed.DemoCatalogueCSV()}).Decode(t, &out)
	if out.ImportCatalogue.Added != 0 || out.ImportCatalogue.Updated != demo {
		t.Fatalf("second import = %+v, want %d updated", out.ImportCatalogue, demo)
	}
	after := b.Count(t, `SELECT count(*) FROM catalogue_items`)
	if after != before+demo-2 {
		t.Fatalf("catalogue has %d items, want %d", after, before+demo-2)
	}

	bad := "system,code,display,price\n" +
		"laboratory,LAB-1,Full blood count,45.00\n" + // fine, but the file is refused whole
		"services,99213,Consultation (a CPT code),300.00\n" +
		"x-ray,71046,Chest,180.00\n" +
		"procedures,11000-00-00,EEG,free\n" +
		"laboratory,LAB-1,Again,45.00\n" +
		"medication-codes,06285096001627\n"
	r := b.Do(t, admin, importCatalogueMut, map[string]any{"csv": bad})
	if r.Code() != hg.EINVALID || r.Field() != "csv" {
		t.Fatalf("bad file: %+v", r.Errors)
	}
	msg := r.Errors[0].Message
	for _, want := range []string{`row 3: "99213" is not a services code`, `row 4: unknown code system "x-ray"`,
		"row 5: price", "row 6: laboratory LAB-1 is already on row 2", "row 7: expected 4 fields"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if n := b.Count(t, `SELECT count(*) FROM catalogue_items`); n != after {
		t.Fatalf("a refused file changed the catalogue: %d items, want %d", n, after)
	}
	if r := b.Do(t, b.billing, importCatalogueMut, map[string]any{"csv": seed.DemoCatalogueCSV()}); r.Code() != hg.EFORBIDDEN {
		t.Fatalf("billing imported: %+v", r.Errors)
	}

	var list struct {
		Catalogue struct {
			TotalCount int
			Edges      []struct {
				Node struct{ System, SystemURL, Code, Display string }
			}
		}
	}
	b.Do(t, b.billing, `{ catalogue(filter: {system: MEDICATION_CODES}) { totalCount edges { node { system systemUrl code display } } } }`,
		nil).Decode(t, &list)
	if list.Catalogue.TotalCount != 2 {
		t.Fatalf("medication items = %+v", list.Catalogue)
	}
	for _, e := range list.Catalogue.Edges {
		if e.Node.System != "MEDICATION_CODES" || e.Node.SystemURL != "http://nphies.sa/terminology/CodeSystem/medication-codes" {
			t.Errorf("item %+v", e.Node)
		}
	}
	b.Do(t, b.billing, `{ catalogue(filter: {search: "oral exam"}) { totalCount } }`, nil).Decode(t, &list)
	if list.Catalogue.TotalCount != 1 {
		t.Fatalf("search found %d items", list.Catalogue.TotalCount)
	}
}

// TestClaimItemsGoOutUnderTheirOwnCodeSystem is issue 15's finding 1: a
// drug billed from the catalogue is claimed under medication-codes and a
// consultation under services with its SBS code, while a free-text line
// (a CPT code) cannot be claimed at all and nothing is queued.
func TestClaimItemsGoOutUnderTheirOwnCodeSystem(t *testing.T) {
	t.Parallel()
	b := newBillingEnv(t)
	visit := b.seenVisit(t, b.patient)
	drug := b.CatalogueItem(t, hg.NewCatalogueItem{System: hg.SystemMedication, Code: "06285096001627",
		Display: "Anti-viral for chest congestion", UnitPrice: 6000})
	var inv struct{ CreateInvoice invoiceOut }
	b.Do(t, b.billing, createInvoiceMut, map[string]any{"in": map[string]any{
		"patientId": gid("Patient", b.patient.ID), "coverageId": gid("Coverage", b.coverage.ID),
		"lines": []map[string]any{{"itemId": b.consultation, "quantity": 1}, {"itemId": drug, "quantity": 3}}}}).Decode(t, &inv)
	b.issue(t, inv.CreateInvoice.ID)
	var out struct {
		SubmitClaim struct {
			Items    []struct{ CodeSystem string }
			Messages []struct{ Body string }
		}
	}
	b.Do(t, b.billing, `mutation($in: SubmitClaimInput!) { submitClaim(input: $in) { items { codeSystem } messages { body } } }`,
		map[string]any{"in": visit.claimInput(inv.CreateInvoice.ID, "J06.9")}).Decode(t, &out)
	if len(out.SubmitClaim.Items) != 2 || out.SubmitClaim.Items[0].CodeSystem != "SERVICES" ||
		out.SubmitClaim.Items[1].CodeSystem != "MEDICATION_CODES" {
		t.Fatalf("claim items = %+v", out.SubmitClaim.Items)
	}
	got := claimCodings(t, out.SubmitClaim.Messages[0].Body)
	want := []string{"http://nphies.sa/terminology/CodeSystem/services|83600-00-10",
		"http://nphies.sa/terminology/CodeSystem/medication-codes|06285096001627"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("claim item codings = %v, want %v", got, want)
	}

	// A free-text line cannot be claimed: its code has no NPHIES system.
	b.Do(t, b.billing, createInvoiceMut, map[string]any{"in": map[string]any{
		"patientId": gid("Patient", b.patient.ID), "coverageId": gid("Coverage", b.coverage.ID),
		"lines": []map[string]any{{"serviceCode": "99213", "description": "Consultation", "quantity": 1, "unitPrice": "300.00"}}}}).Decode(t, &inv)
	b.issue(t, inv.CreateInvoice.ID)
	claims := b.Count(t, `SELECT count(*) FROM claims`)
	r := b.Do(t, b.billing, submitClaimMut, map[string]any{"in": visit.claimInput(inv.CreateInvoice.ID, "J06.9")})
	if r.Code() != hg.EINVALID || r.Field() != "input.invoiceId" || !strings.Contains(r.Errors[0].Message, "not billed from the catalogue") {
		t.Fatalf("free-text claim: %+v", r.Errors)
	}
	if n := b.Count(t, `SELECT count(*) FROM claims`); n != claims {
		t.Fatal("a refused claim was queued")
	}

	// A line is a catalogue item or free text, not both.
	r = b.Do(t, b.billing, createInvoiceMut, map[string]any{"in": map[string]any{"patientId": gid("Patient", b.patient.ID),
		"lines": []map[string]any{{"itemId": drug, "serviceCode": "99213", "quantity": 1}}}})
	if r.Code() != hg.EINVALID || r.Field() != "input.lines.itemId" {
		t.Fatalf("item and free text: %+v", r.Errors)
	}
}

// claimCodings returns system|code of every item of the Claim in a bundle.
func claimCodings(t *testing.T, body string) []string {
	t.Helper()
	var bundle struct {
		Entry []struct {
			Resource struct {
				ResourceType string
				Item         []struct {
					ProductOrService struct {
						Coding []struct{ System, Code string }
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(body), &bundle); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range bundle.Entry {
		if e.Resource.ResourceType == "Claim" {
			for _, it := range e.Resource.Item {
				for _, c := range it.ProductOrService.Coding {
					out = append(out, c.System+"|"+c.Code)
				}
			}
		}
	}
	return out
}
