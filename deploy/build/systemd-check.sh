#!/usr/bin/env bash
# Checks the daemon's unit: systemd-analyze verify must be silent and the security exposure at
# most 2.0. The unit points at /usr/bin/edgeid; the check uses a copy that points at the build.
set -euo pipefail
bin=${1:?usage: systemd-check.sh PATH_TO_EDGEID}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s#/usr/bin/edgeid#$(realpath "$bin")#" systemd/edgeid.service > "$tmp/edgeid.service"
out=$(systemd-analyze verify "$tmp/edgeid.service" 2>&1 || true)
if [ -n "$out" ]; then
  echo "systemd-analyze verify edgeid.service:"; echo "$out"; exit 1
fi
systemd-analyze security --offline=yes --threshold=20 "$tmp/edgeid.service" | tail -n 1
