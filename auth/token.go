package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
)

// MinKeyBytes is the shortest signing key accepted: HS256 is only as strong
// as its key.
const MinKeyBytes = 32

const issuer = "healthgraph"

// Tokens issues and verifies access tokens: short-lived HS256 JWTs.
type Tokens struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

// NewTokens returns a token signer. The key must be at least MinKeyBytes.
func NewTokens(key []byte, ttl time.Duration) (*Tokens, error) {
	if len(key) < MinKeyBytes {
		return nil, errors.New("token signing key must be at least 32 bytes")
	}
	return &Tokens{key: key, ttl: ttl, now: time.Now}, nil
}

type claims struct {
	Role hg.Role `json:"role"`
	// SessionID is the session (refresh-token family) the token belongs
	// to, Version the user's token version when it was issued; both are
	// checked against Postgres on every request.
	SessionID string `json:"sid"`
	Version   int    `json:"ver"`
	jwt.RegisteredClaims
}

// Issue returns a signed access token for u in a session of its own, which
// has no refresh token and so ends only by expiry or a change of u's token
// version. Tests and tools use it; logins get theirs through Accounts.
func (t *Tokens) Issue(u *hg.User) (string, time.Time, error) {
	return t.issue(u, uuid.New())
}

// issue returns a signed access token for u in session sid, and when it
// expires.
func (t *Tokens) issue(u *hg.User, sid uuid.UUID) (string, time.Time, error) {
	now := t.now()
	exp := now.Add(t.ttl)
	c := claims{Role: u.Role, SessionID: sid.String(), Version: u.TokenVersion, RegisteredClaims: jwt.RegisteredClaims{
		Issuer:    issuer,
		Subject:   u.ID.String(),
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(exp),
		ID:        uuid.NewString(),
	}}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.key)
	return s, exp, err
}

// errBadToken is the one answer for any access token that does not hold.
var errBadToken = hg.Errorf(hg.EUNAUTHENTICATED, "invalid or expired access token")

// Verify checks an access token's signature and claims and returns its
// principal and token version. Anything wrong (expired, tampered, another
// key, another algorithm, alg none, no session) is UNAUTHENTICATED, with
// no detail for an attacker. It does not ask whether the session still
// holds: Accounts.Authenticate does.
func (t *Tokens) Verify(token string) (*hg.Principal, error) {
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return t.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(issuer), jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
		jwt.WithTimeFunc(t.now), jwt.WithLeeway(5*time.Second))
	if err != nil {
		return nil, errBadToken
	}
	id, err := uuid.Parse(c.Subject)
	if err != nil || !c.Role.Valid() {
		return nil, errBadToken
	}
	sid, err := uuid.Parse(c.SessionID)
	if err != nil {
		return nil, errBadToken
	}
	return &hg.Principal{UserID: id, Role: c.Role, SessionID: sid, TokenVersion: c.Version}, nil
}

// newRefreshToken returns an opaque refresh token and the hash under which
// it is stored; the token itself is never stored.
func newRefreshToken() (token string, hash []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on Linux
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashRefreshToken(token)
}

func hashRefreshToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
