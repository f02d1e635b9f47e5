#!/bin/sh
# make run-fleet: a demo fleet back end with a local PostgreSQL warehouse. Starts
# PostgreSQL (initdb in $DIR/pg, a fresh one each run; as root it runs as nobody, since postgres
# refuses root), the embedded MQTT broker (edgeidctl broker), a warehouse collector
# (edgeidctl audit collect -db), then simulated kiosks (edgeidctl sim) that publish audit
# records. It prints the warehouse's URL and queries, and keeps the back end up until Ctrl-C.
set -eu
BIN=${BIN:-bin}
DIR=${DIR:-/tmp/edgeid-fleet}
PGPORT=${PGPORT:-55432}
MQTT=${MQTT:-127.0.0.1:18830}
KIOSKS=${KIOSKS:-20}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$PGBIN" ]; then
	echo "run-fleet: PostgreSQL is not installed (apt-get install postgresql-15, or make deps-test)" >&2
	exit 1
fi
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi; }
# A fresh warehouse each run: the simulated kiosks start new chains every time, which a
# kept database would rightly report as restarted chains.
rm -rf "$DIR"
mkdir -p "$DIR/pg" "$DIR/sock"
chmod 755 "$DIR"
[ "$(id -u)" = 0 ] && chown nobody:nogroup "$DIR/pg" "$DIR/sock"
chmod 700 "$DIR/pg"
as_pg "$PGBIN/initdb" -D "$DIR/pg" -U edgeid --auth=trust -E UTF8 --no-instructions >/dev/null
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	# runuser does not pass signals on: stop postgres by its own PID (fast shutdown).
	[ -f "$DIR/pg/postmaster.pid" ] && kill -INT "$(head -n 1 "$DIR/pg/postmaster.pid")" 2>/dev/null || true
	wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM
as_pg "$PGBIN/postgres" -D "$DIR/pg" -p "$PGPORT" -c listen_addresses=127.0.0.1 \
	-c unix_socket_directories="$DIR/sock" >"$DIR/postgres.log" 2>&1 &
pids="$pids $!"
DB="postgres://edgeid@127.0.0.1:$PGPORT/postgres?sslmode=disable"
i=0
until "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PGPORT"; do
	i=$((i + 1))
	if [ $i -gt 100 ]; then echo "run-fleet: postgres did not start; see $DIR/postgres.log" >&2; exit 1; fi
	sleep 0.1
done
"$BIN/edgeidctl" broker -listen "$MQTT" &
pids="$pids $!"
[ -f "$DIR/collector.key" ] || "$BIN/edgeidctl" keygen "$DIR/collector" >/dev/null
sleep 1
"$BIN/edgeidctl" audit collect -db "$DB" -key "$DIR/collector.key" -broker "tcp://$MQTT" -fleet demo \
	-client-id warehouse 2>"$DIR/collector.log" &
pids="$pids $!"
"$BIN/edgeidctl" sim -kiosks "$KIOSKS" -records 50 -rounds 3 -broker "tcp://$MQTT" -fleet demo
sleep 2
echo
echo "warehouse: $DB"
"$BIN/edgeidctl" audit verify -db "$DB" | tail -n 3
echo
echo "try:"
echo "  $BIN/edgeidctl audit query -db '$DB' -kiosk sim-0001 -limit 5"
echo "  $BIN/edgeidctl audit verify -db '$DB'"
echo "  psql '$DB' -c 'SELECT * FROM decisions_per_site_hour'"
echo "the back end runs until Ctrl-C"
wait
