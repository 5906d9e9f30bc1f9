// Inputs that used to hang, crash or leak (issue 10), each with its figure from before the fix.
// Time bounds are generous (this runs beside other work on a small machine): they catch a return
// to quadratic behaviour, which costs minutes, not a slow run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileSite } from '../../src/pipeline.js';
import { comment, utf8Prefix } from '../../src/render/nft.js';
import { formatDiagnostic, tidyText } from '../../src/config/diagnostics.js';
import { deepestPoint } from '../../src/config/yaml-text.js';

const base = 'version: 1\ninterfaces:\n  wan: { device: eth0, zone: wan, ipv4: 192.0.2.2/24, gateway4: 192.0.2.1 }\n';

function timed<T>(f: () => T): { value: T; ms: number } {
  const t0 = performance.now();
  const value = f();
  return { value, ms: performance.now() - t0 };
}

const printed = (r: ReturnType<typeof compileSite>) => r.diagnostics.map(formatDiagnostic).join('\n');

test('a 1 MB rule name is cut to the comment limit in one pass (before: > 150 s)', () => {
  const text = `${base}firewall:\n  rules:\n    - { name: r${'a'.repeat(1_000_000)}, from: wan, to: router, proto: tcp, port: 22, action: accept }\n`;
  const { value: r, ms } = timed(() => compileSite(text));
  assert.ok(r.ok, printed(r));
  assert.ok(ms < 3000, `took ${ms.toFixed(0)} ms`);
  const nft = r.nodes[0].artifacts.find((a) => a.path.endsWith('.nft'))!.content;
  const line = nft.split('\n').find((l) => l.includes('raaa'))!;
  assert.ok(Buffer.byteLength(/comment "(.*)"/.exec(line)![1]) <= 120);
});

test('comments keep whole characters within 120 bytes', () => {
  assert.equal(utf8Prefix('ab', 1), 'a');
  assert.equal(utf8Prefix('é'.repeat(100), 120), 'é'.repeat(60));
  assert.equal(utf8Prefix('😀'.repeat(40), 120), '😀'.repeat(30)); // never half a surrogate pair
  assert.equal(utf8Prefix('a😀', 4), 'a');
  const c = comment(`firewall.rules[0] ${'ü'.repeat(200)}"`);
  assert.ok(Buffer.byteLength(c) <= 'comment ""'.length + 120, c);
});

test('16 000 unknown keys are each located, in linear time (before: 9.6 s)', () => {
  const n = 16_000;
  const text = base + Array.from({ length: n }, (_, i) => `k${i}: 1\n`).join('');
  const { value: r, ms } = timed(() => compileSite(text));
  assert.equal(r.diagnostics.length, n);
  assert.ok(ms < 4000, `took ${ms.toFixed(0)} ms`);
  const last = r.diagnostics.find((d) => d.path === `k${n - 1}`)!;
  assert.deepEqual([last.line, last.column], [n + 3, 1]);
});

test('a key written twice in a mapping of 30 000 keys is found in linear time, with both lines', () => {
  const keys = Array.from({ length: 30_000 }, (_, i) => `  k${i}: 1\n`).join('');
  const { value: r, ms } = timed(() => compileSite(`${base}x:\n${keys}  k7: 2\n`));
  assert.ok(ms < 4000, `took ${ms.toFixed(0)} ms`);
  assert.match(printed(r), /site\.yaml:30005:3 error\[yaml\.syntax\] key 'k7' is written twice in this mapping \(first on line 12\)/);
});

test('positions are the same for LF, CRLF and CR-only files (before: every position 1:1 with CR)', () => {
  const body = `${base}firewall:\n  rules:\n    - { name: a, from: wan, to: router, proto: tcp, port: 70000, action: accept }\nbogus: 1\n`;
  const at = (text: string) => compileSite(text).diagnostics.map((d) => `${d.line}:${d.column} ${d.code}`);
  const lf = at(body);
  assert.deepEqual(lf, ['6:59 schema.invalid', '7:1 schema.unknown-key']);
  assert.deepEqual(at(body.replace(/\n/g, '\r\n')), lf);
  assert.deepEqual(at(body.replace(/\n/g, '\r')), lf);
});

test('a 545 KB CR-only file is read in linear time with the right positions (before: 15 s, 1:1)', () => {
  const rules = Array.from({ length: 6600 }, (_, i) => `    - { name: r${i}, from: wan, to: router, proto: tcp, port: ${i + 1}, action: accept }\n`).join('');
  const text = `${base}firewall:\n  rules:\n${rules}bogus: 1\n`.replace(/\n/g, '\r');
  assert.ok(text.length > 540_000);
  const { value: r, ms } = timed(() => compileSite(text));
  assert.ok(ms < 5000, `took ${ms.toFixed(0)} ms`);
  assert.deepEqual(r.diagnostics.map((d) => `${d.line}:${d.column} ${d.path}`), [`${6600 + 6}:1 bogus`]);
});

test('set list files with CR or CRLF line breaks are read line by line', () => {
  const text = `${base}sets:\n  bl: { family: ipv4, file: bl.txt }\n`;
  for (const nl of ['\r', '\r\n']) {
    const r = compileSite(text, 'site.yaml', { readFile: () => ['# feed', '192.0.2.0/24', '198.51.100.0/24', ''].join(nl) });
    assert.ok(r.ok, printed(r));
    assert.deepEqual(r.site!.sets!.bl.elements, ['192.0.2.0/24', '198.51.100.0/24']);
  }
});

test('deep or unclosed nesting is a diagnostic with its place, never a stack overflow (before: "Maximum call stack size exceeded")', () => {
  const cases: [string, number][] = [
    [`${base}x: ${'['.repeat(1_000_000)}`, 4], // 1 MB of open brackets (before: 3 s, 784 diagnostics)
    [`${base}x: ${'['.repeat(5000)}${']'.repeat(5000)}\n`, 4],
    [`${base}x: ${'{a: '.repeat(20_000)}\n`, 4],
    [`${base}x:\n${'- '.repeat(100_000)}a\n`, 5],
    [`${base}\tbad: 1\nx: ${'['.repeat(100_000)}\n`, 5], // js-yaml stops at the tab first
  ];
  for (const [text, line] of cases) {
    const { value: r, ms } = timed(() => compileSite(text));
    const out = printed(r);
    assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
    assert.ok(r.diagnostics.some((d) => d.code === 'yaml.too-deep' && d.line === line), out.slice(0, 500));
    assert.doesNotMatch(out, /call stack/);
  }
});

test('the nesting bound ignores brackets in quotes, comments and plain words', () => {
  assert.equal(deepestPoint(`a: "${'['.repeat(300)}"\nb: '${'{'.repeat(300)}'\n# ${'['.repeat(300)}\nc: it's ${'x'.repeat(10)}\n`, 64), undefined);
  // An upper bound: the key's indentation (2) and its `: ` (1) count, then each bracket.
  assert.equal(deepestPoint('a: [[[[[[[[[[', 8), 8);
  assert.equal(deepestPoint('a: [[[[[]]]]]', 8), undefined);
  assert.equal(deepestPoint('- - - - - - - - - - - x\n', 8), 12);
});

test('a secret with a newline is refused, and never printed (before: written raw into the pppd peer file)', () => {
  const text = 'version: 1\ninterfaces:\n  wan: { device: ppp0, zone: wan, pppoe: { over: eth0, user: u, password: { env: P } } }\n';
  for (const secret of ['hunter\nplugin evil.so', 'hu\u0000nter', 'hunter\r', 'tab\thunter', 'x\u2028hunter', 'hunter\u001b[2J']) {
    const r = compileSite(text, 'site.yaml', { env: () => secret });
    assert.equal(r.ok, false);
    assert.deepEqual(r.diagnostics.map((d) => `${d.code} ${d.path}`), ['secret.control-character interfaces.wan.pppoe.password']);
    assert.doesNotMatch(printed(r), /hunter|plugin|evil/);
  }
  // A trailing newline in a secret file is the file's end of line, not part of the secret.
  const fromFile = 'version: 1\ninterfaces:\n  wan: { device: ppp0, zone: wan, pppoe: { over: eth0, user: u, password: { file: pw } } }\n';
  assert.ok(compileSite(fromFile, 'site.yaml', { readFile: () => 'secret\n' }).ok);
});

test('a set file that holds a secret is refused without showing any of it', () => {
  const text = `${base}sets:\n  bl: { family: ipv4, file: /etc/kairo/secret }\n`;
  const r = compileSite(text, 'site.yaml', { readFile: () => 'hunter2\ncorrect horse battery staple\n' });
  assert.deepEqual(r.diagnostics.map((d) => d.code), ['set.file-not-a-list']);
  assert.doesNotMatch(printed(r), /hunter2|horse/);
  // A list with a stray line: the line is named by its number, its text is not shown.
  const mixed = compileSite(text, 'site.yaml', { readFile: () => '192.0.2.1\nhunter2\n' });
  assert.deepEqual(mixed.diagnostics.map((d) => `${d.file}:${d.line} ${d.code}`), ['/etc/kairo/secret:2 address.invalid']);
  assert.doesNotMatch(printed(mixed), /hunter2/);
});

test('values in messages are cut and their control characters escaped (before: 1 MB echoed raw)', () => {
  const huge = '1'.repeat(1_000_000);
  const r = compileSite(`${base.replace('192.0.2.1 }', `"${huge}\\e[31m" }`)}`);
  const out = printed(r);
  assert.ok(out.length < 400, `printed ${out.length} characters`);
  assert.match(out, /'1{58}…' is not an address/);
  const esc = compileSite(base.replace('192.0.2.1 }', '"10.0.0.1\\e[2J\\u202e\\u0007" }'));
  assert.match(printed(esc), /'10\.0\.0\.1\\x1b\[2J\\u202e\\x07' is not an address/);
  assert.doesNotMatch(printed(esc), /[\u0000-\u001f\u007f-\u009f\u202e](?<!\n)/);
  assert.equal(tidyText(tidyText(`x ${'y'.repeat(200)} \u001b`)), tidyText(`x ${'y'.repeat(200)} \u001b`));
});

test("zod's wording does not reach the user", () => {
  const rule = (extra: string) => `${base}firewall:\n  rules:\n    - { name: a, from: wan, to: router, action: accept, ${extra} }\n`;
  const cases: [string, RegExp][] = [
    [rule('proto: tcp, port: 70000'), /port 70000 is beyond 65535/],
    [rule('proto: tcp, port: 0'), /port 0 is below 1/],
    [rule('proto: tcp, port: []'), /port is an empty list/],
    [rule(`log: "${'x'.repeat(200)}"`), /log is 200 characters long; at most 127 are allowed/],
    [`${base}nodes: { "1x": {} }\n`, /'1x' cannot be a name here: names start with a letter/],
    [`${base}zones: []\n`, /expected a mapping \(key: value\), got a list/],
    [base.replace('zone: wan,', 'zone: wan, mtu: 100,'), /mtu 100 is below 576/],
  ];
  for (const [text, want] of cases) {
    const out = printed(compileSite(text));
    assert.match(out, want);
    assert.doesNotMatch(out, /Too (big|small)|expected (number|string|array|record)|Invalid key|<=|>=/, out);
  }
});

test('unit text: a literal % is written %% (systemd reads % as a specifier), everything else as is', async () => {
  const { unitText } = await import('../../src/render/artifact.js');
  assert.equal(unitText('kairo: 50% of eth0 (%n)'), 'kairo: 50%% of eth0 (%%n)');
  assert.equal(unitText('kairo: DS-Lite softwire ip6tnl1'), 'kairo: DS-Lite softwire ip6tnl1');
});
