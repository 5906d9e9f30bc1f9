// Flow accounting's pure parts: nfdump's JSON as rows (IPv4 and IPv6, ports only where the protocol
// has them, nothing matched), the query's filter and window, top talkers, collectors, and the
// services the lab starts (nfcapd waited for on its port, softflowd on nothing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkQuery, formatFlows, nfdumpArgv, parseNfdumpJson, selectFlows, talkers } from '../../src/features/flows/query.js';
import { collectorText, parseCollector, sizeBytes } from '../../src/features/flows/model.js';
import { compileSite } from '../../src/pipeline.js';

import { sandboxScript } from '../../src/targets/sandbox.js';

// What nfdump 1.7.1 prints with -q -o json: records without the enclosing brackets.
const NFDUMP = `{
	"type" : "FLOW",
	"sampled" : 0,
	"export_sysid" : 1,
	"first" : "2026-11-22T10:56:38.957",
	"last" : "2026-11-22T10:56:38.962",
	"received" : "2026-11-22T10:56:43.001",
	"in_packets" : 67,
	"in_bytes" : 2100681,
	"proto" : 6,
	"tcp_flags" : "...AP.SF",
	"src_port" : 36053,
	"dst_port" : 5201,
	"fwd_status" : 0,
	"src_tos" : 0,
	"src4_addr" : "10.0.0.128",
	"dst4_addr" : "203.0.113.200",
	"ip4_router" : "127.0.0.1",
	"label" : "<none>"
},
{
	"type" : "FLOW",
	"first" : "2026-11-22T10:40:00.000",
	"last" : "2026-11-22T10:41:00.500",
	"in_packets" : 3962,
	"in_bytes" : 4865336,
	"proto" : 58,
	"icmp_type" : 128,
	"icmp_code" : 0,
	"src6_addr" : "fd00:1::10",
	"dst6_addr" : "2001:db8::1",
	"label" : "<none>"
},
{
	"type" : "FLOW",
	"first" : "2026-11-22T10:56:38.957",
	"last" : "2026-11-22T10:56:38.962",
	"in_packets" : 66,
	"in_bytes" : 3440,
	"proto" : 6,
	"src_port" : 5201,
	"dst_port" : 36053,
	"src4_addr" : "203.0.113.200",
	"dst4_addr" : "10.0.0.128"
}
`;

test("nfdump's JSON records become rows with addresses, protocol, ports, packets and bytes", () => {
  const rows = parseNfdumpJson(NFDUMP);
  assert.equal(rows.length, 3);
  assert.deepEqual(rows[0], { first: '2026-11-22T10:56:38.957', last: '2026-11-22T10:56:38.962', proto: 'tcp', src: '10.0.0.128', dst: '203.0.113.200', sport: 36053, dport: 5201, packets: 67, bytes: 2100681 });
  assert.deepEqual(rows[1], { first: '2026-11-22T10:40:00.000', last: '2026-11-22T10:41:00.500', proto: 'icmpv6', src: 'fd00:1::10', dst: '2001:db8::1', packets: 3962, bytes: 4865336 }, 'no ports for ICMP');
  // Without -q, nfdump wraps them in brackets; with nothing matched it says so instead.
  assert.deepEqual(parseNfdumpJson(`[\n${NFDUMP}]\n`), rows);
  assert.deepEqual(parseNfdumpJson('No matching flows\n'), []);
  assert.deepEqual(parseNfdumpJson('[\nNo matching flows\n]\n'), []);
  assert.deepEqual(parseNfdumpJson(''), []);
});

test('the query: checked values, nfdump filter, window on the last packet, most bytes first', () => {
  assert.deepEqual(nfdumpArgv('/var/lib/kairo/flows', { top: 5 }), ['nfdump', '-R', '/var/lib/kairo/flows', '-q', '-a', '-o', 'json']);
  assert.deepEqual(nfdumpArgv('/d', { top: 5, host: '10.0.0.5', port: 443 }).slice(-1), ['host 10.0.0.5 and port 443']);
  assert.match(checkQuery({ top: 5, host: '10.0.0.5; rm -rf /' })!, /--host .*: give an IPv4 or IPv6 address/);
  assert.match(checkQuery({ top: 0 })!, /--top 0/);
  assert.match(checkQuery({ top: 5, port: 70000 })!, /--port 70000/);
  assert.equal(checkQuery({ top: 5, host: 'fd00::1', port: 53 }), undefined);

  const rows = parseNfdumpJson(NFDUMP);
  const now = new Date('2026-11-22T10:57:00').getTime();
  assert.deepEqual(selectFlows(rows, { top: 10 }, now).map((r) => r.bytes), [4865336, 2100681, 3440]);
  assert.deepEqual(selectFlows(rows, { top: 10, since: 600 }, now).map((r) => r.bytes), [2100681, 3440], 'the ICMP flow ended 16 minutes ago');
  assert.deepEqual(selectFlows(rows, { top: 1 }, now).map((r) => r.proto), ['icmpv6']);

  assert.deepEqual(talkers(rows, 2), [
    { host: '2001:db8::1', bytes: 4865336, packets: 3962, flows: 1 },
    { host: 'fd00:1::10', bytes: 4865336, packets: 3962, flows: 1 },
  ], 'ties in name order');
  assert.equal(talkers(rows, 10).find((t) => t.host === '10.0.0.128')!.bytes, 2100681 + 3440, 'sent and received');
  const table = formatFlows(rows.slice(0, 2)).split('\n');
  assert.match(table[1], /^2026-11-22 10:56:38\.957 +2026-11-22 10:56:38\.962 +tcp +10\.0\.0\.128:36053 +203\.0\.113\.200:5201 +67 +2100681$/);
  assert.match(table[2], / icmpv6 +fd00:1::10 +2001:db8::1 +3962 +4865336$/);
  assert.match(formatFlows([]), /^no flows/);
});

test('collectors and sizes', () => {
  assert.deepEqual(parseCollector('192.0.2.50:2055'), { host: '192.0.2.50', port: 2055 });
  assert.deepEqual(parseCollector('[2001:db8::50]:4739'), { host: '2001:db8::50', port: 4739 });
  assert.equal(collectorText(parseCollector('[2001:DB8::50]:4739')!), '[2001:db8::50]:4739');
  for (const bad of ['2001:db8::50:4739', 'collector.example:2055', '192.0.2.50', '192.0.2.50:0', '192.0.2.50:65536', '0.0.0.0:2055']) assert.equal(parseCollector(bad), undefined, bad);
  assert.equal(sizeBytes('1G'), 1024 ** 3);
  assert.equal(sizeBytes('500m'), 500 * 1024 ** 2);
});

test('services: nfcapd is waited for on its port, each softflowd (listening on nothing) after it', () => {
  const r = compileSite(`version: 1
interfaces:
  lan: { device: eth1, zone: lan, ipv4: 10.0.0.1/24 }
  iot: { device: eth2, zone: iot, ipv4: 10.0.3.1/24 }
flows: { links: [lan, iot], local: { port: 9996 } }
`, 'site.yaml');
  assert.ok(r.ok, r.diagnostics.map((d) => d.message).join('\n'));
  const services = r.nodes[0].services.filter((s) => /softflowd|nfcapd/.test(s.unit));
  assert.deepEqual(services.map((s) => [s.unit, s.lab?.listens, s.onChange]), [
    ['kairo-nfcapd.service', ['udp:9996'], 'restart'],
    ['kairo-softflowd-lan.service', [], 'restart'],
    ['kairo-softflowd-iot.service', [], 'restart'],
  ]);
  const unit = r.nodes[0].artifacts.find((a) => a.path === '/etc/systemd/system/kairo-softflowd-iot.service')!.content;
  assert.match(unit, /^ExecStart=\/usr\/sbin\/softflowd -d -i eth2 -N -n 127\.0\.0\.1:9996 -v 9 /m);
});

test("the sandbox lays /var/lib's upper layer in the real /run, before a fresh /run hides it", () => {
  const s = sandboxScript({ root: '/r', runtimeDirs: ['x'], varLib: { upper: '/run/kairo-lab/kl-a/router-var', dirs: ['kairo/flows'] } });
  assert.ok(s.indexOf('kairo-var') < s.indexOf('mount -n --move /mnt /run'), s);
});
