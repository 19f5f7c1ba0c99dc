#!/usr/bin/env bash
# The Debian package, as an operator gets it: built from the build directory (scripts/build-deb),
# its control data and contents, then (as root) installed with dpkg -i: the vigil user and its
# directories, systemd-analyze verify on every unit and timer, `vigil sandbox check` as the
# unprivileged service user, the service started with the packaged configuration answering
# /readyz, and a purge that keeps the data directory. Not root: the install steps are skipped.
#   tests/package_test.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: package_test.sh BUILD_DIR}
work=$(mktemp -d)
installed=0
cleanup() {
  if [[ $installed == 1 ]]; then
    [[ -n "${server_pid:-}" ]] && kill "$server_pid" 2>/dev/null || true
    dpkg --purge vigil >/dev/null 2>&1 || true
    rm -rf /var/lib/vigil /var/backups/vigil
    userdel vigil 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "package test FAILED: $*" >&2; exit 1; }

deb=$(./scripts/build-deb "$build" "$work")
[[ -f "$deb" ]] || fail "no package built"
info=$(dpkg-deb --info "$deb")
grep -q '^ Package: vigil$' <<<"$info" || fail "control: no Package: vigil"
grep -q '^ Depends: .*libssl3' <<<"$info" || fail "control: dependencies missing (dpkg-shlibdeps)"
contents=$(dpkg-deb --contents "$deb" | awk '{print $6}')
for path in ./usr/bin/vigil ./usr/lib/vigil/libvigil-commands.so ./usr/lib/systemd/system/vigil.service \
            ./usr/lib/systemd/system/vigil-anchor.timer ./usr/lib/systemd/system/vigil-backup.timer \
            ./etc/vigil/vigil.toml ./usr/libexec/vigil/backup; do
  grep -qx "$path" <<<"$contents" || fail "missing $path"
done
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qx /etc/vigil/vigil.toml || fail "vigil.toml is not a conffile"
echo "package: $(basename "$deb"), $(du -k "$deb" | cut -f1) KiB"

if [[ $(id -u) != 0 ]]; then
  echo "package test: not root, install steps skipped"
  exit 0
fi
if dpkg-query -W -f='${Status}' vigil 2>/dev/null | grep -q "install ok installed"; then
  fail "a vigil package is installed on this machine already: not touching it"
fi
installed=1
dpkg -i "$deb" >/dev/null || fail "dpkg -i"
getent passwd vigil >/dev/null || fail "no vigil user"
[[ $(stat -c %U:%a /var/lib/vigil) == vigil:750 ]] || fail "/var/lib/vigil is $(stat -c %U:%a /var/lib/vigil)"
[[ $(stat -c %G:%a /etc/vigil/vigil.toml) == vigil:640 ]] || fail "vigil.toml is $(stat -c %G:%a /etc/vigil/vigil.toml)"
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify /usr/lib/systemd/system/vigil.service /usr/lib/systemd/system/vigil-anchor.service \
    /usr/lib/systemd/system/vigil-anchor.timer /usr/lib/systemd/system/vigil-backup.service \
    /usr/lib/systemd/system/vigil-backup.timer || fail "systemd-analyze verify"
  echo "systemd-analyze verify: ok"
else
  echo "package test: no systemd-analyze here, units not verified"
fi
runuser -u vigil -- /usr/bin/vigil version >/dev/null || fail "vigil version as the vigil user"
# The decoder sandbox as the unprivileged service user (user namespaces; no capabilities).
runuser -u vigil -- /usr/bin/vigil sandbox check > "$work/sandbox.txt" 2>&1 || { cat "$work/sandbox.txt"; fail "vigil sandbox check as vigil"; }
tail -1 "$work/sandbox.txt"
# ... and under the unit's process restrictions that need no systemd: NoNewPrivileges=, an empty
# CapabilityBoundingSet= and AmbientCapabilities=, User=vigil (setpriv applies them as the unit does).
setpriv --no-new-privs --bounding-set=-all --inh-caps=-all --reuid=vigil --regid=vigil --init-groups -- \
  /usr/bin/vigil sandbox check > "$work/sandbox-nnp.txt" 2>&1 || { cat "$work/sandbox-nnp.txt"; fail "vigil sandbox check under no_new_privs without capabilities"; }
cmp -s <(tail -1 "$work/sandbox.txt") <(tail -1 "$work/sandbox-nnp.txt") || { cat "$work/sandbox-nnp.txt"; fail "the sandbox is weaker under the unit's restrictions"; }
echo "sandbox check under NoNewPrivileges, no capabilities, User=vigil: same confinement"
# Every hardening line of the unit (SystemCallFilter=, RestrictNamespaces=, ProtectSystem=, ...) as a
# transient unit, where systemd runs the machine; a container without systemd as PID 1 cannot.
if [[ -d /run/systemd/system ]] && command -v systemd-run >/dev/null; then
  props=()
  while IFS= read -r line; do props+=(-p "$line"); done < <(sed -n '/^# Hardening/,/^\[Install\]/p' /usr/lib/systemd/system/vigil.service | grep -E '^[A-Za-z]+=')
  systemd-run --wait --collect --pipe -p User=vigil -p Group=vigil "${props[@]}" /usr/bin/vigil sandbox check \
    > "$work/sandbox-unit.txt" 2>&1 || { cat "$work/sandbox-unit.txt"; fail "vigil sandbox check under the unit's hardening"; }
  cmp -s <(tail -1 "$work/sandbox.txt") <(tail -1 "$work/sandbox-unit.txt") || { cat "$work/sandbox-unit.txt"; fail "the sandbox is weaker under the unit"; }
  echo "sandbox check under every hardening line of vigil.service: same confinement"
else
  echo "package test: no systemd as PID 1 here: the unit's SystemCallFilter= and RestrictNamespaces= are not exercised"
fi
# The service with the packaged configuration, as the unit starts it (on a free port here).
runuser -u vigil -- /usr/bin/vigil serve --config /etc/vigil/vigil.toml --listen 127.0.0.1:0 \
  --port-file /var/lib/vigil/port > "$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do [[ -s /var/lib/vigil/port ]] && break; sleep 0.1; done
port=$(cat /var/lib/vigil/port 2>/dev/null || true)
[[ -n "$port" ]] || { cat "$work/serve.log"; fail "the packaged service did not start"; }
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || { cat "$work/serve.log"; fail "/readyz"; }
[[ -f /var/lib/vigil/vigil.db ]] || fail "no database in /var/lib/vigil"
kill "$server_pid"; wait "$server_pid" || true; server_pid=
dpkg --purge vigil >/dev/null || fail "dpkg --purge"
[[ -f /var/lib/vigil/vigil.db ]] || fail "the purge removed the data directory"
[[ ! -e /usr/bin/vigil ]] || fail "/usr/bin/vigil left after purge"
echo "package test: ok"
