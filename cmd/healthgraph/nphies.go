package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/nphies/mock"
	"github.com/healthgraph/healthgraph/observability"
	"github.com/healthgraph/healthgraph/postgres"
)

// startNPHIES starts the outbox worker and the poller on outbox (db,
// announcing claim changes) in the background when HG_NPHIES_WORKER allows. The returned stop cancels them
// and waits until both have returned (the poller releases its lock), so it
// must run before the pool closes.
func startNPHIES(ctx context.Context, cfg Config, db *postgres.DB, outbox hg.Outbox, log *slog.Logger,
	metrics *observability.Metrics) (stop func(), err error) {
	if !cfg.NPHIESWorker {
		log.Info("NPHIES worker and poller are off (HG_NPHIES_WORKER=false)")
		return func() {}, nil
	}
	opts := []nphies.Option{nphies.WithTimeout(cfg.NPHIESTimeout),
		nphies.WithTransportWrapper(func(rt http.RoundTripper) http.RoundTripper { return metrics.RoundTripper(rt, "nphies") })}
	if cfg.NPHIESCertFile != "" || cfg.NPHIESKeyFile != "" {
		opts = append(opts, nphies.WithClientCertificate(cfg.NPHIESCertFile, cfg.NPHIESKeyFile))
	}
	client, err := nphies.NewClient(cfg.NPHIESURL, opts...)
	if err != nil {
		return nil, fmt.Errorf("nphies client: %w", err)
	}
	// The same identity the resolvers build claims with.
	clinic := cfg.Clinic()
	b := &clinic
	obs := nphiesObserver{metrics}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w := &nphies.Worker{Store: outbox, Client: client, Timeout: cfg.NPHIESTimeout, MaxAttempts: cfg.NPHIESMaxAttempts,
		Wake: db.ListenOutbox(ctx), Logger: log, Observer: obs}
	p := &nphies.Poller{Store: outbox, Client: client, Builder: b, Interval: cfg.NPHIESPollInterval,
		StatusCheckAfter: cfg.NPHIESStatusCheckAfter, Timeout: cfg.NPHIESTimeout, Logger: log, Observer: obs}
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := w.Run(ctx); err != nil {
			log.Error("NPHIES worker stopped", "error", err.Error())
		}
	})
	wg.Go(func() {
		if err := p.Run(ctx); err != nil {
			log.Error("NPHIES poller stopped", "error", err.Error())
		}
	})
	log.Info("NPHIES worker and poller started", "max_attempts", cfg.NPHIESMaxAttempts,
		"poll_interval", cfg.NPHIESPollInterval.String(), "status_check_after", cfg.NPHIESStatusCheckAfter.String(),
		"timeout", cfg.NPHIESTimeout.String())
	return func() {
		cancel()
		wg.Wait()
		log.Info("NPHIES worker and poller stopped")
	}, nil
}

// nphiesObserver adapts the observability package to nphies.Observer.
type nphiesObserver struct{ m *observability.Metrics }

func (o nphiesObserver) StartLinked(ctx context.Context, name, traceParent string) (context.Context, func(error)) {
	ctx, span := o.m.StartLinked(ctx, name, observability.SpanContextFromTraceParent(traceParent))
	return ctx, func(err error) { observability.End(span, err) }
}

func (o nphiesObserver) NPHIESRequest(ctx context.Context, event, outcome string, took time.Duration) {
	o.m.NPHIESRequest(ctx, event, outcome, took)
}

func (o nphiesObserver) OutboxDelivery(outcome string) { o.m.OutboxDelivery(outcome) }

func (o nphiesObserver) SetOutboxBacklog(pending int, oldest time.Duration) {
	o.m.SetOutboxBacklog(pending, oldest)
}

const nphiesMockUsage = "usage: healthgraph nphies-mock [--addr HOST:PORT] [--fail-rate P] [--timeout-rate P] " +
	"[--offline-payers L1,L2] [--accept-invalid] [--tls-cert F --tls-key F [--client-ca F]]\n\nServe the mock NPHIES (tests, compose, demos)."

// nphiesMock runs the mock NPHIES until ctx ends.
func nphiesMock(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flagSet("nphies-mock", nphiesMockUsage, args, stdout)
	addr := fs.String("addr", "127.0.0.1:8090", "listen address HOST:PORT")
	failRate := fs.Float64("fail-rate", 0, "probability (0..1) of answering 503 before processing")
	timeoutRate := fs.Float64("timeout-rate", 0, "probability (0..1) of processing and then withholding the answer")
	offline := fs.String("offline-payers", "", "comma-separated payer licences answered store-and-forward (queued, delivered by poll)")
	acceptInvalid := fs.Bool("accept-invalid", false, "do not refuse messages that break NPHIES's validation rules")
	cert := fs.String("tls-cert", "", "serve HTTPS with this certificate (PEM)")
	key := fs.String("tls-key", "", "the certificate's key (PEM)")
	clientCA := fs.String("client-ca", "", "require client certificates signed by this CA (mutual TLS)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(nphiesMockUsage)
	}
	if (*cert == "") != (*key == "") || *clientCA != "" && *cert == "" {
		return errors.New("nphies-mock: --tls-cert and --tls-key go together, and --client-ca needs them")
	}
	if *failRate < 0 || *failRate > 1 || *timeoutRate < 0 || *timeoutRate > 1 {
		return errors.New("nphies-mock: rates must be from 0 to 1")
	}
	log := observability.NewLogger(os.Stdout, slog.LevelInfo)
	log.Info("mock NPHIES is serving", "addr", *addr)
	var payers []string
	for _, l := range strings.Split(*offline, ",") {
		if l = strings.TrimSpace(l); l != "" {
			payers = append(payers, l)
		}
	}
	return mock.Run(ctx, *addr, mock.Options{FailRate: *failRate, TimeoutRate: *timeoutRate, OfflinePayers: payers,
		AcceptInvalid: *acceptInvalid, TLSCertFile: *cert, TLSKeyFile: *key, ClientCAFile: *clientCA, Logger: log})
}
