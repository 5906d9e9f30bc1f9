// Flow accounting with real softflowd and nfcapd in the router namespace of the home example: a LAN
// client sends a known number of bytes to an Internet host, and `kairo flows` shows that flow with
// the client's own address (softflowd watches the LAN, before NAT), the Internet host and at least
// the bytes sent (their TCP/IP headers on top, nothing like twice).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { labDown, upLab } from '../../src/lab/index.js';
import { stateDir } from '../../src/lab/run.js';
import { have, must, run } from '../../src/lib/exec.js';
import type { FlowRow } from '../../src/features/flows/query.js';
import { example, labSkip, root } from './helpers.js';

const skip = labSkip() || (['softflowd', 'softflowctl', 'nfcapd', 'nfdump', 'iperf3', 'nsenter', 'kea-dhcp4', 'unbound'].find((c) => !have(c))
  ? 'skipped: softflowd, nfdump, iperf3, Kea or unbound is not installed (scripts/setup.sh installs them)' : false);

const BYTES = 2_000_000;
const PORT = 5201;

// Its own site name, so its namespaces (kl-flowlab-*) never meet another lab's. Files rotate every
// 5 s so the test waits seconds, not the usual 5 minutes, for the flow to reach a closed file.
const site = () => example('home-router', (t) => t.replace('name: home\n', 'name: flowlab\n')
  .replace('\nnat:\n', '\nflows:\n  links: [lan]\n  local: { rotate: 5s, retention: 1h, max-size: 100M }\nnat:\n'));

/** The pid of the router-namespace process whose command line matches. */
function pidIn(ns: string, pattern: RegExp): string | undefined {
  return run('ip', ['netns', 'pids', ns]).stdout.split(/\s+/).filter(Boolean)
    .find((p) => pattern.test(run('cat', [`/proc/${p}/cmdline`]).stdout.replaceAll('\0', ' ')));
}

test('lab: traffic from a LAN client shows in kairo flows with its addresses and bytes (softflowd → nfcapd → nfdump)', { skip, timeout: 180_000 }, () => {
  const r = site();
  const { plan } = upLab(r, () => {});
  try {
    const router = plan.routers[0];
    assert.deepEqual(router.daemons.map((d) => d.unit).filter((u) => /softflowd|nfcapd/.test(u)).sort(), ['kairo-nfcapd.service', 'kairo-softflowd-lan.service']);
    const client = plan.hosts.find((h) => h.role === 'client')!;
    const clientAddr = client.addrs.map((a) => a[0].split('/')[0]).find((a) => /^10\.0\.0\./.test(a))!;
    const isp = plan.isp!;

    // A one-off iperf3 server on the Internet host; the client sends exactly BYTES of payload.
    const serverPid = run('sh', ['-c', `ip netns exec ${isp.ns} iperf3 -s -1 -B ${isp.internet4} -p ${PORT} >/dev/null 2>&1 & echo $!`]).stdout.trim();
    run('sleep', ['0.5']);
    must('iperf3', ['-c', isp.internet4, '-p', String(PORT), '-n', String(BYTES), '-B', clientAddr], { netns: client.ns, timeoutMs: 30_000 });
    run('kill', [serverPid]);

    // softflowd 1.1.0 reads its capture without libpcap's immediate mode: on a quiet link the last
    // packets wait in the capture ring until a block fills (irino/softflowd PR #71). Traffic of
    // another flow pushes them through (pings to the router, which the LAN may send), then every
    // flow is exported now rather than at its timeout.
    must('ping', ['-f', '-q', '-c', '4000', '-s', '1200', '10.0.0.1'], { netns: client.ns, timeoutMs: 30_000 });
    const sf = pidIn(router.ns, /^\/usr\/sbin\/softflowd /);
    assert.ok(sf, 'softflowd runs in the router namespace');
    must('nsenter', ['-t', sf!, '-m', '-n', 'softflowctl', '-c', '/run/kairo-softflowd-lan/ctl', 'expire-all']);

    // nfcapd closes its file within 5 s; kairo flows reads the closed files.
    const query = ['--target', `lab:flowlab:${router.node}`, '--host', clientAddr, '--port', String(PORT), '--json'];
    let rows: FlowRow[] = [];
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const out = run(process.execPath, [join(root, 'bin', 'kairo.js'), 'flows', ...query], { timeoutMs: 30_000 });
      assert.equal(out.code, 0, out.stderr);
      rows = (JSON.parse(out.stdout) as { flows: FlowRow[] }).flows;
      if (rows.some((f) => f.src === clientAddr && f.dst === isp.internet4 && f.bytes >= BYTES)) break;
      run('sleep', ['1']);
    }
    const flow = rows.find((f) => f.src === clientAddr && f.dst === isp.internet4 && f.dport === PORT && f.proto === 'tcp');
    assert.ok(flow, `a tcp flow ${clientAddr} → ${isp.internet4}:${PORT} in kairo flows; got ${JSON.stringify(rows)}`);
    // Payload plus 40-52 bytes of headers per ~1448-byte segment: a few percent more, never double.
    assert.ok(flow!.bytes >= BYTES && flow!.bytes < BYTES * 1.1, `bytes ${flow!.bytes} for ${BYTES} sent`);
    assert.ok(flow!.packets >= BYTES / 65536, `packets ${flow!.packets}`);
    // The data is on the router's disk, under the collector's budget.
    assert.match(run('ls', [join(stateDir(plan.prefix), `${router.node}-var`, 'upper', 'kairo', 'flows')]).stdout, /nfcapd\.\d{12}/);
  } finally {
    labDown(plan.prefix);
  }
});
