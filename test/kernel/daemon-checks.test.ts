// Each daemon's own checker accepts what kairo renders for every example and for the DHCP golden
// site, and refuses a file the daemon would refuse (so apply's check is not a formality). The
// checkers run as apply runs them: rendered files laid over /etc, the served devices present.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { compileSite } from '../../src/pipeline.js';
import { fileReaderBeside } from '../../src/config/files.js';
import { runDaemonChecks } from '../../src/apply/daemon-checks.js';
import { have, run } from '../../src/lib/exec.js';

const root = join(import.meta.dirname, '..', '..');
const skip = !have('kea-dhcp4') || !have('kea-dhcp6') ? 'skipped: Kea is not installed (scripts/setup.sh installs kea-dhcp4-server and kea-dhcp6-server)' : false;

function sites(): [string, string, string][] {
  const ex = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.yaml')).map((f): [string, string, string] => [f, readFileSync(join(root, 'examples', f), 'utf8'), join(root, 'examples', f)]);
  const golden = (name: string): [string, string, string] => {
    const text = readFileSync(join(root, 'test', 'golden', name), 'utf8');
    return [name, text.split('=== site.yaml\n')[1].split('\n=== ')[0], join(root, 'test', 'golden', name)];
  };
  return [...ex, golden('dhcp.case'), golden('dns.case')];
}

test('daemon checkers accept every rendered daemon file', { skip }, () => {
  let checked = 0;
  for (const [name, text, path] of sites()) {
    const r = compileSite(text, name, { readFile: fileReaderBeside(path) });
    assert.ok(r.ok, name);
    for (const n of r.nodes) {
      const results = runDaemonChecks(n.services.filter((s) => s.check), n.artifacts, (c, a) => run(c, a));
      for (const c of results) assert.ok(c.ok, `${name} ${n.node} ${c.unit}: ${c.output}`);
      checked += results.length;
    }
  }
  assert.ok(checked >= 5, `checked ${checked} daemon files`);
});

test('a file the daemon refuses is reported with its own words', { skip }, () => {
  const [, text, path] = sites().find(([n]) => n === 'dhcp.case')!;
  const r = compileSite(text, 'dhcp.case', { readFile: fileReaderBeside(path) });
  const n = r.nodes[0];
  // A pool outside its subnet, as a hand edit or a kairo bug would write it.
  const broken = n.artifacts.map((a) => (a.path.endsWith('dhcp4.json') ? { ...a, content: a.content.replace('10.0.0.100 - 10.0.0.199', '10.9.0.100 - 10.9.0.199') } : a));
  assert.notDeepEqual(broken, n.artifacts);
  const [c] = runDaemonChecks(n.services.filter((s) => s.unit === 'kairo-dhcp4.service'), broken, (cmd, a) => run(cmd, a));
  assert.equal(c.ok, false);
  assert.match(c.output, /10\.9\.0\.100/);
});

test('unbound-checkconf refuses a resolver file unbound would refuse', { skip: have('unbound-checkconf') ? false : 'skipped: unbound is not installed' }, () => {
  const [, text, path] = sites().find(([n]) => n === 'dns.case')!;
  const n = compileSite(text, 'dns.case', { readFile: fileReaderBeside(path) }).nodes[0];
  const unbound = n.services.filter((s) => s.unit === 'kairo-unbound.service');
  assert.ok(runDaemonChecks(unbound, n.artifacts, (cmd, a) => run(cmd, a))[0].ok);
  // A block list entry unbound cannot parse, in the included file: the check reads includes too.
  const broken = n.artifacts.map((a) => (a.path.endsWith('blocklist.conf') ? { ...a, content: a.content.replace('always_nxdomain', 'always_nowhere') } : a));
  const [c] = runDaemonChecks(unbound, broken, (cmd, a) => run(cmd, a));
  assert.equal(c.ok, false);
  assert.match(c.output, /always_nowhere|blocklist\.conf/);
});
