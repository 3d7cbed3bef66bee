package cache_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves a goroutine running: this
// package starts background work, and each piece must stop with its owner.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
