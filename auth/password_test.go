package auth_test

import (
	"context"
	"errors"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/healthgraph/healthgraph/auth"
)

const password = "correct-horse-7"

// phc matches an argon2id PHC string with a 16-byte salt and a 32-byte key.
var phc = regexp.MustCompile(`^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestHashPasswordWritesArgon2idPHCStrings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, tc := range map[string]struct {
		params auth.Params
		want   string
	}{
		"production's OWASP parameters": {auth.DefaultParams, "m=7168,t=5,p=1"},
		"the tests' cheap parameters":   {auth.TestParams, "m=8,t=1,p=1"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h, err := auth.HashPassword(ctx, password, tc.params)
			if err != nil {
				t.Fatal(err)
			}
			if !phc.MatchString(h) || !strings.Contains(h, "$"+tc.want+"$") {
				t.Fatalf("hash %q, want an argon2id PHC string with %s", h, tc.want)
			}
			again, _ := auth.HashPassword(ctx, password, tc.params)
			if again == h {
				t.Fatal("two hashes of one password are equal; the salt is not random")
			}
		})
	}
}

func TestCheckPassword(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mustHash := func(p auth.Params) string {
		h, err := auth.HashPassword(ctx, password, p)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	bcryptHash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	other := auth.Params{Memory: 32, Time: 3, Threads: 2}
	for _, tc := range []struct {
		name, hash, password string
		want                 bool
	}{
		{"the right password matches", mustHash(auth.TestParams), password, true},
		{"a wrong password does not", mustHash(auth.TestParams), "wrong-horse-7", false},
		{"parameters are read from the stored string", mustHash(other), password, true},
		{"changed parameters in the string no longer match", strings.Replace(mustHash(other), "t=3", "t=2", 1), password, false},
		{"a bcrypt hash still matches", string(bcryptHash), password, true},
		{"a bcrypt hash refuses a wrong password", string(bcryptHash), "wrong-horse-7", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := auth.CheckPassword(ctx, tc.hash, tc.password)
			if err != nil || got != tc.want {
				t.Fatalf("CheckPassword(%q) = %v, %v; want %v", tc.hash, got, err, tc.want)
			}
		})
	}
}

func TestMalformedHashesAreRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	good, err := auth.HashPassword(ctx, password, auth.TestParams)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$") // "", argon2id, v=19, m=8,t=1,p=1, salt, key
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	for name, hash := range map[string]string{
		"empty":                                "",
		"the seed's unusable password":         "!",
		"an unknown scheme":                    "$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$" + parts[5],
		"another argon2 version":               with(2, "v=16"),
		"a missing field":                      strings.Join(parts[:5], "$"),
		"an extra field":                       good + "$x",
		"an empty key, which matches anything": with(5, ""),
		"a short salt":                         with(4, "c2FsdA"),
		"a salt that is not base64":            with(4, "!!!!!!!!!!!!!!!!!!!!!!"),
		"padded base64":                        with(5, parts[5]+"="),
		"zero passes":                          with(3, "m=8,t=0,p=1"),
		"zero lanes":                           with(3, "m=8,t=1,p=0"),
		"less memory than the lanes":           with(3, "m=8,t=1,p=2"),
		"absurd memory":                        with(3, "m=4294967295,t=1,p=1"),
		"trailing text in parameters":          with(3, "m=8,t=1,p=1x"),
		"parameters out of order":              with(3, "t=1,m=8,p=1"),
		"a truncated bcrypt hash":              "$2a$10$tooshort",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ok, err := auth.CheckPassword(ctx, hash, password)
			if ok || !errors.Is(err, auth.ErrMalformedHash) {
				t.Fatalf("CheckPassword(%q) = %v, %v; want false, ErrMalformedHash", hash, ok, err)
			}
		})
	}
}

func TestNeedsRehash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	current, _ := auth.HashPassword(ctx, password, auth.TestParams)
	older, _ := auth.HashPassword(ctx, password, auth.Params{Memory: 16, Time: 1, Threads: 1})
	bcryptHash, _ := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	for _, tc := range []struct {
		name, hash string
		want       bool
	}{
		{"argon2id at the current parameters stays", current, false},
		{"argon2id at other parameters is re-hashed", older, true},
		{"bcrypt is re-hashed", string(bcryptHash), true},
		{"a malformed hash is re-hashed", "!", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := auth.NeedsRehash(tc.hash, auth.TestParams); got != tc.want {
				t.Fatalf("NeedsRehash(%q) = %v, want %v", tc.hash, got, tc.want)
			}
		})
	}
}

// Not parallel: it holds every hash slot of the process.
func TestAHashWaitingForASlotGivesUpWithItsContext(t *testing.T) {
	if got, want := auth.HashSlots(), max(1, runtime.GOMAXPROCS(0)/2); got != want {
		t.Fatalf("%d hash slots, want half of GOMAXPROCS, at least one = %d", got, want)
	}
	hash, err := auth.HashPassword(context.Background(), password, auth.TestParams)
	if err != nil {
		t.Fatal(err)
	}
	auth.HoldHashSlots(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if h, err := auth.HashPassword(ctx, password, auth.TestParams); !errors.Is(err, context.Canceled) {
		t.Fatalf("HashPassword with every slot taken = %q, %v; want context.Canceled", h, err)
	}
	if ok, err := auth.CheckPassword(ctx, hash, password); !errors.Is(err, context.Canceled) {
		t.Fatalf("CheckPassword with every slot taken = %v, %v; want context.Canceled", ok, err)
	}
}

// BenchmarkPasswordHashing compares argon2id at production's parameters
// with the bcrypt cost 11 it replaces: one hash, and one verification of
// the right password (what a login costs).
func BenchmarkPasswordHashing(b *testing.B) {
	ctx := context.Background()
	argonHash, err := auth.HashPassword(ctx, password, auth.DefaultParams)
	if err != nil {
		b.Fatal(err)
	}
	bcryptHash, err := bcrypt.GenerateFromPassword([]byte(password), 11)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("argon2id m=7168 t=5 p=1/hash", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := auth.HashPassword(ctx, password, auth.DefaultParams); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("argon2id m=7168 t=5 p=1/verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if ok, err := auth.CheckPassword(ctx, argonHash, password); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("bcrypt cost 11/hash", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := bcrypt.GenerateFromPassword([]byte(password), 11); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bcrypt cost 11/verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if ok, err := auth.CheckPassword(ctx, string(bcryptHash), password); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
}
