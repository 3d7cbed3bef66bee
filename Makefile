# HealthGraph developer commands. `make run` and `make test` are the two the
# README starts with; .ci/run calls `make test`.

GO      ?= go
BIN     := $(CURDIR)/.cache/bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GOLANGCI_LINT_VERSION := v2.10.0

.PHONY: run test test-short generate check-generated lint build playground-assets bench bench-headline load fuzz drills backup-drill

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
bench-headline:
	scripts/headline-bench.sh

## load: the standard screen mix against a running server (see docs/performance.md)
load:
	$(GO) run ./cmd/loadgen -url $${URL:-http://127.0.0.1:8080} -clients 32 -duration 15s -mix standard

## fuzz: every fuzz target in turn, FUZZTIME each (default 5m)
fuzz:
	scripts/fuzz.sh $${FUZZTIME:-5m}

## drills: every failure drill in turn (docs/drills.md)
drills:
	for d in pg-restart pg-exhaust nphies kill disk-full; do scripts/drill-$$d.sh || exit 1; done
	scripts/redis-drill.sh

## backup-drill: dump, restore and prove the copy identical (docs/backup.md)
backup-drill:
	scripts/backup-restore-drill.sh

## build: a static binary with version info in bin/
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o bin/healthgraph ./cmd/healthgraph

## playground-assets: fetch the Playground's pinned, integrity-checked GraphiQL files to embed in the binary
playground-assets:
	server/playground/fetch-assets.sh

## generate: regenerate gqlgen code after a schema change
generate:
	$(GO) generate ./...

## check-generated: fail when committed generated code differs from a fresh generation
check-generated: generate
	git diff --exit-code -- graph resolvers || (echo "generated code is stale: run make generate and commit" >&2; exit 1)

## lint: golangci-lint, pinned, with the curated linters of .golangci.yml; a
## run that fails is repeated once from a clean analysis cache, because a
## corrupted cache can crash the linter itself
lint: export GOLANGCI_LINT_CACHE := $(CURDIR)/.cache/golangci-lint
lint: $(BIN)/golangci-lint
	$(BIN)/golangci-lint run --allow-parallel-runners ./... || { $(BIN)/golangci-lint cache clean && $(BIN)/golangci-lint run --allow-parallel-runners ./...; }

$(BIN)/golangci-lint:
	GOBIN=$(BIN) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
