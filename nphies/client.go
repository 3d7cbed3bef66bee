package nphies

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Errors a Send can return, by errors.Is. They tell the outbox worker what to
// do: ErrTransport, ErrServerError and ErrMalformed are worth retrying with
// the same bytes (NPHIES de-duplicates on Bundle.id / MessageHeader.id and
// Claim.identifier); ErrRejected and ErrUnexpected are not.
var (
	// ErrTransport is a failure before an HTTP response arrived: DNS,
	// connection, TLS handshake, or the per-call timeout. The message may
	// or may not have reached NPHIES.
	ErrTransport = errors.New("nphies: transport error")
	// ErrServerError is an HTTP 5xx (or 429) from NPHIES or a proxy.
	ErrServerError = errors.New("nphies: server error")
	// ErrRejected is a non-2xx answer other than 5xx/429, normally an
	// OperationOutcome saying the message itself is invalid.
	ErrRejected = errors.New("nphies: message rejected")
)

// Error is the error Send returns. It keeps the HTTP status and the raw body
// (possibly empty) so the caller can store them for diagnosis.
type Error struct {
	// Kind is one of ErrTransport, ErrServerError, ErrRejected,
	// ErrMalformed, ErrUnexpected.
	Kind error
	// StatusCode is the HTTP status, 0 when no response arrived.
	StatusCode int
	// Raw is the response body as received (nil when none).
	Raw []byte
	// Issues are the OperationOutcome issues of a rejected message.
	Issues []Issue
	// Err is the underlying cause.
	Err error
}

// Error describes the failure without the body (which may carry PHI).
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.Error())
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.StatusCode)
	}
	for i, is := range e.Issues {
		if i == 3 {
			b.WriteString(" …")
			break
		}
		fmt.Fprintf(&b, " [%s]", is.Code)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Is makes errors.Is(err, ErrTransport) etc. work.
func (e *Error) Is(target error) bool { return target == e.Kind }

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether resending the same message may succeed: true
// for transport failures, 5xx/429 and malformed responses; false for
// rejections, unexpected answers and anything that is not a Send error.
func Retryable(err error) bool {
	return errors.Is(err, ErrTransport) || errors.Is(err, ErrServerError) || errors.Is(err, ErrMalformed)
}

// Defaults NPHIES's transport rules imply.
const (
	// DefaultTimeout is NPHIES's 60-second session limit.
	DefaultTimeout = 60 * time.Second
	// MaxMessageBytes is NPHIES's 10 MB message limit (BV-00076); larger
	// responses are refused rather than buffered.
	MaxMessageBytes = 10 << 20
)

// Client sends message bundles to NPHIES's $process-message endpoint. It is
// safe for concurrent use.
type Client struct {
	endpoint string
	timeout  time.Duration
	http     *http.Client
	observer ExchangeObserver
	// certExpiry is when the client certificate expires (zero without one).
	certExpiry time.Time
}

// ExchangeObserver records each exchange a Client makes by event and
// outcome; *observability.Metrics implements it.
type ExchangeObserver interface {
	NPHIESRequest(ctx context.Context, event, outcome string, took time.Duration)
}

// Option configures a Client.
type Option func(*clientConfig) error

// clientConfig collects options before the transport is assembled.
type clientConfig struct {
	timeout   time.Duration
	tls       *tls.Config
	transport http.RoundTripper
	wrap      []func(http.RoundTripper) http.RoundTripper
	observer  ExchangeObserver
	// certExpiry is the client certificate's NotAfter.
	certExpiry time.Time
}

// WithTimeout sets the per-call timeout (default DefaultTimeout).
func WithTimeout(d time.Duration) Option {
	return func(c *clientConfig) error {
		if d <= 0 {
			return fmt.Errorf("nphies: timeout must be positive")
		}
		c.timeout = d
		return nil
	}
}

// WithClientCertificate enables mutual TLS with a PEM certificate and key
// (NPHIES identifies the sender by this certificate).
func WithClientCertificate(certFile, keyFile string) Option {
	return func(c *clientConfig) error {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return fmt.Errorf("nphies: load client certificate: %w", err)
		}
		c.tlsConfig().Certificates = []tls.Certificate{cert}
		if cert.Leaf != nil {
			c.certExpiry = cert.Leaf.NotAfter
		}
		return nil
	}
}

// WithRootCAs trusts pool for the server certificate (tests, private CAs).
func WithRootCAs(pool *x509.CertPool) Option {
	return func(c *clientConfig) error {
		c.tlsConfig().RootCAs = pool
		return nil
	}
}

// WithTransport replaces the base transport (the TLS options then do not
// apply). Tests use it to reach an httptest server's transport.
func WithTransport(rt http.RoundTripper) Option {
	return func(c *clientConfig) error {
		c.transport = rt
		return nil
	}
}

// WithTransportWrapper wraps the transport, for example with otelhttp for
// tracing and metrics; wrappers apply in order, the last outermost.
func WithTransportWrapper(wrap func(http.RoundTripper) http.RoundTripper) Option {
	return func(c *clientConfig) error {
		c.wrap = append(c.wrap, wrap)
		return nil
	}
}

// WithExchangeObserver records every Send in o, by event and outcome. Give
// it to the clients whose callers record nothing themselves (the desk's
// synchronous eligibility checks); the Worker and the Poller record their
// exchanges through their Observer, so their client must not have one too.
func WithExchangeObserver(o ExchangeObserver) Option {
	return func(c *clientConfig) error {
		c.observer = o
		return nil
	}
}

// tlsConfig returns the TLS config, creating it with safe defaults.
func (c *clientConfig) tlsConfig() *tls.Config {
	if c.tls == nil {
		c.tls = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return c.tls
}

// NewClient returns a Client for baseURL (e.g. "https://hsb.nphies.sa");
// requests go to baseURL + "/$process-message".
func NewClient(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("nphies: base URL must be an absolute http(s) URL")
	}
	cfg := clientConfig{timeout: DefaultTimeout}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	rt := cfg.transport
	if rt == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		if cfg.tls != nil {
			t.TLSClientConfig = cfg.tls
		}
		rt = t
	} else if cfg.tls != nil {
		return nil, fmt.Errorf("nphies: TLS options cannot be combined with WithTransport")
	}
	for _, w := range cfg.wrap {
		rt = w(rt)
	}
	return &Client{
		endpoint:   strings.TrimRight(baseURL, "/") + "/$process-message",
		timeout:    cfg.timeout,
		observer:   cfg.observer,
		certExpiry: cfg.certExpiry,
		// Redirects are refused: a message must not be replayed elsewhere.
		http: &http.Client{Transport: rt, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
	}, nil
}

// Send posts m and returns the parsed business response. A 200 business
// response is returned without error even when the payer rejected or errored
// the claim: read the typed result. On error the *Error carries the status and
// raw body; a non-nil Response may accompany ErrUnexpected and ErrMalformed so
// the raw bytes can be stored.
func (c *Client) Send(ctx context.Context, m *Message) (*Response, error) {
	if c.observer == nil {
		return c.send(ctx, m)
	}
	start := time.Now()
	resp, err := c.send(ctx, m)
	c.observer.NPHIESRequest(ctx, m.Event, exchangeOutcome(resp, err), time.Since(start))
	return resp, err
}

// CertificateExpiry reports when the client certificate the Client presents
// expires; ok is false without one. NPHIES refuses every exchange after that
// instant, so the binary exports it for an alert.
func (c *Client) CertificateExpiry() (notAfter time.Time, ok bool) {
	return c.certExpiry, !c.certExpiry.IsZero()
}

// exchangeOutcome is the bounded outcome label of a Send, in the terms the
// outbox worker uses: the payer's outcome when it answered, rejected when
// NPHIES refused the message, transport_error when no HTTP answer came.
func exchangeOutcome(resp *Response, err error) string {
	switch {
	case err == nil && resp.Claim != nil:
		return resp.Claim.Outcome
	case err == nil && resp.Eligibility != nil:
		return resp.Eligibility.Outcome
	case err == nil:
		return "complete"
	case errors.Is(err, ErrRejected):
		return "rejected"
	case errors.Is(err, ErrTransport):
		return "transport_error"
	}
	return "error"
}

// send is Send without the observer.
func (c *Client) send(ctx context.Context, m *Message) (*Response, error) {
	raw, status, err := c.post(ctx, m.Body)
	if errors.Is(err, errTooLarge) {
		return nil, &Error{Kind: ErrMalformed, StatusCode: status, Err: err}
	}
	if err != nil {
		return nil, &Error{Kind: ErrTransport, Err: err}
	}
	if status < 200 || status > 299 {
		e := &Error{Kind: ErrRejected, StatusCode: status, Raw: raw}
		if status >= 500 || status == http.StatusTooManyRequests {
			e.Kind = ErrServerError
		}
		if r, perr := Parse(raw); perr == nil && r.Kind == KindOperationOutcome {
			e.Issues = r.Issues
		}
		return nil, e
	}
	r, err := Parse(raw)
	if err != nil {
		return r, &Error{Kind: ErrMalformed, StatusCode: status, Raw: raw, Err: err}
	}
	if r.Kind == KindOperationOutcome {
		return r, &Error{Kind: ErrRejected, StatusCode: status, Raw: raw, Issues: r.Issues}
	}
	if want := ResponseEvent(m.Event); want != "" && r.Event != want {
		return r, &Error{Kind: ErrUnexpected, StatusCode: status, Raw: raw,
			Err: fmt.Errorf("answer to %s is %s, want %s", m.Event, r.Event, want)}
	}
	if r.InResponseTo != "" && r.InResponseTo != m.MessageHeaderID.String() {
		return r, &Error{Kind: ErrUnexpected, StatusCode: status, Raw: raw,
			Err: errors.New("response.identifier names another request")}
	}
	return r, nil
}

// errTooLarge reports a response over MaxMessageBytes.
var errTooLarge = fmt.Errorf("response exceeds %d bytes", MaxMessageBytes)

// post sends body with the per-call timeout and reads at most MaxMessageBytes.
func (c *Client) post(ctx context.Context, body []byte) ([]byte, int, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, 0, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Accept", "application/fhir+json")
	resp, err := c.http.Do(req) //nolint:gosec // G704: the URL is our configured NPHIES endpoint, never request input.
	if err != nil {
		return nil, 0, fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxMessageBytes+1))
	if err != nil {
		// The body was cut off (timeout mid-body, reset): the answer is
		// lost, exactly as if it never came.
		return nil, 0, fmt.Errorf("read response: %w", err)
	}
	if len(raw) > MaxMessageBytes {
		return nil, resp.StatusCode, errTooLarge
	}
	return raw, resp.StatusCode, nil
}
