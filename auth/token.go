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
	jwt.RegisteredClaims
}

// Issue returns a signed access token for u and when it expires.
func (t *Tokens) Issue(u *hg.User) (string, time.Time, error) {
	now := t.now()
	exp := now.Add(t.ttl)
	c := claims{Role: u.Role, RegisteredClaims: jwt.RegisteredClaims{
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

// Verify checks an access token and returns its principal. Anything wrong
// (expired, tampered, another key, another algorithm, alg none) is
// UNAUTHENTICATED, with no detail for an attacker.
func (t *Tokens) Verify(token string) (*hg.Principal, error) {
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return t.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(issuer), jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
		jwt.WithTimeFunc(t.now), jwt.WithLeeway(5*time.Second))
	if err != nil {
		return nil, hg.Errorf(hg.EUNAUTHENTICATED, "invalid or expired access token")
	}
	id, err := uuid.Parse(c.Subject)
	if err != nil || !c.Role.Valid() {
		return nil, hg.Errorf(hg.EUNAUTHENTICATED, "invalid or expired access token")
	}
	return &hg.Principal{UserID: id, Role: c.Role}, nil
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
