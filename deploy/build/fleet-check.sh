#!/usr/bin/env bash
# Runs Debian's mosquitto with deploy/fleet installed the way its files say (Debian's own
# mosquitto.conf, our mosquitto.conf in its conf.d, our acl; paths moved to a temporary folder,
# listeners on free loopback ports, test certificates): a fleet broker and a site broker bridged
# to it (site-bridge.conf), checked with mosquitto_pub/sub: a retained snapshot published before
# and one published while the bridge is up both reach a kiosk that subscribes at the site later,
# with the retain flag; audit records go up to the collector; an ack published while the site
# broker is down reaches the kiosk's persistent session once it is back.
# The fleet broker's own rules (TLS and client certificates, client id = certificate name, the
# ACL, $share dealing) are checked by the Go tests on the same shipped files
# (daemon/fleet/fleettest installs them; TestShippedBrokerRules, TestRevocationsOverBroker,
# TestSameKioskIDRefused, TestCollectorsSplitFleet).
set -euo pipefail
for t in mosquitto mosquitto_pub mosquitto_sub openssl; do
  command -v "$t" >/dev/null || { echo "fleet-check: $t is missing (make deps-test installs mosquitto and mosquitto-clients)" >&2; exit 1; }
done
[ -f /etc/mosquitto/mosquitto.conf ] || { echo "fleet-check: /etc/mosquitto/mosquitto.conf is missing (Debian's mosquitto package)" >&2; exit 1; }
fleet=edgeid/v1/fleet1
tmp=$(mktemp -d)
declare -A pid=()
cleanup() {
  for b in "${!pid[@]}"; do kill "${pid[$b]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "fleet-check: FAIL: $*" >&2
  for b in fleet site; do [ -f "$tmp/$b.log" ] && { echo "--- $b broker log" >&2; tail -n 20 "$tmp/$b.log" >&2; }; done
  exit 1
}
ok() { echo "fleet-check: ok: $*"; }

freeport() {
  local p
  while :; do
    p=$((20000 + RANDOM % 20000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

# Certificates: one CA; the brokers (127.0.0.1); the clients, named as the acl names them.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=fleet-check-ca \
  -keyout "$tmp/ca.key" -out "$tmp/ca.crt" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$tmp/server.ext"
issue() { # NAME [server]
  local ext=()
  [ "${2:-}" = server ] && ext=(-extfile "$tmp/server.ext")
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" -keyout "$tmp/$1.key" -out "$tmp/$1.csr" 2>/dev/null
  openssl x509 -req -in "$tmp/$1.csr" -CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" -CAcreateserial -days 2 "${ext[@]}" -out "$tmp/$1.crt" 2>/dev/null
}
for n in broker kiosk-1 kiosk-2 publisher collector bridge-lobby; do issue "$n" "$([ "$n" = broker ] && echo server)"; done

# install NAME PORT [BRIDGE_TO_PORT]: Debian's mosquitto.conf, conf.d/edgeid.conf, the acl,
# and for a site broker conf.d/site-bridge.conf, with every path and address moved.
install() {
  local d=$tmp/$1 c
  mkdir -p "$d/conf.d" "$d/data" "$d/certs"
  cp "$tmp/ca.crt" "$d/certs/ca.crt"
  cp "$tmp/broker.crt" "$d/certs/broker.crt"
  cp "$tmp/broker.key" "$d/certs/broker.key"
  cp "$tmp/bridge-lobby.crt" "$d/certs/bridge.crt"
  cp "$tmp/bridge-lobby.key" "$d/certs/bridge.key"
  sed -e "s#/var/lib/mosquitto/#$d/data/#" -e "s#^log_dest .*#log_dest file $tmp/$1.log#" \
    -e "s#^include_dir .*#include_dir $d/conf.d#" -e "s#^pid_file .*##" /etc/mosquitto/mosquitto.conf >"$d/mosquitto.conf"
  for c in mosquitto.conf:edgeid.conf ${3:+site-bridge.conf:site-bridge.conf}; do
    sed -e "s#/etc/mosquitto/certs/#$d/certs/#g" -e "s#/etc/mosquitto/edgeid.acl#$d/acl#" \
      -e "s#^listener 8883\$#listener $2 127.0.0.1#" -e "s#^address fleet.example.net:8883\$#address 127.0.0.1:${3:-0}#" \
      "deploy/fleet/${c%%:*}" >"$d/conf.d/${c##*:}"
  done
  cp deploy/fleet/acl "$d/acl"
  grep -q "^listener $2 127.0.0.1" "$d/conf.d/edgeid.conf" || fail "deploy/fleet/mosquitto.conf has no 'listener 8883' line to move"
  if [ -n "${3:-}" ]; then grep -q "^address 127.0.0.1:$3" "$d/conf.d/site-bridge.conf" || fail "site-bridge.conf has no fleet.example.net:8883 address to move"; fi
  # As root mosquitto drops to its own user, which must read this (test-only) material.
  if [ "$(id -u)" -eq 0 ]; then chown -R mosquitto "$d"; chmod 755 "$tmp"; chmod 644 "$tmp"/*.log 2>/dev/null || true; fi
}
start() { # NAME PORT
  touch "$tmp/$1.log"
  [ "$(id -u)" -eq 0 ] && chown mosquitto "$tmp/$1.log"
  mosquitto -c "$tmp/$1/mosquitto.conf" >>"$tmp/$1.err" 2>&1 &
  pid[$1]=$!
  for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return
    kill -0 "${pid[$1]}" 2>/dev/null || { cat "$tmp/$1.err" >&2; fail "the $1 broker exited at start"; }
    sleep 0.1
  done
  fail "the $1 broker does not listen on $2"
}
stop() { kill "${pid[$1]}"; wait "${pid[$1]}" 2>/dev/null || true; unset "pid[$1]"; }

# pub PORT CLIENT TOPIC MESSAGE [-r] / sub PORT CLIENT TOPIC SECONDS [args]: as that client.
tls() { echo --cafile "$tmp/ca.crt" --cert "$tmp/$1.crt" --key "$tmp/$1.key"; }
pub() { # shellcheck disable=SC2046
  mosquitto_pub -h 127.0.0.1 -p "$1" $(tls "$2") -q 1 -t "$3" -m "$4" "${@:5}"
}
sub() { # prints "retain-flag topic payload" per message; silent when nothing comes
  # shellcheck disable=SC2046
  mosquitto_sub -h 127.0.0.1 -p "$1" $(tls "$2") -q 1 -t "$3" -W "$4" -F '%r %t %p' "${@:5}" 2>/dev/null || true
}

fp=$(freeport)
install fleet "$fp"
start fleet "$fp"

# The snapshot the site must hold although it was retained before the bridge existed.
pub "$fp" publisher "$fleet/revocations/snapshot" snapshot-1 -r

# A site broker bridged to the fleet broker. The snapshot above was retained before the bridge
# existed; the second one is published while it is up.
sp=$(freeport)
install site "$sp" "$fp"
start site "$sp"
for _ in $(seq 50); do grep -q "as bridge-lobby" "$tmp/fleet.log" && break; sleep 0.2; done
grep -q "as bridge-lobby" "$tmp/fleet.log" || fail "the site broker's bridge did not connect as bridge-lobby"
got=""
for _ in $(seq 10); do
  got=$(sub "$sp" kiosk-2 "$fleet/revocations/snapshot" 1 -C 1)
  [ -n "$got" ] && break
done
[ "$got" = "1 $fleet/revocations/snapshot snapshot-1" ] || fail "the site did not hold the snapshot retained before the bridge: '$got'"
pub "$fp" publisher "$fleet/revocations/snapshot" snapshot-2 -r
sleep 1
[ "$(sub "$sp" kiosk-2 "$fleet/revocations/snapshot" 3 -C 1)" = "1 $fleet/revocations/snapshot snapshot-2" ] ||
  fail "the site did not hold, retained, the snapshot published while bridged"
ok "bridge: retained snapshots (published before and while bridged) reach kiosks that subscribe at the site later, retained"

sub "$fp" collector "$fleet/audit/+" 5 -C 1 >"$tmp/collected" &
sleep 1
pub "$sp" kiosk-1 "$fleet/audit/kiosk-1" record-via-site
pub "$sp" kiosk-1 "$fleet/audit/kiosk-2" forged-via-site
wait $!
[ "$(cat "$tmp/collected")" = "0 $fleet/audit/kiosk-1 record-via-site" ] || fail "the collector got '$(cat "$tmp/collected")' through the bridge"
ok "bridge: kiosk-1's record goes up to the collector; its record on kiosk-2's topic stops at the site"

# Offline: the kiosk has a persistent session at the site; the site broker goes down; the
# collector acks; the site broker comes back, its bridge session gets the ack, the kiosk too.
sub "$sp" kiosk-1 "$fleet/audit-ack/kiosk-1" 1 -c -i kiosk-1 >/dev/null
stop site
pub "$fp" collector "$fleet/audit-ack/kiosk-1" ack-while-away
start site "$sp"
got=$(sub "$sp" kiosk-1 "$fleet/audit-ack/kiosk-1" 10 -C 1 -c -i kiosk-1)
[ "$got" = "0 $fleet/audit-ack/kiosk-1 ack-while-away" ] || fail "the ack sent while the site broker was down did not arrive: '$got'"
ok "bridge: an ack published while the site broker was down reached the kiosk's session when it came back"
