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
            kea-dhcp4:kea-dhcp4-server kea-admin:kea-admin busybox:busybox unbound:unbound unbound-checkconf:unbound mariadbd:mariadb-server \
            rdisc6:ndisc6 openssl:openssl ulogd:ulogd2 prometheus:prometheus \
            softflowd:softflowd softflowctl:softflowd nfcapd:nfdump nfdump:nfdump nfexpire:nfdump; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
# unbound's root hints and trust anchor (a Recommends, which --no-install-recommends leaves out).
[ -e /usr/share/dns/root.key ] || need+=(dns-root-data)
# The drop log's JSON lines: ulogd2's JSON output plugin is a package of its own.
ls /usr/lib/*/ulogd/ulogd_output_JSON.so >/dev/null 2>&1 || need+=(ulogd2-json)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Daemons kairo runs under its own units (Kea, unbound, ulogd) must not start under Debian's on this
  # machine while installing: policy-rc.d says no for the duration.
  cleanup_policy() { if [ -n "${made_policy:-}" ]; then rm -f /usr/sbin/policy-rc.d; fi; }
  trap cleanup_policy EXIT
  if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; made_policy=1; fi
  apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${need[@]}" | sort -u) >/dev/null
  cleanup_policy; made_policy=
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
