package server

// A WebSocket outlives the request that opened it. Over HTTP the caller's
// session is checked by authenticate at the moment each request runs; a
// socket carries many operations over up to an access token's lifetime, so
// a check made once at connection_init would be trusted long after the
// session ended or the role changed. This file makes a socket answer to its
// session as it is now:
//
//   - socketTransport gives every connection a socketSession whose context
//     the server can cancel with a cause;
//   - websocketInit authenticates the connection, from connection_init or
//     else from the upgrade request's Authorization header, and starts
//     watchSocket, which ends the socket when its token expires and when a
//     periodic check finds its session ended (logout, revocation, a role,
//     status or password change);
//   - checkSocketOperation asks the session again before every operation
//     sent on the socket, and ends the socket when it no longer holds;
//   - socketConn rewrites the close frame. gqlgen closes a cancelled
//     connection with 1000 (normal closure), which graphql-ws clients treat
//     as "reconnect at once": with an expired token that is a tight loop
//     that burns the shared IP's rate limit. An ended session closes with
//     4401 instead, graphql-transport-ws's "Unauthorized", which tells the
//     client to get a new token before it reconnects.
//
// docs/security.md says what a client must do with each code.

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/golang-jwt/jwt/v5"
	"github.com/vektah/gqlparser/v2/gqlerror"

	hg "github.com/healthgraph/healthgraph"
)

// graphql-transport-ws close codes (graphql-ws's CloseCode).
const (
	// closeUnauthorized ends a socket whose token expired or whose session
	// ended: refresh the token (or log in) and reconnect.
	closeUnauthorized = 4401
	// closeForbidden refuses a connection_init whose token does not hold:
	// retrying with the same token is pointless.
	closeForbidden = 4403
	// closeTryAgainLater (RFC 6455 1013) refuses a connection_init whose
	// session could not be checked (Postgres down): the token may be
	// good, and graphql-ws clients retry it with backoff.
	closeTryAgainLater = 1013
)

// defaultSocketCheck is how often an open socket asks whether its session
// still holds when Config.WebSocketSessionCheck is zero: one indexed
// Postgres round trip per socket per interval bounds how long a logged-out
// or demoted user's idle socket stays open.
const defaultSocketCheck = 30 * time.Second

// socketEnd is why the server ended a socket, and the close frame that
// says so.
type socketEnd struct {
	code   int
	reason string
}

func (e *socketEnd) Error() string { return e.reason }

var (
	endTokenExpired = &socketEnd{closeUnauthorized, "access token expired"}
	endSessionEnded = &socketEnd{closeUnauthorized, "session ended"}
)

// socketSession is one WebSocket connection's authentication. principal
// and expires are written once by websocketInit, before the transport reads
// any operation, and only read afterwards.
type socketSession struct {
	// ctx is the connection's; end cancels it with a *socketEnd, which
	// gqlgen answers by closing the connection.
	ctx context.Context
	end context.CancelCauseFunc
	// header is the upgrade request's Authorization header, used when
	// connection_init carries no token.
	header    string
	principal *hg.Principal
	expires   time.Time
}

type socketKey struct{}

// socketOf returns the socket an operation runs on, or nil over HTTP.
func socketOf(ctx context.Context) *socketSession {
	st, _ := ctx.Value(socketKey{}).(*socketSession)
	return st
}

// socketTransport is gqlgen's WebSocket transport with a socketSession in
// every connection's context.
type socketTransport struct{ transport.Websocket }

// Do serves one WebSocket connection until it closes.
func (t socketTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	ctx, end := context.WithCancelCause(r.Context())
	defer end(nil)
	st := &socketSession{ctx: ctx, end: end, header: r.Header.Get("Authorization")}
	t.Websocket.Do(w, r.WithContext(context.WithValue(ctx, socketKey{}, st)), exec)
}

// websocketInit authenticates a WebSocket connection from its
// connection_init payload ({"Authorization": "Bearer …"}), since browsers
// cannot set headers on a WebSocket, or else from the upgrade request's
// Authorization header, which other clients use. No token leaves the socket
// anonymous, and every subscription field requires one. Either way the
// socket lives no longer than the token and its session (watchSocket).
func (s *Server) websocketInit(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
	st := socketOf(ctx)
	h := payload.Authorization()
	if h == "" {
		h = st.header
	}
	if h == "" {
		return ctx, nil, nil
	}
	p, err := s.principal(ctx, h)
	// Only the close code rests on the unverified expiry: an expired
	// token is worth refreshing, a bad one is not. A token Verify still
	// takes within its clock-skew leeway would close the socket at once.
	exp := tokenExpiry(h)
	expired := !exp.IsZero() && !time.Now().Before(exp)
	switch {
	case err == nil && !expired:
	case err == nil || hg.ErrorCode(err) == hg.EUNAUTHENTICATED:
		if expired {
			return refuseInit(ctx, closeUnauthorized, endTokenExpired.reason)
		}
		return refuseInit(ctx, closeForbidden, errBadToken.Message)
	default:
		s.deps.Logger.ErrorContext(ctx, "checking a WebSocket's access token failed", "code", hg.ErrorCode(err), "error", err.Error())
		return refuseInit(ctx, closeTryAgainLater, "authentication is unavailable; try again")
	}
	st.principal, st.expires = p, exp
	go s.watchSocket(st)
	return hg.WithPrincipal(ctx, p), nil, nil
}

// refuseInit makes gqlgen close a connection whose connection_init was
// refused with code and reason.
func refuseInit(ctx context.Context, code int, reason string) (context.Context, *transport.InitPayload, error) {
	ctx = transport.AppendCloseReason(transport.WithWebsocketCloseCode(ctx, code), reason)
	return ctx, nil, errors.New(reason)
}

// tokenExpiry reads the expiry of a bearer token without checking its
// signature: callers have verified the token, or use the expiry only to
// choose between two refusals. It is zero for a token without one.
func tokenExpiry(header string) time.Time {
	var claims jwt.RegisteredClaims
	token := strings.TrimSpace(strings.TrimPrefix(header, "Bearer "))
	if _, _, err := jwt.NewParser().ParseUnverified(token, &claims); err != nil || claims.ExpiresAt == nil {
		return time.Time{}
	}
	return claims.ExpiresAt.Time
}

// watchSocket ends an authenticated socket when its token expires, and
// when a periodic check finds its session ended, so that an idle socket
// holding a subscription does not outlive a logout. It returns when the
// connection closes.
func (s *Server) watchSocket(st *socketSession) {
	expiry := time.NewTimer(time.Until(st.expires))
	defer expiry.Stop()
	interval := s.cfg.WebSocketSessionCheck
	if interval <= 0 {
		interval = defaultSocketCheck
	}
	check := time.NewTicker(interval)
	defer check.Stop()
	for {
		select {
		case <-st.ctx.Done():
			return
		case <-expiry.C:
			st.end(endTokenExpired)
			return
		case <-check.C:
			var end *socketEnd
			if errors.As(s.checkSocket(st.ctx, st), &end) {
				st.end(end)
				return
			}
			// A failed check (Postgres down) keeps the socket: the
			// session may be fine, and the next check asks again.
		}
	}
}

// checkSocket asks whether the socket's session holds now: its token has
// not expired, and auth.Accounts.SessionLive, the check every HTTP request
// makes, finds it neither revoked nor outdated by a change of the
// account's role, status or token version. A session that ended is a
// *socketEnd; a failure to ask keeps its own code.
func (s *Server) checkSocket(ctx context.Context, st *socketSession) error {
	if !time.Now().Before(st.expires) {
		return endTokenExpired
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := s.deps.Sessions.SessionLive(ctx, st.principal)
	if hg.ErrorCode(err) == hg.EUNAUTHENTICATED {
		return endSessionEnded
	}
	return err
}

// checkSocketOperation authorizes an operation sent on a socket at the
// moment it runs, since the principal in its context was decided at
// connection_init. It returns nil to run the operation (always over HTTP,
// where authenticate has just checked the session), or the handler that
// answers the refusal. A session that ended answers UNAUTHENTICATED and
// then, once the answer is written, ends the socket with 4401.
func (s *Server) checkSocketOperation(ctx context.Context) graphql.ResponseHandler {
	st := socketOf(ctx)
	if st == nil || st.principal == nil {
		return nil
	}
	err := s.checkSocket(ctx, st)
	var end *socketEnd
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &end):
		return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{s.presentError(ctx, err)}})
	}
	refusal := &graphql.Response{Errors: gqlerror.List{s.presentError(ctx, errBadToken)}}
	answered := false
	// The transport asks for responses until nil: ending the socket on
	// the second call, not the first, lets the refusal reach the client
	// before the close frame.
	return func(context.Context) *graphql.Response {
		if !answered {
			answered = true
			return refusal
		}
		st.end(end)
		return nil
	}
}

// socketAcceptor accepts WebSocket upgrades from allowed origins only, and
// gives each connection the close codes of its session.
type socketAcceptor struct {
	// origins are the allowed browser origins, as originKey makes them.
	origins map[string]bool
	coder   transport.CoderWebsocketImplementation
}

var errOriginRefused = errors.New("WebSocket origin not allowed")

// Accept checks the origin, then upgrades with coder/websocket.
func (a socketAcceptor) Accept(w http.ResponseWriter, r *http.Request, o transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	if !a.originAllowed(r) {
		http.Error(w, errOriginRefused.Error(), http.StatusForbidden)
		return nil, errOriginRefused
	}
	c, err := a.coder.Accept(w, r, o)
	if err != nil {
		return nil, err
	}
	return &socketConn{WebsocketConn: c, st: socketOf(r.Context())}, nil
}

// socketConn closes a socket the server ended with the code of its
// socketEnd rather than gqlgen's 1000. It forwards the optional read
// limit and deadline, which gqlgen finds by type assertion.
type socketConn struct {
	transport.WebsocketConn
	st *socketSession
}

// ended returns why the server ended the socket, or nil.
func (c *socketConn) ended() *socketEnd {
	var end *socketEnd
	if c.st == nil || !errors.As(context.Cause(c.st.ctx), &end) {
		return nil
	}
	return end
}

// errSocketEnded refuses a message written after the server ended the
// socket; gqlgen drops it.
var errSocketEnded = errors.New("the WebSocket's session ended")

// WriteJSON sends a message, unless the server has ended the socket. Then
// only the close frame may follow: gqlgen completes each running
// subscription as it closes, and a graphql-ws client that saw "complete"
// first would end the subscription as finished and never hear the 4401
// that tells it to re-authenticate. An event racing the end is not sent
// either.
func (c *socketConn) WriteJSON(v any) error {
	if c.ended() != nil {
		return errSocketEnded
	}
	return c.WebsocketConn.WriteJSON(v)
}

// WriteClose sends the close frame.
func (c *socketConn) WriteClose(code int, reason string) error {
	if end := c.ended(); end != nil && code == transport.WebsocketCloseNormalClosure {
		code, reason = end.code, end.reason
	}
	return c.WebsocketConn.WriteClose(code, reason)
}

// SetReadLimit caps the size of a message from the client.
func (c *socketConn) SetReadLimit(n int64) {
	if l, ok := c.WebsocketConn.(transport.WebsocketReadLimiter); ok {
		l.SetReadLimit(n)
	}
}

// SetReadDeadline bounds the wait for the client's next message.
func (c *socketConn) SetReadDeadline(t time.Time) error {
	if d, ok := c.WebsocketConn.(transport.WebsocketReadDeadliner); ok {
		return d.SetReadDeadline(t)
	}
	return nil
}
