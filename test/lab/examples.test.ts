// Every example proven on the real kernel: the lab comes up, every declared check passes on live
// traffic, and down leaves nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { labDown, testLab, upLab } from '../../src/lab/index.js';
import { example, labSkip, namespacesWith, processesOf, root } from './helpers.js';

const skip = labSkip();
const names = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.yaml')).map((f) => f.replace(/\.yaml$/, '')).sort();

for (const name of names) {
  test(`lab: every check of ${name} passes on live traffic`, { skip }, () => {
    const r = example(name);
    assert.ok((r.site!.lab?.checks?.length ?? 0) >= 5, `${name} declares its checks`);
    const { plan } = upLab(r, () => {});
    try {
      const t = testLab(r, plan);
      const bad = t.results.filter((x) => x.status === 'fail');
      assert.equal(bad.length, 0, `failed checks:\n${t.table}`);
      for (const s of t.results.filter((x) => x.status === 'skip')) assert.match(s.observed, /^skipped: /);
      assert.ok(t.results.some((x) => x.status === 'pass'));
    } finally {
      labDown(plan.prefix);
    }
    assert.deepEqual(namespacesWith(plan.prefix), [], 'no namespace left');
    assert.deepEqual(processesOf(new RegExp(`agent\\.mjs serve ${plan.prefix}-|${plan.prefix}/(dns|dhcp|radvd)`)), [], 'no lab process left');
  });
}
