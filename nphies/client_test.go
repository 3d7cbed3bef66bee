package nphies_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/healthgraph/healthgraph/internal/eventually"
	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/nphies/mock"
)

// issue creates a certificate signed by parent (self-signed when parent is nil).
func issue(t *testing.T, cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, isCA bool, usage x509.ExtKeyUsage) (*x509.Certificate, *ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"PR-FHIR"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  isCA,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{usage},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
	}
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent, parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key, der
}

func TestMutualTLS(t *testing.T) {
	t.Parallel()
	ca, caKey, _ := issue(t, "test CA", nil, nil, true, x509.ExtKeyUsageAny)
	_, serverKey, serverDER := issue(t, "127.0.0.1", ca, caKey, false, x509.ExtKeyUsageServerAuth)
	clientCert, clientKey, clientDER := issue(t, "PR-FHIR", ca, caKey, false, x509.ExtKeyUsageClientAuth)

	pool := x509.NewCertPool()
	pool.AddCert(ca)
	srv := httptest.NewUnstartedServer(mock.New(mock.Options{}))
	srv.TLS = &tls.Config{
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		Certificates: []tls.Certificate{{Certificate: [][]byte{serverDER}, PrivateKey: serverKey}},
		MinVersion:   tls.VersionTLS12,
	}
	// The refused handshake is expected; keep it out of the test output.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()

	dir := t.TempDir()
	keyDER, err := x509.MarshalECPrivateKey(clientKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: clientDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	msg := mustBuild(t)(testBuilder().BuildClaim(claimInput(t.Name(), "M-1")))

	t.Run("with the client certificate the message is answered", func(t *testing.T) {
		c, err := nphies.NewClient(srv.URL, nphies.WithClientCertificate(certFile, keyFile), nphies.WithRootCAs(pool))
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.Send(context.Background(), msg)
		if err != nil || r.Claim == nil {
			t.Fatalf("Send: %v", err)
		}
		if got, ok := c.CertificateExpiry(); !ok || !got.Equal(clientCert.NotAfter) {
			t.Errorf("CertificateExpiry() = %v, %v, want %v, true", got, ok, clientCert.NotAfter)
		}
	})
	t.Run("without it the handshake fails as a transport error", func(t *testing.T) {
		c, err := nphies.NewClient(srv.URL, nphies.WithRootCAs(pool))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Send(context.Background(), msg); !errors.Is(err, nphies.ErrTransport) {
			t.Fatalf("err = %v, want ErrTransport", err)
		}
		if got, ok := c.CertificateExpiry(); ok {
			t.Errorf("CertificateExpiry() = %v without a certificate, want none", got)
		}
	})
	t.Run("a missing key file is a configuration error", func(t *testing.T) {
		if _, err := nphies.NewClient(srv.URL, nphies.WithClientCertificate(certFile, filepath.Join(dir, "nope"))); err == nil {
			t.Fatal("NewClient accepted a missing key file")
		}
	})
}

// countingTransport counts round trips, standing in for an otelhttp wrapper.
type countingTransport struct {
	next http.RoundTripper
	n    atomic.Int64
}

// RoundTrip counts and delegates.
func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

func TestClientSendsFHIRJSONAndWrapsTransport(t *testing.T) {
	t.Parallel()
	var gotPath, gotType string
	m := mock.New(mock.Options{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotType = r.URL.Path, r.Header.Get("Content-Type")
		m.ServeHTTP(w, r)
	}))
	defer srv.Close()
	ct := &countingTransport{}
	c, err := nphies.NewClient(srv.URL+"/", nphies.WithTransportWrapper(func(rt http.RoundTripper) http.RoundTripper {
		ct.next = rt
		return ct
	}))
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Send(context.Background(), mustBuild(t)(testBuilder().BuildPoll(pollInput(t.Name(), 1))))
	if err != nil || r.Kind != nphies.KindPoll {
		t.Fatalf("poll: %v", err)
	}
	if gotPath != "/$process-message" || gotType != "application/fhir+json" {
		t.Errorf("path %q content type %q", gotPath, gotType)
	}
	if ct.n.Load() != 1 {
		t.Errorf("wrapper saw %d round trips, want 1", ct.n.Load())
	}
}

func TestClientRejectsUnexpectedAnswers(t *testing.T) {
	t.Parallel()
	_, c, b := setup(t, mock.Options{})
	// An eligibility answer to a claim is unexpected: keep it, do not apply it.
	elig := mustBuild(t)(b.BuildEligibility(eligibilityInput(t.Name(), "M-1")))
	elig.Event = nphies.EventClaimRequest
	r, err := c.Send(context.Background(), elig)
	if !errors.Is(err, nphies.ErrUnexpected) || nphies.Retryable(err) || r == nil || len(r.Raw) == 0 {
		t.Fatalf("err = %v, want non-retryable ErrUnexpected with the raw answer", err)
	}
}

// BenchmarkClaimRoundTrip measures claims per second through the client and
// the mock over real HTTP (loopback): build, send, parse.
func BenchmarkClaimRoundTrip(b *testing.B) {
	m := mock.New(mock.Options{})
	srv := httptest.NewServer(m)
	defer srv.Close()
	c, err := nphies.NewClient(srv.URL, nphies.WithTransport(srv.Client().Transport))
	if err != nil {
		b.Fatal(err)
	}
	builder := testBuilder()
	var i atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			in := claimInput("bench/"+big.NewInt(i.Add(1)).String(), "M-1")
			msg, err := builder.BuildClaim(in)
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := c.Send(context.Background(), msg); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "claims/s")
}

func TestMockRunWithMutualTLS(t *testing.T) {
	t.Parallel()
	ca, caKey, caDER := issue(t, "test CA", nil, nil, true, x509.ExtKeyUsageAny)
	_, serverKey, serverDER := issue(t, "127.0.0.1", ca, caKey, false, x509.ExtKeyUsageServerAuth)
	_, goodKey, goodDER := issue(t, "PR-FHIR", ca, caKey, false, x509.ExtKeyUsageClientAuth)
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keyPEM := func(name string, k *ecdsa.PrivateKey) string {
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return write(name, "EC PRIVATE KEY", der)
	}
	opts := mock.Options{
		TLSCertFile:  write("server.pem", "CERTIFICATE", serverDER),
		TLSKeyFile:   keyPEM("server.key", serverKey),
		ClientCAFile: write("ca.pem", "CERTIFICATE", caDER),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mock.Run(ctx, addr, opts) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	pool := x509.NewCertPool()
	pool.AddCert(ca)
	send := func(certFile, keyFile, provider string) error {
		c, err := nphies.NewClient("https://"+addr, nphies.WithClientCertificate(certFile, keyFile), nphies.WithRootCAs(pool), nphies.WithTimeout(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		b := testBuilder()
		b.ProviderLicense = provider
		var sendErr error
		eventually.Poll(func() bool { // the server may still be starting
			_, sendErr = c.Send(context.Background(), mustBuild(t)(b.BuildClaim(claimInput(t.Name()+provider, "M-1"))))
			return !errors.Is(sendErr, nphies.ErrTransport)
		})
		return sendErr
	}
	goodCert, goodKeyFile := write("good.pem", "CERTIFICATE", goodDER), keyPEM("good.key", goodKey)
	if err := send(goodCert, goodKeyFile, "PR-FHIR"); err != nil {
		t.Fatalf("matching certificate: %v", err)
	}
	// A certificate for one provider cannot send as another (GE-00020).
	err = send(goodCert, goodKeyFile, "PR-OTHER")
	var e *nphies.Error
	if !errors.As(err, &e) || !errors.Is(err, nphies.ErrRejected) || e.StatusCode != http.StatusForbidden || e.Issues[0].Code != "GE-00020" {
		t.Fatalf("mismatched sender: %v, want 403 GE-00020", err)
	}
}

// exchangeSpy records what a client's ExchangeObserver is told.
type exchangeSpy struct {
	mu   sync.Mutex
	seen []string
}

func (s *exchangeSpy) NPHIESRequest(_ context.Context, event, outcome string, _ time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = append(s.seen, event+"/"+outcome)
}

// The desk's eligibility checks go through the client alone, so the client
// must record them as the outbox worker records its sends.
func TestClientRecordsEveryExchangeInItsObserver(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		handler http.Handler
		want    string
	}{
		{"answered", mock.New(mock.Options{}), "eligibility-request/complete"},
		{"server error", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }), "eligibility-request/error"},
		{"refused", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadRequest) }), "eligibility-request/rejected"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(c.handler)
			defer srv.Close()
			spy := &exchangeSpy{}
			client, err := nphies.NewClient(srv.URL, nphies.WithExchangeObserver(spy))
			if err != nil {
				t.Fatal(err)
			}
			_, _ = client.Send(context.Background(), mustBuild(t)(testBuilder().BuildEligibility(eligibilityInput(t.Name(), "M-1"))))
			if len(spy.seen) != 1 || spy.seen[0] != c.want {
				t.Errorf("observer saw %v, want [%s]", spy.seen, c.want)
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		spy := &exchangeSpy{}
		client, err := nphies.NewClient(srv.URL, nphies.WithExchangeObserver(spy))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = client.Send(context.Background(), mustBuild(t)(testBuilder().BuildEligibility(eligibilityInput(t.Name(), "M-1"))))
		if len(spy.seen) != 1 || spy.seen[0] != "eligibility-request/transport_error" {
			t.Errorf("observer saw %v, want [eligibility-request/transport_error]", spy.seen)
		}
	})
}
