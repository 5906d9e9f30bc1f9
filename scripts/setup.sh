#!/usr/bin/env bash
# Installs what kairo needs on a fresh Debian 12 (as root), only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
# command:package — the renderer's checks need nft; the lab needs the rest (its routers run
# systemd-networkd with a private dbus-daemon, entered with nsenter).
for pair in nft:nftables ip:iproute2 ss:iproute2 dnsmasq:dnsmasq-base radvd:radvd ping:iputils-ping \
            nmap:nmap iperf3:iperf3 ethtool:ethtool iptables:iptables pppd:ppp systemd-analyze:systemd \
            networkctl:systemd dbus-daemon:dbus-daemon nsenter:util-linux kea-dhcp6:kea-dhcp6-server conntrack:conntrack \
            rdisc6:ndisc6; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${need[@]}" | sort -u) >/dev/null
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
