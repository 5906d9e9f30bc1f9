import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { compileSite } from '../../src/pipeline.js';
import { loadSite } from '../../src/config/load.js';
import { siteJsonSchema } from '../../src/config/schema.js';

const examples = join(import.meta.dirname, '..', '..', 'examples');

test('positions point at the offending key and value', () => {
  const text = 'version: 1\ninterfaces:\n  lan:\n    device: eth1\n    zone: lan\n    ipv4: 10.0.0.1/24\n    gatway4: 10.0.0.254\n';
  const r = loadSite(text, 'x.yaml');
  assert.equal(r.diagnostics.length, 1);
  assert.deepEqual([r.diagnostics[0].line, r.diagnostics[0].column, r.diagnostics[0].path], [7, 5, 'interfaces.lan.gatway4']);
});

test('all errors are reported at once, across stages', () => {
  const text = 'version: 1\ninterfaces:\n  a: { device: eth0, zone: wan, ipv4: 10.0.0.1/24, gateway4: 10.9.9.9 }\n  b: { device: eth1, zone: lan, ipv4: 10.0.0.5/24 }\nfirewall:\n  rules:\n    - { from: wna, to: router, action: accept }\n';
  const r = compileSite(text);
  const codes = r.diagnostics.map((d) => d.code).sort();
  assert.deepEqual(codes, ['address.outside-subnet', 'address.overlap', 'ref.unknown-zone']);
  assert.ok(r.diagnostics.every((d) => d.line! > 0 && d.column! > 0 && d.file === 'site.yaml'));
});

test('set entries from a list file are checked with that file\'s line numbers', () => {
  const text = 'version: 1\ninterfaces:\n  wan: { device: eth0, zone: wan }\nsets:\n  bl: { family: ipv4, file: bl.txt }\n';
  const r = compileSite(text, 'site.yaml', { readFile: (p) => (p === 'bl.txt' ? '# feed\n192.0.2.0/24\n\nnot-an-address\n2001:db8::/32\n' : undefined) });
  assert.deepEqual(r.diagnostics.map((d) => `${d.file}:${d.line} ${d.code}`), ['bl.txt:4 address.invalid', 'bl.txt:5 address.family-mismatch']);
  const missing = compileSite(text, 'site.yaml', { readFile: () => undefined });
  assert.deepEqual(missing.diagnostics.map((d) => d.code), ['set.file-unreadable']);
});

test('bad input never throws: every example mutated line by line', () => {
  // Deleting, duplicating or mangling any single line of a real site must give diagnostics or a
  // result, never an exception.
  let cases = 0;
  for (const f of readdirSync(examples).filter((x) => x.endsWith('.yaml'))) {
    const lines = readFileSync(join(examples, f), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const variants = [
        [...lines.slice(0, i), ...lines.slice(i + 1)],
        [...lines.slice(0, i), lines[i], lines[i], ...lines.slice(i + 1)],
        [...lines.slice(0, i), lines[i].replace(/[0-9]/g, '9').replace(/: /, ':'), ...lines.slice(i + 1)],
        [...lines.slice(0, i), lines[i].replace(/\w+/, '[x'), ...lines.slice(i + 1)],
      ];
      for (const v of variants) {
        const r = compileSite(v.join('\n'), f);
        assert.ok(r.ok || r.diagnostics.some((d) => d.severity === 'error'), `${f} line ${i + 1}: not ok but no error`);
        cases++;
      }
    }
  }
  assert.ok(cases > 400, `ran ${cases} mutations`);
});

test('the JSON Schema describes the site file for editors', () => {
  const schema = siteJsonSchema() as { properties: Record<string, unknown>; required: string[] };
  assert.ok(schema.properties.interfaces && schema.properties.nat && schema.properties.firewall);
  assert.deepEqual(schema.required.sort(), ['interfaces', 'version']);
});
