#!/usr/bin/env bash
# Builds a real Debian 12 host for tests that need systemd as PID 1 (booted with systemd-nspawn
# inside a network namespace by test/host/nspawn.ts):
#
#   $KAIRO_HOST_CACHE/root/                    the Debian root (mmdebstrap, minbase): systemd,
#                                              systemd-sysv, dbus, nftables, iproute2, iputils-ping,
#                                              procps, ppp; systemd-networkd enabled; persistent
#                                              journal; /usr/local/bin/kairo; an empty machine-id
#                                              (each booted host writes its own)
#   $KAIRO_HOST_CACHE/nspawn/usr/bin/systemd-nspawn
#                                              from Debian's systemd-container .deb, unpacked (not
#                                              installed) and run against the host's libsystemd-shared
#   $KAIRO_HOST_CACHE/manifest                 versions, packages, sizes, build time
#
# kairo is a Node 20 program and Debian 12's nodejs is 18: the root has no node. The tests bind the
# host's /usr/bin/node read-only on /usr/local/bin/node and the kairo checkout on /opt/kairo; this
# script checks that the root has every shared library the host's node loads.
#
# Idempotent: a second run is a cache hit and touches nothing. The root is stamped by the hash of
# this script; the unpacked systemd-nspawn also by the host's libsystemd-shared version (an upgrade
# of the host's systemd rebuilds only that part). Nothing is installed on the host except mmdebstrap
# when missing: installing systemd-container with apt would upgrade the host's systemd.
#
# Env: KAIRO_HOST_CACHE (default /var/cache/kairo-host), KAIRO_HOST_REBUILD=1 to force a build.
set -euo pipefail

CACHE=${KAIRO_HOST_CACHE:-/var/cache/kairo-host}
SELF=$(readlink -f "$0")
t0=$(date +%s%N)
ms() { echo $(( ($(date +%s%N) - t0) / 1000000 )); }
say() { printf 'host-root: [%6s ms] %s\n' "$(ms)" "$*"; }
die() { echo "host-root: error: $*" >&2; exit 1; }

SUITE=bookworm
PACKAGES=(systemd systemd-sysv dbus nftables iproute2 iputils-ping procps ppp libstdc++6 ca-certificates kea-dhcp4-server kea-dhcp6-server unbound dns-root-data)
NODE=${KAIRO_HOST_NODE:-/usr/bin/node}
STAMP=$(sha256sum "$SELF" | cut -c1-16)
shared_version() { dpkg-query -W -f='${Version}' libsystemd-shared 2>/dev/null || true; }
NSPAWN_STAMP="$STAMP $(shared_version)"
NSPAWN="$CACHE/nspawn/usr/bin/systemd-nspawn"

root_cached() {
  [ "${KAIRO_HOST_REBUILD:-0}" != 1 ] && [ -x "$CACHE/root/usr/lib/systemd/systemd" ] \
    && [ "$(cat "$CACHE/root.stamp" 2>/dev/null)" = "$STAMP" ]
}
nspawn_cached() {
  [ "${KAIRO_HOST_REBUILD:-0}" != 1 ] && [ "$(cat "$CACHE/nspawn.stamp" 2>/dev/null)" = "$NSPAWN_STAMP" ] \
    && "$NSPAWN" --version >/dev/null 2>&1
}
hit() { say "cache hit: $CACHE (root $(sed -n 's/^root_bytes=//p' "$CACHE/manifest" 2>/dev/null | awk '{ printf "%d MB", $1 / 1048576 }'), $("$NSPAWN" --version | head -1))"; exit 0; }
root_cached && nspawn_cached && hit

[ "$(id -u)" = 0 ] || die "building needs root (apt-get, mmdebstrap, ${CACHE})"
[ "$(dpkg --print-architecture 2>/dev/null)" = amd64 ] || die "only amd64 hosts are supported"
[ -n "$(shared_version)" ] || die "the host has no libsystemd-shared (systemd-nspawn needs it)"
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock -w 900 9 || die "another build holds $CACHE/.lock"
root_cached && nspawn_cached && hit   # built by another run while this one waited for the lock

export DEBIAN_FRONTEND=noninteractive
apt_updated=0
apt_update() { [ $apt_updated = 1 ] || { say "apt-get update"; apt-get update -qq; apt_updated=1; }; }

WORK=$(mktemp -d "$CACHE/build.XXXXXX")
cleanup() {
  # mmdebstrap's root mode mounts /proc, /sys, /dev under the target while it runs; a failed run
  # can leave them. Unmount whatever is still mounted below the work directory, then remove it.
  local m
  for m in $(awk -v w="$WORK/" 'index($2, w) == 1 { print $2 }' /proc/self/mounts | sort -r); do umount -l "$m" 2>/dev/null || true; done
  rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT

# --- systemd-nspawn: unpacked from systemd-container, same version as the host's libsystemd-shared --
build_nspawn() {
  local ver debs f
  ver=$(shared_version)
  debs="$CACHE/debs"
  mkdir -p "$debs"
  chown _apt "$debs" 2>/dev/null || true   # quiets apt's "unsandboxed download" warning
  f=$(ls "$debs"/systemd-container_*.deb 2>/dev/null | head -1 || true)
  if [ -z "$f" ] || [ "$(dpkg-deb -f "$f" Version)" != "$ver" ]; then
    rm -f "$debs"/systemd-container_*.deb
    say "apt-get download systemd-container=$ver (matching the host's libsystemd-shared)"
    (cd "$debs" && { apt-get download -q=2 "systemd-container=$ver" 2>/dev/null || { apt_update; apt-get download -q=2 "systemd-container=$ver"; }; }) \
      || die "the Debian mirror has no systemd-container $ver; systemd-nspawn must match the host's libsystemd-shared ($ver)"
    f=$(ls "$debs"/systemd-container_*.deb | head -1)
  fi
  rm -rf "$WORK/nspawn"
  dpkg-deb -x "$f" "$WORK/nspawn"
  local out
  out=$("$WORK/nspawn/usr/bin/systemd-nspawn" --version 2>&1) || die "the unpacked systemd-nspawn does not run against the host's libraries: $out"
  rm -rf "$CACHE/nspawn"
  mv "$WORK/nspawn" "$CACHE/nspawn"
  echo "$NSPAWN_STAMP" > "$CACHE/nspawn.stamp"
  say "systemd-nspawn: $(echo "$out" | head -1) ($(basename "$f"))"
}
nspawn_cached || build_nspawn

# --- the Debian root -----------------------------------------------------------------------------
build_root() {
  local mirror=() t1 node_libs
  if ! command -v mmdebstrap >/dev/null; then
    say "installing mmdebstrap"
    apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null 2>&1 || { apt_update; apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null; }
  fi
  # The host's Debian sources (the mirror it is allowed to use), never third-party lists.
  [ -f /etc/apt/sources.list.d/debian.sources ] && mirror=(/etc/apt/sources.list.d/debian.sources)
  t1=$(date +%s)
  say "mmdebstrap $SUITE: ${PACKAGES[*]}"
  # --customize-hook runs on the host with the root as "$1".
  mmdebstrap --quiet --mode=root --variant=minbase --format=directory \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --include="$(IFS=,; echo "${PACKAGES[*]}")" \
    --customize-hook='echo kairo-host > "$1/etc/hostname"' \
    --customize-hook='printf "127.0.0.1 localhost\n127.0.1.1 kairo-host\n::1 localhost\n" > "$1/etc/hosts"' \
    --customize-hook='mkdir -p "$1/var/log/journal"' \
    --customize-hook='chroot "$1" systemctl enable systemd-networkd.service' \
    --customize-hook='chroot "$1" systemctl disable kea-dhcp4-server.service kea-dhcp6-server.service unbound.service' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    "$SUITE" "$WORK/root" "${mirror[@]}" >"$WORK/mmdebstrap.log" 2>&1 \
    || { tail -30 "$WORK/mmdebstrap.log" >&2; die "mmdebstrap failed (log above)"; }
  say "mmdebstrap done in $(( $(date +%s) - t1 )) s"

  # kairo runs from the checkout the tests bind on /opt/kairo, with the host's node.
  mkdir -p "$WORK/root/usr/local/bin" "$WORK/root/opt/kairo"
  cat > "$WORK/root/usr/local/bin/kairo" <<'EOF'
#!/bin/sh
# kairo from the checkout bound on /opt/kairo, run by the host's node bound on /usr/local/bin/node.
exec /usr/local/bin/node /opt/kairo/bin/kairo.js "$@"
EOF
  chmod 755 "$WORK/root/usr/local/bin/kairo"

  # Every library the host's node loads must exist in the root: run it there once, bound in a
  # private mount namespace (the mount point file is removed again).
  if [ -x "$NODE" ]; then
    : > "$WORK/root/usr/local/bin/node"
    node_libs=$(unshare -m sh -c 'mount --bind -o ro "$1" "$2/usr/local/bin/node" && chroot "$2" /usr/local/bin/node -e "process.stdout.write(process.version)"' sh "$NODE" "$WORK/root" 2>&1) \
      || { rm -f "$WORK/root/usr/local/bin/node"; die "the host's node ($NODE) does not run in the root: $node_libs"; }
    rm -f "$WORK/root/usr/local/bin/node"
    say "the host's node $node_libs runs in the root"
  else
    say "warning: no $NODE on the host; tests cannot run kairo inside the container"
  fi

  chroot "$WORK/root" dpkg-query -W -f='${Package}=${Version}\n' > "$WORK/packages"
  {
    echo "suite=$SUITE"
    echo "stamp=$STAMP"
    echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "build_seconds=$(( $(date +%s) - t1 ))"
    echo "systemd=$(sed -n 's/^systemd=//p' "$WORK/packages")"
    echo "include=${PACKAGES[*]}"
    echo "packages=$(wc -l < "$WORK/packages")"
    echo "root_bytes=$(du -sb "$WORK/root" | cut -f1)"
  } > "$WORK/manifest"
  cp "$WORK/packages" "$WORK/root.packages"
  if [ -d "$CACHE/root" ]; then
    mv "$CACHE/root" "$WORK/old-root"   # removed with $WORK
  fi
  mv "$WORK/root" "$CACHE/root"
  mv "$WORK/root.packages" "$CACHE/packages"
  mv "$WORK/manifest" "$CACHE/manifest"
  echo "$STAMP" > "$CACHE/root.stamp"
  say "root: $CACHE/root, $(( $(sed -n 's/^root_bytes=//p' "$CACHE/manifest") / 1048576 )) MB, $(wc -l < "$CACHE/packages") packages"
}
root_cached || build_root
say "done: $CACHE/root, $NSPAWN"
