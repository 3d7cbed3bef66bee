package healthgraph

import (
	"strconv"
	"strings"
)

// Halalas is an amount of Saudi riyals in halalas (1 SAR = 100 halalas).
// Money is never a float anywhere in HealthGraph.
type Halalas int64

// Currency is the only currency the clinic bills in.
const Currency = "SAR"

// Currency is the currency h is in: always the package's Currency. The
// API's Money binds its currency here, and its amount to String, so that
// gqlgen marshals both inline rather than as resolvers on goroutines.
func (Halalas) Currency() string { return Currency }

// MaxAmount bounds any single amount (one billion riyals) so sums of
// amounts can never overflow.
const MaxAmount Halalas = 100_000_000_000

// VATBasisPoints is Saudi VAT, 15%, in hundredths of a percent.
const VATBasisPoints = 1500

// String formats h as an exact decimal with two places, e.g. "115.00".
// The magnitude is unsigned so that the most negative amount, which has no
// positive counterpart, formats too.
func (h Halalas) String() string {
	sign, abs := "", uint64(h)
	if h < 0 {
		sign, abs = "-", -abs
	}
	return sign + strconv.FormatUint(abs/100, 10) + "." + leftPad(strconv.FormatUint(abs%100, 10))
}

func leftPad(s string) string {
	if len(s) == 1 {
		return "0" + s
	}
	return s
}

// ParseSAR reads a non-negative decimal amount of riyals with at most two
// decimal places ("12", "12.5", "12.50") exactly. field names the input in
// the error.
func ParseSAR(field, s string) (Halalas, error) {
	whole, frac, hasFrac := strings.Cut(strings.TrimSpace(s), ".")
	if whole == "" || len(whole) > 10 || (hasFrac && (len(frac) == 0 || len(frac) > 2)) || !digits(whole) || !digits(frac) {
		return 0, Invalid(field, "%s must be an amount like 150.00 with at most two decimal places", field)
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	for len(frac) < 2 {
		frac += "0"
	}
	f, _ := strconv.ParseInt(frac, 10, 64)
	h := Halalas(w*100 + f)
	if h > MaxAmount {
		return 0, Invalid(field, "%s is larger than %s", field, MaxAmount)
	}
	return h, nil
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Share returns the part of h given in basis points (1/100 of a percent),
// rounded half up to the halala.
func (h Halalas) Share(basisPoints int64) Halalas {
	return Halalas((int64(h)*basisPoints + 5000) / 10000)
}
