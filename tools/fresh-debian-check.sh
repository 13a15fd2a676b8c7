#!/usr/bin/env bash
# Proves the README's two commands on a fresh Debian 12, as a newcomer would run them: makes a
# minimal Debian 12 root with debootstrap (nothing but git and the CA certificates, no compiler),
# clones this repository's committed HEAD into it, then inside it
#   1. runs `./run --port PORT` and times it until /healthz says ready, then stops it;
#   2. runs `./test` (or the command given with --test) and times it.
# Prints both times and exits non-zero when either fails. Run it before closing an issue that
# touches dependencies or the build, and say in the note that you did.
#
#   tools/fresh-debian-check.sh [--root DIR] [--port N] [--test "CMD"] [--skip-test] [--keep]
#
# Needs root (debootstrap, chroot, mounts) and Debian's mirror; takes 15-25 minutes on 2 cores.
# The root gets the host's extra certificate authorities (/usr/local/share/ca-certificates), so
# that apt and npm inside trust what the host's do. The root is deleted at the end unless --keep.
# Logs: DIR.run.log and DIR.test.log beside the root.
set -euo pipefail

src="$(cd "$(dirname "$0")/.." && pwd)"
root=/var/tmp/backline-fresh
port=18080
test_cmd="./test"
skip_test=0
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --test) test_cmd="$2"; shift 2 ;;
    --skip-test) skip_test=1; shift ;;
    --keep) keep=1; shift ;;
    *) echo "usage: tools/fresh-debian-check.sh [--root DIR] [--port N] [--test CMD] [--skip-test] [--keep]" >&2; exit 2 ;;
  esac
done
if [ "$(id -u)" -ne 0 ]; then echo "fresh-debian-check: needs root" >&2; exit 2; fi
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
if ! command -v debootstrap >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

mounted=()
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill -- "-$server_pid" 2>/dev/null || true; fi
  # Anything still running inside the root (a server the test started) holds its mounts.
  for p in /proc/[0-9]*; do
    if [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ]; then kill -9 "${p#/proc/}" 2>/dev/null || true; fi
  done
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
  if [ $keep -eq 0 ]; then rm -rf --one-file-system "$root"; fi
}
trap cleanup EXIT

log() { echo "fresh-debian-check: $*"; }

rm -rf --one-file-system "$root"
log "debootstrap bookworm (minbase + git, ca-certificates) into $root"
t0=$SECONDS
debootstrap --variant=minbase --include=git,ca-certificates bookworm "$root" "$mirror" \
  > "$root.debootstrap.log" 2>&1 || { tail -20 "$root.debootstrap.log"; exit 1; }
log "root made in $((SECONDS - t0)) s"

# What a Debian 12 install's apt sources hold.
cat > "$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security} bookworm-security main
EOF
cp /etc/resolv.conf "$root/etc/resolv.conf"
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  chroot "$root" update-ca-certificates >/dev/null 2>&1
fi

for m in proc sys dev dev/pts; do
  mkdir -p "$root/$m"
  case "$m" in
    proc) mount -t proc proc "$root/proc" ;;
    sys) mount -t sysfs sys "$root/sys" ;;
    dev) mount --bind /dev "$root/dev" ;;
    dev/pts) mount -t devpts devpts "$root/dev/pts" ;;
  esac
  mounted+=("$root/$m")
done
mount -t tmpfs -o size=1g tmpfs "$root/dev/shm"; mounted+=("$root/dev/shm")

# The clone: the committed HEAD of this checkout, through a read-only bind mount. The team's
# shared/ folder goes beside it when it is beside this checkout (the development eval set).
mkdir -p "$root/mnt/repo"
mount --bind -o ro "$src" "$root/mnt/repo"; mounted+=("$root/mnt/repo")
chroot "$root" git -c safe.directory='*' clone -q /mnt/repo /root/backline
if [ -d "$src/../shared" ]; then cp -r "$src/../shared" "$root/root/shared"; fi

in_root() {
  chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
    npm_config_cafile=/etc/ssl/certs/ca-certificates.crt \
    CI="${CI:-}" bash -c "cd /root/backline && $1"
}

# 1. ./run until ready.
log "./run --port $port"
t0=$SECONDS
set -m
in_root "./run --port $port" > "$root.run.log" 2>&1 &
server_pid=$!
set +m
ready=0
while kill -0 "$server_pid" 2>/dev/null; do
  if python3 - "$port" <<'EOF' 2>/dev/null; then ready=1; break; fi
import json, sys, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=2) as r:
    sys.exit(0 if json.load(r).get("ready") else 1)
EOF
  sleep 2
done
run_secs=$((SECONDS - t0))
if [ $ready -eq 0 ]; then
  log "./run FAILED after $run_secs s; the end of $root.run.log:"
  tail -30 "$root.run.log"
  exit 1
fi
log "./run: server ready after $run_secs s"
kill -- "-$server_pid" 2>/dev/null || true
wait "$server_pid" 2>/dev/null || true
server_pid=""

if [ $skip_test -eq 1 ]; then exit 0; fi

# 2. The test command.
log "$test_cmd"
t0=$SECONDS
if ! in_root "$test_cmd" > "$root.test.log" 2>&1; then
  log "$test_cmd FAILED after $((SECONDS - t0)) s; the end of $root.test.log:"
  tail -40 "$root.test.log"
  exit 1
fi
test_secs=$((SECONDS - t0))
grep -E "^==== |tests passed|all tests passed" "$root.test.log" || true
log "./run ready in $run_secs s; $test_cmd passed in $test_secs s"
