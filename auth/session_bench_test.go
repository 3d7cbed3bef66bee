package auth_test

import (
	"testing"
	"time"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/auth"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
)

// BenchmarkAccessTokenCheck measures what checking an access token costs
// every authenticated request: the signature alone, as before sessions
// could be revoked, and the signature plus the session lookup in Postgres.
// The difference is the per-request price of revocation.
func BenchmarkAccessTokenCheck(b *testing.B) {
	db := pgtest.New(b, postgres.Options{})
	tokens, err := auth.NewTokens([]byte("benchmark-signing-key-0123456789abcdef"), 15*time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	accounts := &auth.Accounts{Users: db, Tokens: db, Audit: db, Access: tokens,
		RefreshTTL: time.Hour, LockThreshold: 5, LockDuration: time.Minute, Params: auth.TestParams}
	ctx := b.Context()
	if _, err := accounts.Create(ctx, "bench@example.com", "bench-passw0rd", "Bench", hg.RolePatient); err != nil {
		b.Fatal(err)
	}
	s, err := accounts.Login(ctx, "bench@example.com", "bench-passw0rd")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("signature only", func(b *testing.B) {
		for b.Loop() {
			if _, err := tokens.Verify(s.AccessToken); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("signature and session", func(b *testing.B) {
		for b.Loop() {
			if _, err := accounts.Authenticate(ctx, s.AccessToken); err != nil {
				b.Fatal(err)
			}
		}
	})
}
