// Package auth owns authentication and authorization: password hashing,
// access and refresh tokens, the account flows, and the one role policy
// every resolver asks.
package auth

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	hg "github.com/healthgraph/healthgraph"
)

// Password policy. bcrypt reads at most 72 bytes, so longer passwords would
// silently share a hash; they are refused instead.
const (
	MinPasswordLength = 10
	MaxPasswordBytes  = 72
)

// DefaultCost is the bcrypt work factor of new hashes in production. Tests
// set Accounts.Cost to bcrypt.MinCost: under the race detector a hash at
// this cost takes seconds on a busy machine.
const DefaultCost = 11

// common holds passwords that pass the length rule but are guessed first.
var common = map[string]bool{
	"password123": true, "password1234": true, "1234567890": true, "qwertyuiop": true,
	"123456789a": true, "iloveyou12": true, "welcome123": true, "admin12345": true,
	"p@ssw0rd123": true, "qwerty1234": true, "abcdefghij": true, "letmein1234": true,
}

// ValidatePassword enforces the password policy: 10 to 72 bytes, at least
// one letter and one digit, not a well-known password and not the email.
func ValidatePassword(password, email string) error {
	switch {
	case utf8.RuneCountInString(password) < MinPasswordLength:
		return hg.Invalid("password", "password must be at least %d characters", MinPasswordLength)
	case len(password) > MaxPasswordBytes:
		return hg.Invalid("password", "password must be at most %d bytes", MaxPasswordBytes)
	case !strings.ContainsFunc(password, unicode.IsLetter) || !strings.ContainsFunc(password, unicode.IsDigit):
		return hg.Invalid("password", "password must contain letters and digits")
	case common[strings.ToLower(password)]:
		return hg.Invalid("password", "password is too common")
	case email != "" && strings.EqualFold(password, email):
		return hg.Invalid("password", "password must not be the email address")
	}
	return nil
}

// HashPassword returns a bcrypt hash of password at cost (DefaultCost when
// cost is 0).
func HashPassword(password string, cost int) (string, error) {
	if cost == 0 {
		cost = DefaultCost
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	return string(h), err
}

// dummyHashes holds, per cost, the hash compared against when an account
// does not exist, so an unknown email costs the same time as a wrong
// password.
var dummyHashes sync.Map // cost → []byte

func dummyHash(cost int) []byte {
	if h, ok := dummyHashes.Load(cost); ok {
		return h.([]byte)
	}
	h, _ := HashPassword("not-a-real-password-0", cost)
	actual, _ := dummyHashes.LoadOrStore(cost, []byte(h))
	return actual.([]byte)
}

// comparisons counts bcrypt comparisons, real and dummy.
var comparisons atomic.Uint64

// Comparisons returns how many bcrypt comparisons CheckPassword has run
// since the process started: tests use it to prove that an unknown email
// spends one as a wrong password does.
func Comparisons() uint64 { return comparisons.Load() }

// CheckPassword reports whether password matches hash.
func CheckPassword(hash, password string) bool {
	comparisons.Add(1)
	err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password))
	return err == nil && !errors.Is(err, bcrypt.ErrMismatchedHashAndPassword)
}
