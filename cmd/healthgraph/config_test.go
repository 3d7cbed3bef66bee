package main

import (
	"strings"
	"testing"
	"time"
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
	if c.Production() || !c.AutoMigrate || !c.Introspection || !c.JWTKeyGenerated || c.HTTPAddr != ":8080" {
		t.Fatalf("development defaults wrong: %+v", c)
	}
	if c.AccessTokenTTL != 15*time.Minute || c.DBMaxConns != 10 {
		t.Fatalf("ttl %v pool %d", c.AccessTokenTTL, c.DBMaxConns)
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
		{"good key", map[string]string{"HG_ENV": "production", "HG_JWT_KEY": "q3J9v0Zx7m2Lr8Tn4Wb6Yc1Hd5Kf0Gs3Pa"}, ""},
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
