package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ulule/limiter/v3"

	"github.com/healthgraph/healthgraph/app"
	"github.com/healthgraph/healthgraph/auth"
	"github.com/healthgraph/healthgraph/cache"
	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/phi"
	"github.com/healthgraph/healthgraph/ratelimit"
	"github.com/healthgraph/healthgraph/server"
)

// Config is every setting of the service, read once from HG_* variables.
// The README's configuration table documents each one.
type Config struct {
	Env                string
	HTTPAddr           string
	MetricsAddr        string
	Playground         bool
	DatabaseURL        string
	DBMaxConns         int32
	DBStatementTimeout time.Duration
	RedisURL           string
	Redis              cache.Config
	RateLimits         ratelimit.Limits
	TrustedProxies     ratelimit.Proxies
	APQAllowList       map[string]string
	JWTKey             []byte
	JWTKeyGenerated    bool
	PHIKeys            *phi.Keys
	PHIKeysDevelopment bool
	AccessTokenTTL     time.Duration
	RefreshTokenTTL    time.Duration
	AutoMigrate        bool
	CORSOrigins        []string
	HSTS               bool
	ShutdownTimeout    time.Duration
	ShutdownDelay      time.Duration
	ReadTimeout        time.Duration
	WriteTimeout       time.Duration
	IdleTimeout        time.Duration
	WSSessionCheck     time.Duration
	MaxBodyBytes       int64
	QueryDepthLimit    int
	QueryComplexity    int
	QueryFieldLimit    int
	QueryTokenLimit    int
	Introspection      bool
	LogLevel           slog.Level
	LoginLockThreshold int
	LoginLockDuration  time.Duration
	TraceSampleRatio   float64
	NPHIESURL          string
	NPHIESProvider     string
	NPHIESCertFile     string
	NPHIESKeyFile      string
	NPHIESProviderName string
	NPHIESProviderType string
	NPHIESFacility     nphies.Facility
	PublicURL          string
	NPHIESWorker       bool
	NPHIESPollInterval time.Duration
	NPHIESMaxAttempts  int
	NPHIESTimeout      time.Duration
	// NPHIESStatusCheckAfter is how long a claim stays PENDING at the
	// payer before the poller asks its status.
	NPHIESStatusCheckAfter time.Duration
}

// Production reports whether the service runs in production mode.
func (c Config) Production() bool { return c.Env == "production" }

// Effective is what the server logs at start so a developer sees the
// limits and origins in force: the environment, listen address, browser
// origins and rate limits. It holds no secret and no URL with credentials.
func (c Config) Effective() []any {
	origins := "none"
	if len(c.CORSOrigins) > 0 {
		origins = strings.Join(c.CORSOrigins, ",")
	}
	return []any{"env", c.Env, "listen", c.HTTPAddr, "cors_origins", origins,
		"rate_limit_auth", rateText(c.RateLimits.Auth), "rate_limit_anon", rateText(c.RateLimits.Anonymous),
		"rate_limit_user", rateText(c.RateLimits.User), "rate_limit_complexity", rateText(c.RateLimits.Complexity),
		"introspection", c.Introspection, "auto_migrate", c.AutoMigrate,
		"nphies_status_check_after", c.NPHIESStatusCheckAfter.String()}
}

// rateText spells a rate for a person: "10/min", or off.
func rateText(r limiter.Rate) string {
	if r.Limit == 0 {
		return "off"
	}
	unit, ok := map[time.Duration]string{time.Second: "s", time.Minute: "min", time.Hour: "h", 24 * time.Hour: "day"}[r.Period]
	if !ok {
		unit = r.Period.String()
	}
	return fmt.Sprintf("%d/%s", r.Limit, unit)
}

// App returns the settings the composition root wires the service with.
func (c Config) App() app.Config {
	return app.Config{
		Server: server.Config{
			Addr: c.HTTPAddr, MetricsAddr: c.MetricsAddr, NoPlayground: !c.Playground, Production: c.Production(), CORSOrigins: c.CORSOrigins, HSTS: c.HSTS,
			MaxBodyBytes: c.MaxBodyBytes, ReadTimeout: c.ReadTimeout, WriteTimeout: c.WriteTimeout,
			IdleTimeout: c.IdleTimeout, ShutdownTimeout: c.ShutdownTimeout, ShutdownDelay: c.ShutdownDelay,
			DepthLimit: c.QueryDepthLimit, ComplexityLimit: c.QueryComplexity,
			FieldLimit: c.QueryFieldLimit, TokenLimit: c.QueryTokenLimit, Introspection: c.Introspection,
			RateLimits: c.RateLimits, TrustedProxies: c.TrustedProxies, APQAllowList: c.APQAllowList,
			WebSocketSessionCheck: c.WSSessionCheck,
		},
		Redis:  c.Redis,
		JWTKey: c.JWTKey, AccessTokenTTL: c.AccessTokenTTL, RefreshTokenTTL: c.RefreshTokenTTL,
		LoginLockThreshold: c.LoginLockThreshold, LoginLockDuration: c.LoginLockDuration,
		PasswordParams: auth.DefaultParams,
		Clinic:         c.Clinic(),
	}
}

// Clinic is the provider identity every NPHIES message is built with.
func (c Config) Clinic() nphies.Builder {
	return nphies.Builder{ProviderLicense: c.NPHIESProvider, ProviderName: c.NPHIESProviderName, BaseURL: c.PublicURL,
		ProviderType: c.NPHIESProviderType, Facility: c.NPHIESFacility}
}

// placeholderKeys are values copied from examples that must never sign
// real tokens.
var placeholderKeys = []string{"changeme", "change-me", "secret", "development", "example"}

// loadConfig reads and validates the configuration. Every problem is
// reported at once, naming the variable.
func loadConfig(getenv func(string) string) (Config, error) {
	p := parser{getenv: getenv}
	c := Config{Env: p.str("HG_ENV", "development")}
	if c.Env != "development" && c.Env != "production" {
		p.fail("HG_ENV", "must be development or production, not %q", c.Env)
	}
	prod := c.Production()
	d := app.DevelopmentDefaults()
	if prod {
		d = app.Defaults()
	}
	c.HTTPAddr = p.str("HG_HTTP_ADDR", d.Server.Addr)
	c.MetricsAddr = p.str("HG_METRICS_ADDR", "")
	c.Playground = p.bool("HG_PLAYGROUND", true)
	c.DatabaseURL = p.str("HG_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/healthgraph?sslmode=disable")
	c.DBMaxConns = int32(p.int("HG_DB_MAX_CONNS", 10, 1, 1000))
	c.DBStatementTimeout = p.duration("HG_DB_STATEMENT_TIMEOUT", 15*time.Second)
	c.RedisURL = p.str("HG_REDIS_URL", "redis://127.0.0.1:6379/0")
	if strings.EqualFold(c.RedisURL, "none") {
		c.RedisURL = "" // in-process fallbacks everywhere
	}
	c.Redis = cache.Config{URL: c.RedisURL,
		PoolSize:     p.int("HG_REDIS_POOL_SIZE", 20, 1, 10_000),
		DialTimeout:  p.duration("HG_REDIS_DIAL_TIMEOUT", time.Second),
		ReadTimeout:  p.duration("HG_REDIS_READ_TIMEOUT", 500*time.Millisecond),
		WriteTimeout: p.duration("HG_REDIS_WRITE_TIMEOUT", 500*time.Millisecond),
		Prefix:       p.str("HG_REDIS_PREFIX", ""),
	}
	c.RateLimits = ratelimit.Limits{
		Anonymous:  p.rate("HG_RATE_LIMIT_ANON", d.Server.RateLimits.Anonymous),
		User:       p.rate("HG_RATE_LIMIT_USER", d.Server.RateLimits.User),
		Auth:       p.rate("HG_RATE_LIMIT_AUTH", d.Server.RateLimits.Auth),
		Complexity: p.rate("HG_RATE_LIMIT_COMPLEXITY", d.Server.RateLimits.Complexity),
	}
	if tp, err := ratelimit.ParseProxies(p.list("HG_TRUSTED_PROXIES")); err != nil {
		p.fail("HG_TRUSTED_PROXIES", "%v", err)
	} else {
		c.TrustedProxies = tp
	}
	if p.bool("HG_APQ_ALLOWLIST", false) {
		if file := p.str("HG_APQ_ALLOWLIST_FILE", ""); file == "" {
			p.fail("HG_APQ_ALLOWLIST_FILE", "is required when HG_APQ_ALLOWLIST is true")
		} else if ops, err := server.LoadAllowList(file); err != nil {
			p.fail("HG_APQ_ALLOWLIST_FILE", "%v", err)
		} else {
			c.APQAllowList = ops
		}
	}
	c.AccessTokenTTL = p.duration("HG_ACCESS_TOKEN_TTL", d.AccessTokenTTL)
	c.RefreshTokenTTL = p.duration("HG_REFRESH_TOKEN_TTL", d.RefreshTokenTTL)
	c.AutoMigrate = p.bool("HG_AUTO_MIGRATE", !prod)
	c.CORSOrigins = p.list("HG_CORS_ORIGINS")
	if c.CORSOrigins == nil {
		c.CORSOrigins = d.Server.CORSOrigins
	}
	c.HSTS = p.bool("HG_HSTS", prod)
	c.ShutdownTimeout = p.duration("HG_SHUTDOWN_TIMEOUT", d.Server.ShutdownTimeout)
	c.ShutdownDelay = p.optionalDuration("HG_SHUTDOWN_DELAY")
	c.ReadTimeout = p.duration("HG_READ_TIMEOUT", d.Server.ReadTimeout)
	c.WriteTimeout = p.duration("HG_WRITE_TIMEOUT", d.Server.WriteTimeout)
	c.IdleTimeout = p.duration("HG_IDLE_TIMEOUT", d.Server.IdleTimeout)
	c.WSSessionCheck = p.duration("HG_WS_SESSION_CHECK", d.Server.WebSocketSessionCheck)
	c.MaxBodyBytes = int64(p.int("HG_MAX_BODY_BYTES", int(d.Server.MaxBodyBytes), 1024, 64<<20))
	c.QueryDepthLimit = p.int("HG_QUERY_DEPTH_LIMIT", d.Server.DepthLimit, 2, 100)
	c.QueryComplexity = p.int("HG_QUERY_COMPLEXITY_LIMIT", d.Server.ComplexityLimit, 10, 1_000_000)
	c.QueryFieldLimit = p.int("HG_QUERY_FIELD_LIMIT", d.Server.FieldLimit, 10, 100_000)
	c.QueryTokenLimit = p.int("HG_QUERY_TOKEN_LIMIT", d.Server.TokenLimit, 100, 1_000_000)
	c.Introspection = p.bool("HG_INTROSPECTION", !prod)
	c.LoginLockThreshold = p.int("HG_LOGIN_LOCK_THRESHOLD", d.LoginLockThreshold, 1, 100)
	c.LoginLockDuration = p.duration("HG_LOGIN_LOCK_DURATION", d.LoginLockDuration)
	c.TraceSampleRatio = p.float("HG_TRACE_SAMPLE_RATIO", 1.0, 0, 1)
	c.NPHIESURL = p.str("HG_NPHIES_URL", "http://127.0.0.1:8090")
	c.NPHIESProvider = p.str("HG_NPHIES_PROVIDER_LICENSE", d.Clinic.ProviderLicense)
	c.NPHIESCertFile = p.str("HG_NPHIES_CERT_FILE", "")
	c.NPHIESKeyFile = p.str("HG_NPHIES_KEY_FILE", "")
	c.NPHIESProviderName = p.str("HG_NPHIES_PROVIDER_NAME", d.Clinic.ProviderName)
	c.NPHIESProviderType = p.str("HG_NPHIES_PROVIDER_TYPE", d.Clinic.ProviderType)
	if _, ok := nphies.ProviderTypes[c.NPHIESProviderType]; !ok {
		p.fail("HG_NPHIES_PROVIDER_TYPE", "must be an NPHIES provider-type code, 1 to 9 (5 is a clinic)")
	}
	c.NPHIESFacility = nphies.Facility{License: p.str("HG_NPHIES_FACILITY_LICENSE", ""),
		Name: p.str("HG_NPHIES_FACILITY_NAME", ""), Type: p.str("HG_NPHIES_FACILITY_TYPE", "")}
	if f := c.NPHIESFacility; f.License != "" && f.License == c.NPHIESProvider {
		p.fail("HG_NPHIES_FACILITY_LICENSE", "is the facility's own location licence, not the provider licence")
	}
	c.PublicURL = p.str("HG_PUBLIC_URL", d.Clinic.BaseURL)
	c.NPHIESWorker = p.bool("HG_NPHIES_WORKER", true)
	c.NPHIESPollInterval = p.duration("HG_NPHIES_POLL_INTERVAL", 30*time.Second)
	c.NPHIESMaxAttempts = p.int("HG_NPHIES_MAX_ATTEMPTS", 8, 1, 100)
	c.NPHIESTimeout = p.duration("HG_NPHIES_TIMEOUT", 60*time.Second)
	c.NPHIESStatusCheckAfter = p.duration("HG_NPHIES_STATUS_CHECK_AFTER", 4*time.Hour)
	switch lvl := strings.ToLower(p.str("HG_LOG_LEVEL", "info")); lvl {
	case "debug", "info", "warn", "error":
		_ = c.LogLevel.UnmarshalText([]byte(lvl))
	default:
		p.fail("HG_LOG_LEVEL", "must be debug, info, warn or error")
	}
	c.JWTKey, c.JWTKeyGenerated = p.jwtKey(prod)
	c.PHIKeys, c.PHIKeysDevelopment = p.phiKeys(prod)
	if len(p.errs) > 0 {
		return c, errors.Join(p.errs...)
	}
	return c, nil
}

type parser struct {
	getenv func(string) string
	errs   []error
}

func (p *parser) fail(name, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s %s", name, fmt.Sprintf(format, args...)))
}

func (p *parser) str(name, def string) string {
	if v := strings.TrimSpace(p.getenv(name)); v != "" {
		return v
	}
	return def
}

func (p *parser) list(name string) []string {
	var out []string
	for _, v := range strings.Split(p.getenv(name), ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func (p *parser) bool(name string, def bool) bool {
	v := p.getenv(name)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.fail(name, "must be true or false, not %q", v)
	}
	return b
}

func (p *parser) int(name string, def, lo, hi int) int {
	v := p.getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		p.fail(name, "must be a whole number from %d to %d, not %q", lo, hi, v)
		return def
	}
	return n
}

func (p *parser) float(name string, def, lo, hi float64) float64 {
	v := p.getenv(name)
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < lo || f > hi {
		p.fail(name, "must be a number from %g to %g, not %q", lo, hi, v)
		return def
	}
	return f
}

// rate reads a rate limit: a whole number per minute, or limiter's
// "<limit>-<S|M|H|D>"; 0 switches the policy off.
func (p *parser) rate(name string, def limiter.Rate) limiter.Rate {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	r, err := ratelimit.ParseRate(v)
	if err != nil {
		p.fail(name, "must be a number per minute such as 600, or 10-S / 100-M / 1000-H, not %q", v)
	}
	return r
}

func (p *parser) duration(name string, def time.Duration) time.Duration {
	v := p.getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		p.fail(name, "must be a positive duration such as 15m, not %q", v)
		return def
	}
	return d
}

// secret reads a secret from the variable name or from the file named by
// the variable fileName (how Kubernetes and compose mount secrets). set
// reports whether either is given; a secret that is set but comes back
// empty could not be read, and that has been reported. Both names are
// spelt out by callers so the deploy checks find every variable we read.
func (p *parser) secret(name, fileName string) (value string, set bool) {
	inline, file := p.getenv(name), p.getenv(fileName)
	switch {
	case inline != "" && file != "":
		p.fail(name, "and %s are both set; set one", fileName)
		return "", true
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			p.fail(fileName, "cannot be read: %v", err)
		} else if value = strings.TrimSpace(string(b)); value == "" {
			p.fail(fileName, "is empty")
		}
		return value, true
	}
	return inline, inline != ""
}

// jwtKey reads the signing key from HG_JWT_KEY or the file HG_JWT_KEY_FILE.
// Development without one gets a random key per process; production refuses
// to start, because no default secret exists.
func (p *parser) jwtKey(prod bool) (key []byte, generated bool) {
	v, set := p.secret("HG_JWT_KEY", "HG_JWT_KEY_FILE")
	switch {
	case set && v == "":
		return nil, false // reported by secret
	case set:
		key = []byte(v)
	case prod:
		p.fail("HG_JWT_KEY", "is required in production (or HG_JWT_KEY_FILE): set a random secret of at least %d bytes, e.g. from `openssl rand -base64 48`", auth.MinKeyBytes)
		return nil, false
	default:
		key = make([]byte, 48)
		_, _ = rand.Read(key)
		return key, true
	}
	if len(key) < auth.MinKeyBytes {
		p.fail("HG_JWT_KEY", "must be at least %d bytes", auth.MinKeyBytes)
	}
	for _, bad := range placeholderKeys {
		if strings.Contains(strings.ToLower(string(key)), bad) && prod {
			p.fail("HG_JWT_KEY", "looks like a placeholder; use a random secret")
			break
		}
	}
	return key, false
}

// phiKeys reads the ring that seals patients' national IDs and phones:
// HG_PHI_KEYS (id:base64key, comma-separated, the first one sealing) and
// HG_PHI_INDEX_KEY (base64), each also from a _FILE. Unlike the JWT key, a
// random key per process would make every sealed row unreadable after a
// restart, so development without keys uses the fixed, public development
// ring; production refuses it.
func (p *parser) phiKeys(prod bool) (keys *phi.Keys, development bool) {
	ring, ringSet := p.secret("HG_PHI_KEYS", "HG_PHI_KEYS_FILE")
	index, indexSet := p.secret("HG_PHI_INDEX_KEY", "HG_PHI_INDEX_KEY_FILE")
	switch {
	case !ringSet && !indexSet && prod:
		p.fail("HG_PHI_KEYS", "and HG_PHI_INDEX_KEY are required in production (or their _FILE forms): "+
			"HG_PHI_KEYS=<id>:<key> and HG_PHI_INDEX_KEY=<key>, each key from `openssl rand -base64 32`")
		return nil, false
	case !ringSet && !indexSet:
		return phi.Development(), true
	case !ringSet:
		p.fail("HG_PHI_KEYS", "is required when HG_PHI_INDEX_KEY is set")
		return nil, false
	case !indexSet:
		p.fail("HG_PHI_INDEX_KEY", "is required when HG_PHI_KEYS is set")
		return nil, false
	case ring == "" || index == "":
		return nil, false // reported by secret
	}
	keys, err := phi.Parse(ring, index)
	if err != nil {
		p.fail("HG_PHI_KEYS", "or HG_PHI_INDEX_KEY is invalid: %v", err)
		return nil, false
	}
	if prod && keys.UsesDevelopmentKey() {
		p.fail("HG_PHI_KEYS", "or HG_PHI_INDEX_KEY holds the public development key; use random keys")
		return nil, false
	}
	return keys, false
}

// optionalDuration reads a duration that may be zero (off); unset is zero.
func (p *parser) optionalDuration(name string) time.Duration {
	v := p.getenv(name)
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > 5*time.Minute {
		p.fail(name, "must be a duration from 0s to 5m, such as 5s, not %q", v)
		return 0
	}
	return d
}
