package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/felixge/httpsnoop"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/ratelimit"
)

// clientIP is the caller's address, read from X-Forwarded-For only when the
// peer is one of the configured trusted proxies.
func (s *Server) clientIP(r *http.Request) string { return s.cfg.TrustedProxies.ClientIP(r) }

// limitState lets the GraphQL layer, which knows the operation, refuse a
// request that the HTTP layer has already admitted by count; the HTTP layer
// then turns the response into a 429.
type limitState struct{ denied *ratelimit.Decision }

type limitStateKey struct{}

// rateLimit counts each /graphql request against the caller (the user when
// authenticated, else the client IP), sets the X-RateLimit headers and
// answers 429 RATE_LIMITED with Retry-After past the limit. It runs inside
// authenticate, which has put the principal and the client IP in the
// context.
func (s *Server) rateLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		d := s.limiter.Request(ctx, hg.PrincipalFrom(ctx), hg.RequestMetaFrom(ctx).IP)
		setLimitHeaders(w.Header(), d)
		if !d.Allowed {
			w.Header().Set("Retry-After", strconv.Itoa(int(d.RetryAfter().Seconds())))
			writeError(w, r, http.StatusTooManyRequests, hgError(d))
			return
		}
		st := &limitState{}
		next.ServeHTTP(st.wrap(w), r.WithContext(context.WithValue(ctx, limitStateKey{}, st)))
	})
}

// wrap returns w turning the first status into 429, with the refusing
// policy's headers, when the operation was denied. httpsnoop keeps the
// Hijacker the WebSocket upgrade needs.
func (st *limitState) wrap(w http.ResponseWriter) http.ResponseWriter {
	var wrapped http.ResponseWriter
	written := false
	wrapped = httpsnoop.Wrap(w, httpsnoop.Hooks{
		WriteHeader: func(next httpsnoop.WriteHeaderFunc) httpsnoop.WriteHeaderFunc {
			return func(code int) {
				if !written {
					written = true
					if d := st.denied; d != nil && code == http.StatusOK {
						setLimitHeaders(w.Header(), *d)
						w.Header().Set("Retry-After", strconv.Itoa(int(d.RetryAfter().Seconds())))
						code = http.StatusTooManyRequests
					}
				}
				next(code)
			}
		},
		Write: func(next httpsnoop.WriteFunc) httpsnoop.WriteFunc {
			return func(b []byte) (int, error) {
				if !written {
					wrapped.WriteHeader(http.StatusOK)
				}
				return next(b)
			}
		},
	})
	return wrapped
}

func setLimitHeaders(h http.Header, d ratelimit.Decision) {
	if d.Limit <= 0 {
		return
	}
	h.Set("X-RateLimit-Limit", strconv.FormatInt(d.Limit, 10))
	h.Set("X-RateLimit-Remaining", strconv.FormatInt(d.Remaining, 10))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(d.Reset.Unix(), 10))
}

func hgError(d ratelimit.Decision) *hg.Error {
	var e *hg.Error
	errors.As(d.Err(), &e)
	return e
}

// operationLimits is the GraphQL-aware part of rate limiting, run once the
// operation is parsed and its complexity known: every login, signup and
// refreshToken field (aliases count one each) is charged to the client IP
// and to the account it names, and the operation's complexity is charged
// to the caller's budget of points.
type operationLimits struct{ s *Server }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
} = operationLimits{}

func (operationLimits) ExtensionName() string                   { return "RateLimit" }
func (operationLimits) Validate(graphql.ExecutableSchema) error { return nil }

func (l operationLimits) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	p, ip := hg.PrincipalFrom(ctx), hg.RequestMetaFrom(ctx).IP
	if oc.Operation != nil && oc.Operation.Operation == ast.Mutation {
		for _, f := range graphql.CollectFields(oc, oc.Operation.SelectionSet, []string{"Mutation"}) {
			account, ok := credentialAccount(f.Field, oc.Variables)
			if !ok {
				continue
			}
			if d := l.s.limiter.Auth(ctx, ip, account); !d.Allowed {
				return l.deny(ctx, d)
			}
		}
	}
	if stats := extension.GetComplexityStats(ctx); stats != nil {
		if d := l.s.limiter.Complexity(ctx, p, ip, stats.Complexity); !d.Allowed {
			return l.deny(ctx, d)
		}
	}
	return next(ctx)
}

// credentialAccount tells whether a mutation field spends credentials and
// which account it names.
func credentialAccount(f *ast.Field, vars map[string]any) (string, bool) {
	switch f.Name {
	case "login":
		email, _ := f.ArgumentMap(vars)["email"].(string)
		return strings.ToLower(strings.TrimSpace(email)), true
	case "signup":
		in, _ := f.ArgumentMap(vars)["input"].(map[string]any)
		email, _ := in["email"].(string)
		return strings.ToLower(strings.TrimSpace(email)), true
	case "refreshToken":
		token, _ := f.ArgumentMap(vars)["token"].(string)
		return token, true
	}
	return "", false
}

func (l operationLimits) deny(ctx context.Context, d ratelimit.Decision) graphql.ResponseHandler {
	if st, ok := ctx.Value(limitStateKey{}).(*limitState); ok {
		st.denied = &d
	}
	return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{l.s.presentError(ctx, d.Err())}})
}
