#!/usr/bin/env bash
# The fleet simulation part of `make bench` (runs alone too): `edgeidctl sim` with
# FLEET_SIM_KIOSKS (10,000) kiosks, every one a real paho client, on mosquitto with the shipped
# TLS configuration and on the three-node NATS cluster (delta QoS 0, MQTT consumers in memory:
# where the cluster carries that many, deploy/fleet/README.md). Revocation fan-out p50/p99,
# audit ingest, connect time; written into the README's fleet-sim block.
set -euo pipefail
kiosks=${FLEET_SIM_KIOSKS:-10000}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
pick() { grep -oE '(sim: |revocation fan-out|fan-out phase|audit ingest).*' || true; }
{
  echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) before"
  echo "mosquitto $({ mosquitto -h 2>/dev/null || true; } | head -1 | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' || true), TLS, $kiosks kiosks, delta QoS 1, -verify once, collector acks every 2 s:"
  EDGEIDCTL_SIM_KIOSKS=$kiosks EDGEIDCTL_SIM_ARGS="-verify once -timeout 120s -ack-interval 2s" \
    go test -count=1 -timeout 30m -run '^TestSim$' -v ./daemon/cmd/edgeidctl 2>&1 | pick
  echo "NATS, 3 nodes, MQTT streams replicated 3 times, $kiosks kiosks, delta QoS 0, consumers in memory, -verify once:"
  EDGEIDCTL_CLUSTER_SIM_KIOSKS=$kiosks EDGEIDCTL_CLUSTER_MEM=1 EDGEIDCTL_SIM_ARGS="-verify once -delta-qos 0 -ack-interval 2s" \
    go test -count=1 -timeout 40m -run '^TestClusterSim$' -v ./daemon/cmd/edgeidctl 2>&1 | pick
} | tee "$out" >&2
grep -q 'revocation fan-out' "$out" || { echo "bench-fleet: no fan-out measured" >&2; exit 1; }
/usr/bin/python3 deploy/build/readme-block.py README.md fleet-sim "$out"
