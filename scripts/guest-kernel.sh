#!/usr/bin/env bash
# Builds the boot files of the lab's full-kernel guests (Debian's stock kernel under QEMU TCG, for
# checks that need kernel features the host lacks: ip6tnl/ipip6, PPP, 802.1q, wireguard):
#
#   $KAIRO_GUEST_CACHE/vmlinux      uncompressed kernel (QEMU microvm boots it directly)
#   $KAIRO_GUEST_CACHE/base.cpio    initramfs (newc, uncompressed): busybox, iproute2, nftables,
#                                   ppp, pppoe, kmod, wireguard-tools, radvd (router advertisements
#                                   for a SLAAC uplink), the needed modules, /init
#   $KAIRO_GUEST_CACHE/manifest     kernel version, packages, modules, sizes
#
# Idempotent: a second run is a cache hit (stamp = hash of this script) and touches nothing.
# Only the Debian mirror is used. Nothing is installed on the host except QEMU and the build tools
# (cpio, kmod) when missing: the kernel and the guest's packages are `apt-get download`ed and
# unpacked with `dpkg-deb -x` into a staging tree.
#
# Env: KAIRO_GUEST_CACHE (default /var/cache/kairo-guest), KAIRO_GUEST_REBUILD=1 to force a build,
#      KAIRO_GUEST_KERNEL=linux-image-6.1.0-N-amd64 to pin the kernel package.
set -euo pipefail

CACHE=${KAIRO_GUEST_CACHE:-/var/cache/kairo-guest}
SELF=$(readlink -f "$0")
t0=$(date +%s%N)
ms() { echo $(( ($(date +%s%N) - t0) / 1000000 )); }
say() { printf 'guest-kernel: [%6s ms] %s\n' "$(ms)" "$*"; }
die() { echo "guest-kernel: error: $*" >&2; exit 1; }

STAMP=$(sha256sum "$SELF" | cut -c1-16)
cached() {
  [ "${KAIRO_GUEST_REBUILD:-0}" != 1 ] && [ -s "$CACHE/vmlinux" ] && [ -s "$CACHE/base.cpio" ] \
    && [ "$(cat "$CACHE/stamp" 2>/dev/null)" = "$STAMP" ] && command -v qemu-system-x86_64 >/dev/null
}
hit() { say "cache hit: $CACHE ($(sed -n 's/^kernel=//p' "$CACHE/manifest"))"; exit 0; }
cached && hit

[ "$(id -u)" = 0 ] || die "building needs root (apt-get, ${CACHE})"
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock -w 600 9 || die "another build holds $CACHE/.lock"

# --- host tools ---------------------------------------------------------------------------------
export DEBIAN_FRONTEND=noninteractive
apt_updated=0
apt_update() { [ $apt_updated = 1 ] || { say "apt-get update"; apt-get update -qq; apt_updated=1; }; }
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v cpio >/dev/null || need+=(cpio)
command -v depmod >/dev/null || need+=(kmod)
command -v xz >/dev/null || need+=(xz-utils)
if [ ${#need[@]} -gt 0 ]; then
  say "installing host packages: ${need[*]}"
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 || { apt_update; apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }
fi
cached && hit   # built by another run while this one waited for the lock

# --- packages -----------------------------------------------------------------------------------
pick_kernel() {
  apt-cache pkgnames linux-image-6.1.0- | grep -E '^linux-image-6\.1\.0-[0-9]+-amd64$' | sort -V | tail -1
}
# User space of the guest; their shared libraries come from the lib* packages they depend on
# (resolved below, then trimmed to what the dynamic loader actually loads).
USERPKGS=(busybox iproute2 nftables ppp pppoe kmod wireguard-tools radvd netbase libc6)
libdeps() {
  # lib* packages reachable from "$@" through Depends/Pre-Depends, only through lib* packages
  # (one apt-cache call: each one costs about 0.7 s here).
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances "$@" 2>/dev/null \
  | awk -v roots="$*" '
      /^[^ ]/ { pkg = $1; next }
      /^ *\|?(Pre)?Depends: / { d = $2; sub(/:any$/, "", d); if (d !~ /^</) edges[pkg] = edges[pkg] " " d }
      END {
        n = split(roots, q, " "); for (i = 1; i <= n; i++) seen[q[i]] = 1
        for (i = 1; i <= n; i++) {
          m = split(edges[q[i]], ds, " ")
          for (j = 1; j <= m; j++) if (ds[j] ~ /^lib/ && !(ds[j] in seen)) { seen[ds[j]] = 1; q[++n] = ds[j]; print ds[j] }
        }
      }'
}

WORK=$(mktemp -d "$CACHE/build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
DEBS="$CACHE/debs"
mkdir -p "$DEBS"
chown _apt "$DEBS" 2>/dev/null || true   # quiets apt's "unsandboxed download" warning

# Picks the packages and brings $DEBS to exactly their candidate versions (kept .debs are reused).
# Fails (non-zero) when apt's lists are missing or stale; the caller updates them and retries.
fetch() {
  local p m f missing=()
  KPKG=${KAIRO_GUEST_KERNEL:-$(pick_kernel)}
  [ -n "$KPKG" ] || { echo "guest-kernel: apt knows no linux-image-6.1.0-*-amd64" >&2; return 1; }
  want=($(printf '%s\n' "$KPKG" "${USERPKGS[@]}" $(libdeps "${USERPKGS[@]}") | awk '!seen[$0]++'))
  apt-get --print-uris download "${want[@]}" 2>/dev/null | awk '{ print $2 }' > "$WORK/debs.want"
  [ "$(wc -l < "$WORK/debs.want")" = "${#want[@]}" ] || { echo "guest-kernel: apt cannot download all of: ${want[*]}" >&2; return 1; }
  for f in "$DEBS"/*.deb; do
    if [ -e "$f" ] && ! grep -qxF "$(basename "$f")" "$WORK/debs.want"; then rm -f "$f"; fi
  done
  for p in "${want[@]}"; do ls "$DEBS/${p}_"*.deb >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    say "apt-get download: ${#missing[@]} packages (kernel: $KPKG)"
    (cd "$DEBS" && apt-get download -q=2 "${missing[@]}" 2>&1 | grep -v 'unsandboxed' >&2 || true)
    for m in "${missing[@]}"; do ls "$DEBS/${m}_"*.deb >/dev/null 2>&1 || { echo "guest-kernel: download of $m failed" >&2; return 1; }; done
  fi
  return 0
}
fetch || { apt_update; fetch; } || die "cannot download the guest's packages from the Debian mirror"
KVER=${KPKG#linux-image-}
say "kernel package: $KPKG"
say "packages: $(ls "$DEBS"/*.deb | wc -l) .debs, $(du -sm "$DEBS" | cut -f1) MB"

# --- unpack -------------------------------------------------------------------------------------
POOL="$WORK/pool"
ROOT="$WORK/root"
mkdir -p "$POOL"
for f in "$DEBS"/*.deb; do dpkg-deb -x "$f" "$POOL" & done
wait
say "unpacked into a staging tree"

# --- vmlinux ------------------------------------------------------------------------------------
# Like the kernel's scripts/extract-vmlinux: find a compression magic inside the bzImage, try to
# decompress from there, keep the first result that is an ELF file.
VMLINUZ="$POOL/boot/vmlinuz-$KVER"
[ -f "$VMLINUZ" ] || die "no /boot/vmlinuz-$KVER in $KPKG"
extract_vmlinux() {
  local magic tool off
  for pair in '\xfd7zXZ\x00:xz -dc' '\x1f\x8b\x08:gzip -dc' '\x28\xb5\x2f\xfd:zstd -dc' '\x02\x21\x4c\x18:lz4 -dc' \
              '\x5d\x00\x00\x00:xz -F lzma -dc' 'BZh:bzip2 -dc'; do
    magic=${pair%%:*}; tool=${pair#*:}
    command -v "${tool%% *}" >/dev/null || continue
    for off in $(LC_ALL=C grep -obUaP "$magic" "$VMLINUZ" | cut -d: -f1); do
      tail -c +$((off + 1)) "$VMLINUZ" | $tool > "$WORK/vmlinux" 2>/dev/null || true
      if [ "$(head -c 4 "$WORK/vmlinux" | od -An -c | tr -d ' ')" = '177ELF' ]; then
        say "vmlinux: ${tool%% *} payload at offset $off, $(( $(stat -c %s "$WORK/vmlinux") / 1048576 )) MB"
        return 0
      fi
    done
  done
  return 1
}
extract_vmlinux || die "no compressed ELF kernel found in $VMLINUZ"

# --- modules ------------------------------------------------------------------------------------
# Shipped in the initramfs with their dependencies (modprobe --show-depends). Only BOOT_MODULES load
# at boot (the NICs; loading all of them costs about 1.5 s under TCG); the kernel loads the others
# on first use through /sbin/modprobe (rtnl-link-*, nft-expr-*, net-pf-*, char-major-108, ...).
BOOT_MODULES=(virtio_mmio virtio_net)
MODULES=(virtio_mmio virtio_net af_packet
  ipv6 tunnel6 ip6_tunnel ipip sit 8021q dummy veth bridge wireguard
  slhc ppp_generic ppp_async pppox pppoe
  nf_conntrack nf_nat nf_tables nft_ct nft_chain_nat nft_nat nft_masq nft_redir
  nft_fib nft_fib_inet nft_fib_ipv4 nft_fib_ipv6 nft_reject nft_reject_inet nft_reject_ipv4 nft_reject_ipv6
  nft_limit nft_log nft_quota nft_numgen nft_hash nft_tproxy nft_socket nf_log_syslog nfnetlink_log)
MODDIR="lib/modules/$KVER"
depmod -b "$POOL" "$KVER"
mkdir -p "$ROOT/usr/$MODDIR"
kos=$(for m in "${MODULES[@]}"; do modprobe --show-depends -d "$POOL" -S "$KVER" "$m" || die "module $m: not found in $KPKG"; done \
      | sed -n 's/^insmod \([^ ]*\).*/\1/p' | awk '!seen[$0]++')
for ko in $kos; do
  rel=${ko#"$POOL"/}; rel=${rel#usr/}
  mkdir -p "$ROOT/usr/$(dirname "$rel")"
  cp "$ko" "$ROOT/usr/$rel"
done
cp "$POOL/$MODDIR"/modules.{builtin,builtin.modinfo,order} "$ROOT/usr/$MODDIR/"
nko=$(echo "$kos" | wc -l)

# --- user space ---------------------------------------------------------------------------------
# Merged /usr layout; files from the packages' /bin, /sbin, /lib land under /usr.
mkdir -p "$ROOT"/usr/{bin,sbin,lib64,lib/x86_64-linux-gnu} "$ROOT"/{dev,proc,sys,run,tmp,etc/kairo-guest,etc/ppp,root,mnt}
for d in bin sbin lib lib64; do ln -s "usr/$d" "$ROOT/$d"; done
mkdir -p "$ROOT/var/log"; ln -s ../run "$ROOT/var/run"; ln -s ../run/lock "$ROOT/var/lock"
chmod 1777 "$ROOT/tmp"
usrpath() { local r=${1#/}; r=${r#usr/}; echo "usr/$r"; }
pool_find() { local r=${1#/}; for c in "$POOL/$r" "$POOL/usr/$r" "$POOL/${r#usr/}"; do [ -e "$c" ] && { echo "$c"; return; }; done; return 1; }
LOADER="$POOL/lib64/ld-linux-x86-64.so.2"
LIBPATH="$POOL/lib/x86_64-linux-gnu:$POOL/usr/lib/x86_64-linux-gnu"
add_elf() {  # $1 = path in the guest (as the package has it); copies it and the libraries it loads
  local src dst lib
  src=$(pool_find "$1") || die "$1 not in the unpacked packages"
  dst="$ROOT/$(usrpath "$1")"
  mkdir -p "$(dirname "$dst")"; cp -L "$src" "$dst"
  "$LOADER" --library-path "$LIBPATH" --list "$src" > "$WORK/ldd" || die "cannot resolve libraries of $1"
  ! grep -q 'not found' "$WORK/ldd" || die "$1: $(grep 'not found' "$WORK/ldd" | tr -d '\t' | tr '\n' ' ')"
  for lib in $(sed -n 's/^.*=> \(\/[^ ]*\) (0x.*/\1/p' "$WORK/ldd"); do
    [ -e "$ROOT/usr/lib/x86_64-linux-gnu/$(basename "$lib")" ] || cp -L "$lib" "$ROOT/usr/lib/x86_64-linux-gnu/"
  done
}
cp -L "$LOADER" "$ROOT/usr/lib64/ld-linux-x86-64.so.2"
PPPLUGDIR=$(cd "$POOL/usr/lib/pppd" && ls -d */ | head -1); PPPLUGDIR=${PPPLUGDIR%/}
for b in /bin/busybox /bin/ip /bin/ss /sbin/bridge /sbin/tc /usr/sbin/nft /bin/kmod /usr/sbin/pppd /usr/sbin/pppoe-discovery \
         /usr/sbin/pppoe /usr/sbin/pppoe-server /usr/sbin/pppoe-relay /usr/bin/wg /usr/sbin/radvd "/usr/lib/pppd/$PPPLUGDIR/rp-pppoe.so"; do
  add_elf "$b"
done
for t in modprobe insmod rmmod lsmod depmod modinfo; do ln -s ../bin/kmod "$ROOT/usr/sbin/$t"; done
# busybox for everything else (the dynamic build runs real ip/modprobe/nft when they exist).
"$LOADER" --library-path "$LIBPATH" "$POOL/bin/busybox" --list-full > "$WORK/applets"
napplets=0
while read -r a; do
  d="$ROOT/$(usrpath "$a")"
  [ -e "$d" ] || [ -L "$d" ] || [ -e "$ROOT/usr/bin/$(basename "$a")" ] || [ -e "$ROOT/usr/sbin/$(basename "$a")" ] || { mkdir -p "$(dirname "$d")"; ln -s /usr/bin/busybox "$d"; napplets=$((napplets + 1)); }
done < "$WORK/applets"
cp "$POOL"/etc/{protocols,services,ethertypes} "$ROOT/etc/" 2>/dev/null || cp "$POOL"/etc/{protocols,services} "$ROOT/etc/"
[ -d "$POOL/etc/iproute2" ] && cp -r "$POOL/etc/iproute2" "$ROOT/etc/" || true
[ -d "$POOL/usr/share/iproute2" ] && mkdir -p "$ROOT/usr/share" && cp -r "$POOL/usr/share/iproute2" "$ROOT/usr/share/" || true
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$ROOT/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$ROOT/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$ROOT/etc/hosts"
: > "$ROOT/etc/ppp/options"     # Debian's default options (auth, crtscts, modem, lock) do not fit a lab
touch "$ROOT/etc/ppp/pap-secrets" "$ROOT/etc/ppp/chap-secrets"; chmod 600 "$ROOT"/etc/ppp/*-secrets
printf '%s\n' "${BOOT_MODULES[@]}" > "$ROOT/etc/kairo-guest/modules"
printf '%s\n' "${MODULES[@]}" > "$ROOT/etc/kairo-guest/modules.available"
echo "$KVER" > "$ROOT/etc/kairo-guest/kernel"

# kairo-retry N CMD...: runs CMD until it succeeds, at most N times, 0.5 s apart.
cat > "$ROOT/usr/bin/kairo-retry" <<'EOF'
#!/bin/sh
n=$1; shift
while [ "$n" -gt 0 ]; do "$@" && exit 0; n=$((n - 1)); [ "$n" -gt 0 ] && sleep 0.5; done
exit 1
EOF
cat > "$ROOT/init" <<'EOF'
#!/bin/sh
# kairo full-kernel guest (generated by scripts/guest-kernel.sh). Console protocol, one line each:
#   KAIRO-GUEST-INIT uptime=S   init started        KAIRO-GUEST-READY   NICs up, /test.sh starts
#   KAIRO-RESULT key=value      printed by tests    KAIRO-GUEST-EXIT rc=N   /test.sh finished
# /etc/kairo-guest/nics ("MAC NAME" lines) renames the NICs; /etc/kairo-guest/hostname.
# With /etc/kairo-guest/hold the guest then waits for one console line, runs /after.sh
# (KAIRO-GUEST-AFTER rc=N), and powers off.
export PATH=/usr/sbin:/usr/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts -o ptmxmode=0666,gid=5,mode=620 devpts /dev/pts
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/lock /run/netns /run/pppd
echo 1 > /proc/sys/kernel/printk
read -r up _ < /proc/uptime; echo "KAIRO-GUEST-INIT uptime=$up"
# /etc/kairo-guest/modules: the base image's list; modules.extra: added per guest by the host.
modprobe -a $(cat /etc/kairo-guest/modules /etc/kairo-guest/modules.extra 2>/dev/null) || echo "KAIRO-GUEST-WARN modprobe failed"
[ -e /dev/ppp ] || mknod /dev/ppp c 108 0   # opening it loads ppp_generic (char-major-108)
[ -f /etc/kairo-guest/hostname ] && read -r h < /etc/kairo-guest/hostname && hostname "$h"
ip link set lo up
# NICs get the names the host chose, matched by MAC address ("MAC NAME" lines).
if [ -f /etc/kairo-guest/nics ]; then
  n=0
  while read -r mac name; do
    [ -n "$mac" ] || continue
    dev=""
    i=0
    while [ -z "$dev" ] && [ $i -lt 50 ]; do
      for p in /sys/class/net/*; do read -r a < "$p/address"; [ "$a" = "$mac" ] && dev=${p##*/}; done
      [ -n "$dev" ] || { sleep 0.1; i=$((i + 1)); }
    done
    if [ -z "$dev" ]; then echo "KAIRO-GUEST-WARN no NIC with MAC $mac"; continue; fi
    [ "$dev" = "$name" ] || ip link set dev "$dev" name "$name"
    ip link set dev "$name" up
  done < /etc/kairo-guest/nics
fi
read -r up _ < /proc/uptime; echo "KAIRO-GUEST-READY uptime=$up"
rc=0
if [ -f /test.sh ]; then
  cd /root
  sh /test.sh < /dev/null 2>&1
  rc=$?
fi
read -r up _ < /proc/uptime; echo "KAIRO-GUEST-EXIT rc=$rc uptime=$up"
if [ -f /etc/kairo-guest/hold ]; then
  echo "KAIRO-GUEST-HOLD"
  read -r _line
  arc=0
  [ -f /after.sh ] && { sh /after.sh < /dev/null 2>&1; arc=$?; }
  echo "KAIRO-GUEST-AFTER rc=$arc"
fi
sync
poweroff -f
sleep 5
echo o > /proc/sysrq-trigger
EOF
chmod 755 "$ROOT/init" "$ROOT/usr/bin/kairo-retry"
depmod -b "$ROOT" "$KVER"

(cd "$ROOT" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 > "$WORK/base.cpio")
say "initramfs: $nko modules, $napplets busybox applets, $(( $(stat -c %s "$WORK/base.cpio") / 1048576 )) MB"

{
  echo "kernel=$KVER"
  echo "kernel_package=$KPKG $(apt-cache policy "$KPKG" | sed -n 's/^  Candidate: //p')"
  echo "stamp=$STAMP"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "packages=$(cd "$DEBS" && ls *.deb | sed 's/_amd64\.deb$\|_all\.deb$//' | tr '\n' ' ')"
  echo "modules=$(for ko in $kos; do basename "$ko" .ko; done | tr '\n' ' ')"
  echo "base_cpio_bytes=$(stat -c %s "$WORK/base.cpio")"
} > "$WORK/manifest"
mv -f "$WORK/vmlinux" "$CACHE/vmlinux"
mv -f "$WORK/base.cpio" "$CACHE/base.cpio"
mv -f "$WORK/manifest" "$CACHE/manifest"
echo "$STAMP" > "$CACHE/stamp"
say "done: $CACHE/{vmlinux,base.cpio}"
