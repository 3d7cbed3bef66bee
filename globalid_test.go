package healthgraph

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// TestGlobalIDSpellsTypeColonUUID: the ID is base64url (unpadded) of
// "Type:uuid" as uuid.String spells it, for type names of any length
// (past 64 bytes the buffers come from the heap).
func TestGlobalIDSpellsTypeColonUUID(t *testing.T) {
	t.Parallel()
	id := uuid.MustParse("0192d7a2-4c56-7b3a-98e1-3c4d5e6f7a9b")
	for _, typ := range []string{"", "Patient", "PaymentReconciliation", strings.Repeat("T", 64), strings.Repeat("Long", 40)} {
		want := base64.RawURLEncoding.EncodeToString([]byte(typ + ":" + id.String()))
		if got := GlobalID(typ, id); got != want {
			t.Errorf("GlobalID(%q) = %q, want %q", typ, got, want)
		}
	}
}

func BenchmarkGlobalID(b *testing.B) {
	id := uuid.MustParse("0192d7a2-4c56-7b3a-98e1-3c4d5e6f7a9b")
	b.ReportAllocs()
	for b.Loop() {
		_ = GlobalID("Appointment", id)
	}
}
