// The resolver's pure parts: names and list lines, which zones are served by default, the router's
// addresses DHCP hands out, reload versus restart, and the lab's stand-in layer in the sandbox.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileSite } from '../../src/pipeline.js';
import { canonical, fullName, isDomain, listEntry } from '../../src/features/dns/names.js';
import { resolverAddresses, type DnsModel } from '../../src/features/dns/index.js';
import { featureModel } from '../../src/model/build.js';
import { dns } from '../../src/features/dns/index.js';
import { serviceActions } from '../../src/apply/services.js';
import { sandboxScript } from '../../src/targets/sandbox.js';
import { BLOCKLIST_CONF, UNBOUND_CONF } from '../../src/features/dns/render.js';

test('domain names and block list lines', () => {
  assert.ok(isDomain('home.arpa') && isDomain('home.arpa.') && isDomain('nas'));
  assert.ok(!isDomain('home..arpa') && !isDomain('-a.example') && !isDomain('a_b.example') && !isDomain(''));
  assert.ok(isDomain('_dmarc.example.com', true), 'lists may name service labels');
  assert.equal(canonical('Home.Arpa.'), 'home.arpa');
  assert.equal(fullName('Printer', 'home.arpa.'), 'printer.home.arpa');
  assert.equal(fullName('tv.media.example', 'home.arpa'), 'tv.media.example');
  assert.equal(listEntry('ads.example.com'), 'ads.example.com');
  assert.equal(listEntry('  Ads.Example.COM.  # a comment'), 'ads.example.com');
  assert.equal(listEntry('0.0.0.0 tracker.example.com'), 'tracker.example.com');
  assert.equal(listEntry('127.0.0.1 localhost'), '', "a hosts file's own names are skipped");
  assert.equal(listEntry('# only a comment'), '');
  assert.equal(listEntry(''), '');
  assert.equal(listEntry('hunter2'), undefined, 'a single word is no domain to block');
  assert.equal(listEntry('two words here'), undefined);
  assert.equal(listEntry('bad..example.com'), undefined);
});

const SITE = `version: 1
interfaces:
  wan: { device: eth0, zone: wan, ipv4: dhcp }
  lan: { device: eth1, zone: lan, ipv4: 10.0.0.1/24, ipv6: "fd00:1::1/64", dhcp: true }
  lab: { device: eth2, zone: lab, ipv4: 10.0.5.1/24, dhcp: true }
dns: true
`;

test('by default every zone without an uplink is served; DHCP hands out the router there', () => {
  const r = compileSite(SITE);
  assert.ok(r.ok, r.diagnostics.map((d) => d.message).join('\n'));
  const m = featureModel(r.nodes[0].model, dns) as DnsModel;
  assert.deepEqual(m.links.map((l) => l.key), ['lan', 'lab']);
  assert.deepEqual(resolverAddresses(m, 'lan'), { v4: '10.0.0.1', v6: 'fd00:1::1' });
  assert.deepEqual(resolverAddresses(m, 'wan'), {});
  assert.deepEqual(resolverAddresses(undefined, 'lan'), {});
  const dhcp4 = r.nodes[0].artifacts.find((a) => a.path.endsWith('dhcp4.json'))!.content;
  assert.match(dhcp4, /"domain-name-servers",\s*"data": "10\.0\.0\.1"/);
  assert.match(dhcp4, /"domain-name-servers",\s*"data": "10\.0\.5\.1"/);
  // Without the resolver, DHCP names no DNS server of its own accord.
  const plain = compileSite(SITE.replace('dns: true\n', ''));
  assert.doesNotMatch(plain.nodes[0].artifacts.find((a) => a.path.endsWith('dhcp4.json'))!.content, /domain-name-servers/);
});

test('a changed block list reloads unbound (cache kept); a changed main file restarts it', () => {
  const a = compileSite(SITE.replace('dns: true', 'dns: { blocklist: { domains: [ads.example.com] } }')).nodes[0];
  const b = compileSite(SITE.replace('dns: true', 'dns: { blocklist: { domains: [ads.example.com, x.example.com] } }')).nodes[0];
  const c = compileSite(SITE.replace('dns: true', 'dns: { serve: [lan], blocklist: { domains: [ads.example.com] } }')).nodes[0];
  const acts = (x: typeof a, y: typeof a) => serviceActions(x, y).filter((s) => s.unit === 'kairo-unbound.service').map((s) => `${s.verb}: ${s.why}`);
  assert.deepEqual(acts(a, b), [`reload: changed: ${BLOCKLIST_CONF}`]);
  assert.deepEqual(acts(a, c), [`restart: changed: ${UNBOUND_CONF}`]);
});

test('100 000 blocked domains render in well under a second', () => {
  const domains = Array.from({ length: 100_000 }, (_, i) => `ad${i}.tracker${i % 97}.example`);
  const t0 = performance.now();
  const r = compileSite(SITE.replace('dns: true', `dns: { blocklist: { domains: [${domains.join(', ')}] } }`));
  const ms = performance.now() - t0;
  assert.ok(r.ok);
  const bl = r.nodes[0].artifacts.find((x) => x.path === BLOCKLIST_CONF)!.content;
  assert.equal(bl.split('\n').filter((l) => l.includes('always_nxdomain')).length, 100_000);
  console.log(`# 100 000 blocked domains: compiled in ${ms.toFixed(0)} ms`);
});

test('the lab stand-ins lie under the rendered files, never over them', () => {
  const s = sandboxScript({ root: '/r', standIns: '/s' });
  assert.match(s, /for d in '\/r\/etc' '\/s\/etc'/, 'rendered first (upper), stand-ins below, the system last');
  assert.match(s, /lowerdir=\$l\/etc" \/etc/);
  assert.doesNotMatch(sandboxScript({ root: '/r' }), /\/s\//);
});
