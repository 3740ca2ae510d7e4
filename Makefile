# nai — build, test, demo. Needs only Go (and gcc for cgo, which go-nvml uses
# to dlopen libnvidia-ml at run time; the build never needs a GPU).
GO        ?= go
BIN       := bin/nai
PKGS      := ./...
# go-nvml's header marks some calls deprecated; the warnings are noise.
export CGO_CFLAGS := -O2 -g -Wno-deprecated-declarations
# urfave/cli's man/markdown generators are not used; leaving them out saves
# a millisecond of start-up on every CLI call.
TAGS      := urfave_cli_no_docs

.PHONY: all build test test-short test-long lint fmt demo bench clean example-pytorch example-ddp

all: build

build:
	$(GO) build -tags $(TAGS) -o $(BIN) ./cmd/nai

# The whole suite, end-to-end tests included (they build bin/nai themselves).
test: lint
	$(GO) test -tags $(TAGS) -count=1 -timeout 20m $(PKGS)

# Unit tests only: no agents started.
test-short:
	$(GO) test -tags $(TAGS) -short -count=1 $(PKGS)

# Long soak tests (not part of `make test`).
test-long:
	NAI_LONG=1 $(GO) test -count=1 -timeout 60m -run 'Long|Soak' $(PKGS)

lint:
	$(GO) vet -tags $(TAGS) $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

fmt:
	gofmt -w $$(git ls-files '*.go')

# Runs the quickstart job on a one-machine cluster in a temporary dir.
demo: build
	./scripts/demo.sh

# The three speed figures of issue 2 (see BENCH.md).
bench: build
	NAI_BENCH=1 $(GO) test -count=1 -run '^TestBench' -v -timeout 10m ./e2e

# Issue 7's user story with real PyTorch: push a dataset, train on it,
# register, pull and evaluate the weights (examples/pytorch-digits).
example-pytorch: build
	./examples/pytorch-digits/run.sh

# A two-node PyTorch (gloo) all-reduce, submitted as an sbatch script on a
# one-server, two-client cluster on this machine (examples/ddp).
example-ddp: build
	./examples/ddp/run.sh

clean:
	rm -rf bin
