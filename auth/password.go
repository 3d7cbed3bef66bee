// Package auth owns authentication and authorization: password hashing,
// access and refresh tokens, the account flows, and the one role policy
// every resolver asks.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	hg "github.com/healthgraph/healthgraph"
)

// Password policy. Longer passwords are refused because accounts still on
// a bcrypt hash verify through bcrypt, which reads at most 72 bytes.
const (
	MinPasswordLength = 10
	MaxPasswordBytes  = 72
)

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

// Params are the argon2id costs of new password hashes. Stored hashes carry
// their own, so changing these upgrades each account at its next login.
type Params struct {
	// Memory is in KiB; each hash allocates that much while it runs.
	Memory  uint32
	Time    uint32
	Threads uint8
}

// DefaultParams are production's: the configuration of OWASP's Password
// Storage Cheat Sheet with the least memory (7 MiB, 5 passes, 1 lane),
// which it rates as strong as its others. Here it also costs the least
// CPU (45 ms against 63 ms for 19 MiB and 2 passes: 7 MiB stays in the
// cache), and concurrent logins add 7 MiB each to the replica's memory,
// not 19.
var DefaultParams = Params{Memory: 7 * 1024, Time: 5, Threads: 1}

// TestParams are the cheapest valid parameters (argon2 needs 8 KiB per
// lane): tests hash for real without the race detector turning each login
// into seconds. Never for stored passwords of real accounts.
var TestParams = Params{Memory: 8, Time: 1, Threads: 1}

const (
	saltBytes = 16
	keyBytes  = 32
	// maxMemory bounds what a stored hash can make us allocate (1 GiB): a
	// corrupt row must not take the process down.
	maxMemory = 1 << 20
)

// ErrMalformedHash is returned for a stored hash that is neither a
// well-formed argon2id PHC string nor a bcrypt hash.
var ErrMalformedHash = errors.New("malformed password hash")

// hashSlots bounds the hashes running at once in the process to half the
// cores (at least one). Each argon2id hash allocates Params.Memory and
// holds a core for its whole run (19 ms here), and logins come in bursts:
// with a slot per core a burst takes every core and every other request
// waits behind it. On two cores under the standard mix one slot took the
// chart's p50 from 56-64 ms to 38-47 ms at the same throughput and the
// same logins per second, which then waited their turn (p50 about 0.5 s;
// docs/performance.md, "Logins take their turn").
var hashSlots = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2))

// withSlot runs f once a hash slot is free, or returns the context's error
// if it ends first. A cancelled caller that would have to wait computes
// nothing.
func withSlot(ctx context.Context, f func()) error {
	select {
	case hashSlots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-hashSlots }()
	f()
	return nil
}

// HashPassword returns an argon2id hash of password at p, in the PHC string
// format: $argon2id$v=19$m=7168,t=5,p=1$<salt>$<key>.
func HashPassword(ctx context.Context, password string, p Params) (string, error) {
	salt := make([]byte, saltBytes)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	var key []byte
	if err := withSlot(ctx, func() { key = argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyBytes) }); err != nil {
		return "", err
	}
	return argonHash{Params: p, salt: salt, key: key}.String(), nil
}

// argonHash is a parsed argon2id PHC string.
type argonHash struct {
	Params
	salt, key []byte
}

func (h argonHash) String() string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.Memory, h.Time, h.Threads,
		b64.EncodeToString(h.salt), b64.EncodeToString(h.key))
}

// parseArgon2id reads a PHC string, refusing what argon2 would panic on,
// silently adjust, or what would match every password (an empty key).
func parseArgon2id(s string) (argonHash, error) {
	var h argonHash
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return h, ErrMalformedHash
	}
	var threads uint32
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.Memory, &h.Time, &threads); err != nil || n != 3 ||
		fmt.Sprintf("m=%d,t=%d,p=%d", h.Memory, h.Time, threads) != parts[3] {
		return h, ErrMalformedHash
	}
	if h.Time < 1 || threads < 1 || threads > 255 || h.Memory < 8*threads || h.Memory > maxMemory {
		return h, ErrMalformedHash
	}
	h.Threads = uint8(threads)
	var err error
	if h.salt, err = base64.RawStdEncoding.Strict().DecodeString(parts[4]); err != nil || len(h.salt) < 8 {
		return h, ErrMalformedHash
	}
	if h.key, err = base64.RawStdEncoding.Strict().DecodeString(parts[5]); err != nil || len(h.key) < 16 {
		return h, ErrMalformedHash
	}
	return h, nil
}

func isBcrypt(hash string) bool {
	return strings.HasPrefix(hash, "$2a$") || strings.HasPrefix(hash, "$2b$") || strings.HasPrefix(hash, "$2y$")
}

// comparisons counts password comparisons, real and dummy.
var comparisons atomic.Uint64

// Comparisons returns how many password comparisons CheckPassword has run
// since the process started: tests use it to prove that an unknown email
// spends one as a wrong password does.
func Comparisons() uint64 { return comparisons.Load() }

// CheckPassword reports whether password matches hash, an argon2id PHC
// string with its own parameters or a bcrypt hash. It returns
// ErrMalformedHash for anything else, and the context's error when it ends
// while waiting for a hash slot.
func CheckPassword(ctx context.Context, hash, password string) (bool, error) {
	var match, malformed bool
	var compute func()
	switch {
	case strings.HasPrefix(hash, "$argon2id$"):
		h, err := parseArgon2id(hash)
		if err != nil {
			return false, err
		}
		compute = func() {
			key := argon2.IDKey([]byte(password), h.salt, h.Time, h.Memory, h.Threads, uint32(len(h.key)))
			match = subtle.ConstantTimeCompare(key, h.key) == 1
		}
	case isBcrypt(hash):
		compute = func() {
			err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password))
			match, malformed = err == nil, err != nil && !errors.Is(err, bcrypt.ErrMismatchedHashAndPassword)
		}
	default:
		return false, ErrMalformedHash
	}
	if err := withSlot(ctx, compute); err != nil {
		return false, err
	}
	if malformed {
		return false, ErrMalformedHash
	}
	comparisons.Add(1)
	return match, nil
}

// NeedsRehash reports whether hash is anything but argon2id at p: a bcrypt
// hash, or an argon2id one at other parameters or sizes.
func NeedsRehash(hash string, p Params) bool {
	h, err := parseArgon2id(hash)
	return err != nil || h.Params != p || len(h.salt) != saltBytes || len(h.key) != keyBytes
}

// dummyHashes holds, per Params, the hash compared against when an account
// does not exist, so an unknown email costs the same as a wrong password.
var dummyHashes sync.Map // Params → string

func dummyHash(ctx context.Context, p Params) (string, error) {
	if h, ok := dummyHashes.Load(p); ok {
		return h.(string), nil
	}
	h, err := HashPassword(ctx, "not-a-real-password-0", p)
	if err != nil {
		return "", err
	}
	actual, _ := dummyHashes.LoadOrStore(p, h)
	return actual.(string), nil
}
