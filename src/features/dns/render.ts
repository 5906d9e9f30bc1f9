// unbound's files and kairo's own unit for it. The main file holds what unbound only takes at a
// restart (the addresses it listens on, who may ask, upstreams); local names and the block list
// live in files it includes, which `unbound-control reload_keep_cache` rereads without dropping
// the cache.
import { type Artifact, unitText } from '../../render/artifact.js';
import type { DnsModel } from './model.js';

export const UNBOUND_DIR = '/etc/kairo/unbound';
export const UNBOUND_CONF = `${UNBOUND_DIR}/unbound.conf`;
export const LOCAL_CONF = `${UNBOUND_DIR}/local.conf`;
export const BLOCKLIST_CONF = `${UNBOUND_DIR}/blocklist.conf`;
export const UNBOUND_UNIT = 'kairo-unbound.service';
export const UNIT_PATH = `/etc/systemd/system/${UNBOUND_UNIT}`;
export const CONTROL_SOCKET = '/run/kairo-unbound/control.sock';
// Debian's dns-root-data: the root servers' addresses and the root zone's trust anchor, kept
// current by Debian's updates (the 2018 key rollover came that way). Read-only, so the checker can
// read them before the first apply; the lab lays its own root over these two paths.
export const ROOT_HINTS = '/usr/share/dns/root.hints';
export const ROOT_KEY = '/usr/share/dns/root.key';
export const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

const TTL = 300;

function mainConf(m: DnsModel, head: string): string {
  const l: string[] = [];
  const say = (s: string) => l.push(`\t${s}`);
  l.push(head.trimEnd(), '', 'server:');
  l.push('\t# Only the router\'s addresses on the served links, never the wildcard: no answer on the uplink.');
  say('interface-automatic: no');
  for (const k of m.links) for (const a of [...k.v4, ...k.v6]) say(`interface: ${a}  # ${k.path}`);
  say('port: 53');
  l.push('\t# Listen before networkd has put the addresses (boot order): the kernel binds them in advance.');
  say('ip-freebind: yes');
  l.push('\t# Clients of the served links only; everyone else is refused, whatever the firewall lets in.');
  say('access-control: 0.0.0.0/0 refuse');
  say('access-control: ::/0 refuse');
  say('access-control: 127.0.0.0/8 allow');
  say('access-control: ::1/128 allow');
  for (const k of m.links) for (const s of k.subnets) say(`access-control: ${s} allow  # ${k.path}`);
  l.push('\t# Started as root to bind port 53, then runs as Debian\'s unbound user; no chroot, no pid file (systemd).');
  say('username: "unbound"');
  say('chroot: ""');
  say(`directory: "${UNBOUND_DIR}"`);
  say('pidfile: ""');
  say('use-syslog: no');
  say('log-time-ascii: yes');
  say('verbosity: 1');
  if (m.queryLog) {
    l.push('\t# query-log: every query and its reply, to the journal.');
    say('log-queries: yes');
    say('log-replies: yes');
  }
  say('hide-identity: yes');
  say('hide-version: yes');
  say('prefetch: yes');
  if (m.cacheSize) {
    say(`rrset-cache-size: ${m.cacheSize}`);
    const n = Number(m.cacheSize.replace(/[km]$/, ''));
    say(`msg-cache-size: ${Math.max(1, Math.floor(n / 2))}${m.cacheSize.replace(/^\d+/, '')}`);
  }
  if (m.dnssec) say(`trust-anchor-file: "${ROOT_KEY}"`);
  else say('module-config: "iterator"');
  if (m.forwarders.length === 0) say(`root-hints: "${ROOT_HINTS}"`);
  if (m.tls) {
    l.push('\t# DNS-over-TLS upstreams: their certificate must chain to a system CA and carry the name given.');
    say(`tls-cert-bundle: "${CA_BUNDLE}"`);
  }
  l.push(`\t# The local domain: names kairo does not declare under it do not exist (never asked upstream).`);
  say(`local-zone: "${m.domain}." static`);
  say(`include: "${LOCAL_CONF}"`);
  say(`include: "${BLOCKLIST_CONF}"`);
  l.push('', '# `unbound-control reload_keep_cache` (the unit\'s reload) talks to this socket; root only.', 'remote-control:');
  say('control-enable: yes');
  say(`control-interface: "${CONTROL_SOCKET}"`);
  say('control-use-cert: no');
  if (m.forwarders.length) {
    l.push('', `# Every name not local goes to ${m.tls ? 'these resolvers over TLS' : 'these resolvers'}.`, 'forward-zone:');
    say('name: "."');
    if (m.tls) say('forward-tls-upstream: yes');
    for (const f of m.forwarders) say(`forward-addr: ${f.address}@${f.port}${f.tlsName ? `#${f.tlsName}` : ''}`);
  }
  return `${l.join('\n')}\n`;
}

function localConf(m: DnsModel, head: string): string {
  const l = [head.trimEnd(), '# Local names: dns.hosts and the DHCP reservations, forward and reverse.', 'server:'];
  for (const n of m.names) {
    for (const a of n.v4) l.push(`\tlocal-data: "${n.name}. ${TTL} IN A ${a}"`, `\tlocal-data-ptr: "${a} ${TTL} ${n.name}."`);
    for (const a of n.v6) l.push(`\tlocal-data: "${n.name}. ${TTL} IN AAAA ${a}"`, `\tlocal-data-ptr: "${a} ${TTL} ${n.name}."`);
  }
  return `${l.join('\n')}\n`;
}

/**
 * One `local-zone` line per domain: unbound keeps local zones in a tree it builds as it reads, so
 * 100 000 domains load in about a tenth of a second (local-data records would be several times
 * that). always_nxdomain answers NXDOMAIN for the name and every name below it.
 */
function blocklistConf(m: DnsModel, head: string): string {
  const lines = m.blocklist.map((d) => `\tlocal-zone: "${d}." always_nxdomain\n`);
  return `${head.trimEnd()}\n# dns.blocklist: ${m.blocklist.length} domain${m.blocklist.length === 1 ? '' : 's'} answered NXDOMAIN, with every name below them.\nserver:\n${lines.join('')}`;
}

function unit(head: string, site: string): string {
  return `${head}[Unit]
Description=${unitText(`kairo: DNS resolver (unbound) for site ${site}`)}
Documentation=man:unbound(8) man:unbound.conf(5)
After=kairo-boot.service network-pre.target
Before=nss-lookup.target
Wants=nss-lookup.target
Conflicts=unbound.service

[Service]
RuntimeDirectory=kairo-unbound
# unbound's own check first: a file it refuses never replaces a running resolver's.
ExecStartPre=/usr/sbin/unbound-checkconf ${UNBOUND_CONF}
ExecStart=/usr/sbin/unbound -d -p -c ${UNBOUND_CONF}
# Rereads the files and keeps the cache (local names and the block list change this way).
ExecReload=/usr/sbin/unbound-control -c ${UNBOUND_CONF} reload_keep_cache
Restart=on-failure
RestartSec=2

[Install]
WantedBy=multi-user.target
`;
}

export function renderDns(m: DnsModel, head: string, site: string): Artifact[] {
  const a = (path: string, content: string): Artifact => ({ path, content, mode: 0o644, owner: 'dns', reload: 'none' });
  return [a(UNBOUND_CONF, mainConf(m, head)), a(LOCAL_CONF, localConf(m, head)), a(BLOCKLIST_CONF, blocklistConf(m, head)), a(UNIT_PATH, unit(head, site))];
}
