# edgeid build. The README's two commands are `make run` and `make test`; both install what is missing.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
BIN      := bin
FUZZTIME ?= 10s

# Debian packages: to build and test; the benchmark peer needs python3-opencv as well.
DEB_BUILD := pkg-config libopencv-dev
DEB_TEST  := $(DEB_BUILD) mosquitto mosquitto-clients
DEB_BENCH := $(DEB_BUILD) python3-opencv python3-numpy

.PHONY: deps deps-test deps-bench build run test lint unit fuzz bench clean

deps:
	@deploy/build/deps.sh $(DEB_BUILD)

deps-test:
	@deploy/build/deps.sh $(DEB_TEST)

deps-bench:
	@deploy/build/deps.sh $(DEB_BENCH)

build: deps
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/ ./daemon/cmd/...

# The main job on embedded defaults. Until the kiosk flow lands this is the 1:1 face check:
# the astronaut against a re-encoded, shifted copy of herself (a match) and against the
# cameraman (no match; exit status 1 is the expected outcome there).
run: build
	$(BIN)/edgeid face compare testdata/face/astronaut.png testdata/face/astronaut-shifted.jpg
	$(BIN)/edgeid face compare testdata/face/astronaut.png testdata/face/camera.png; \
	  rc=$$?; [ $$rc -eq 1 ] || { echo "expected no match (exit 1), got exit $$rc"; exit 1; }

test: deps-test lint unit fuzz

lint:
	@out=$$(gofmt -l $$(git ls-files --cached --others --exclude-standard '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

unit:
	$(GO) test -race -count=1 -timeout 20m ./...

fuzz:
	FUZZTIME=$(FUZZTIME) deploy/build/fuzz.sh

bench: deps-bench build
	deploy/build/bench.sh

clean:
	rm -rf $(BIN) bench.json
