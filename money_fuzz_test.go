package healthgraph_test

import (
	"math/big"
	"regexp"
	"strings"
	"testing"

	hg "github.com/healthgraph/healthgraph"
)

// moneyText is the one form Halalas.String writes.
var moneyText = regexp.MustCompile(`^-?[0-9]+\.[0-9]{2}$`)

// riyals reads a decimal exactly, as the reference ParseSAR must agree with.
func riyals(t *testing.T, s string) *big.Rat {
	t.Helper()
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		t.Fatalf("%q is not a decimal", s)
	}
	return r
}

func halalasRat(h hg.Halalas) *big.Rat { return big.NewRat(int64(h), 100) }

// FuzzMoney checks ParseSAR and Halalas.String against exact decimal
// arithmetic: an accepted amount is within [0, MaxAmount], equals the
// decimal the caller wrote, and writes back as text ParseSAR reads to the
// same amount; a refused one is BAD_USER_INPUT naming the field. Any int64
// writes as an exact decimal, and a share rounds half up.
func FuzzMoney(f *testing.F) {
	f.Add("150.00", int64(15000), int64(hg.VATBasisPoints))
	f.Add(" 12.5\n", int64(1250), int64(0))
	f.Add("1000000000.00", int64(hg.MaxAmount), int64(10000))
	f.Add("1000000000.01", int64(-1), int64(1))
	f.Add("9999999999", int64(5), int64(5000))
	f.Add("1.", int64(-1), int64(1500))
	f.Add(".5", int64(9223372036854775807), int64(1500))
	f.Add("-1.00", int64(-15000), int64(1500))
	f.Add("١٢.٥٠", int64(1), int64(9999))
	f.Add("1e3", int64(0), int64(1))
	f.Fuzz(func(t *testing.T, s string, h int64, basisPoints int64) {
		checkParseSAR(t, s)
		checkString(t, hg.Halalas(h))
		checkShare(t, hg.Halalas(h), basisPoints)
	})
}

func checkParseSAR(t *testing.T, s string) {
	got, err := hg.ParseSAR("amount", s)
	if err != nil {
		if hg.ErrorCode(err) != hg.EINVALID || hg.ErrorField(err) != "amount" {
			t.Fatalf("ParseSAR(%q): error %v, want %s on field amount", s, err, hg.EINVALID)
		}
		return
	}
	if got < 0 || got > hg.MaxAmount {
		t.Fatalf("ParseSAR(%q) = %d halalas, outside [0, %d]", s, got, hg.MaxAmount)
	}
	if want := riyals(t, strings.TrimSpace(s)); halalasRat(got).Cmp(want) != 0 {
		t.Fatalf("ParseSAR(%q) = %s, want %s", s, got, want.FloatString(2))
	}
	if again, err := hg.ParseSAR("amount", got.String()); err != nil || again != got {
		t.Fatalf("ParseSAR(%q) = %d, written %q, read back as %d, %v", s, got, got.String(), again, err)
	}
}

func checkString(t *testing.T, h hg.Halalas) {
	s := h.String()
	if !moneyText.MatchString(s) {
		t.Fatalf("Halalas(%d).String() = %q, not a two-place decimal", h, s)
	}
	if riyals(t, s).Cmp(halalasRat(h)) != 0 {
		t.Fatalf("Halalas(%d).String() = %q, not the same amount", h, s)
	}
}

// checkShare compares Share with half-up rounding in exact arithmetic, over
// the amounts and rates billing uses.
func checkShare(t *testing.T, h hg.Halalas, basisPoints int64) {
	if h < 0 || h > hg.MaxAmount || basisPoints < 0 || basisPoints > 10_000 {
		return
	}
	exact := new(big.Int).Mul(big.NewInt(int64(h)), big.NewInt(basisPoints))
	want := exact.Add(exact, big.NewInt(5000)).Div(exact, big.NewInt(10_000)).Int64()
	if got := h.Share(basisPoints); int64(got) != want || got > h {
		t.Fatalf("Halalas(%d).Share(%d) = %d, want %d", h, basisPoints, got, want)
	}
}
