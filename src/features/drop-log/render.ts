// ulogd2's configuration, kairo's unit for it, the id map and the rotation. One stack: NFLOG (the
// firewall's group) → BASE (packet fields) → IFINDEX (device names) → IP2STR (addresses as text)
// → JSON, one object a line, written at once (sync) so that a line is on disk when the packet is
// dropped and a reader (`kairo logs drops --follow`) sees it.
import { type Artifact, unitText } from '../../render/artifact.js';
import { MODULES_LOAD_PATH as MODULES_LOAD } from '../../render/ruleset.js';
import type { DropLogEntry } from '../firewall/nflog.js';
import type { DropLogModel } from './model.js';

export const ULOGD_CONF = '/etc/kairo/ulogd.conf';
export const DROP_LOG_MAP = '/etc/kairo/drop-log.json';
export const DROP_LOG_DIR = '/var/log/kairo';
export const DROP_LOG = `${DROP_LOG_DIR}/drops.json`;
export const ULOGD_UNIT = 'kairo-ulogd.service';
export const UNIT_PATH = `/etc/systemd/system/${ULOGD_UNIT}`;
export const LOGROTATE = '/etc/logrotate.d/kairo-drops';

function ulogdConf(m: DropLogModel, head: string): string {
  const plugins = ['inppkt_NFLOG', 'raw2packet_BASE', 'filter_IFINDEX', 'filter_IP2STR', 'output_JSON'];
  return `${head.trimEnd()}
# The drop log: the firewall's logged drops (NFLOG group ${m.spec.group}) as JSON lines in ${DROP_LOG}.
# Each line's oob.prefix is "kairo ID PAIR PATH" (or "kairo ID"): ${DROP_LOG_MAP} maps ID to the rule.
[global]
logfile="stdout"
loglevel=5
${plugins.map((p) => `plugin="${m.pluginDir}/ulogd_${p}.so"`).join('\n')}
stack=log1:NFLOG,base1:BASE,ifi1:IFINDEX,ip2str1:IP2STR,json1:JSON

[log1]
group=${m.spec.group}

[json1]
file="${DROP_LOG}"
sync=1
`;
}

function unit(head: string, site: string, m: DropLogModel): string {
  return `${head}[Unit]
Description=${unitText(`kairo: drop log (ulogd2, NFLOG group ${m.spec.group} to ${DROP_LOG}) for site ${site}`)}
Documentation=man:ulogd(8)
After=kairo-boot.service
Conflicts=ulogd2.service

[Service]
# /var/log/kairo, made by systemd; ulogd has no check mode of its own (its -i only describes a plugin).
LogsDirectory=kairo
ExecStart=/usr/sbin/ulogd -c ${ULOGD_CONF}
Restart=on-failure
RestartSec=2

[Install]
WantedBy=multi-user.target
`;
}

/**
 * Disk use is bounded twice: the firewall writes at most \`rate\` lines a second per logging rule
 * (about 700 bytes each), and logrotate keeps \`files\` rotated files of \`size\`. copytruncate:
 * ulogd appends (O_APPEND), so it goes on writing at the start of the emptied file, no signal needed.
 */
function logrotate(head: string, m: DropLogModel): string {
  return `${head}${DROP_LOG} {
\tsize ${m.keep.size}
\trotate ${m.keep.files}
\tcopytruncate
\tcompress
\tdelaycompress
\tmissingok
\tnotifempty
}
`;
}

/** The id map `kairo logs drops` reads from the applied generation: id → path, pair, action. */
export function mapFile(entries: DropLogEntry[]): string {
  return `${JSON.stringify({ version: 1, entries: Object.fromEntries(entries.map((e) => [e.id, { path: e.path, name: e.name, from: e.from, to: e.to, action: e.action, label: e.label }])) }, null, 2)}\n`;
}


export function renderDropLog(m: DropLogModel, head: string, site: string): Artifact[] {
  const a = (path: string, content: string): Artifact => ({ path, content, mode: 0o644, owner: 'drop-log', reload: 'none' });
  // `log group` in an inet table needs nfnetlink_log loaded already: the kernel does not load it
  // for the inet family by itself (there is no nf-logger alias for it), so a fresh boot would
  // refuse the ruleset. systemd-modules-load loads it before kairo-boot; apply and boot load it too.
  return [a(ULOGD_CONF, ulogdConf(m, head)), a(DROP_LOG_MAP, mapFile(m.entries)), a(UNIT_PATH, unit(head, site, m)), a(LOGROTATE, logrotate(head, m)), a(MODULES_LOAD, `${head}nfnetlink_log\n`)];
}
