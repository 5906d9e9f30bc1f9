#!/usr/bin/env bash
# Builds the lab's systemd guest: a Debian 12 disk image that Debian's stock kernel boots under
# QEMU (TCG) with systemd as PID 1, and kairo installed in it the way a user installs it (the
# `npm pack` tarball, `npm install -g`, Node.js 20 in /usr/local/bin). Used by src/lab/guest.ts
# (GuestSpec.systemd) for what needs both a kernel this host lacks and a real systemd: DS-Lite and
# PPPoE brought up by kairo's enabled units after a reboot.
#
#   $KAIRO_SYSTEM_CACHE/root/        the Debian root (mmdebstrap, minbase): systemd, udev, dbus,
#                                    nftables, iproute2, ppp, busybox, Debian's kernel and its
#                                    modules (drivers a VM never has left out), initramfs-tools;
#                                    networkd enabled, getty masked, persistent journal, the guest
#                                    agent (below)
#   $KAIRO_SYSTEM_CACHE/vmlinux      the uncompressed kernel (QEMU microvm boots it directly)
#   $KAIRO_SYSTEM_CACHE/initrd.img   initramfs-tools' initrd (MODULES=list: virtio, ext4)
#   $KAIRO_SYSTEM_CACHE/disk.img     raw ext4 (label kairo-root): the root plus kairo; QEMU opens
#                                    it with snapshot=on, so it is never written
#   $KAIRO_SYSTEM_CACHE/manifest     versions, sizes, build times
#
# Two stamps: the root by the hash of this script (a cold build, about 2 minutes); the disk image
# also by the hash of kairo's sources and the host's node (a warm rebuild: npm pack, npm install,
# mkfs.ext4 -d, about 30 s). A second run with nothing changed is a cache hit. Only the Debian
# mirror and the npm registry are used; nothing is installed on the host but mmdebstrap, QEMU and
# e2fsprogs when missing.
#
# The guest agent (kairo-guest-agent.service, after multi-user.target) is the test harness inside:
#   boot 1: kairo-guest-payload.service (before udev) unpacks the payload disk (a tar on the
#           virtio disk with serial "kairo-payload": the test's files, .link files naming the NICs,
#           /etc/kairo-guest/test.sh and after-reboot.sh); the agent runs test.sh, then
#           `systemctl reboot` (a real reboot: QEMU resets, the snapshot disk stays)
#   boot 2: the agent runs after-reboot.sh, then `systemctl poweroff`
# Console protocol (ttyS0): KAIRO-GUEST-BOOT n=N uptime=S, KAIRO-GUEST-INIT, KAIRO-GUEST-REBOOT,
# KAIRO-RESULT key=value, KAIRO-GUEST-EXIT rc=N.
#
# Env: KAIRO_SYSTEM_CACHE (default /var/cache/kairo-system), KAIRO_SYSTEM_REBUILD=1 (everything),
#      KAIRO_SYSTEM_NODE (default /usr/bin/node).
set -euo pipefail

CACHE=${KAIRO_SYSTEM_CACHE:-/var/cache/kairo-system}
SELF=$(readlink -f "$0")
REPO=$(cd "$(dirname "$SELF")/.." && pwd)
NODE=${KAIRO_SYSTEM_NODE:-/usr/bin/node}
t0=$(date +%s%N)
ms() { echo $(( ($(date +%s%N) - t0) / 1000000 )); }
say() { printf 'guest-image: [%6s ms] %s\n' "$(ms)" "$*"; }
die() { echo "guest-image: error: $*" >&2; exit 1; }

SUITE=bookworm
PACKAGES=(systemd systemd-sysv udev dbus kmod initramfs-tools linux-image-amd64 nftables iproute2 iputils-ping
  procps ppp busybox libstdc++6 ca-certificates netbase kea-dhcp4-server kea-dhcp6-server unbound dns-root-data)
# What a VM with virtio devices never loads: about 300 MB of the kernel package's 400.
MODULE_EXCLUDES=(drivers/gpu drivers/media drivers/infiniband drivers/net/wireless drivers/net/ethernet drivers/staging
  drivers/usb drivers/scsi drivers/iio drivers/hid drivers/input drivers/bluetooth drivers/isdn drivers/mtd drivers/platform
  drivers/mfd drivers/hwmon drivers/misc drivers/nfc drivers/net/can drivers/net/usb drivers/net/dsa drivers/md drivers/target
  drivers/thunderbolt drivers/w1 drivers/leds drivers/power drivers/rtc drivers/pinctrl drivers/spi drivers/i2c drivers/gnss
  drivers/comedi drivers/ata drivers/nvme drivers/firewire drivers/crypto drivers/edac drivers/fpga drivers/mmc
  drivers/pcmcia drivers/atm drivers/video drivers/watchdog arch/x86/kvm sound net/wireless net/mac80211 net/bluetooth fs/ocfs2
  fs/btrfs fs/xfs fs/gfs2 fs/nfs fs/nfsd fs/ceph fs/smb fs/cifs fs/f2fs fs/reiserfs fs/jfs fs/ubifs fs/ntfs3 fs/nilfs2)
ROOT_STAMP=$(sha256sum "$SELF" | cut -c1-16)

# kairo's identity: what `npm pack` puts in the tarball is built from these.
kairo_hash() {
  (cd "$REPO" && find src bin package.json package-lock.json tsconfig.json scripts/build.sh -type f 2>/dev/null | LC_ALL=C sort | xargs sha256sum) \
    | { cat; sha256sum "$NODE" 2>/dev/null || true; } | sha256sum | cut -c1-16
}
IMAGE_STAMP="$ROOT_STAMP $(kairo_hash)"

root_cached() {
  [ "${KAIRO_SYSTEM_REBUILD:-0}" != 1 ] && [ -x "$CACHE/root/usr/lib/systemd/systemd" ] && [ -s "$CACHE/vmlinux" ] \
    && [ -s "$CACHE/initrd.img" ] && [ "$(cat "$CACHE/root.stamp" 2>/dev/null)" = "$ROOT_STAMP" ]
}
image_cached() {
  root_cached && [ -s "$CACHE/disk.img" ] && [ "$(cat "$CACHE/image.stamp" 2>/dev/null)" = "$IMAGE_STAMP" ] \
    && command -v qemu-system-x86_64 >/dev/null
}
hit() { say "cache hit: $CACHE/disk.img ($(sed -n 's/^kernel=//p' "$CACHE/manifest" 2>/dev/null), kairo $(sed -n 's/^kairo=//p' "$CACHE/manifest" 2>/dev/null))"; exit 0; }
image_cached && hit

[ "$(id -u)" = 0 ] || die "building needs root (apt-get, mmdebstrap, ${CACHE})"
[ "$(dpkg --print-architecture 2>/dev/null)" = amd64 ] || die "only amd64 hosts are supported"
[ -x "$NODE" ] || die "no Node.js at $NODE (kairo needs Node 20; it is copied into the image)"
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock -w 900 9 || die "another build holds $CACHE/.lock"
image_cached && hit   # built by another run while this one waited for the lock

export DEBIAN_FRONTEND=noninteractive
apt_updated=0
apt_update() { [ $apt_updated = 1 ] || { say "apt-get update"; apt-get update -qq; apt_updated=1; }; }
need=()
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
command -v xz >/dev/null || need+=(xz-utils)
if [ ${#need[@]} -gt 0 ]; then
  say "installing host packages: ${need[*]}"
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 || { apt_update; apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }
fi

WORK=$(mktemp -d "$CACHE/build.XXXXXX")
cleanup() {
  local m
  for m in $(awk -v w="$WORK/" 'index($2, w) == 1 { print $2 }' /proc/self/mounts | sort -r); do umount -l "$m" 2>/dev/null || true; done
  rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT

# --- the guest agent (installed into the root) ---------------------------------------------------
write_agent() {
  local r=$1
  mkdir -p "$r/usr/local/sbin" "$r/etc/kairo-guest" "$r/var/lib/kairo-guest"
  cat > "$r/usr/local/sbin/kairo-guest-payload" <<'EOF'
#!/bin/sh
# Unpacks the payload disk (a tar on the virtio disk whose serial is kairo-payload) once, at the
# first boot, before udev names the NICs (the payload carries their .link files).
set -eu
[ -e /var/lib/kairo-guest/payload.done ] && exit 0
for s in /sys/block/vd*/serial; do
  [ -e "$s" ] || continue
  if [ "$(cat "$s")" = kairo-payload ]; then
    d=${s%/serial}; d=/dev/${d##*/}
    tar -x -f "$d" -C / --no-same-owner --preserve-permissions
    : > /var/lib/kairo-guest/payload.done
    sync
    # systemd set the image's hostname before this ran; the payload's counts from this boot on.
    [ -s /etc/hostname ] && hostname "$(cat /etc/hostname)"
    echo "kairo-guest-payload: unpacked $d" > /dev/ttyS0
    exit 0
  fi
done
echo "kairo-guest-payload: no payload disk" > /dev/ttyS0
EOF
  cat > "$r/usr/local/sbin/kairo-guest-agent" <<'EOF'
#!/bin/sh
# The test harness inside the systemd guest (see scripts/guest-image.sh). stdout is ttyS0.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
state=/var/lib/kairo-guest
n=$(cat $state/boots 2>/dev/null || echo 0); n=$((n + 1)); echo $n > $state/boots; sync
up() { cut -d' ' -f1 /proc/uptime; }
echo "KAIRO-GUEST-BOOT n=$n uptime=$(up)"
cd /root
if [ "$n" = 1 ]; then
  echo "KAIRO-GUEST-INIT uptime=$(up)"
  rc=0
  [ -f /etc/kairo-guest/test.sh ] && { sh /etc/kairo-guest/test.sh < /dev/null 2>&1; rc=$?; }
  if [ $rc = 0 ] && [ -f /etc/kairo-guest/after-reboot.sh ]; then
    sync
    echo "KAIRO-GUEST-REBOOT uptime=$(up)"
    systemctl reboot
    exit 0
  fi
else
  rc=0
  [ -f /etc/kairo-guest/after-reboot.sh ] && { sh /etc/kairo-guest/after-reboot.sh < /dev/null 2>&1; rc=$?; }
fi
echo "KAIRO-GUEST-EXIT rc=$rc uptime=$(up)"
sync
systemctl poweroff
EOF
  chmod 755 "$r/usr/local/sbin/kairo-guest-payload" "$r/usr/local/sbin/kairo-guest-agent"
  cat > "$r/etc/systemd/system/kairo-guest-payload.service" <<'EOF'
[Unit]
Description=kairo guest: unpack the test payload (first boot)
DefaultDependencies=no
After=local-fs.target systemd-remount-fs.service
Before=systemd-udev-trigger.service sysinit.target
ConditionPathExists=!/var/lib/kairo-guest/payload.done

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/kairo-guest-payload

[Install]
WantedBy=sysinit.target
EOF
  cat > "$r/etc/systemd/system/kairo-guest-agent.service" <<'EOF'
[Unit]
Description=kairo guest: the test harness (boot 1: test.sh and reboot; boot 2: after-reboot.sh and power off)
After=multi-user.target

[Service]
Type=exec
ExecStart=/usr/local/sbin/kairo-guest-agent
StandardInput=null
StandardOutput=tty
StandardError=inherit
TTYPath=/dev/ttyS0
TTYReset=no
TTYVHangup=no

[Install]
WantedBy=multi-user.target
EOF
}

# --- the Debian root -----------------------------------------------------------------------------
build_root() {
  local mirror=() t1 excludes=() m kver
  [ -f /etc/apt/sources.list.d/debian.sources ] && mirror=(/etc/apt/sources.list.d/debian.sources)
  for m in "${MODULE_EXCLUDES[@]}"; do excludes+=("--dpkgopt=path-exclude=/lib/modules/*/kernel/$m/*"); done
  t1=$(date +%s)
  say "mmdebstrap $SUITE: ${PACKAGES[*]}"
  # --setup-hook runs before any package is installed: initramfs-tools builds a small initrd (only
  # the listed modules) the first time, when the kernel package is configured.
  mmdebstrap --quiet --mode=root --variant=minbase --format=directory \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    "${excludes[@]}" \
    --include="$(IFS=,; echo "${PACKAGES[*]}")" \
    --setup-hook='mkdir -p "$1/etc/initramfs-tools/conf.d" && printf "MODULES=list\nCOMPRESS=zstd\n" > "$1/etc/initramfs-tools/conf.d/kairo-guest"' \
    --setup-hook='mkdir -p "$1/usr/share/initramfs-tools/modules.d" && printf "virtio_mmio\nvirtio_blk\nvirtio_pci\next4\n" > "$1/usr/share/initramfs-tools/modules.d/kairo-guest"' \
    --customize-hook='echo kairo-guest > "$1/etc/hostname"' \
    --customize-hook='printf "127.0.0.1 localhost\n127.0.1.1 kairo-guest\n::1 localhost\n" > "$1/etc/hosts"' \
    --customize-hook='printf "LABEL=kairo-root / ext4 rw,noatime 0 0\n" > "$1/etc/fstab"' \
    --customize-hook='mkdir -p "$1/var/log/journal"' \
    --customize-hook='chroot "$1" systemctl enable systemd-networkd.service' \
    --customize-hook='chroot "$1" systemctl disable kea-dhcp4-server.service kea-dhcp6-server.service unbound.service' \
    --customize-hook='chroot "$1" systemctl mask getty.target serial-getty@ttyS0.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    "$SUITE" "$WORK/root" "${mirror[@]}" >"$WORK/mmdebstrap.log" 2>&1 \
    || { tail -30 "$WORK/mmdebstrap.log" >&2; die "mmdebstrap failed (log above)"; }
  say "mmdebstrap done in $(( $(date +%s) - t1 )) s"
  # One machine-id for every guest of this image (each runs alone on a snapshot): no "first boot".
  printf '%s\n' "6b6169726f6775657374000000000001" > "$WORK/root/etc/machine-id"
  write_agent "$WORK/root"
  chroot "$WORK/root" systemctl enable kairo-guest-payload.service kairo-guest-agent.service >/dev/null 2>&1
  kver=$(ls "$WORK/root/lib/modules" | head -1)
  [ -n "$kver" ] && [ -f "$WORK/root/boot/vmlinuz-$kver" ] && [ -f "$WORK/root/boot/initrd.img-$kver" ] \
    || die "the root has no kernel and initrd (/boot: $(ls "$WORK/root/boot" | tr '\n' ' '))"
  extract_vmlinux "$WORK/root/boot/vmlinuz-$kver" "$WORK/vmlinux"
  cp "$WORK/root/boot/initrd.img-$kver" "$WORK/initrd.img"
  chroot "$WORK/root" dpkg-query -W -f='${Package}=${Version}\n' > "$WORK/packages"
  {
    echo "suite=$SUITE"
    echo "root_stamp=$ROOT_STAMP"
    echo "root_built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "root_build_seconds=$(( $(date +%s) - t1 ))"
    echo "kernel=$kver"
    echo "systemd=$(sed -n 's/^systemd=//p' "$WORK/packages")"
    echo "packages=$(wc -l < "$WORK/packages")"
    echo "root_bytes=$(du -sb "$WORK/root" | cut -f1)"
    echo "initrd_bytes=$(stat -c %s "$WORK/initrd.img")"
  } > "$WORK/root.manifest"
  rm -f "$CACHE/image.stamp" "$CACHE/root.stamp"
  [ -d "$CACHE/root" ] && mv "$CACHE/root" "$WORK/old-root"
  mv "$WORK/root" "$CACHE/root"
  mv -f "$WORK/vmlinux" "$CACHE/vmlinux"
  mv -f "$WORK/initrd.img" "$CACHE/initrd.img"
  mv -f "$WORK/packages" "$CACHE/packages"
  mv -f "$WORK/root.manifest" "$CACHE/root.manifest"
  echo "$ROOT_STAMP" > "$CACHE/root.stamp"
  say "root: $CACHE/root, $(( $(sed -n 's/^root_bytes=//p' "$CACHE/root.manifest") / 1048576 )) MB, $(wc -l < "$CACHE/packages") packages, kernel $kver"
}

# Like the kernel's scripts/extract-vmlinux (and scripts/guest-kernel.sh).
extract_vmlinux() {
  local in=$1 out=$2 pair magic tool off
  for pair in '\x28\xb5\x2f\xfd:zstd -dc' '\xfd7zXZ\x00:xz -dc' '\x1f\x8b\x08:gzip -dc' '\x5d\x00\x00\x00:xz -F lzma -dc' 'BZh:bzip2 -dc'; do
    magic=${pair%%:*}; tool=${pair#*:}
    command -v "${tool%% *}" >/dev/null || continue
    for off in $(LC_ALL=C grep -obUaP "$magic" "$in" | cut -d: -f1); do
      tail -c +$((off + 1)) "$in" | $tool > "$out" 2>/dev/null || true
      if [ "$(head -c 4 "$out" | od -An -c | tr -d ' ')" = '177ELF' ]; then
        say "vmlinux: ${tool%% *} payload at offset $off, $(( $(stat -c %s "$out") / 1048576 )) MB"
        return 0
      fi
    done
  done
  die "no compressed ELF kernel found in $in"
}

root_cached || build_root

# --- kairo, the way a user installs it, and the disk image ---------------------------------------
build_image() {
  local t1 tgz layer bytes size
  t1=$(date +%s)
  say "npm pack (builds dist/)"
  (cd "$REPO" && npm pack --silent --pack-destination "$WORK" >/dev/null) || die "npm pack failed"
  tgz=$(echo "$WORK"/kairo-*.tgz)
  layer="$WORK/layer"
  mkdir -p "$layer/usr/local/bin"
  cp "$NODE" "$layer/usr/local/bin/node"
  say "npm install -g $(basename "$tgz") into the image's /usr/local"
  npm install -g --prefix "$layer/usr/local" --no-audit --no-fund --loglevel=error "$tgz" >/dev/null || die "npm install of $tgz failed"
  [ -x "$layer/usr/local/lib/node_modules/kairo/bin/kairo.js" ] || die "the installed package has no bin/kairo.js"
  # The merged tree (the cached root, untouched, under kairo's layer) is written into a new ext4.
  bytes=$(( $(sed -n 's/^root_bytes=//p' "$CACHE/root.manifest") + $(du -sb "$layer" | cut -f1) ))
  size=$(( (bytes * 13 / 10 + 384 * 1048576) / 1048576 ))
  mkdir -p "$WORK/merged" "$WORK/upper" "$WORK/ovl"
  cp -a "$layer/." "$WORK/upper/"
  say "mkfs.ext4 -d: ${size} MB image"
  unshare --mount --propagation private sh -c '
    set -e
    mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3" "$4"
    mkfs.ext4 -q -F -L kairo-root -E root_owner=0:0 -d "$4" "$5" "$6M" >/dev/null
    ' sh "$CACHE/root" "$WORK/upper" "$WORK/ovl" "$WORK/merged" "$WORK/disk.img" "$size" \
    || die "mkfs.ext4 -d failed"
  mv -f "$WORK/disk.img" "$CACHE/disk.img"
  {
    cat "$CACHE/root.manifest"
    echo "kairo=$(tar -xzOf "$tgz" package/package.json | sed -n 's/^ *"version": "\(.*\)",$/\1/p' | head -1) $(basename "$tgz") $(sha256sum "$tgz" | cut -c1-16)"
    echo "node=$("$NODE" --version)"
    echo "image_stamp=$IMAGE_STAMP"
    echo "image_built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "image_build_seconds=$(( $(date +%s) - t1 ))"
    echo "image_bytes=$(stat -c %s "$CACHE/disk.img")"
    echo "image_used_bytes=$(du -B1 "$CACHE/disk.img" | cut -f1)"
  } > "$CACHE/manifest"
  echo "$IMAGE_STAMP" > "$CACHE/image.stamp"
  say "disk image: $CACHE/disk.img, ${size} MB ($(( $(du -B1 "$CACHE/disk.img" | cut -f1) / 1048576 )) MB used) in $(( $(date +%s) - t1 )) s"
}
build_image
say "done: $CACHE/{vmlinux,initrd.img,disk.img}"
