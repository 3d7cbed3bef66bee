package servertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// Socket is a graphql-transport-ws client connection, the protocol
// graphql-ws speaks: the one WebSocket client of the tests. One goroutine
// reads, because coder/websocket closes the connection when a read is
// cancelled; messages wait in a buffer until Next takes them.
type Socket struct {
	t    testing.TB
	conn *websocket.Conn
	in   chan Message
	err  chan error
}

// Message is one graphql-transport-ws message.
type Message struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload"`
}

// ErrNoMessage is Next's answer when nothing arrived in time.
var ErrNoMessage = errors.New("no message in time")

// answerWait bounds the wait for an answer that must come; a failure bound,
// not a measurement: answers come within milliseconds.
const answerWait = 10 * time.Second

// Bearer is the connection_init payload that authenticates with token.
func Bearer(token string) map[string]any { return map[string]any{"Authorization": "Bearer " + token} }

// DialSocket opens a graphql-transport-ws connection to the server at url
// with header on the upgrade request and initPayload in connection_init,
// and waits for the acknowledgement. A refused connection_init is the
// error, whose websocket.CloseStatus is the server's close code. The
// connection closes when the test ends.
func DialSocket(t testing.TB, url string, header http.Header, initPayload map[string]any) (*Socket, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), answerWait)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"/graphql",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}, HTTPHeader: header})
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close() // the upgrade response; the connection lives on
	}
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	s := &Socket{t: t, conn: c, in: make(chan Message, 16), err: make(chan error, 1)}
	go s.read()
	if err := wsjson.Write(ctx, c, map[string]any{"type": "connection_init", "payload": initPayload}); err != nil {
		return nil, err
	}
	m, err := s.Next(answerWait)
	if err != nil {
		return nil, err
	}
	if m.Type != "connection_ack" {
		return nil, fmt.Errorf("got %s %s, want connection_ack", m.Type, m.Payload)
	}
	return s, nil
}

// Socket opens a connection to e authenticated with token in
// connection_init (anonymous when token is empty), failing the test if the
// server refuses it.
func (e *Env) Socket(t testing.TB, token string) *Socket {
	t.Helper()
	var init map[string]any
	if token != "" {
		init = Bearer(token)
	}
	s, err := DialSocket(t, e.URL, nil, init)
	if err != nil {
		t.Fatalf("connection_init: %v", err)
	}
	return s
}

// read passes every message but keep-alives to in, and the error that
// ends the connection to err.
func (s *Socket) read() {
	for {
		var m Message
		if err := wsjson.Read(context.Background(), s.conn, &m); err != nil {
			s.err <- err
			return
		}
		if m.Type != "ping" && m.Type != "pong" && m.Type != "ka" {
			s.in <- m
		}
	}
}

// Next returns the next message, the error that ended the connection, or
// ErrNoMessage after timeout.
func (s *Socket) Next(timeout time.Duration) (Message, error) {
	select {
	case m := <-s.in:
		return m, nil
	case err := <-s.err:
		s.err <- err
		return Message{}, err
	case <-time.After(timeout):
		return Message{}, ErrNoMessage
	}
}

// Subscribe starts operation id: a subscription, or a query or mutation
// that answers once.
func (s *Socket) Subscribe(id, query string, vars map[string]any) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), answerWait)
	defer cancel()
	if err := wsjson.Write(ctx, s.conn, map[string]any{"id": id, "type": "subscribe",
		"payload": map[string]any{"query": query, "variables": vars}}); err != nil {
		s.t.Fatalf("subscribe %s: %v", id, err)
	}
}

// Do runs a query or mutation on the socket, as a graphql-ws client sends
// it, and returns its answer as Env.Do does (Status and Header empty). It
// waits for the answer and the operation's end, failing the test when
// either does not come.
func (s *Socket) Do(t testing.TB, query string, vars map[string]any) Response {
	t.Helper()
	const id = "do"
	s.Subscribe(id, query, vars)
	var res Response
	for answered := false; ; {
		m, err := s.Next(answerWait)
		if err != nil {
			t.Fatalf("%s on the socket: %v, want an answer", query, err)
		}
		switch {
		case m.ID != id:
			t.Fatalf("got %s %s of operation %q, want the answer of %q", m.Type, m.Payload, m.ID, id)
		case m.Type == "next" && !answered:
			answered, res = true, Answer(t, m)
		case m.Type == "error" && !answered: // refused before it ran: no complete follows
			return Answer(t, m)
		case m.Type == "complete" && answered:
			return res
		default:
			t.Fatalf("got %s %s, want one answer, then complete", m.Type, m.Payload)
		}
	}
}

// Answer decodes an operation's message: a next's result, or an error's
// list of errors (what the server sends when it refuses the operation
// before running it).
func Answer(t testing.TB, m Message) Response {
	t.Helper()
	var res Response
	target := any(&res)
	if m.Type == "error" {
		target = &res.Errors
	}
	if err := json.Unmarshal(m.Payload, target); err != nil {
		t.Fatalf("%s %s: %v", m.Type, m.Payload, err)
	}
	return res
}

// Ended discards messages until the server closes the socket and returns
// the close code and reason; the test fails if the socket stays open
// longer than wait, or ends without a close frame.
func (s *Socket) Ended(t testing.TB, wait time.Duration, what string) (int, string) {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case <-s.in:
		case err := <-s.err:
			s.err <- err
			var ce websocket.CloseError
			if !errors.As(err, &ce) {
				t.Fatalf("%s: connection ended with %v, want a close frame", what, err)
			}
			return int(ce.Code), ce.Reason
		case <-deadline:
			t.Fatalf("%s: the socket is still open %s later", what, wait)
		}
	}
}

// Drain discards messages already on their way: it returns once none
// arrived for quiet.
func (s *Socket) Drain(quiet time.Duration) {
	for {
		if _, err := s.Next(quiet); err != nil {
			return
		}
	}
}
