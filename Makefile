# nai — build, test, demo. Needs only Go (and gcc for cgo, which go-nvml uses
# to dlopen libnvidia-ml at run time; the build never needs a GPU).
GO        ?= go
BIN       := bin/nai
AGENT_BIN := bin/nai-agent
EXECUTOR_BIN := bin/nai-executor
PKGS      := ./...
# go-nvml's header marks some calls deprecated; the warnings are noise.
export CGO_CFLAGS := -O2 -g -Wno-deprecated-declarations
# urfave/cli's man/markdown generators are not used; leaving them out saves
# a millisecond of start-up on every CLI call.
TAGS      := urfave_cli_no_docs
# The version from git (scripts/version.sh), stamped into the binary
# (`nai version`) and into the names of the release files.
VERSION   := $(shell ./scripts/version.sh)
COMMIT    := $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS   := -X github.com/nai-project/nai/internal/version.version=$(VERSION) \
             -X github.com/nai-project/nai/internal/version.commit=$(COMMIT)
DIST      := dist
# Tools the build installs for itself, pinned: nfpm makes the .deb,
# staticcheck (honnef.co/go/tools) lints.
TOOLS     := $(CURDIR)/bin/tools
NFPM      := $(TOOLS)/nfpm
NFPM_VERSION := v2.45.2
STATICCHECK := $(TOOLS)/staticcheck
STATICCHECK_VERSION := v0.8.2

.PHONY: all build test test-e2e-race test-short test-long lint fmt demo bench clean example-pytorch example-ddp \
	completion dist tools screenshots chromium

all: build

# Two binaries from one package (cmd/nai/agent_bin.go): bin/nai, the CLI,
# static and without the agent (the nai_cli tag), starts in half the time;
# bin/nai-agent is all of nai, and `nai agent` becomes it. A third,
# bin/nai-executor (cmd/nai-executor), links only the per-job executor and
# exec shim, static: each job starts it once or twice (executor, and on
# cgroup v2 the exec shim), each time in half the CPU time of nai.
build:
	CGO_ENABLED=0 $(GO) build -tags "$(TAGS) nai_cli" -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/nai
	$(GO) build -tags $(TAGS) -ldflags "$(LDFLAGS)" -o $(AGENT_BIN) ./cmd/nai
	CGO_ENABLED=0 $(GO) build -tags $(TAGS) -ldflags "$(LDFLAGS)" -o $(EXECUTOR_BIN) ./cmd/nai-executor

# The whole suite under the race detector: the unit packages, then the
# end-to-end tests (they build the nai binary themselves; the race detector
# watches the test process there, not the agents), alone, so that the race
# build of the rest does not starve their jobs' small CPU quotas. The
# release test (contrib/) needs nfpm: `tools` installs it. Measured on the
# shared 2-core dev VM (load average 8 from other work): 2.5 minutes with a
# warm build cache, 10.5 with a cold one (5 of CPU).
UNIT_PKGS = $(shell $(GO) list -tags $(TAGS) $(PKGS) | grep -v '/e2e$$')
test: lint tools
	PATH="$(TOOLS):$$PATH" $(GO) test -tags $(TAGS) -race -count=1 -timeout 20m $(UNIT_PKGS)
	$(GO) test -tags $(TAGS) -race -count=1 -timeout 20m ./e2e

# The end-to-end tests with the agents themselves built with -race: every
# data race an agent hits in a real run fails its test. About 5.5 minutes
# on 2 cores against 1.2 without (the executor shim is a race binary too,
# slow under a job's small CPU quota), so not part of `make test`.
test-e2e-race:
	NAI_E2E_RACE=1 $(GO) test -tags $(TAGS) -race -count=1 -timeout 30m ./e2e

# Unit tests only: no agents started.
test-short:
	$(GO) test -tags $(TAGS) -short -count=1 $(PKGS)

# Long soak tests (not part of `make test`), among them the cluster of
# three servers and two clients in network namespaces, provisioned by
# contrib/install/provision.sh (e2e/provision_long_test.go; root).
test-long:
	NAI_LONG=1 $(GO) test -tags $(TAGS) -count=1 -timeout 60m -run 'Long|Soak' $(PKGS)

lint: $(STATICCHECK)
	$(GO) vet -tags $(TAGS) $(PKGS)
	CGO_ENABLED=0 $(GO) vet -tags "$(TAGS) nai_cli" ./cmd/nai ./internal/version
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(STATICCHECK) -tags $(TAGS) $(PKGS)
	CGO_ENABLED=0 $(STATICCHECK) -tags "$(TAGS) nai_cli" ./cmd/nai

fmt:
	gofmt -w $$(git ls-files '*.go')

# Runs the quickstart job on a one-machine cluster in a temporary dir.
demo: build
	./scripts/demo.sh

# Every speed figure (issues 2 and 16), written into BENCH.md. With
# NAI_BENCH_SLURM=1 (root) it also sets up Debian's Slurm on this machine
# (bench/slurm/setup.sh: slurm-wlm and munge from apt, every file under a
# temp dir, torn down after) and measures it in the same run, for the
# ratios. One figure: make bench BENCH_RUN=TestBench/Sweep1000 (nothing is
# written then).
BENCH_RUN ?= ^TestBench$$
bench: build
	NAI_BENCH=1 NAI_BENCH_WRITE=$(if $(filter ^TestBench$$,$(BENCH_RUN)),$(CURDIR)/BENCH.md,) \
		$(GO) test -tags $(TAGS) -count=1 -run '$(BENCH_RUN)' -v -timeout 60m ./e2e
	$(GO) test -tags $(TAGS) -count=1 -p 1 -run '^$$' -bench 'GatewayOverhead|ServiceCall' -benchtime 20000x ./gateway/ ./server/

# Issue 7's user story with real PyTorch: push a dataset, train on it,
# register, pull and evaluate the weights (examples/pytorch-digits).
example-pytorch: build
	./examples/pytorch-digits/run.sh

# A two-node PyTorch (gloo) all-reduce, submitted as an sbatch script on a
# one-server, two-client cluster on this machine (examples/ddp).
example-ddp: build
	./examples/ddp/run.sh

# The web UI's screenshots in docs/screenshots (shown by the README), taken
# by the browser tests (e2e/ui_test.go) in headless Chromium. The tests
# install Debian's chromium when it is missing and they run as root
# (`make chromium` does it beforehand); without it they skip, saying why.
screenshots:
	NAI_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -tags $(TAGS) -count=1 -run '^TestUI' -v ./e2e

chromium:
	@command -v chromium >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-dejavu-core

# Shell completion scripts, generated from the command tree; a test fails
# when they are stale.
completion:
	$(GO) run -tags $(TAGS) ./cmd/nai completion bash > contrib/completion/nai.bash
	$(GO) run -tags $(TAGS) ./cmd/nai completion zsh > contrib/completion/_nai
	$(GO) run -tags $(TAGS) ./cmd/nai completion fish > contrib/completion/nai.fish

# nai_VERSION_linux_amd64.tar.gz and nai_DEBVERSION_amd64.deb in dist/:
# the three binaries, systemd units, sample configs, completion, install scripts
# and docs (scripts/dist.sh; contents checked by contrib/dist_test.go).
dist: build tools
	NFPM=$(NFPM) ./scripts/dist.sh $(BIN) $(DIST)

tools: $(NFPM) $(STATICCHECK)

$(NFPM):
	GOBIN=$(TOOLS) $(GO) install github.com/goreleaser/nfpm/v2/cmd/nfpm@$(NFPM_VERSION)

$(STATICCHECK):
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

clean:
	rm -rf bin $(DIST)
