package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/observability"
)

// recoverer turns a panic outside the GraphQL executor into a 500 with an
// INTERNAL error that reveals nothing but the request id.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(v)
				}
				s.deps.Logger.ErrorContext(r.Context(), "panic serving request", "panic", v, "stack", string(debug.Stack()))
				writeError(w, r, http.StatusInternalServerError, hg.Errorf(hg.EINTERNAL, "internal error"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// requestContext gives every request an id (kept from X-Request-Id when it
// is sane) and the origin details the audit trail records.
func (s *Server) requestContext(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			b := make([]byte, 12)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		w.Header().Set("X-Request-Id", id)
		ctx := observability.WithRequestID(r.Context(), id)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// apiCSP locks API responses down completely; the Playground gets its own.
const apiCSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		h.Set("Content-Security-Policy", apiCSP)
		h.Set("Cache-Control", "no-store")
		if s.cfg.HSTS {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

// cors grants CORS only to the configured origins; any other origin gets a
// response without CORS headers, which browsers then refuse to expose.
func (s *Server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		w.Header().Add("Vary", "Origin")
		allowed := origin != "" && slices.Contains(s.cfg.CORSOrigins, origin)
		if allowed {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Expose-Headers", "X-Request-Id, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After")
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			if allowed {
				h := w.Header()
				h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-Id")
				h.Set("Access-Control-Max-Age", "600")
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// limitBody caps request bodies; the GraphQL transport reports an overrun
// as a bad request.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.cfg.MaxBodyBytes {
			writeError(w, r, http.StatusRequestEntityTooLarge, hg.Errorf(hg.EINVALID, "request body is larger than %d bytes", s.cfg.MaxBodyBytes))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

// authenticate puts the caller's principal into the context. A request
// without a token is anonymous; a request with a bad, expired or revoked one
// is refused outright so a client never mistakes it for anonymous access.
// When the session cannot be checked (Postgres down) the request fails as
// unavailable: neither let in nor told its token is bad.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := hg.WithRequestMeta(r.Context(), hg.RequestMeta{IP: s.clientIP(r), TraceID: observability.TraceID(r.Context())})
		if h := r.Header.Get("Authorization"); h != "" {
			p, err := s.principal(ctx, h)
			switch code := hg.ErrorCode(err); code {
			case "":
			case hg.EUNAUTHENTICATED:
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
				writeError(w, r, http.StatusUnauthorized, errBadToken)
				return
			default:
				s.deps.Logger.ErrorContext(ctx, "checking an access token failed", "code", code, "error", err.Error())
				writeError(w, r, http.StatusServiceUnavailable, hg.Errorf(hg.EUNAVAILABLE, "authentication is unavailable; try again"))
				return
			}
			ctx = hg.WithPrincipal(ctx, p)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

var errBadToken = hg.Errorf(hg.EUNAUTHENTICATED, "invalid or expired access token")

// principal checks an Authorization header value ("Bearer <token>"): the
// token's signature, then its session against Postgres.
func (s *Server) principal(ctx context.Context, header string) (*hg.Principal, error) {
	token, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || s.deps.Sessions == nil {
		return nil, errBadToken
	}
	return s.deps.Sessions.Authenticate(ctx, strings.TrimSpace(token))
}
