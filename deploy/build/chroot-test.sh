#!/usr/bin/env bash
# Installs the Debian package in a Debian bookworm chroot with apt-get (its dependencies come
# from Debian), checks what postinst made, runs the daemon the way its unit does (deploy/build/
# unitrun: the user, groups, umask, state directory, store-key credential, NOTIFY_SOCKET and
# watchdog, in a network namespace of its own), then removes and purges the package and checks
# what stays. The minbase chroot is made once with debootstrap and cached in $EDGEID_CACHE
# (default /var/cache/edgeid); each run works on a copy. Needs root; skips otherwise.
set -euo pipefail
deb=${1:?usage: chroot-test.sh PATH/edgeid_VERSION_ARCH.deb}
fail() { echo "chroot-test: FAIL: $*" >&2; exit 1; }
ok() { echo "chroot-test: ok: $*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "chroot-test: skip: needs root (debootstrap, chroot, mounts, the edgeid user, a network namespace)"
  exit 0
fi
for tool in debootstrap unshare ip openssl flock /usr/bin/python3; do
  command -v "$tool" >/dev/null || fail "$tool is missing (make deps-test installs it)"
done
[ -f "$deb" ] || fail "$deb: no such package (make deb-native builds it)"
arch=$(dpkg --print-architecture)
[ "$(dpkg-deb -f "$deb" Architecture)" = "$arch" ] ||
  fail "$deb is for $(dpkg-deb -f "$deb" Architecture): the test runs the package's binary, so it needs a $arch package"
cache=${EDGEID_CACHE:-/var/cache/edgeid}
mirror=${EDGEID_MIRROR:-http://deb.debian.org/debian}
base=$cache/chroot-bookworm-$arch
t0=$(date +%s)
elapsed() { echo "$(($(date +%s) - t0)) s"; }

# One test at a time on this machine: they share the base and the package cache.
mkdir -p "$cache"
exec 9>"$cache/chroot-bookworm-$arch.lock"
flock 9
if [ ! -e "$base/.edgeid-complete" ]; then
  echo "chroot-test: debootstrap --variant=minbase bookworm $base (once, then cached)"
  rm -rf "$base.tmp"
  if ! debootstrap --variant=minbase bookworm "$base.tmp" "$mirror" >"$cache/debootstrap-$arch.log" 2>&1; then
    tail -n 20 "$cache/debootstrap-$arch.log" >&2
    fail "debootstrap failed (whole log: $cache/debootstrap-$arch.log)"
  fi
  touch "$base.tmp/.edgeid-complete"
  rm -rf "$base"
  mv "$base.tmp" "$base"
  echo "chroot-test: base chroot ready after $(elapsed)"
fi

work=$(mktemp -d "$cache/chroot-run.XXXXXX")
root=$work/root
mounted=()
cleanup() {
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" || true
  done
  # Never delete through a mount that is still there (the package cache is a bind mount).
  if grep -qF " $work/" /proc/self/mounts; then
    echo "chroot-test: $work still has mounts; left in place" >&2
  else
    rm -rf --one-file-system "$work"
  fi
}
trap cleanup EXIT
mnt() { mount "$@"; mounted+=("${*: -1}"); }

go build -o "$work/unitrun" ./deploy/build/unitrun
cp -a "$base" "$root"
mnt -t proc proc "$root/proc"
mkdir -p "$cache/chroot-apt-archives/partial"
mnt --bind "$cache/chroot-apt-archives" "$root/var/cache/apt/archives"
printf '#!/bin/sh\n# no services start in this chroot\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "$deb" "$root/tmp/"
in_chroot() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }
# stat_is PATH "MODE USER GROUP", names from the chroot's passwd and group.
stat_is() {
  local got
  got=$(in_chroot stat -c '%a %U %G' "$1" 2>/dev/null) || fail "$1 is missing"
  [ "$got" = "$2" ] || fail "$1 is '$got', want '$2'"
}

# Install: the package's Depends must be enough (no Recommends: those are the screen's).
in_chroot apt-get -q update >"$work/update.log" 2>&1 || { cat "$work/update.log" >&2; fail "apt-get update in the chroot"; }
if ! in_chroot apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-unsafe-io \
  "/tmp/$(basename "$deb")" >"$work/install.log" 2>&1; then
  tail -n 30 "$work/install.log" >&2
  fail "apt-get install ./$(basename "$deb") in the chroot"
fi
ok "apt-get install ./$(basename "$deb"): $(grep -c '^Setting up' "$work/install.log") packages set up, at $(elapsed)"

# What postinst made.
IFS=: read -r _ _ uid _ _ home shell < <(in_chroot getent passwd edgeid) || fail "no edgeid user"
[ "$uid" -lt 1000 ] && [ "$home" = /var/lib/edgeid ] && [ "$shell" = /usr/sbin/nologin ] ||
  fail "edgeid user: uid $uid, home $home, shell $shell; want a system user, /var/lib/edgeid, nologin"
for g in edgeid video i2c spi gpio dialout; do
  in_chroot getent group "$g" >/dev/null || fail "no group $g"
done
in_chroot getent passwd edgeid-screen >/dev/null || fail "no edgeid-screen user"
ok "users edgeid (uid $uid) and edgeid-screen, groups edgeid video i2c spi gpio dialout"
stat_is /etc/edgeid "750 root edgeid"
stat_is /etc/edgeid/edgeid.json "640 root edgeid"
stat_is /etc/edgeid/store.key "600 root root"
stat_is /etc/edgeid/attendant.token "600 edgeid edgeid"
grep -qxE '[0-9a-f]{64}' "$root/etc/edgeid/store.key" || fail "store.key is not 32 bytes in hex"
in_chroot dpkg-query -W -f='${Conffiles}\n' edgeid | grep -q ' /etc/edgeid/edgeid.json ' || fail "/etc/edgeid/edgeid.json is not a conffile"
cmp -s "$root/etc/edgeid/edgeid.json" deploy/config/edgeid.example.json || fail "the packaged configuration is not deploy/config/edgeid.example.json"
ok "/etc/edgeid: store.key (0600 root), attendant.token, edgeid.json (conffile, 0640 root:edgeid)"
got=$(in_chroot edgeid version) || fail "edgeid version in the chroot: exit $?"
want="edgeid $(dpkg-deb -f "$deb" Version)"
[ "$got" = "$want" ] || fail "edgeid version printed '$got', the package says '$want' (one version: the Makefile's VERSION)"
ok "$got runs on Debian's libraries"

# The unit, with the packaged configuration: no fleet keys or certificates are there yet (the
# README's step 3), so the daemon must refuse to start, say why, and write nothing: every file
# the configuration names is checked before anything is opened.
unit() { unshare --net /bin/bash -c 'ip link set lo up && exec "$@"' unitrun "$work/unitrun" -root "$root" -unit /lib/systemd/system/edgeid.service "$@"; }
unit -expect exit -timeout 60s | tee "$work/unit-packaged.log"
grep -q '/etc/edgeid/fleet.pub' "$work/unit-packaged.log" || fail "the daemon did not name the missing /etc/edgeid/fleet.pub"
stat_is /var/lib/edgeid "700 edgeid edgeid"
[ ! -e "$root/var/lib/edgeid/db" ] || fail "the daemon opened its store before its configuration was known good"
ok "packaged configuration: refused, naming /etc/edgeid/fleet.pub, before writing anything in /var/lib/edgeid"

# Provisioned as README step 3 says (fleet and collector public keys, the fleet CA, this kiosk's
# client certificate) with what a chroot lacks taken out of the configuration: no NFC reader
# (flow enrolled) and no GPIO chip (no gpio block). The camera stays, and is reported missing.
in_chroot edgeidctl keygen /etc/edgeid/fleet >/dev/null
in_chroot edgeidctl keygen /etc/edgeid/collector >/dev/null
rm "$root/etc/edgeid/fleet.key" "$root/etc/edgeid/collector.key" # the back end's, never on a kiosk
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=edgeid-test-fleet-ca \
  -keyout "$work/ca.key" -out "$root/etc/edgeid/fleet-ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=lobby-1 \
  -keyout "$root/etc/edgeid/kiosk.key" -out "$work/kiosk.csr" 2>/dev/null
openssl x509 -req -in "$work/kiosk.csr" -CA "$root/etc/edgeid/fleet-ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
  -days 2 -out "$root/etc/edgeid/kiosk.crt" 2>/dev/null
in_chroot chown edgeid:edgeid /etc/edgeid/kiosk.key
chmod 600 "$root/etc/edgeid/kiosk.key"
/usr/bin/python3 - "$root/etc/edgeid/edgeid.json" <<'EOF'
import json, sys
path = sys.argv[1]
with open(path) as f:
    cfg = json.load(f)
cfg["flow"] = "enrolled"
del cfg["gpio"]
with open(path, "w") as f:
    json.dump(cfg, f, indent=2)
EOF
unit -expect ready -healthz http://127.0.0.1:8080/healthz -watchdog -timeout 90s | tee "$work/unit-provisioned.log"
for cond in camera revocations; do
  grep -q "GET http://127.0.0.1:8080/healthz: 503 .*{\"name\":\"$cond\",\"ok\":false" "$work/unit-provisioned.log" ||
    fail "/healthz did not answer 503 with the $cond condition failing"
done
stat_is /var/lib/edgeid/db "700 edgeid edgeid"
ok "provisioned: the store opened with the credential in /var/lib/edgeid; READY=1, WATCHDOG=1, /healthz answers 503 (no camera, no revocation list yet), clean stop on SIGTERM"

# Remove: the conffile, the key and the state stay; the binary goes.
in_chroot apt-get remove -y -q edgeid >"$work/remove.log" 2>&1 || { tail -n 20 "$work/remove.log" >&2; fail "apt-get remove edgeid"; }
[ "$(in_chroot dpkg-query -W -f='${Status}' edgeid)" = "deinstall ok config-files" ] || fail "after remove: dpkg status is not config-files"
[ ! -e "$root/usr/bin/edgeid" ] || fail "after remove: /usr/bin/edgeid is still there"
for f in /etc/edgeid/edgeid.json /etc/edgeid/store.key /etc/edgeid/attendant.token /var/lib/edgeid/db; do
  [ -e "$root$f" ] || fail "after remove: $f is gone"
done
ok "remove: binaries gone; configuration, store key, token and store kept"

# Purge: the conffile (dpkg), the key, the token and the store (postrm) go; the operator's
# certificates and keys stay, with their folder; the users stay.
in_chroot apt-get purge -y -q edgeid >"$work/purge.log" 2>&1 || { tail -n 20 "$work/purge.log" >&2; fail "apt-get purge edgeid"; }
if in_chroot dpkg-query -W -f='${Status}' edgeid 2>/dev/null | grep -q 'ok'; then fail "after purge: dpkg still knows edgeid"; fi
for f in /etc/edgeid/edgeid.json /etc/edgeid/store.key /etc/edgeid/attendant.token /var/lib/edgeid; do
  [ ! -e "$root$f" ] || fail "after purge: $f is still there"
done
for f in /etc/edgeid/kiosk.crt /etc/edgeid/kiosk.key /etc/edgeid/fleet-ca.pem /etc/edgeid/fleet.pub; do
  [ -e "$root$f" ] || fail "after purge: the operator's $f is gone"
done
in_chroot getent passwd edgeid >/dev/null || fail "after purge: the edgeid user is gone"
ok "purge: configuration, store key, token and store gone; the operator's files and the users stay"
in_chroot apt-get -q autoclean >/dev/null # the shared package cache keeps only versions still in the archive

echo "chroot-test: not shown by a chroot (no systemd as PID 1): the unit's sandboxing (make systemd-check rates it offline),"
echo "chroot-test:   devices (reader, camera, GPIO), Restart= and the watchdog acting on a hung daemon, postinst's systemctl enable"
echo "chroot-test: passed in $(elapsed)"
