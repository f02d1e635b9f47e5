# edgeid build. The README's two commands are `make run` and `make test`; both install what is missing.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

GO       ?= go
# The one version: what `edgeid version` prints and what the .debs carry (a Debian version:
# the release, then ~git and the commit, which sorts before the release itself).
RELEASE  := 0.1.0
VERSION  ?= $(RELEASE)~git$(shell git rev-parse --short HEAD 2>/dev/null || echo 0)
LDFLAGS  := -X main.version=$(VERSION)
BIN      := bin
FUZZTIME ?= 10s

# Debian packages: to build and test; the benchmark peer needs python3-opencv as well. The
# cross builds need Debian's cross compilers (their libc and libstdc++ headers come with them),
# the archive keyring for the sysroot's downloads and qemu-user to run the results.
DEB_BUILD := pkg-config libopencv-dev libpcsclite-dev libjpeg62-turbo-dev libpng-dev
DEB_CROSS := pkg-config gcc-aarch64-linux-gnu g++-aarch64-linux-gnu gcc-arm-linux-gnueabihf g++-arm-linux-gnueabihf \
             debian-archive-keyring qemu-user-static
DEB_TEST  := $(DEB_BUILD) $(DEB_CROSS) debootstrap iproute2 openssl python3 chromium fonts-noto-cjk mosquitto mosquitto-clients systemd \
             postgresql-15 fonts-ocr-b
# The MRZ reader's tests and its training render OCR-B (fonts-ocr-b); Tesseract is its benchmark peer only.
# The kiosk page's spoken prompts are generated offline (`make prompts`) and committed.
DEB_PROMPTS := espeak-ng opus-tools
DEB_BENCH := $(DEB_BUILD) python3-opencv python3-numpy python3-faiss postgresql-15 fonts-ocr-b tesseract-ocr tesseract-ocr-eng

.PHONY: deps deps-cross deps-test deps-bench build run test lint unit unit-arm64 unit-armhf systemd-check fuzz bench \
        build-kiosk mrz-model calibrate prompts screenshots cross cross-arm64 cross-armhf smoke-cross smoke-arm64 smoke-armhf deb deb-native deb-arm64 deb-armhf chroot-test fleet-check run-fleet clean

deps:
	@deploy/build/deps.sh $(DEB_BUILD)

deps-cross:
	@deploy/build/deps.sh $(DEB_CROSS)

deps-test:
	@deploy/build/deps.sh $(DEB_TEST)

deps-bench:
	@deploy/build/deps.sh $(DEB_BENCH)

build: deps
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/ ./daemon/cmd/...

# The kiosk build, packaged in the .debs: without the simulation (no demo passports, no passport
# generator, no demo camera or back end; a configuration asking for reader "sim" is refused).
KIOSK_TAGS := nosim
build-kiosk: deps
	$(GO) build -tags $(KIOSK_TAGS) -ldflags '$(LDFLAGS)' -o $(BIN)/kiosk/ ./daemon/cmd/...

# The main job on embedded defaults: the daemon in simulation (four generated passports on an
# emulated PN532, the demo camera showing each one's data page in OCR-B (fonts-ocr-b) and then
# the face, an in-process MQTT broker and fleet back end); the kiosk page is on
# http://127.0.0.1:8080/. Stop it with Ctrl-C.
run: build
	@deploy/build/deps.sh fonts-ocr-b
	$(BIN)/edgeid run

# The fleet back end with a local PostgreSQL warehouse (deploy/fleet/run-fleet.sh): the
# embedded broker, a warehouse collector and simulated kiosks; then try edgeidctl audit query.
run-fleet: build
	@deploy/build/deps.sh postgresql-15
	BIN=$(BIN) deploy/fleet/run-fleet.sh

test: deps-test lint unit unit-arm64 unit-armhf cross smoke-cross systemd-check deb chroot-test fleet-check fuzz

lint:
	@out=$$(gofmt -l $$(git ls-files --cached --others --exclude-standard '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	@# test doubles stay out of the product: no package named *test linked into edgeid
	@out=$$($(GO) list -deps -f '{{if not .Standard}}{{.ImportPath}}{{end}}' ./daemon/cmd/edgeid | grep 'test$$' || true); \
	  if [ -n "$$out" ]; then echo "test packages linked into edgeid:"; echo "$$out"; exit 1; fi
	@# the kiosk build (the .debs') links no simulation: no daemon/demo, no passport generator
	$(GO) build -tags $(KIOSK_TAGS) -o out/lint/edgeid ./daemon/cmd/edgeid
	@if $(GO) tool nm out/lint/edgeid | grep -E 'edgeid/daemon/demo\.|emrtdsim\.GenerateDocument'; then \
	  echo "the kiosk build (-tags $(KIOSK_TAGS)) links the simulation"; exit 1; fi
	@# no function of the commands (their tests included) or the node longer than 80 lines (issue 14)
	$(GO) run ./deploy/build/funclen -tests daemon/cmd
	$(GO) run ./deploy/build/funclen daemon/node

unit:
	$(GO) test -race -count=1 -timeout 20m ./...

# The tests of every package without cgo (the matching code's NEON kernel, ICAO 9303, the store,
# the fleet link, ...) built for arm64 and for armhf (GOARM=7) and run under qemu-user; the cgo
# packages are covered by `make cross` and smoke-cross.
unit-arm64 unit-armhf: unit-%: deps-cross
	deploy/build/cross-test.sh $*

# Cross builds for the kiosks: bin/linux-arm64/ and bin/linux-armhf/ (edgeid, edgeidctl), cgo
# against a Debian bookworm sysroot that deploy/build/sysroot downloads and unpacks (cached in
# /var/cache/edgeid, or $EDGEID_CACHE; a fresh machine builds it in under a minute). In it:
# - CV_MODULES: the OpenCV modules the cgo code links. gocv's C++ refers to every one of them,
#   so the binary needs them all at run time too; the generated opencv4.pc names just these.
# - SYSROOT_DEV: their headers (opencv2/opencv.hpp, which gocv includes, also wants flann, ml and
#   stitching) and PC/SC's; libc and libstdc++ headers come with the cross compilers.
# - SYSROOT_RUN: the libraries the binary loads, with the closure of what they load in turn,
#   for the linker's checks and for running under qemu (`make smoke-cross`).
CV_MODULES   := core imgproc imgcodecs dnn objdetect videoio highgui calib3d features2d photo video
SYSROOT_DEV  := libpcsclite-dev libjpeg62-turbo-dev libpng-dev zlib1g-dev $(patsubst %,libopencv-%-dev,$(CV_MODULES) flann ml stitching)
SYSROOT_RUN  := libc6 libgcc-s1 libstdc++6 libpcsclite1 libjpeg62-turbo libpng16-16 $(patsubst %,libopencv-%406,$(CV_MODULES))
SYSROOT      := $(GO) run ./deploy/build/sysroot -dev '$(SYSROOT_DEV)' -run '$(SYSROOT_RUN)' -opencv '$(CV_MODULES)'
CROSS_ARCHES := arm64 armhf

cross: $(CROSS_ARCHES:%=cross-%)

cross-arm64 cross-armhf: cross-%: deps-cross
	@vars=$$($(SYSROOT) -arch $* -env) && eval "$$vars" && \
	  echo "cross: $* (GOARCH=$$GOARCH GOARM=$$GOARM $$CC) against $$EDGEID_SYSROOT" && \
	  $(GO) build -tags $(KIOSK_TAGS) -ldflags '$(LDFLAGS)' -o $(BIN)/linux-$*/ ./daemon/cmd/...

# The cross-built binaries under qemu-user with the sysroot's loader and libraries: version,
# and face compare on image pairs (testdata, and ../shared/datasets when present) must give
# the decisions and distances of this machine's build.
smoke-cross: $(CROSS_ARCHES:%=smoke-%)

smoke-arm64 smoke-armhf: smoke-%: build cross-%
	@vars=$$($(SYSROOT) -arch $* -env) && eval "$$vars" && \
	  deploy/build/smoke-cross.sh $* $(BIN)/linux-$* $(BIN) "$$EDGEID_SYSROOT" "$$EDGEID_QEMU"

# The daemon's systemd unit: verify is clean, security exposure at most 2.0.
systemd-check: build
	deploy/build/systemd-check.sh $(BIN)/edgeid

fuzz:
	FUZZTIME=$(FUZZTIME) deploy/build/fuzz.sh

bench: deps-bench build
	deploy/build/bench.sh

# Retrain the MRZ reader's glyph prototypes (models/mrz_ocrb_protos.bin) from OCR-B rendered on
# synthetic document photos, and record its size and SHA-256 in the manifest. Same seed, same file.
mrz-model: deps-test
	$(GO) run ./deploy/build/train-mrz -o models/mrz_ocrb_protos.bin
	/usr/bin/python3 deploy/build/set-model-hash.py models/MANIFEST.json mrz-ocrb-protos models/mrz_ocrb_protos.bin

# Re-measure the recognizers and the fused decision on the dev face sets: each model's impostor
# statistics (the fusion's z-normalisation) and operating points from all pairs of the union, the
# shipped accept/reject thresholds over the all, chip and lighting protocols and every set and group
# (deploy/build/set-thresholds.py), then, with the new manifest built in, the README table.
FACES_DEV := ../shared/datasets/faces-dev
FACES_DEV2 := ../shared/datasets/faces-dev2
CAL_SETS := $(FACES_DEV)/att $(FACES_DEV)/johns $(FACES_DEV2)
# faces-dev2's East Asian identities, read from its SOURCES.md (self-reported), reported apart.
EAST_ASIAN = --group "east_asian=$$(awk -F'|' '$$5 ~ /east_asian/ {gsub(/ /,"",$$2); printf "faces-dev2/%s,", $$2}' $(FACES_DEV2)/SOURCES.md)"
# Photographs of people in real surroundings, for the PAD image cues' false alarms.
PAD_SCENES := --scene testdata/face/astronaut.png --scene testdata/face/camera.png --scene ../shared/datasets/smoke/messi5.jpg
calibrate: build
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	  $(BIN)/edgeid face eval --json --fusion-stats measured --roc models/roc-faces-dev.json $(EAST_ASIAN) $(CAL_SETS) > $$tmp/all.json; \
	  for p in chip lighting; do \
	    $(BIN)/edgeid face eval --json --protocol $$p --fusion-stats $$tmp/all.json $(EAST_ASIAN) $(CAL_SETS) > $$tmp/$$p.json; \
	  done; \
	  /usr/bin/python3 deploy/build/set-thresholds.py models/MANIFEST.json $$tmp/all.json $$tmp/chip.json $$tmp/lighting.json; \
	  $(MAKE) --no-print-directory build; \
	  for p in all chip lighting; do \
	    $(BIN)/edgeid face eval --json --protocol $$p $(EAST_ASIAN) $(CAL_SETS) > $$tmp/final-$$p.json; \
	  done; \
	  $(BIN)/edgeid face eval --json --gates=false $(EAST_ASIAN) $(FACES_DEV2) > $$tmp/final-nogates.json; \
	  /usr/bin/python3 deploy/build/eval-table.py README.md $$tmp/final-all.json $$tmp/final-chip.json $$tmp/final-lighting.json $$tmp/final-nogates.json; \
	  $(BIN)/edgeid face pad-eval $(PAD_SCENES) $(FACES_DEV)/att $(FACES_DEV)/johns > $$tmp/pad.txt; \
	  /usr/bin/python3 deploy/build/readme-block.py README.md pad $$tmp/pad.txt

# The Debian packages (nfpm as a Go library): this machine's architecture from `make build`,
# arm64 and armhf from `make cross`, in out/. mkdeb checks that the Depends cover every library
# the binaries name in DT_NEEDED (owners from dpkg here, from the sysroot for ARM).
DEB_VERSION := $(VERSION)
DEB_ARCH    ?= $(shell dpkg --print-architecture)
MKDEB        = $(GO) run ./deploy/build/mkdeb -version $(DEB_VERSION)
deb: deb-native $(patsubst %,deb-%,$(filter-out $(DEB_ARCH),$(CROSS_ARCHES)))

deb-native: build-kiosk
	mkdir -p out
	$(MKDEB) -arch $(DEB_ARCH) -bindir $(BIN)/kiosk -o out/edgeid_$(DEB_VERSION)_$(DEB_ARCH).deb

deb-arm64 deb-armhf: deb-%: cross-%
	mkdir -p out
	sysroot=$$($(SYSROOT) -arch $*) && \
	  $(MKDEB) -arch $* -bindir $(BIN)/linux-$* -sysroot "$$sysroot" -o out/edgeid_$(DEB_VERSION)_$*.deb

# Installs this machine's package in a Debian bookworm chroot (debootstrap, cached in
# /var/cache/edgeid), runs the daemon the way its unit does, then removes and purges it.
# Root only: elsewhere it says so and skips.
chroot-test: deb-native
	deploy/build/chroot-test.sh out/edgeid_$(DEB_VERSION)_$(DEB_ARCH).deb

# deploy/fleet on Debian's mosquitto, installed as its README says: TLS, client ids, ACLs, a
# bridged site broker (retained snapshots, audit up, acks after an outage), shared subscriptions.
fleet-check:
	deploy/build/fleet-check.sh

# The kiosk page's spoken prompts, EN and zh, from daemon/web/static/prompts/prompts.tsv:
# espeak-ng, then Ogg Opus (opus-tools), a few KB each, committed and embedded with the page.
prompts:
	@deploy/build/deps.sh $(DEB_PROMPTS)
	deploy/build/prompts.sh daemon/web/static/prompts

# Screenshots of the kiosk page for the README, rendered by the headless-Chromium test.
screenshots: deps-test
	EDGEID_SCREENSHOTS=$(CURDIR)/deploy/screenshots $(GO) test -count=1 -run KioskPageInBrowser ./daemon/web

clean:
	rm -rf $(BIN) out bench.json
