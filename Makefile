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
DEB_BUILD := pkg-config libopencv-dev libpcsclite-dev
DEB_TEST  := $(DEB_BUILD) qemu-user-static chromium fonts-noto-cjk mosquitto mosquitto-clients systemd
DEB_BENCH := $(DEB_BUILD) python3-opencv python3-numpy python3-faiss

.PHONY: deps deps-test deps-bench build run test lint unit unit-arm64 systemd-check fuzz bench calibrate screenshots deb clean

deps:
	@deploy/build/deps.sh $(DEB_BUILD)

deps-test:
	@deploy/build/deps.sh $(DEB_TEST)

deps-bench:
	@deploy/build/deps.sh $(DEB_BENCH)

build: deps
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/ ./daemon/cmd/...

# The main job on embedded defaults: the daemon in simulation (four generated passports on an
# emulated PN532, the image-folder camera, an in-process MQTT broker and fleet back end); the
# kiosk page is on http://127.0.0.1:8080/. Stop it with Ctrl-C.
run: build
	$(BIN)/edgeid run

test: deps-test lint unit unit-arm64 systemd-check fuzz

lint:
	@out=$$(gofmt -l $$(git ls-files --cached --others --exclude-standard '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

unit:
	$(GO) test -race -count=1 -timeout 20m ./...

# The pure-Go matching code, NEON kernel included, built for arm64 and run under qemu.
unit-arm64:
	GOARCH=arm64 CGO_ENABLED=0 $(GO) test -c -o $(BIN)/match-arm64.test ./daemon/match
	cd daemon/match && qemu-aarch64-static ../../$(BIN)/match-arm64.test -test.run 'Kernel|Search|Int8|Gallery|Index|Template|ROC'

# The daemon's systemd unit: verify is clean, security exposure at most 2.0.
systemd-check: build
	deploy/build/systemd-check.sh $(BIN)/edgeid

fuzz:
	FUZZTIME=$(FUZZTIME) deploy/build/fuzz.sh

bench: deps-bench build
	deploy/build/bench.sh

# Re-measure the recognizer's thresholds on the dev face sets and record them with the ROC.
FACES_DEV := ../shared/datasets/faces-dev
# Photographs of people in real surroundings, for the PAD image cues' false alarms.
PAD_SCENES := --scene testdata/face/astronaut.png --scene testdata/face/camera.png --scene ../shared/datasets/smoke/messi5.jpg
calibrate: build
	$(BIN)/edgeid face eval --roc models/roc-faces-dev.json $(FACES_DEV)/att $(FACES_DEV)/johns
	/usr/bin/python3 deploy/build/set-thresholds.py models/roc-faces-dev.json models/MANIFEST.json dlib-resnet-v1
	@tmp=$$(mktemp -d); \
	  $(BIN)/edgeid face eval --json --roc $$tmp/att.json $(FACES_DEV)/att >/dev/null; \
	  $(BIN)/edgeid face eval --json --gates=false --roc $$tmp/att-nogates.json $(FACES_DEV)/att >/dev/null; \
	  $(BIN)/edgeid face eval --json --gates=false --roc $$tmp/all-nogates.json $(FACES_DEV)/att $(FACES_DEV)/johns >/dev/null; \
	  /usr/bin/python3 deploy/build/eval-table.py README.md $$tmp/att.json $$tmp/att-nogates.json models/roc-faces-dev.json $$tmp/all-nogates.json; \
	  $(BIN)/edgeid face pad-eval $(PAD_SCENES) $(FACES_DEV)/att $(FACES_DEV)/johns > $$tmp/pad.txt; \
	  /usr/bin/python3 deploy/build/readme-block.py README.md pad $$tmp/pad.txt; \
	  rm -rf $$tmp

# The Debian package for this machine's architecture (nfpm as a Go library). arm64 and armhf
# packages need the ARM builds (`make cross`, not there yet).
DEB_VERSION ?= 0.1.0~git$(shell git rev-parse --short HEAD 2>/dev/null || echo 0)
DEB_ARCH    ?= $(shell dpkg --print-architecture)
deb: build
	mkdir -p out
	$(GO) run ./deploy/build/mkdeb -arch $(DEB_ARCH) -version $(DEB_VERSION) -bindir $(BIN) -o out/edgeid_$(DEB_VERSION)_$(DEB_ARCH).deb

# Screenshots of the kiosk page for the README, rendered by the headless-Chromium test.
screenshots: deps-test
	EDGEID_SCREENSHOTS=$(CURDIR)/deploy/screenshots $(GO) test -count=1 -run KioskPageInBrowser ./daemon/web

clean:
	rm -rf $(BIN) out bench.json
