// kairo's units for flow accounting: one softflowd per watched link (it captures on one device),
// and the local collector nfcapd with its disk budget. They take the place of Debian's own units
// (Conflicts=), which read /etc/default files kairo does not write.
import { type Artifact, unitText } from '../../render/artifact.js';
import { collectorText, type FlowsLink, type FlowsModel, type LocalCollector } from './model.js';

export const FLOWS_DIR = '/var/lib/kairo/flows';
export const UNIT_DIR = '/etc/systemd/system';
export const NFCAPD_UNIT = 'kairo-nfcapd.service';

export const softflowdUnit = (l: FlowsLink) => `kairo-softflowd-${l.key}.service`;
/** Its runtime directory (control socket and pid file), under /run. */
export const softflowdRun = (l: FlowsLink) => `kairo-softflowd-${l.key}`;
/** The control socket `softflowctl -c` talks to (expire-all, statistics). */
export const softflowdSocket = (l: FlowsLink) => `/run/${softflowdRun(l)}/ctl`;

/** softflowd's named timeouts: idle ones from `idle`, and after FIN/RST no longer than that either. */
function timeouts(m: FlowsModel): string[] {
  return [
    `maxlife=${m.active}`, `general=${m.idle}`, `tcp=${m.idle}`, `udp=${m.idle}`, `icmp=${m.idle}`,
    `tcp.rst=${Math.min(m.idle, 120)}`, `tcp.fin=${Math.min(m.idle, 300)}`,
  ].flatMap((t) => ['-t', t]);
}

export function softflowdArgv(m: FlowsModel, l: FlowsLink): string[] {
  return [
    '/usr/sbin/softflowd', '-d', '-i', l.device,
    // Not promiscuous: the router accounts what it routes and receives, not what a switch floods past it.
    '-N',
    '-n', m.collectors.map(collectorText).join(','), '-v', String(m.version), '-m', String(m.maxFlows),
    ...timeouts(m),
    '-c', softflowdSocket(l), '-p', `/run/${softflowdRun(l)}/pid`,
  ];
}

function softflowdUnitText(head: string, site: string, m: FlowsModel, l: FlowsLink): string {
  // The site name and interface keys are plain names: no systemd specifier can hide in them.
  return `${head}[Unit]
Description=${unitText(`kairo: flow accounting (softflowd) on ${l.device} (${l.path}) for site ${site}`)}
Documentation=man:softflowd(8)
After=kairo-boot.service network-pre.target${m.local ? ` ${NFCAPD_UNIT}` : ''}
Conflicts=softflowd.service softflowd@${l.device}.service

[Service]
RuntimeDirectory=${softflowdRun(l)}
# -d: in the foreground, as systemd expects. The link may come up after this starts (networkd
# makes bridges late): softflowd then exits and systemd tries again.
ExecStart=${softflowdArgv(m, l).join(' ')}
Restart=on-failure
RestartSec=2

[Install]
WantedBy=multi-user.target
`;
}

export function nfcapdArgv(c: LocalCollector): string[] {
  // -e: after each file, delete the oldest until the directory fits the budget set below.
  return ['/usr/bin/nfcapd', '-w', FLOWS_DIR, '-b', '127.0.0.1', '-p', String(c.port), '-t', String(c.rotate), '-e'];
}

function nfcapdUnitText(head: string, site: string, c: LocalCollector): string {
  return `${head}[Unit]
Description=${unitText(`kairo: local flow collector (nfcapd) for site ${site}`)}
Documentation=man:nfcapd(1) man:nfexpire(1)
After=kairo-boot.service
Conflicts=nfdump.service

[Service]
StateDirectory=kairo/flows
# The disk budget lives in the directory's bookkeeping file (.nfstat): ${c.maxSize} bytes, ${c.retention / 60} minutes.
ExecStartPre=/usr/bin/nfexpire -u ${FLOWS_DIR} -s ${c.maxSize} -t ${c.retention / 60}M
ExecStart=${nfcapdArgv(c).join(' ')}
Restart=on-failure
RestartSec=2

[Install]
WantedBy=multi-user.target
`;
}

export function renderFlows(m: FlowsModel, head: string, site: string): Artifact[] {
  const unit = (name: string, content: string): Artifact => ({ path: `${UNIT_DIR}/${name}`, content, mode: 0o644, owner: 'flows', reload: 'none' });
  return [
    ...(m.local ? [unit(NFCAPD_UNIT, nfcapdUnitText(head, site, m.local))] : []),
    ...m.links.map((l) => unit(softflowdUnit(l), softflowdUnitText(head, site, m, l))),
  ];
}
