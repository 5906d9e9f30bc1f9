import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { resolveSecret, Secret } from '../../src/config/secret.js';

const io = { readFile: (p: string) => (p === 'pw.txt' ? 'hunter2\n' : undefined), env: (n: string) => (n === 'PPP_PW' ? 's3cret' : undefined) };

test('secrets resolve from a file (newline dropped) and from the environment', () => {
  const f = resolveSecret({ file: 'pw.txt' }, io) as Secret;
  assert.equal(f.reveal(), 'hunter2');
  const e = resolveSecret({ env: 'PPP_PW' }, io) as Secret;
  assert.equal(e.reveal(), 's3cret');
  assert.deepEqual(resolveSecret({ env: 'NOPE' }, io), { error: 'environment variable NOPE is not set' });
  assert.deepEqual(resolveSecret({ file: 'missing' }, io), { error: 'cannot read secret file missing' });
});

test('a secret never shows in strings, JSON or inspect', () => {
  const s = resolveSecret({ env: 'PPP_PW' }, io) as Secret;
  for (const shown of [String(s), `${s}`, JSON.stringify({ s }), inspect({ s }), inspect(s)]) {
    assert.ok(!shown.includes('s3cret'), shown);
    assert.ok(shown.includes('secret from env PPP_PW'), shown);
  }
});
