package check

import (
	"io"
	"log"
	"os"
	"testing"
)

// TestMain silences Helm's loader, which logs every symlink it follows (the
// chart has none; TestChartCarriesExactCopiesOfTheGrafanaFiles says so).
func TestMain(m *testing.M) {
	log.SetOutput(io.Discard)
	os.Exit(m.Run())
}
