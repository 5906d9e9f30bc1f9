// The lab's own addresses stay out of the site's: the "Internet" host is never inside a set the
// site declares (a blocklist would otherwise decide the checks), whatever the set's size or form.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileSite } from '../../src/pipeline.js';
import { fileReaderBeside } from '../../src/config/files.js';
import { planFor } from '../../src/lab/index.js';

const file = join(import.meta.dirname, '..', '..', 'examples', 'home-router.yaml');
const withBlocklist = (elements: string[]) => readFileSync(file, 'utf8').replace('zones:\n', `sets:\n  blocked: { family: ipv4, elements: [${elements.join(', ')}] }\nzones:\n`);
const plan = (text: string) => {
  const r = compileSite(text, 'home-router.yaml', { readFile: fileReaderBeside(file) });
  assert.ok(r.ok, r.diagnostics.map((d) => d.message).join('\n'));
  return planFor(r);
};

test('lab plan: the Internet host is outside every element of every set, past the first thousand and in ranges too', () => {
  assert.equal(plan(readFileSync(file, 'utf8')).isp!.internet4, '203.0.113.200');
  // 1 200 filler elements first (the old plan looked at 1 000), then the documentation ranges.
  const filler = Array.from({ length: 1200 }, (_, k) => `10.${Math.floor(k / 250) + 100}.${k % 250}.1`);
  const p = plan(withBlocklist([...filler, '203.0.113.0/24', '198.51.100.190-198.51.100.210', '192.0.2.200']));
  assert.equal(p.isp!.internet4, '198.18.200.200');
});

test('lab plan: a site that uses every candidate gets a clear refusal, not an overlap', () => {
  const all = ['203.0.113.0/24', '198.51.100.0/24', '192.0.2.0/24', '198.18.0.0/15', '100.64.0.0/10'];
  assert.throws(() => plan(withBlocklist(all)), /the site uses every address the lab would give its own hosts/);
});

test('lab plan: the LAN client takes an address outside every DHCP pool (v4 and v6) and off the reservations', () => {
  const text = `version: 1
interfaces:
  wan: { device: eth0, zone: wan, ipv4: dhcp }
  lan:
    device: eth1
    zone: lan
    ipv4: 10.0.0.1/24
    ipv6: fd00:1::1/64
    dhcp: { pool: 10.0.0.100-10.0.0.254, pool6: "fd00:1::100-fd00:1::1ff", hosts: [{ name: a, mac: "52:54:00:00:00:01", ipv4: 10.0.0.99 }] }
`;
  const r = compileSite(text, 'site.yaml');
  assert.ok(r.ok, r.diagnostics.map((d) => d.message).join('\n'));
  const client = planFor(r).hosts.find((h) => h.role === 'client')!;
  assert.deepEqual(client.owns, ['10.0.0.98', 'fd00:1::200']);
});
