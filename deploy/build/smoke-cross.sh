#!/usr/bin/env bash
# Smoke test of the cross-built binaries under qemu-user, the ARM loader and the OpenCV
# libraries coming from the sysroot (qemu -L). `edgeid version` must print what this machine's
# build prints, edgeidctl must run, and `edgeid face compare` must reach this machine's decision
# on each image pair with the same distance to 1e-3 (same models, same OpenCV 4.6).
# Pairs from ../shared/datasets are skipped, with a message, when that folder is absent.
set -euo pipefail
if [ $# -ne 5 ]; then
  echo "usage: smoke-cross.sh ARCH CROSS_BINDIR NATIVE_BINDIR SYSROOT QEMU" >&2
  exit 2
fi
arch=$1 xbin=$2 nbin=$3 sysroot=$4 qemu=$5
for f in "$xbin/edgeid" "$xbin/edgeidctl" "$nbin/edgeid" "$sysroot/.edgeid/packages"; do
  [ -e "$f" ] || { echo "smoke-cross: $arch: $f is missing (make build cross)" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "smoke-cross: $arch: FAIL: $*" >&2; exit 1; }
# edgeid re-executes itself once to hand OpenCV its pixel limit (read only when the library
# loads); qemu-user cannot start an ARM child without binfmt_misc, so the limit is given here.
xrun() { OPENCV_IO_MAX_IMAGE_PIXELS=25000000 "$qemu" -L "$sysroot" "$@"; }

want=$("$nbin/edgeid" version)
got=$(xrun "$xbin/edgeid" version) || fail "edgeid version exited with $?"
[ "$got" = "$want" ] || fail "edgeid version printed '$got', this machine's build '$want'"
echo "smoke-cross: $arch: $got"
xrun "$xbin/edgeidctl" keygen "$tmp/fleet" >/dev/null || fail "edgeidctl keygen exited with $?"
[ -s "$tmp/fleet.key" ] && [ -s "$tmp/fleet.pub" ] || fail "edgeidctl keygen wrote no key pair"
echo "smoke-cross: $arch: edgeidctl keygen ok"

# compare A B [flags]: the cross build's exit status and distance against this machine's.
compare() {
  local a=$1 b=$2 flags=${3:-} nout xout nrc xrc nd xd start secs
  nout=$("$nbin/edgeid" face compare --json $flags "$a" "$b" 2>"$tmp/native.err") && nrc=0 || nrc=$?
  start=$(date +%s.%N)
  xout=$(xrun "$xbin/edgeid" face compare --json $flags "$a" "$b" 2>"$tmp/cross.err") && xrc=0 || xrc=$?
  secs=$(echo "$start $(date +%s.%N)" | awk '{printf "%.1f", $2 - $1}')
  if [ "$xrc" != "$nrc" ]; then
    cat "$tmp/cross.err" >&2
    fail "face compare $a $b: exit status $xrc under qemu, $nrc here"
  fi
  if [ "$nrc" -gt 1 ]; then
    fail "face compare $a $b: exit status $nrc here too: $(cat "$tmp/native.err")"
  fi
  nd=$(grep -o '"distance": [-0-9.e+]*' <<<"$nout" | head -n1 | awk '{print $2}')
  xd=$(grep -o '"distance": [-0-9.e+]*' <<<"$xout" | head -n1 | awk '{print $2}')
  [ -n "$xd" ] && [ -n "$nd" ] || fail "face compare $a $b: no distance in the JSON output"
  awk -v x="$xd" -v n="$nd" 'BEGIN { d = x - n; if (d < 0) d = -d; exit !(d <= 1e-3) }' ||
    fail "face compare $a $b: distance $xd under qemu, $nd here"
  printf 'smoke-cross: %s: face compare %s: %s, distance %.4f (here %.4f), %s s under qemu\n' \
    "$arch" "${flags:+$flags }$a $b" "$([ "$xrc" = 0 ] && echo match || echo no match)" "$xd" "$nd" "$secs"
}

# PNG against JPEG, the same face: a match.
compare testdata/face/astronaut.png testdata/face/astronaut-shifted.jpg
# JPEG 2000 (the chip-photo codec), two people: no match (the cameraman's face is turned too
# far for the quality gates, so they are off for this pair).
compare testdata/face/astronaut-320.jp2 testdata/face/camera-320.jp2 --gates=false

data=../shared/datasets/faces-dev
if [ -d "$data" ]; then
  # Greyscale PGM, one person; two people, colour JPEG.
  compare "$data/att/s1/1.pgm" "$data/att/s1/2.pgm"
  compare "$data/johns/John_Salley/000179_02159509.jpg" "$data/johns/John_Simm/000288_00470387.jpg"
else
  echo "smoke-cross: $arch: skip: $data is absent (the shared data sets sit beside the checkout in CI); testdata pairs only"
fi
