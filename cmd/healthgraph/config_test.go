package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/healthgraph/healthgraph/phi"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	c, err := loadConfig(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Production() || !c.AutoMigrate || !c.Introspection || !c.JWTKeyGenerated || c.HTTPAddr != "127.0.0.1:8080" {
		t.Fatalf("development defaults wrong: %+v", c)
	}
	if c.AccessTokenTTL != 15*time.Minute || c.DBMaxConns != 10 {
		t.Fatalf("ttl %v pool %d", c.AccessTokenTTL, c.DBMaxConns)
	}
}

func TestConfigDevelopmentIsFriendlyAndProductionStrict(t *testing.T) {
	t.Parallel()
	prodKeys := map[string]string{"HG_ENV": "production", "HG_JWT_KEY": "q3J9v0Zx7m2Lr8Tn4Wb6Yc1Hd5Kf0Gs3Pa",
		"HG_PHI_KEYS": "k1:" + testKeyA, "HG_PHI_INDEX_KEY": testKeyB}
	with := func(base map[string]string, k, v string) map[string]string {
		out := map[string]string{k: v}
		for bk, bv := range base {
			out[bk] = bv
		}
		return out
	}
	devOrigins := "http://localhost:3000,http://127.0.0.1:3000,http://localhost:5173,http://127.0.0.1:5173," +
		"http://localhost:8080,http://127.0.0.1:8080"
	tests := []struct {
		name        string
		vars        map[string]string
		wantAddr    string
		wantOrigins string
		wantAuth    int64
	}{
		{"development by default", nil, "127.0.0.1:8080", devOrigins, 300},
		{"development with origins set", map[string]string{"HG_CORS_ORIGINS": "https://app.example.com"},
			"127.0.0.1:8080", "https://app.example.com", 300},
		{"development with limits and address set", map[string]string{"HG_RATE_LIMIT_AUTH": "20", "HG_HTTP_ADDR": ":9000"},
			":9000", devOrigins, 20},
		{"production", prodKeys, ":8080", "", 10},
		{"production with origins set", with(prodKeys, "HG_CORS_ORIGINS", "https://app.example.com"),
			":8080", "https://app.example.com", 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := loadConfig(env(tt.vars))
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(c.CORSOrigins, ","); got != tt.wantOrigins {
				t.Errorf("origins %q, want %q", got, tt.wantOrigins)
			}
			if c.HTTPAddr != tt.wantAddr {
				t.Errorf("listen %q, want %q", c.HTTPAddr, tt.wantAddr)
			}
			if got := c.RateLimits.Auth; got.Limit != tt.wantAuth || got.Period != time.Minute {
				t.Errorf("auth limit %d per %v, want %d per minute", got.Limit, got.Period, tt.wantAuth)
			}
			if a := c.App().Server; a.Addr != tt.wantAddr || strings.Join(a.CORSOrigins, ",") != tt.wantOrigins {
				t.Errorf("server config: addr %q origins %v", a.Addr, a.CORSOrigins)
			}
		})
	}
}

func TestConfigEffectiveSettingsNameLimitsOriginsAndAddressButNoSecret(t *testing.T) {
	t.Parallel()
	c, err := loadConfig(env(map[string]string{"HG_JWT_KEY": "q3J9v0Zx7m2Lr8Tn4Wb6Yc1Hd5Kf0Gs3Pa",
		"HG_DATABASE_URL": "postgres://app:hunter2secret@db:5432/hg", "HG_PHI_KEYS": "k1:" + testKeyA, "HG_PHI_INDEX_KEY": testKeyB}))
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(c.Effective()...)
	for _, want := range []string{"listen127.0.0.1:8080", "rate_limit_auth300/min", "rate_limit_anon300/min",
		"cors_originshttp://localhost:3000,", "envdevelopment", "nphies_status_check_after4h0m0s"} {
		if !strings.Contains(got, want) {
			t.Errorf("effective settings %q lack %q", got, want)
		}
	}
	for _, secret := range []string{"hunter2secret", "q3J9v0Zx", testKeyA, testKeyB} {
		if strings.Contains(got, secret) {
			t.Errorf("effective settings show a secret: %q", got)
		}
	}
}

func TestConfigProductionNeedsARealKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		vars map[string]string
		want string // substring of the error; empty means valid
	}{
		{"no key", map[string]string{"HG_ENV": "production"}, "HG_JWT_KEY is required in production"},
		{"short key", map[string]string{"HG_ENV": "production", "HG_JWT_KEY": "tooshort"}, "at least 32 bytes"},
		{"placeholder key", map[string]string{"HG_ENV": "production", "HG_JWT_KEY": "changeme-changeme-changeme-changeme"}, "placeholder"},
		{"unreadable key file", map[string]string{"HG_ENV": "production", "HG_JWT_KEY_FILE": "/nonexistent/key"}, "HG_JWT_KEY_FILE cannot be read"},
		{"both key sources", map[string]string{"HG_JWT_KEY": strings.Repeat("k", 40), "HG_JWT_KEY_FILE": "/x"}, "both set"},
		{"good key", map[string]string{"HG_ENV": "production", "HG_JWT_KEY": "q3J9v0Zx7m2Lr8Tn4Wb6Yc1Hd5Kf0Gs3Pa",
			"HG_PHI_KEYS": "k1:" + testKeyA, "HG_PHI_INDEX_KEY": testKeyB}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := loadConfig(env(tt.vars))
			if tt.want == "" {
				if err != nil || !c.Production() || c.AutoMigrate || c.Introspection || !c.HSTS {
					t.Fatalf("valid production config: err %v, config %+v", err, c)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to say %q", err, tt.want)
			}
		})
	}
}

func TestConfigReportsEveryBadVariable(t *testing.T) {
	t.Parallel()
	_, err := loadConfig(env(map[string]string{
		"HG_ENV": "staging", "HG_DB_MAX_CONNS": "-3", "HG_AUTO_MIGRATE": "maybe", "HG_ACCESS_TOKEN_TTL": "soon", "HG_LOG_LEVEL": "loud",
	}))
	if err == nil {
		t.Fatal("bad configuration accepted")
	}
	for _, name := range []string{"HG_ENV", "HG_DB_MAX_CONNS", "HG_AUTO_MIGRATE", "HG_ACCESS_TOKEN_TTL", "HG_LOG_LEVEL"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}

// Throw-away keys for these tests only.
const (
	testKeyA = "6Rk0cNq2bW5m0hBzJc3pYd8sVf1tXg4uZa7eLi9oQwE=" // #nosec G101 -- test value
	testKeyB = "Jm3vT8xq1Lr6Wn0Zc5Bd2Hs9Yf4Pk7Ga0Ue3Io6Qt1M=" // #nosec G101 -- test value
	testKeyC = "pX2nR7cV0bM5kH8jT1yW4qL9sD6fG3zA0eU2iO5rN8Y=" // #nosec G101 -- test value
)

func TestConfigPHIKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ringFile, indexFile := filepath.Join(dir, "phi_keys"), filepath.Join(dir, "phi_index_key")
	if err := os.WriteFile(ringFile, []byte("k2:"+testKeyA+",k1:"+testKeyB+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(indexFile, []byte(testKeyB[:10]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	prod := func(vars map[string]string) map[string]string {
		vars["HG_ENV"], vars["HG_JWT_KEY"] = "production", "q3J9v0Zx7m2Lr8Tn4Wb6Yc1Hd5Kf0Gs3Pa"
		return vars
	}
	devRing, devIndex := phi.DevelopmentConfig()
	tests := []struct {
		name string
		vars map[string]string
		want string // substring of the error; empty means valid
	}{
		{"production without keys", prod(map[string]string{}), "HG_PHI_KEYS and HG_PHI_INDEX_KEY are required in production"},
		{"ring without index key", map[string]string{"HG_PHI_KEYS": "k1:" + testKeyA}, "HG_PHI_INDEX_KEY is required"},
		{"index key without ring", map[string]string{"HG_PHI_INDEX_KEY": testKeyA}, "HG_PHI_KEYS is required"},
		{"short key", map[string]string{"HG_PHI_KEYS": "k1:c2hvcnQ=", "HG_PHI_INDEX_KEY": testKeyB}, "must decode to 32 bytes"},
		{"index key equal to a key", map[string]string{"HG_PHI_KEYS": "k1:" + testKeyA, "HG_PHI_INDEX_KEY": testKeyA}, "must differ"},
		{"unreadable file", map[string]string{"HG_PHI_KEYS_FILE": "/nonexistent", "HG_PHI_INDEX_KEY": testKeyB}, "HG_PHI_KEYS_FILE cannot be read"},
		{"bad index file", map[string]string{"HG_PHI_KEYS_FILE": ringFile, "HG_PHI_INDEX_KEY_FILE": indexFile}, "index key"},
		{"development keys in production", prod(map[string]string{"HG_PHI_KEYS": devRing, "HG_PHI_INDEX_KEY": devIndex}), "public development key"},
		{"keys from files", prod(map[string]string{"HG_PHI_KEYS_FILE": ringFile, "HG_PHI_INDEX_KEY": testKeyC}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := loadConfig(env(tt.vars))
			if tt.want == "" {
				if err != nil || c.PHIKeys == nil || c.PHIKeysDevelopment || c.PHIKeys.CurrentID() != "k2" {
					t.Fatalf("err %v, keys %v (development %v); want the ring from the file, k2 current", err, c.PHIKeys, c.PHIKeysDevelopment)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to say %q", err, tt.want)
			}
			if strings.Contains(err.Error(), testKeyA) || strings.Contains(err.Error(), testKeyB) {
				t.Errorf("the error shows a key: %v", err)
			}
		})
	}
	c, err := loadConfig(env(nil))
	if err != nil || !c.PHIKeysDevelopment || !c.PHIKeys.UsesDevelopmentKey() {
		t.Errorf("development without keys: %v, development %v; want the development ring", err, c.PHIKeysDevelopment)
	}
}
