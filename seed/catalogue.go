package seed

import (
	"bytes"
	_ "embed"
	"fmt"

	hg "github.com/healthgraph/healthgraph"
)

// demoCatalogue is the demo clinic's chargeable items. Every code, and the
// price it is billed at, is taken from NPHIES's official example bundles
// (the services, procedures, medication and oral-health items of the
// professional, institutional, pharmacy, dental, vision, batch and shadow
// billing examples); where an example gives no display, ours says which
// example the code comes from.
//
//go:embed catalogue.csv
var demoCatalogue []byte

// DemoCatalogue returns the demo catalogue, ready to import.
func DemoCatalogue() []hg.NewCatalogueItem {
	items, err := hg.ParseCatalogueCSV("csv", bytes.NewReader(demoCatalogue))
	if err != nil {
		panic(fmt.Sprintf("seed: the embedded demo catalogue is invalid: %v", err))
	}
	return items
}

// DemoCatalogueCSV returns the demo catalogue as the CSV importCatalogue takes.
func DemoCatalogueCSV() string { return string(demoCatalogue) }
