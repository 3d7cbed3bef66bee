package auth

import (
	"context"
	"testing"
)

// HoldHashSlots takes every hash slot until the test ends, so the next
// hash has to wait for one.
func HoldHashSlots(t *testing.T) {
	t.Helper()
	for range cap(hashSlots) {
		hashSlots <- struct{}{}
	}
	t.Cleanup(func() {
		for range cap(hashSlots) {
			<-hashSlots
		}
	})
}

// HashSlots is how many hashes may run at once.
func HashSlots() int { return cap(hashSlots) }

// DummyHash is the hash an unknown email is compared against at p.
func DummyHash(ctx context.Context, p Params) (string, error) { return dummyHash(ctx, p) }
