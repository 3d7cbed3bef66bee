// Package mock is a deterministic mock of NPHIES's $process-message endpoint.
// It answers eligibility, prior authorization, claim, cancel, status-check,
// poll, communication and payment-notice messages by scripted rules keyed by
// member ID (or an X-Mock-Outcome header), keeps a per-provider queue for
// polling, and counts deliveries so fault drills can prove exactly-once
// submission. The rules are documented in README.md.
package mock

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/healthgraph/healthgraph/nphies"
)

// Outcome names a scripted behaviour. Member-ID prefixes and the
// X-Mock-Outcome header both select one.
type Outcome string

// Scripted outcomes. The default for a member ID with no known prefix is
// OutcomeApproved (claims) / OutcomeEligible (eligibility).
const (
	OutcomeEligible         Outcome = "eligible"
	OutcomeNotEligible      Outcome = "not-eligible"
	OutcomeEligibilityError Outcome = "eligibility-error"
	OutcomeApproved         Outcome = "approved"
	OutcomePartial          Outcome = "partial"
	OutcomeRejected         Outcome = "rejected"
	OutcomeError            Outcome = "error"
	OutcomeQueued           Outcome = "queued"
	OutcomeCommunication    Outcome = "communication"
	OutcomePaySplit         Outcome = "pay-split"
	OutcomeReverse          Outcome = "reverse"
	OutcomeStatusCheck      Outcome = "status-check"
	OutcomeHTTP5xx          Outcome = "http-5xx"
	OutcomeTimeout          Outcome = "timeout"
	OutcomeMalformed        Outcome = "malformed"
	OutcomeInvalid          Outcome = "invalid"
)

// HeaderOutcome is the test header that overrides the member-ID rules.
const HeaderOutcome = "X-Mock-Outcome"

// memberPrefixes maps a member-ID prefix (case-insensitive) to its outcome.
// Order matters only for readability: no prefix is a prefix of another.
var memberPrefixes = []struct {
	prefix  string
	outcome Outcome
}{
	{"NOTELIG", OutcomeNotEligible},
	{"ELIGERR", OutcomeEligibilityError},
	{"PARTIAL", OutcomePartial},
	{"REJECT", OutcomeRejected},
	{"CLAIMERR", OutcomeError},
	{"QUEUE", OutcomeQueued},
	{"COMM", OutcomeCommunication},
	{"PAYSPLIT", OutcomePaySplit},
	{"REVERSE", OutcomeReverse},
	{"STATUS", OutcomeStatusCheck},
	{"HTTP5XX", OutcomeHTTP5xx},
	{"TIMEOUT", OutcomeTimeout},
	{"MALFORMED", OutcomeMalformed},
	{"INVALID", OutcomeInvalid},
}

// Reason and error codes the mock answers with (from NPHIES's code lists).
const (
	ReasonPartial          = "BE-1-3" // submission not compliant with contract
	ReasonRejected         = "CV-1-4" // service/procedure is not covered
	ReasonNotMember        = "CV-2-1" // patient is not a covered member
	ErrorMemberNotFound    = "1658"   // no member found with the supplied credentials
	ErrorPolicyExpired     = "1664"   // policy is cancelled/expired
	ErrorTotalMismatch     = "1601"   // Claim.total ≠ Σ item.net
	ErrorDuplicateConflict = "BV-00163"
	ErrorAlreadyCancelled  = "BV-00143"
	ErrorUnknownClaim      = "BV-00222"
)

// Options configures a Server.
type Options struct {
	// FailRate is the probability (0..1) that a request is answered 503
	// before it is processed (a flaky NPHIES). Fault drills use 0.5.
	FailRate float64
	// TimeoutRate is the probability (0..1) that a request is processed and
	// its answer then withheld for TimeoutSleep: the message reached NPHIES
	// but the client never hears back, the case that proves de-duplication.
	TimeoutRate float64
	// TimeoutSleep is how long a timeout holds the request (ended early if
	// the client disconnects); default 65 s, past NPHIES's 60 s session.
	TimeoutSleep time.Duration
	// Seed seeds fault injection; 0 picks a random seed.
	Seed uint64
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives one line per request (event, outcome, status — never
	// identifiers of people); default discards.
	Logger *slog.Logger
	// Payers, when non-empty, lists the payer licences NPHIES knows; a
	// message to any other receiver is refused with GE-00010.
	Payers []string
	// OfflinePayers lists payer licences that are "down": claims, prior
	// authorizations and communications to them get an NPHIES-generated
	// queued answer and the payer's answer arrives later by poll;
	// eligibility and status checks get an immediate GE-00012 error.
	OfflinePayers []string
	// TLSCertFile and TLSKeyFile make Run serve HTTPS with this certificate.
	TLSCertFile, TLSKeyFile string
	// AcceptInvalid turns off the enforcement of NPHIES's validation rules
	// (nphies/rules): by default a message that breaks one is answered with
	// the error response NPHIES gives, listing each rule and expression.
	AcceptInvalid bool
	// ClientCAFile makes Run require a client certificate signed by this CA
	// (mutual TLS, as NPHIES does). The certificate's Subject CommonName or
	// Organization must equal MessageHeader.sender's licence, else GE-00020.
	ClientCAFile string
}

// Server is the mock NPHIES. Its zero value is not usable; call New.
type Server struct {
	opts Options

	mu       sync.Mutex
	rng      *rand.Rand
	bundles  map[string]*bundleRecord
	claims   map[string]*claimRecord
	queues   map[string][]queued // provider licence → FIFO
	commReqs map[string]string   // CommunicationRequest key → claim key
	payments map[string]*payment // PaymentReconciliations issued, by identifier key
	stats    counters
}

// bundleRecord remembers a processed bundle so a retry gets the same answer.
type bundleRecord struct {
	hash      string
	status    int
	response  []byte
	received  int
	processed int
}

// claimRecord is the mock payer's state for one Claim.identifier.
type claimRecord struct {
	hash       string
	bundles    map[string]bool
	received   int
	processed  int
	conflicts  int
	event      string
	provider   string
	payer      string
	response   json.RawMessage // latest ClaimResponse resource
	state      string          // queued or complete
	benefit    int64
	responseID nphies.Identifier
	cancelled  bool
	// final is delivered on poll (queued claims), after a communication, or
	// after a status check (held claims).
	final json.RawMessage
	// held keeps final back until the provider asks with a status check.
	held bool
	// extras are the request's non-focal entries, copied into responses so
	// every reference resolves inside the bundle.
	extras []nphies.BundleEntry
	reqMH  string
	// insurer and requestor are the Claim's insurer and provider references,
	// for the payment reconciliation that pays it.
	insurer, requestor *nphies.Reference
}

// queued is one message waiting in a provider's poll queue.
type queued struct {
	id    string
	event string
	focus string // claim key it concerns, for focus-filtered polls
	body  json.RawMessage
}

// counters are request-level statistics.
type counters struct {
	requests int64
	failures int64
	timeouts int64
}

// New returns a Server with opts.
func New(opts Options) *Server {
	if opts.TimeoutSleep <= 0 {
		opts.TimeoutSleep = 65 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	seed := opts.Seed
	if seed == 0 {
		seed = rand.Uint64() //nolint:gosec // G404: fault injection needs reproducible, not secure, randomness.
	}
	return &Server{
		opts:     opts,
		rng:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), //nolint:gosec // G404: seeded on purpose.
		bundles:  map[string]*bundleRecord{},
		claims:   map[string]*claimRecord{},
		queues:   map[string][]queued{},
		commReqs: map[string]string{},
		payments: map[string]*payment{},
	}
}

// Run serves the mock on addr until ctx is cancelled, then shuts down
// gracefully. It backs `healthgraph nphies-mock --addr HOST:PORT`.
func Run(ctx context.Context, addr string, opts Options) error {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("nphies mock: listen: %w", err)
	}
	srv := &http.Server{Handler: New(opts), ReadHeaderTimeout: 10 * time.Second}
	if opts.TLSCertFile != "" {
		cfg, err := serverTLS(opts)
		if err != nil {
			ln.Close()
			return err
		}
		srv.TLSConfig = cfg
		ln = tls.NewListener(ln, cfg)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("nphies mock: serve: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("nphies mock: shutdown: %w", err)
	}
	return nil
}

// serverTLS builds the HTTPS (and optionally mutual TLS) configuration.
func serverTLS(opts Options) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(opts.TLSCertFile, opts.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("nphies mock: load certificate: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if opts.ClientCAFile != "" {
		pem, err := os.ReadFile(opts.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("nphies mock: read client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("nphies mock: no certificate in client CA file")
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// ServeHTTP routes POST /$process-message (and NPHIES's alias
// /api/fs/fhir/$process-message) and GET /_mock/stats.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/$process-message", "/api/fs/fhir/$process-message":
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		s.process(w, r)
	case "/_mock/stats":
		if r.Method != http.MethodGet {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Deliveries())
	default:
		http.NotFound(w, r)
	}
}

// BundleCount is how often one Bundle.id reached the mock.
type BundleCount struct {
	// Received counts every request carrying the bundle (retries included).
	Received int `json:"received"`
	// Processed counts how often it was adjudicated (1 for a processed
	// bundle; retries replay the stored answer).
	Processed int `json:"processed"`
}

// ClaimCount is how often one Claim.identifier reached the mock payer.
type ClaimCount struct {
	// Received counts every request carrying the claim.
	Received int `json:"received"`
	// Processed counts adjudications; exactly-once delivery means 1.
	Processed int `json:"processed"`
	// Bundles counts distinct Bundle.ids that carried it; a correct outbox
	// reuses one bundle id, so this is 1.
	Bundles int `json:"bundles"`
	// Conflicts counts re-submissions with different content (BV-00163).
	Conflicts int `json:"conflicts"`
}

// Deliveries is a snapshot of the mock's counters.
type Deliveries struct {
	// Requests counts every $process-message request.
	Requests int64 `json:"requests"`
	// InjectedFailures counts 503s injected by FailRate.
	InjectedFailures int64 `json:"injectedFailures"`
	// InjectedTimeouts counts answers withheld by TimeoutRate.
	InjectedTimeouts int64 `json:"injectedTimeouts"`
	// Bundles is keyed by Bundle.id.
	Bundles map[string]BundleCount `json:"bundles"`
	// Claims is keyed by Claim.identifier as "system|value".
	Claims map[string]ClaimCount `json:"claims"`
}

// Deliveries returns a snapshot of the delivery counters.
func (s *Server) Deliveries() Deliveries {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := Deliveries{
		Requests:         s.stats.requests,
		InjectedFailures: s.stats.failures,
		InjectedTimeouts: s.stats.timeouts,
		Bundles:          make(map[string]BundleCount, len(s.bundles)),
		Claims:           make(map[string]ClaimCount, len(s.claims)),
	}
	for id, b := range s.bundles {
		d.Bundles[id] = BundleCount{Received: b.received, Processed: b.processed}
	}
	for k, c := range s.claims {
		d.Claims[k] = ClaimCount{Received: c.received, Processed: c.processed, Bundles: len(c.bundles), Conflicts: c.conflicts}
	}
	return d
}

// QueueLength returns how many messages wait for provider's next polls.
func (s *Server) QueueLength(providerLicense string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queues[providerLicense])
}

// request is one parsed request being processed.
type request struct {
	raw      []byte
	bundle   nphies.Bundle
	mh       nphies.MessageHeader
	focus    *nphies.BundleEntry
	provider string
	payer    string
	outcome  Outcome
}

// process handles one $process-message request.
func (s *Server) process(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, nphies.MaxMessageBytes+1))
	if err != nil {
		s.writeOO(w, http.StatusBadRequest, "GE-00013", "request body could not be read")
		return
	}
	s.mu.Lock()
	s.stats.requests++
	fail := s.rng.Float64() < s.opts.FailRate
	timeout := !fail && s.rng.Float64() < s.opts.TimeoutRate
	if fail {
		s.stats.failures++
	}
	s.mu.Unlock()
	if fail {
		s.log(r.Context(), "", "injected-failure", http.StatusServiceUnavailable)
		s.writeOO(w, http.StatusServiceUnavailable, "GE-00026", "injected failure: error at HIC")
		return
	}
	if len(raw) > nphies.MaxMessageBytes {
		s.writeOO(w, http.StatusRequestEntityTooLarge, "BV-00076", "message exceeds 10 MB")
		return
	}
	req, status, code, msg := parseRequest(raw)
	if status != 0 {
		s.log(r.Context(), "", "invalid", status)
		s.writeOO(w, status, code, msg)
		return
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		// NPHIES takes the sender's identity from the client certificate.
		subj := r.TLS.PeerCertificates[0].Subject
		if subj.CommonName != req.provider && !slices.Contains(subj.Organization, req.provider) {
			s.log(r.Context(), req.event(), "sender-mismatch", http.StatusForbidden)
			s.writeOO(w, http.StatusForbidden, "GE-00020", "the sender's credentials do not match the message sender")
			return
		}
	}
	if len(s.opts.Payers) > 0 && req.payer != "" && req.payer != nphies.NPHIESLicense && !slices.Contains(s.opts.Payers, req.payer) {
		s.log(r.Context(), req.event(), "unknown-payer", http.StatusBadRequest)
		s.writeOO(w, http.StatusBadRequest, "GE-00010", "the receiver is not onboarded")
		return
	}
	req.outcome = outcomeFor(req, r.Header.Get(HeaderOutcome))
	switch req.outcome {
	case OutcomeHTTP5xx:
		s.log(r.Context(), req.event(), string(req.outcome), http.StatusServiceUnavailable)
		s.writeOO(w, http.StatusServiceUnavailable, "GE-00012", "scripted: payer offline")
		return
	case OutcomeInvalid:
		s.log(r.Context(), req.event(), string(req.outcome), http.StatusBadRequest)
		s.writeOO(w, http.StatusBadRequest, "GE-00013", "scripted: invalid resource structure")
		return
	case OutcomeMalformed:
		s.log(r.Context(), req.event(), string(req.outcome), http.StatusOK)
		w.Header().Set("Content-Type", "application/fhir+json")
		_, _ = w.Write([]byte(`{"resourceType":"Bundle","type":"message","entry":[{"fullUrl":`))
		return
	case OutcomeTimeout:
		s.log(r.Context(), req.event(), string(req.outcome), 0)
		s.sleep(r.Context())
		s.writeOO(w, http.StatusGatewayTimeout, "GE-00014", "scripted: connection timed out")
		return
	}

	if vs := s.violations(req); len(vs) > 0 {
		// NPHIES validates before the payer sees the message: nothing is
		// adjudicated or stored, and a corrected resend is processed anew.
		s.mu.Lock()
		status, body := s.refuse(req, vs)
		s.mu.Unlock()
		s.log(r.Context(), req.event(), "rule-violations", status)
		w.Header().Set("Content-Type", "application/fhir+json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
		return
	}
	status, body := s.answer(req)
	if timeout {
		s.mu.Lock()
		s.stats.timeouts++
		s.mu.Unlock()
		s.log(r.Context(), req.event(), "injected-timeout", 0)
		s.sleep(r.Context())
		return
	}
	s.log(r.Context(), req.event(), string(req.outcome), status)
	w.Header().Set("Content-Type", "application/fhir+json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// sleep holds a request for TimeoutSleep or until the client goes away.
func (s *Server) sleep(ctx context.Context) {
	t := time.NewTimer(s.opts.TimeoutSleep)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// log writes one request line without identifiers of people.
func (s *Server) log(ctx context.Context, event, outcome string, status int) {
	s.opts.Logger.InfoContext(ctx, "nphies mock request", "event", event, "outcome", outcome, "status", status)
}

// path is the expression of an element of the request's first resource of
// type rt ("Bundle.entry[3].resource.period"), for error expressions.
func (q *request) path(rt, element string) string {
	for i, e := range q.bundle.Entry {
		if e.ResourceType() == rt {
			return fmt.Sprintf("Bundle.entry[%d].resource.%s", i, element)
		}
	}
	return "Bundle"
}

// event returns the request's event code.
func (q *request) event() string { return q.mh.EventCoding.Code }

// parseRequest performs NPHIES's structural checks. A non-zero status means
// the message cannot get a business response and is answered with an
// OperationOutcome.
func parseRequest(raw []byte) (*request, int, string, string) {
	q := &request{raw: raw}
	if err := json.Unmarshal(raw, &q.bundle); err != nil {
		return nil, http.StatusBadRequest, "GE-00013", "message is not valid FHIR JSON"
	}
	if q.bundle.ResourceType != "Bundle" {
		return nil, http.StatusBadRequest, "GE-00013", "message is not a Bundle"
	}
	if q.bundle.Type != "message" {
		return nil, http.StatusBadRequest, "BV-00130", "Bundle.type must be message"
	}
	if q.bundle.ID == "" {
		return nil, http.StatusBadRequest, "GE-00013", "Bundle.id is required"
	}
	if len(q.bundle.Entry) == 0 || q.bundle.Entry[0].ResourceType() != "MessageHeader" {
		return nil, http.StatusBadRequest, "BV-00126", "the first entry must be the MessageHeader"
	}
	if err := q.bundle.Entry[0].Decode(&q.mh); err != nil || q.mh.EventCoding == nil || q.mh.EventCoding.Code == "" {
		return nil, http.StatusBadRequest, "GE-00013", "MessageHeader has no event"
	}
	if !knownEvent(q.mh.EventCoding.Code) {
		return nil, http.StatusBadRequest, "GE-00013", "unknown message event"
	}
	for _, f := range q.mh.Focus {
		if q.bundle.Find(f.Reference) == nil {
			return nil, http.StatusBadRequest, "RE-00169", "MessageHeader.focus does not resolve"
		}
	}
	if len(q.mh.Focus) > 0 {
		q.focus = q.bundle.Find(q.mh.Focus[0].Reference)
	}
	if q.mh.Sender != nil && q.mh.Sender.Identifier != nil {
		q.provider = q.mh.Sender.Identifier.Value
	}
	if q.provider == "" {
		return nil, http.StatusBadRequest, "BV-00180", "MessageHeader.sender licence is required"
	}
	if len(q.mh.Destination) > 0 && q.mh.Destination[0].Receiver != nil && q.mh.Destination[0].Receiver.Identifier != nil {
		q.payer = q.mh.Destination[0].Receiver.Identifier.Value
	}
	return q, 0, "", ""
}

// knownEvent reports whether code is a ksa-message-events code.
func knownEvent(code string) bool {
	switch code {
	case nphies.EventEligibilityRequest, nphies.EventEligibilityResponse, nphies.EventPriorAuthRequest,
		nphies.EventPriorAuthResponse, nphies.EventClaimRequest, nphies.EventClaimResponse,
		nphies.EventBatchRequest, nphies.EventBatchResponse, nphies.EventStatusCheck, nphies.EventStatusResponse,
		nphies.EventCancelRequest, nphies.EventCancelResponse, nphies.EventPaymentNotice,
		nphies.EventPaymentReconciliation, nphies.EventCommunicationRequest, nphies.EventCommunication,
		nphies.EventAcknowledgement, nphies.EventPollRequest, nphies.EventPollResponse,
		nphies.EventAdvancedAuthorization, nphies.EventErrorNotice, "prescriber-request", "prescriber-response":
		return true
	}
	return false
}

// outcomeFor picks the scripted outcome: the header wins, then the member-ID
// prefix, then NPHIES's own test rules (priority deferred, test iqamas).
func outcomeFor(q *request, header string) Outcome {
	if h := Outcome(strings.ToLower(strings.TrimSpace(header))); h != "" {
		return h
	}
	if e := q.bundle.FindType("Coverage"); e != nil {
		var c nphies.Coverage
		if e.Decode(&c) == nil && len(c.Identifier) > 0 {
			member := strings.ToUpper(c.Identifier[0].Value)
			for _, p := range memberPrefixes {
				if strings.HasPrefix(member, p.prefix) {
					return p.outcome
				}
			}
		}
	}
	if e := q.bundle.FindType("Patient"); e != nil {
		var p nphies.Patient
		if e.Decode(&p) == nil {
			for _, id := range p.Identifier {
				switch id.Value {
				case "2333333333":
					return OutcomeEligibilityError
				case "2555555550":
					return OutcomeNotEligible
				}
			}
		}
	}
	if q.focus != nil && q.focus.ResourceType() == "Claim" {
		var c nphies.Claim
		if q.focus.Decode(&c) == nil && c.Priority.Code("") == "deferred" {
			return OutcomeQueued
		}
	}
	return ""
}

// answer processes a structurally valid request, replaying the stored answer
// for a bundle already processed.
func (s *Server) answer(q *request) (int, []byte) {
	hash := digest(q.raw)
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec, ok := s.bundles[q.bundle.ID]; ok {
		rec.received++
		s.countClaimRetry(q)
		if rec.hash != hash {
			return http.StatusBadRequest, ooBody("BV-00532", "Bundle.id was already used for a different message")
		}
		return rec.status, rec.response
	}
	status, body := s.route(q)
	s.bundles[q.bundle.ID] = &bundleRecord{hash: hash, status: status, response: body, received: 1, processed: 1}
	return status, body
}

// countClaimRetry counts a replayed bundle against its claim.
func (s *Server) countClaimRetry(q *request) {
	if q.focus == nil || q.focus.ResourceType() != "Claim" {
		return
	}
	var c nphies.Claim
	if q.focus.Decode(&c) != nil || len(c.Identifier) == 0 {
		return
	}
	if rec, ok := s.claims[c.Identifier[0].Key()]; ok {
		rec.received++
	}
}

// route dispatches by event. Called with s.mu held.
func (s *Server) route(q *request) (int, []byte) {
	switch q.event() {
	case nphies.EventEligibilityRequest:
		return s.eligibility(q)
	case nphies.EventClaimRequest, nphies.EventPriorAuthRequest:
		return s.claim(q)
	case nphies.EventBatchRequest:
		return s.batch(q)
	case nphies.EventCancelRequest:
		return s.cancel(q)
	case nphies.EventStatusCheck:
		return s.status(q)
	case nphies.EventPollRequest:
		return s.poll(q)
	case nphies.EventCommunication:
		return s.communication(q)
	case nphies.EventPaymentNotice:
		return s.paymentNotice(q)
	}
	// Any other valid message (including the official response examples
	// sent as requests) is acknowledged, as NPHIES acknowledges payer
	// messages it accepts.
	return http.StatusOK, s.ack(q, "ok")
}

// digest returns a hex SHA-256 of b.
func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// compactDigest hashes a JSON value ignoring insignificant whitespace.
func compactDigest(raw json.RawMessage) string {
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return digest(raw)
	}
	return digest(buf.Bytes())
}

// writeOO writes a bare OperationOutcome with an HTTP error status.
func (s *Server) writeOO(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/fhir+json")
	w.WriteHeader(status)
	_, _ = w.Write(ooBody(code, msg))
}

// ooBody builds an OperationOutcome with one NPHIES-coded issue.
func ooBody(code, msg string) []byte {
	oo := nphies.OperationOutcome{
		ResourceType: "OperationOutcome",
		ID:           uuid.NewString(),
		Meta:         &nphies.Meta{Profile: []string{nphies.Profile("operationoutcome")}},
		Issue: []nphies.OutcomeIssue{{
			Severity:    "error",
			Code:        "processing",
			Details:     &nphies.CodeableConcept{Coding: []nphies.Coding{{System: nphies.SystemAdjudicationError, Code: code, Display: msg}}},
			Diagnostics: msg,
		}},
	}
	b, _ := json.Marshal(oo)
	return b
}
