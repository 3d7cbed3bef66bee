package nphies

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Decimal is a FHIR decimal held as an integer count of hundredths, so money
// stays exact: a Money value of 121.90 SAR is Decimal(12190), i.e. 12190
// halalas. NPHIES rounds every amount to two decimal places (GE-00028), so
// hundredths are all the precision the exchange carries.
type Decimal int64

// Hundredths returns d as an integer count of hundredths (halalas for money).
func (d Decimal) Hundredths() int64 { return int64(d) }

// DecimalFromInt returns the Decimal for the whole number n.
func DecimalFromInt(n int64) Decimal { return Decimal(n * 100) }

// String formats d with at most two decimals and no trailing zeros, the form
// NPHIES's own examples use ("106", "121.9", "-1.95").
func (d Decimal) String() string {
	v := int64(d)
	neg := v < 0
	u := uint64(v)
	if neg {
		u = uint64(-v)
	}
	whole, frac := u/100, u%100
	s := strconv.FormatUint(whole, 10)
	switch {
	case frac == 0:
	case frac%10 == 0:
		s += "." + strconv.FormatUint(frac/10, 10)
	default:
		s += fmt.Sprintf(".%02d", frac)
	}
	if neg {
		s = "-" + s
	}
	return s
}

// MarshalJSON emits d as a JSON number, as FHIR requires for decimals.
func (d Decimal) MarshalJSON() ([]byte, error) { return []byte(d.String()), nil }

// errDecimal reports a value that is neither a JSON number nor a numeric
// string, or that does not fit.
var errDecimal = errors.New("invalid decimal")

// UnmarshalJSON accepts a JSON number or, leniently, a numeric string (the
// official pharmacy example sends "30"). Values with more than two decimals are
// rounded half away from zero, as NPHIES itself rounds.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("%w: %w", errDecimal, err)
		}
		b = []byte(s)
	}
	v, err := ParseDecimal(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// ParseDecimal parses a decimal literal such as "121.9", "1e2" or "-1.95"
// into hundredths, rounding half away from zero beyond two decimals.
func ParseDecimal(s string) (Decimal, error) {
	if s == "" || len(s) > 64 {
		return 0, fmt.Errorf("%w: %q", errDecimal, s)
	}
	for _, c := range s {
		if (c < '0' || c > '9') && c != '-' && c != '+' && c != '.' && c != 'e' && c != 'E' {
			return 0, fmt.Errorf("%w: %q", errDecimal, s)
		}
	}
	// Bound the exponent before big.Rat expands it: "1e999999999" would
	// otherwise allocate without limit on input we do not control.
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		exp, err := strconv.Atoi(s[i+1:])
		if err != nil || exp > 30 || exp < -30 {
			return 0, fmt.Errorf("%w: %q", errDecimal, s)
		}
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return 0, fmt.Errorf("%w: %q", errDecimal, s)
	}
	r.Mul(r, big.NewRat(100, 1))
	num, den := r.Num(), r.Denom()
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	// Round half away from zero: compare 2*|remainder| with the denominator.
	m.Abs(m).Lsh(m, 1)
	if m.Cmp(den) >= 0 {
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	if !q.IsInt64() || q.Int64() > math.MaxInt64/100 || q.Int64() < math.MinInt64/100 {
		return 0, fmt.Errorf("%w: %q out of range", errDecimal, s)
	}
	return Decimal(q.Int64()), nil
}
