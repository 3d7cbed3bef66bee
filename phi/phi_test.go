package phi_test

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/healthgraph/healthgraph/phi"
)

func newKey(t testing.TB) string {
	t.Helper()
	b := make([]byte, phi.KeySize)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func ring(t testing.TB, keys string) *phi.Keys {
	t.Helper()
	k, err := phi.Parse(keys, newKey(t))
	if err != nil {
		t.Fatalf("parse %q: %v", keys, err)
	}
	return k
}

func TestSealOpenRoundTrip(t *testing.T) {
	t.Parallel()
	k := ring(t, "k1:"+newKey(t))
	row := uuid.New()
	for _, v := range []string{"1012345678", "+966501234567", ""} {
		c, err := k.Seal("patients.phone", row, v)
		if err != nil {
			t.Fatal(err)
		}
		if v != "" && strings.Contains(string(c), v) {
			t.Errorf("ciphertext of %q contains it", v)
		}
		got, err := k.Open("patients.phone", row, c)
		if err != nil || got != v {
			t.Errorf("Open(Seal(%q)) = %q, %v", v, got, err)
		}
	}
	a, _ := k.Seal("patients.phone", row, "1012345678")
	b, _ := k.Seal("patients.phone", row, "1012345678")
	if string(a) == string(b) {
		t.Error("two seals of one value are equal: the nonce is not random")
	}
}

// Every change to a ciphertext, and every move of one to another row or
// column, must fail to open: never a wrong plaintext.
func TestOpenRefusesTamperedOrMovedCiphertexts(t *testing.T) {
	t.Parallel()
	k := ring(t, "k1:"+newKey(t))
	row, other := uuid.New(), uuid.New()
	c, err := k.Seal("patients.national_id", row, "1012345678")
	if err != nil {
		t.Fatal(err)
	}
	for i := range c {
		flipped := append([]byte(nil), c...)
		flipped[i] ^= 0x01
		if got, err := k.Open("patients.national_id", row, flipped); err == nil {
			t.Fatalf("byte %d flipped: opened as %q", i, got)
		}
	}
	for _, tc := range []struct {
		name  string
		field string
		row   uuid.UUID
		c     []byte
	}{
		{"another row", "patients.national_id", other, c},
		{"another column", "patients.phone", row, c},
		{"truncated", "patients.national_id", row, c[:len(c)-1]},
		{"empty", "patients.national_id", row, nil},
	} {
		if _, err := k.Open(tc.field, tc.row, tc.c); !errors.Is(err, phi.ErrUnreadable) {
			t.Errorf("%s: err = %v, want ErrUnreadable", tc.name, err)
		}
	}
}

func TestOpenNeedsTheSealingKey(t *testing.T) {
	t.Parallel()
	row := uuid.New()
	old, next := newKey(t), newKey(t)
	before := ring(t, "old:"+old)
	c, _ := before.Seal("patients.phone", row, "+966501234567")

	rotating := ring(t, "new:"+next+",old:"+old)
	if got, err := rotating.Open("patients.phone", row, c); err != nil || got != "+966501234567" {
		t.Fatalf("ring with the old key as a second key: %q, %v", got, err)
	}
	if id, _ := phi.KeyID(c); id != "old" {
		t.Errorf("KeyID = %q, want old", id)
	}
	resealed, _ := rotating.Seal("patients.phone", row, "+966501234567")
	if id, _ := phi.KeyID(resealed); id != "new" || !strings.HasPrefix(string(resealed), string(rotating.Prefix())) {
		t.Errorf("new seal under %q, want the current key new", id)
	}
	if _, err := ring(t, "new:"+next).Open("patients.phone", row, c); !errors.Is(err, phi.ErrUnknownKey) {
		t.Errorf("old key removed: err = %v, want ErrUnknownKey", err)
	}
	if _, err := ring(t, "old:"+next).Open("patients.phone", row, c); !errors.Is(err, phi.ErrUnreadable) {
		t.Errorf("a different key under the same id: err = %v, want ErrUnreadable", err)
	}
}

func TestIndexIsKeyedAndPerColumn(t *testing.T) {
	t.Parallel()
	k := ring(t, "k1:"+newKey(t))
	a, b := k.Index("patients.national_id", "1012345678"), k.Index("patients.national_id", "1012345678")
	if string(a) != string(b) || len(a) != 32 {
		t.Fatalf("index not deterministic or not 32 bytes: %x %x", a, b)
	}
	if string(a) == string(k.Index("patients.national_id", "1012345679")) {
		t.Error("two values share an index")
	}
	if string(a) == string(k.Index("patients.phone", "1012345678")) {
		t.Error("the index does not depend on the column")
	}
	if string(a) == string(ring(t, "k1:"+newKey(t)).Index("patients.national_id", "1012345678")) {
		t.Error("the index does not depend on the index key")
	}
}

func TestParseRefusesBadRings(t *testing.T) {
	t.Parallel()
	good, idx := newKey(t), newKey(t)
	for _, tc := range []struct{ name, keys, index, want string }{
		{"no id", good, idx, "want id:base64key"},
		{"bad id", "a b:" + good, idx, "want id:base64key"},
		{"short key", "k1:" + base64.StdEncoding.EncodeToString([]byte("short")), idx, "32 bytes"},
		{"not base64", "k1:%%%", idx, "not base64"},
		{"duplicate id", "k1:" + good + ",k1:" + newKey(t), idx, "twice"},
		{"no index key", "k1:" + good, "", "index key"},
		{"index equals a key", "k1:" + good, good, "must differ"},
	} {
		if _, err := phi.Parse(tc.keys, tc.index); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one saying %q", tc.name, err, tc.want)
		}
	}
	k, err := phi.Parse(" k2:"+good+" , k1:"+newKey(t), idx)
	if err != nil || k.CurrentID() != "k2" {
		t.Fatalf("two keys: current %q, err %v; want k2", k.CurrentID(), err)
	}
}

func TestDevelopmentKeysAreRecognised(t *testing.T) {
	t.Parallel()
	if !phi.Development().UsesDevelopmentKey() {
		t.Error("the development ring does not report its own keys")
	}
	if ring(t, "k1:"+newKey(t)).UsesDevelopmentKey() {
		t.Error("a random ring reports a development key")
	}
	dev := phi.Development()
	row := uuid.New()
	c, _ := dev.Seal("patients.phone", row, "+966500000000")
	if got, err := phi.Development().Open("patients.phone", row, c); err != nil || got != "+966500000000" {
		t.Errorf("development keys differ between calls: %q, %v", got, err)
	}
}

func FuzzOpenNeverPanics(f *testing.F) {
	k, _ := phi.Parse("k1:"+base64.StdEncoding.EncodeToString(make([]byte, 32)), base64.StdEncoding.EncodeToString([]byte(strings.Repeat("i", 32))))
	row := uuid.New()
	c, _ := k.Seal("f", row, "1012345678")
	f.Add(c)
	f.Add([]byte{1, 200})
	f.Fuzz(func(t *testing.T, c []byte) {
		if got, err := k.Open("f", row, c); err == nil && got != "1012345678" {
			t.Fatalf("opened a forged ciphertext as %q", got)
		}
	})
}

func BenchmarkSeal(b *testing.B) {
	k := ring(b, "k1:"+newKey(b))
	row := uuid.New()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Seal("patients.national_id", row, "1012345678"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	k := ring(b, "k1:"+newKey(b))
	row := uuid.New()
	c, _ := k.Seal("patients.national_id", row, "1012345678")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Open("patients.national_id", row, c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIndex(b *testing.B) {
	k := ring(b, "k1:"+newKey(b))
	b.ReportAllocs()
	for b.Loop() {
		k.Index("patients.national_id", "1012345678")
	}
}
