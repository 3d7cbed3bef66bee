# HealthGraph developer commands. `make run` and `make test` are the two the
# README starts with; .ci/run calls `make test`.

GO      ?= go
BIN     := $(CURDIR)/.cache/bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GOLANGCI_LINT_VERSION := v2.10.0

.PHONY: run test test-short generate check-generated lint build cluster-check chart-files bench bench-headline bench-peer soak load fuzz drills drill-bins drill-tests backup-drill

## run: serve on :8080 against the local Postgres and Redis, with a demo clinic (logins printed on first run) and the mock NPHIES
run:
	$(GO) build -o $(BIN)/healthgraph ./cmd/healthgraph
	@# The mock NPHIES answers claims in development (HG_NPHIES_URL's default);
	@# it starts first so the poller finds it, and stops with the server.
	$(BIN)/healthgraph nphies-mock --addr 127.0.0.1:8090 & mock=$$!; \
	trap 'kill $$mock' EXIT INT TERM; \
	$(BIN)/healthgraph seed --demo --if-missing && $(BIN)/healthgraph serve

## test: the whole suite on the real Postgres and Redis, with the race detector;
## the timeout is explicit, above the slowest package on a busy 2-core machine
test:
	$(GO) test -race -count=1 -timeout 15m ./...

## test-short: skip the tests that build and run the binary
test-short:
	$(GO) test -short ./...

## bench: Go benchmarks of every screen of the load mix and the bare SQL floor (benchstat-friendly)
bench:
	$(GO) test ./resolvers ./postgres -run '^$$' -bench 'Mix|Floor' -benchmem -count 6

## bench-headline: the headline request under 32 clients for 15 s against pgbench's SQL floor (needs seed --scale small)
bench-headline: drill-bins
	BENCH_BIN=$(BIN)/healthgraph BENCH_HG_DRILL=$(BIN)/hg-drill scripts/headline-bench.sh

## bench-peer: the headline shape against HealthGraph and PostGraphile v4.14.1 on the same database, interleaved 3 times (needs seed --scale small, node and npm)
bench-peer: drill-bins
	BENCH_BIN=$(BIN)/healthgraph BENCH_HG_DRILL=$(BIN)/hg-drill scripts/bench-peer.sh

## soak: 30 minutes of the standard mix at 60 % of peak against one replica, sampled each minute and drawn as SVG (needs seed --scale large)
soak: drill-bins
	BENCH_BIN=$(BIN)/healthgraph BENCH_HG_DRILL=$(BIN)/hg-drill scripts/soak.sh

## load: the standard screen mix against a running server (see docs/performance.md)
load:
	$(GO) run ./cmd/hg-drill load -url $${URL:-http://127.0.0.1:8080} -clients 32 -duration 15s -mix standard

## fuzz: every fuzz target in turn, FUZZTIME each (default 5m)
fuzz:
	scripts/fuzz.sh $${FUZZTIME:-5m}

# Drills (docs/drills.md): cmd/hg-drill against the real binary, one at a
# time. A drill's own flags go in ARGS, e.g. make drill-kill ARGS='-phase 2s'.
FAILURE_DRILLS := pg-restart pg-exhaust nphies kill disk-full
# The tests that call drill.Gate: they rehearse a drill for tens of seconds,
# so `go test ./...` skips them and drill-tests runs them (HG_DRILLS=1).
DRILL_TESTS     := TestDrillsKeepTheirInvariants|TestRollingUpgradeHasZeroDowntime|TestFaultDrill|TestServeReplicasDeliverClaimsExactlyOnce|TestMigrationDrillRevertsAndReappliesUnderWrites
DRILL_TEST_PKGS := ./internal/failuredrill ./internal/rolloutdrill ./internal/migratedrill ./nphies ./cmd/healthgraph
.PHONY: $(FAILURE_DRILLS:%=drill-%) drill-redis drill-rollout drill-migrate

## drills: every drill in turn, the backup drill, then the drill tests (docs/drills.md)
drills: $(FAILURE_DRILLS:%=drill-%) drill-redis drill-rollout drill-migrate backup-drill drill-tests
.NOTPARALLEL: drills

## drill-bins: healthgraph and the hg-drill tooling binary, in .cache/bin
drill-bins:
	$(GO) build -o $(BIN)/healthgraph ./cmd/healthgraph
	$(GO) build -o $(BIN)/hg-drill ./cmd/hg-drill

## drill-pg-restart, drill-pg-exhaust, drill-nphies, drill-kill, drill-disk-full: one failure drill
$(FAILURE_DRILLS:%=drill-%): drill-bins
	$(BIN)/hg-drill failure $(@:drill-%=%) -bin $(BIN)/healthgraph $(ARGS)

## drill-redis: Redis cut off under load on two replicas, then restored
drill-redis: drill-bins
	$(BIN)/hg-drill redis -bin $(BIN)/healthgraph $(ARGS)

## drill-rollout: a rolling upgrade of three replicas under load (builds its v1 and v2)
drill-rollout: drill-bins
	$(BIN)/hg-drill rollout $(ARGS)

## drill-migrate: every migration from 0008 on reverted and reapplied on a large seeded database under writes
drill-migrate: drill-bins
	$(BIN)/hg-drill migrate -bin $(BIN)/healthgraph $(ARGS)

## drill-tests: the long tests that rehearse a drill, one package at a time
drill-tests:
	HG_DRILLS=1 $(GO) test -race -count=1 -p 1 -timeout 20m -run '^($(DRILL_TESTS))$$' $(DRILL_TEST_PKGS)

## backup-drill: dump, restore and prove the copy identical (docs/backup.md)
backup-drill: drill-bins
	scripts/backup-restore-drill.sh --bin $(BIN)/healthgraph

## cluster-check: the packaged chart installed, upgraded and rolled back with --wait on a
## disposable control plane with a kwok node (builds the tools once, minutes; not in CI)
cluster-check:
	deploy/kwok/build-tools.sh
	deploy/kwok/cluster.sh bash deploy/cluster-check.sh

## build: a static binary with version info in bin/
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o bin/healthgraph ./cmd/healthgraph

## chart-files: copy grafana/'s alert rules and dashboards into the chart (no
## symlinks: Flux and other Git sources drop them); CI fails when they differ
CHART_FILES := helm/healthgraph/files
chart-files:
	rm -rf $(CHART_FILES)/alerts $(CHART_FILES)/dashboards
	mkdir -p $(CHART_FILES)/alerts $(CHART_FILES)/dashboards
	cp grafana/alerts/*.yml $(CHART_FILES)/alerts/
	cp grafana/dashboards/*.json $(CHART_FILES)/dashboards/

## generate: regenerate gqlgen code after a schema change, and the NPHIES rule tables in docs/
generate:
	$(GO) generate ./...

## check-generated: fail when committed generated code differs from a fresh generation
check-generated: generate
	git diff --exit-code -- graph resolvers docs/nphies.md docs/nphies-rules.md || (echo "generated code is stale: run make generate and commit" >&2; exit 1)

## lint: golangci-lint, pinned, with the curated linters of .golangci.yml; a
## run that fails is repeated once from a clean analysis cache, because a
## corrupted cache can crash the linter itself
lint: export GOLANGCI_LINT_CACHE := $(CURDIR)/.cache/golangci-lint
lint: $(BIN)/golangci-lint
	$(BIN)/golangci-lint run --allow-parallel-runners ./... || { $(BIN)/golangci-lint cache clean && $(BIN)/golangci-lint run --allow-parallel-runners ./...; }

$(BIN)/golangci-lint:
	GOBIN=$(BIN) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
