// The resolver with forwarders over DNS-over-TLS, on live traffic: the lab's ISP owns the
// forwarders' addresses and answers on 853 with a certificate for their tls-name from a lab CA
// (laid over the CA bundle for the router's resolver only). A LAN client resolves through the
// router over IPv4 and IPv6; the query log shows the query; the unit's reload
// (`unbound-control reload_keep_cache`) keeps the cache. Then the same site against an ISP whose
// certificate carries another name: nothing resolves, and unbound says why, so the name is really
// checked. Plain forwarders (no TLS) resolve too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileSite } from '../../src/pipeline.js';
import { labDown, planFor, testLab } from '../../src/lab/index.js';
import { labUp, stateDir } from '../../src/lab/run.js';
import { have, run } from '../../src/lib/exec.js';
import { labSkip, namespacesWith } from './helpers.js';

const skip = labSkip() || (!have('unbound') || !have('openssl') ? 'skipped: unbound and openssl are needed (scripts/setup.sh installs them)' : false);

const site = (name: string, forwarders: string) => `version: 1
name: ${name}
interfaces:
  wan: { device: wan0, zone: wan, ipv4: 192.0.2.2/24, gateway4: 192.0.2.1 }
  lan: { device: lan0, zone: lan, ipv4: 10.0.0.1/24, ipv6: fd00:1::1/64 }
firewall:
  policies:
    - { from: lan, to: wan, action: accept }
    - { from: wan, to: router, action: drop }
nat:
  masquerade: [{ out: wan, source: 10.0.0.0/24 }]
dns:
  forwarders: ${forwarders}
  query-log: true
lab:
  checks:
    - { name: LAN resolves through the router, from: lan, to: router/dns, expect: allow }
    - { name: over IPv6 too, from: lan, family: ipv6, to: router/dns, expect: allow }
    - { name: no resolver for the Internet, from: internet, to: wan/dns, expect: blocked }
`;

const TLS = '[{ address: 9.9.9.9, tls-name: dns.quad9.net }, { address: 149.112.112.112, tls-name: dns.quad9.net }]';

function compile(text: string) {
  const r = compileSite(text, 'dns.yaml');
  assert.ok(r.ok, r.diagnostics.map((d) => d.message).join('\n'));
  return r;
}

const unboundLog = (prefix: string) => readFileSync(join(stateDir(prefix), 'logs', 'kairo-unbound-router.log'), 'utf8');

/** The router's unbound: its pid, to run the unit's reload in its mount namespace (its /run). */
function unboundPid(ns: string): string {
  const pids = run('ip', ['netns', 'pids', ns]).stdout.split(/\s+/).filter(Boolean);
  const pid = pids.find((p) => run('cat', [`/proc/${p}/cmdline`]).stdout.startsWith('/usr/sbin/unbound\0-d'));
  assert.ok(pid, 'unbound runs in the router namespace');
  return pid;
}

test('lab: forwarders over TLS answer the LAN, the query log shows it, reload keeps the cache', { skip }, () => {
  const r = compile(site('dnsdot', TLS));
  const plan = planFor(r);
  try {
    labUp(plan, () => {});
    const t = testLab(r, plan);
    assert.equal(t.failed, 0, t.table);
    assert.match(unboundLog(plan.prefix), /www\.example\.com\. A IN/, 'the query log names the query');
    const unit = r.nodes[0].artifacts.find((a) => a.path === '/etc/systemd/system/kairo-unbound.service')!.content;
    const reload = /^ExecReload=(.*)$/m.exec(unit)![1].split(' ');
    const inside = (argv: string[]) => run('nsenter', ['-t', unboundPid(plan.routers[0].ns), '-m', '-n', ...argv]);
    assert.match(inside(['/usr/sbin/unbound-control', '-c', '/etc/kairo/unbound/unbound.conf', 'dump_cache']).stdout, /www\.example\.com/);
    const rl = inside(reload);
    assert.equal(rl.code, 0, rl.stderr + rl.stdout);
    assert.match(inside(['/usr/sbin/unbound-control', '-c', '/etc/kairo/unbound/unbound.conf', 'dump_cache']).stdout, /www\.example\.com/, 'the cache survived the reload');
    assert.equal(testLab(r, plan).failed, 0, 'still answering after the reload');
  } finally {
    labDown(plan.prefix);
  }
  assert.deepEqual(namespacesWith(plan.prefix), []);
});

test('lab: a forwarder whose certificate carries another name is not used', { skip }, () => {
  const r = compile(site('dnsbadname', TLS));
  const plan = planFor(r);
  // The ISP presents a certificate from the trusted lab CA, but for another name.
  plan.isp!.dns!.certNames = ['dns.other.example.net'];
  try {
    labUp(plan, () => {});
    const t = testLab(r, plan);
    const lan = t.results.find((x) => x.check.name === 'LAN resolves through the router')!;
    assert.equal(lan.status, 'fail', t.table);
    assert.match(lan.observed, /servfail|timeout/);
    assert.match(unboundLog(plan.prefix), /certificate verify failed/, 'unbound refused the certificate');
  } finally {
    labDown(plan.prefix);
  }
});

test('lab: plain forwarders answer the LAN', { skip }, () => {
  const r = compile(site('dnsplain', '[9.9.9.9]'));
  const plan = planFor(r);
  try {
    labUp(plan, () => {});
    const t = testLab(r, plan);
    assert.equal(t.failed, 0, t.table);
  } finally {
    labDown(plan.prefix);
  }
});
