package main

import (
	"context"
	"strings"
	"testing"

	"github.com/healthgraph/healthgraph/auth"
	"github.com/healthgraph/healthgraph/seed"
)

// Not parallel: each case sets the password variable.
func TestScaleOptionsNeedAGoodPassword(t *testing.T) {
	for _, tc := range []struct {
		name, scale, password, wantErr string
	}{
		{"an unknown size is refused", "huge", "Load-test-passw0rd", "small or large"},
		{"a missing password is refused", "small", "", seedPasswordEnv},
		{"a short password is refused", "small", "abc1", "at least"},
		{"a password without digits is refused", "large", "only-letters-here", "letters and digits"},
		{"a good password is hashed", "large", "Load-test-passw0rd", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(seedPasswordEnv, tc.password)
			so, err := scaleOptions(context.Background(), tc.scale, false, seed.Options{Seed: 3}, auth.TestParams)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("scaleOptions(%q): %v, want an error about %q", tc.scale, err, tc.wantErr)
				}
				return
			}
			ok := false
			if err == nil {
				ok, err = auth.CheckPassword(context.Background(), so.LoginHash, tc.password)
			}
			if err != nil || so.Size != seed.Sizes[tc.scale] || so.Seed != 3 || !ok {
				t.Fatalf("scaleOptions(%q): %+v, %v; want the size, the seed and a hash of the password", tc.scale, so, err)
			}
			if strings.Contains(so.LoginHash, tc.password) {
				t.Fatal("the password is kept in clear")
			}
		})
	}
}
