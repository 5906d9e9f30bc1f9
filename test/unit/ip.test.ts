import { test } from 'node:test';
import assert from 'node:assert/strict';
import { familyOfPrefix, isLinkLocal, overlaps, parseAddress, parseCidr, parseEndpoint, hasScopeId } from '../../src/lib/ip.js';

test('parseAddress takes dotted quads and IPv6, rejects the rest', () => {
  assert.equal(parseAddress('192.0.2.1')?.family, 4);
  assert.equal(parseAddress('2001:db8::1')?.family, 6);
  for (const bad of ['256.1.1.1', '1.2.3', '01.2.3.4', 'host', '1.2.3.4.5', '2001:db8::g']) assert.equal(parseAddress(bad), undefined, bad);
});

test('parseCidr keeps the host part and computes the network', () => {
  const c = parseCidr('10.0.0.1/24')!;
  assert.equal(c.text, '10.0.0.1/24');
  assert.equal(c.network, '10.0.0.0/24');
  assert.equal(parseCidr('2001:db8::1/64')!.network, '2001:db8::/64');
  assert.equal(parseCidr('10.0.0.1'), undefined);
  assert.equal(parseCidr('10.0.0.1', true)!.prefix, 32);
  assert.equal(parseCidr('10.0.0.0/33'), undefined);
});

test('overlaps is symmetric and family-aware', () => {
  const a = parseCidr('10.0.0.0/16')!;
  const b = parseCidr('10.0.5.1/24')!;
  assert.ok(overlaps(a, b) && overlaps(b, a));
  assert.ok(!overlaps(a, parseCidr('10.1.0.1/24')!));
  assert.ok(!overlaps(a, parseCidr('fd00::/8')!));
});

test('parseEndpoint reads v4, [v6]:port, ranges; refuses scope ids', () => {
  assert.deepEqual(pick(parseEndpoint('10.0.1.1:80')), ['10.0.1.1', 80, undefined]);
  assert.deepEqual(pick(parseEndpoint('[fd00::3]:80')), ['fd00::3', 80, undefined]);
  assert.deepEqual(pick(parseEndpoint('fd00::3')), ['fd00::3', undefined, undefined]);
  assert.deepEqual(pick(parseEndpoint('10.0.0.5:6000-6010')), ['10.0.0.5', 6000, 6010]);
  for (const bad of ['10.0.1.1:0', '10.0.1.1:70000', '[fd00::3]x', 'web:80', '[fe80::1%eth0]:80', '10.0.0.5:10-5']) assert.equal(parseEndpoint(bad), undefined, bad);
  assert.ok(hasScopeId('[fe80::1%eth0]:80'));
  assert.ok(isLinkLocal(parseEndpoint('[fe80::2ff:ff:fe00:3]:80')!.addr));
});

test('familyOfPrefix agrees with parseCidr on valid and invalid input', () => {
  const samples = ['1.2.3.4', '1.2.3.4/0', '1.2.3.4/32', '1.2.3.4/33', '255.255.255.255', '256.0.0.1', '01.1.1.1', '::1', 'fd00::/8', 'x', '1.2.3.4/'];
  for (const s of samples) assert.equal(familyOfPrefix(s), parseCidr(s, true)?.family, s);
});

function pick(e: ReturnType<typeof parseEndpoint>) {
  return e ? [e.addr.toString(), e.port, e.portEnd] : undefined;
}
