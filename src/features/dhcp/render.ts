// Kea's configuration files (JSON; Kea accepts '#' comments) and kairo's own units for the two
// daemons. kairo's units run Debian's binaries on kairo's files under /etc/kairo/kea and take the
// place of Debian's own units (Conflicts=), so one server answers on the link.
import { type Artifact, unitText } from '../../render/artifact.js';
import { fromBig, rangeText } from './pools.js';
import type { DhcpLink, DhcpModel, LeaseDatabase, Subnet4, Subnet6 } from './model.js';
import { bounds } from './pools.js';

export const KEA_DIR = '/etc/kairo/kea';
export const KEA_STATE = '/var/lib/kairo/kea';
export const DHCP4_CONF = `${KEA_DIR}/dhcp4.json`;
export const DHCP6_CONF = `${KEA_DIR}/dhcp6.json`;
export const PD_ROUTES = '/usr/lib/kairo/kea-pd-routes';
export const DB_INIT = '/usr/lib/kairo/kea-db-init';
export const unit4 = 'kairo-dhcp4.service';
export const unit6 = 'kairo-dhcp6.service';
export const UNIT_DIR = '/etc/systemd/system';

type Json = Record<string, unknown>;

function leaseDatabase(db: LeaseDatabase, family: 4 | 6): Json {
  if (db.type === 'memfile') {
    // Persisted, and compacted hourly by kea-lfc: the file does not grow without bound.
    return { type: 'memfile', persist: true, name: `${KEA_STATE}/dhcp${family}.leases`, 'lfc-interval': 3600 };
  }
  return {
    type: db.type, host: db.host, ...(db.port ? { port: db.port } : {}), name: db.name, user: db.user, password: db.password.reveal(),
    // A database that is down at start or goes away must not stop DHCP for good.
    'max-reconnect-tries': 30, 'reconnect-wait-time': 2000, 'on-fail': 'serve-retry-continue',
  };
}

/** Option 121 (RFC 3442) as hex: the default route goes with it, since clients then ignore option 3. */
export function classlessRoutes(s: Subnet4): string {
  const enc = (prefix: number, net: bigint, via: string) => {
    const octets = Math.ceil(prefix / 8);
    const dest = Array.from({ length: octets }, (_, i) => Number((net >> BigInt(24 - 8 * i)) & 0xffn));
    const gw = via.split('.').map(Number);
    return [prefix, ...dest, ...gw].map((b) => b.toString(16).padStart(2, '0')).join(':');
  };
  return [...s.routes.map((r) => enc(r.to.prefix, bounds(r.to).lo, r.via)), enc(0, 0n, s.router)].join(':');
}

function option(name: string, data: string | undefined): Json[] {
  return data === undefined || data === '' ? [] : [{ name, data }];
}

/** What both families' subnets start with: the stable id, the link, the config path. */
function subnetHead(l: DhcpLink, s: Subnet4 | Subnet6): Json {
  return { id: s.id, subnet: s.subnet.network, interface: l.device, comment: `${l.path}.dhcp`, 'valid-lifetime': s.leaseTime };
}

function subnet4(l: DhcpLink, s: Subnet4): Json {
  return {
    ...subnetHead(l, s),
    pools: s.pools.map((r) => ({ pool: rangeText(r) })),
    'option-data': [
      ...option('routers', s.router),
      ...option('domain-name-servers', s.dns.join(', ')),
      ...option('domain-name', s.domain),
      ...option('domain-search', s.search.join(', ')),
      ...option('ntp-servers', s.ntp.join(', ')),
      ...option('interface-mtu', s.mtu?.toString()),
      ...(s.routes.length ? [{ code: 121, 'csv-format': false, data: classlessRoutes(s) }] : []),
    ],
    reservations: s.hosts.map((h) => ({ 'hw-address': h.mac!, ...(h.ipv4 ? { 'ip-address': h.ipv4 } : {}), hostname: h.name })),
  };
}

function subnet6(l: DhcpLink, s: Subnet6): Json {
  return {
    ...subnetHead(l, s),
    'preferred-lifetime': Math.floor(s.leaseTime * 0.625),
    pools: s.pools.map((r) => ({ pool: `${fromBig(r.lo, 6)}-${fromBig(r.hi, 6)}` })),
    'pd-pools': s.delegate ? [{ prefix: s.delegate.prefix.addr.toString(), 'prefix-len': s.delegate.prefix.prefix, 'delegated-len': s.delegate.length }] : [],
    'option-data': [
      ...option('dns-servers', s.dns.join(', ')),
      ...option('domain-search', s.search.join(', ')),
      ...option('sntp-servers', s.ntp.join(', ')),
    ],
    reservations: s.hosts.map((h) => ({
      ...(h.duid ? { duid: h.duid } : { 'hw-address': h.mac! }),
      ...(h.ipv6 ? { 'ip-addresses': [h.ipv6] } : {}),
      ...(h.prefix ? { prefixes: [h.prefix] } : {}),
      hostname: h.name,
    })),
  };
}

function keaFile(head: string, top: string, body: Json): string {
  // Kea reads '#' comments; the header says who wrote the file.
  return `${head}${JSON.stringify({ [top]: body }, null, 2)}\n`;
}

export function dhcp4Config(m: DhcpModel): Json | undefined {
  const links = m.links.filter((l) => l.v4);
  if (links.length === 0) return undefined;
  return {
    'interfaces-config': {
      interfaces: links.map((l) => l.device),
      // Links come up after Kea may start (networkd, bridges): keep trying rather than fail.
      'service-sockets-max-retries': 600,
      'service-sockets-retry-wait-time': 1000,
    },
    'control-socket': { 'socket-type': 'unix', 'socket-name': '/run/kairo-kea4/control.sock' },
    'lease-database': leaseDatabase(m.db, 4),
    'calculate-tee-times': true,
    // Clients whose link is not one of ours never get an answer (authoritative on our subnets).
    authoritative: true,
    subnet4: links.map((l) => subnet4(l, l.v4!)),
    loggers: [{ name: 'kea-dhcp4', 'output_options': [{ output: 'stdout', pattern: '%-5p %m\n' }], severity: 'INFO' }],
  };
}

export function dhcp6Config(m: DhcpModel): Json | undefined {
  const links = m.links.filter((l) => l.v6);
  if (links.length === 0) return undefined;
  const pd = links.some((l) => l.v6!.delegate || l.v6!.hosts.some((h) => h.prefix));
  return {
    'interfaces-config': { interfaces: links.map((l) => l.device), 'service-sockets-max-retries': 600, 'service-sockets-retry-wait-time': 1000 },
    'control-socket': { 'socket-type': 'unix', 'socket-name': '/run/kairo-kea6/control.sock' },
    // The server's DUID is kept here (Kea's default, /var/lib/kea, belongs to Debian's unit).
    'data-directory': KEA_STATE,
    'lease-database': leaseDatabase(m.db, 6),
    'calculate-tee-times': true,
    subnet6: links.map((l) => subnet6(l, l.v6!)),
    // A delegated prefix needs a route to the router it was delegated to; Kea does not install
    // routes, so a script does on every lease event (added on commit, removed on release/expiry).
    ...(pd ? { 'hooks-libraries': [{ library: '/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_run_script.so', parameters: { name: PD_ROUTES, sync: false } }] } : {}),
    loggers: [{ name: 'kea-dhcp6', 'output_options': [{ output: 'stdout', pattern: '%-5p %m\n' }], severity: 'INFO' }],
  };
}

/**
 * Kea refuses a file that names a link the system does not have yet, and at boot networkd creates
 * bridges after units may start: wait (up to a minute) for the served devices to exist.
 * `$$` is systemd's escape for a literal `$`.
 */
function waitForDevices(devices: string[]): string {
  return `/bin/sh -c 'for d in ${devices.join(' ')}; do n=0; until [ -e /sys/class/net/$$d ]; do n=$$((n+1)); [ $$n -lt 600 ] || { echo "kairo: no device $$d" >&2; exit 1; }; sleep 0.1; done; done'`;
}

/**
 * A lease database other than the file needs Kea's schema: kea-admin creates it the first time
 * and upgrades it after a Kea upgrade. Holds the password, so only root reads it.
 */
function dbInitScript(head: string, db: Exclude<LeaseDatabase, { type: 'memfile' }>): string {
  const q = (v: string) => `'${v.replaceAll("'", "'\\''")}'`;
  const args = `${db.type} -h ${q(db.host)}${db.port ? ` -P ${db.port}` : ''} -u ${q(db.user)} -p ${q(db.password.reveal())} -n ${q(db.name)}`;
  return `#!/bin/sh
${head}# Kea's schema in the ${db.type} lease database: created when missing, upgraded when old.
set -eu
if kea-admin db-version ${args} >/dev/null 2>&1; then
  exec kea-admin db-upgrade ${args}
else
  exec kea-admin db-init ${args}
fi
`;
}

function keaUnit(head: string, family: 4 | 6, site: string, devices: string[], db: LeaseDatabase): string {
  const bin = `/usr/sbin/kea-dhcp${family}`;
  const conf = family === 4 ? DHCP4_CONF : DHCP6_CONF;
  // The site name is a plain name (letters, digits, - and _): no systemd specifier can hide in it.
  return `${head}[Unit]
Description=${unitText(`kairo: DHCPv${family} server (Kea) for site ${site}`)}
Documentation=man:kea-dhcp${family}(8)
After=kairo-boot.service network-pre.target
Conflicts=kea-dhcp${family}-server.service

[Service]
Environment=KEA_PIDFILE_DIR=/run/kairo-kea${family} KEA_LOCKFILE_DIR=/run/kairo-kea${family}
RuntimeDirectory=kairo-kea${family}
StateDirectory=kairo/kea
ExecStartPre=${waitForDevices(devices)}
${db.type === 'memfile' ? '' : `ExecStartPre=${DB_INIT}\n`}# Kea's own check first: a file it refuses never replaces a running server's.
ExecStartPre=${bin} -t ${conf}
ExecStart=${bin} -c ${conf}
# SIGHUP rereads the file; leases stay (they live in the lease database).
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
RestartSec=2

[Install]
WantedBy=multi-user.target
`;
}

/**
 * The route for a delegated prefix, via the requesting router's address (what it sent the request
 * from), on every lease event of Kea's run_script hook.
 */
function pdRoutesScript(head: string): string {
  return `#!/bin/sh
${head}# Called by Kea's run_script hook: $1 is the hook point, the lease is in the environment (which
# is only Kea's variables: no PATH).
set -u
PATH=/usr/sbin:/usr/bin:/sbin:/bin
route() { # add|del PREFIX LEN VIA DEV
  [ -n "$2" ] && [ -n "$3" ] || return 0
  if [ "$1" = add ]; then ip -6 route replace "$2/$3" via "$4" dev "$5" proto dhcp; else ip -6 route del "$2/$3" proto dhcp 2>/dev/null; fi
}
case "$1" in
  leases6_committed)
    i=0
    while [ "$i" -lt "\${LEASES6_SIZE:-0}" ]; do
      eval "t=\\\${LEASES6_AT\${i}_TYPE:-} a=\\\${LEASES6_AT\${i}_ADDRESS:-} l=\\\${LEASES6_AT\${i}_PREFIX_LEN:-}"
      [ "$t" = IA_PD ] && route add "$a" "$l" "\${QUERY6_REMOTE_ADDR:-}" "\${QUERY6_IFACE_NAME:-}"
      i=$((i + 1))
    done
    i=0
    while [ "$i" -lt "\${DELETED_LEASES6_SIZE:-0}" ]; do
      eval "t=\\\${DELETED_LEASES6_AT\${i}_TYPE:-} a=\\\${DELETED_LEASES6_AT\${i}_ADDRESS:-} l=\\\${DELETED_LEASES6_AT\${i}_PREFIX_LEN:-}"
      [ "$t" = IA_PD ] && route del "$a" "$l"
      i=$((i + 1))
    done ;;
  lease6_release|lease6_expire|lease6_decline)
    [ "\${LEASE6_TYPE:-}" = IA_PD ] && route del "\${LEASE6_ADDRESS:-}" "\${LEASE6_PREFIX_LEN:-}" ;;
esac
exit 0
`;
}

export function renderDhcp(m: DhcpModel, head: string, site: string): Artifact[] {
  const out: Artifact[] = [];
  const sensitive = m.db.type !== 'memfile';
  const c4 = dhcp4Config(m);
  const c6 = dhcp6Config(m);
  if (c4) {
    out.push({ path: DHCP4_CONF, content: keaFile(head, 'Dhcp4', c4), mode: sensitive ? 0o600 : 0o644, owner: 'dhcp', reload: 'none', ...(sensitive ? { sensitive } : {}) });
    out.push({ path: `${UNIT_DIR}/${unit4}`, content: keaUnit(head, 4, site, m.links.filter((l) => l.v4).map((l) => l.device), m.db), mode: 0o644, owner: 'dhcp', reload: 'none' });
  }
  if (c6) {
    out.push({ path: DHCP6_CONF, content: keaFile(head, 'Dhcp6', c6), mode: sensitive ? 0o600 : 0o644, owner: 'dhcp', reload: 'none', ...(sensitive ? { sensitive } : {}) });
    out.push({ path: `${UNIT_DIR}/${unit6}`, content: keaUnit(head, 6, site, m.links.filter((l) => l.v6).map((l) => l.device), m.db), mode: 0o644, owner: 'dhcp', reload: 'none' });
    if (c6['hooks-libraries']) out.push({ path: PD_ROUTES, content: pdRoutesScript(head), mode: 0o755, owner: 'dhcp', reload: 'none' });
  }
  if (m.db.type !== 'memfile' && (c4 || c6)) out.push({ path: DB_INIT, content: dbInitScript(head, m.db), mode: 0o700, owner: 'dhcp', reload: 'none', sensitive: true });
  return out;
}
