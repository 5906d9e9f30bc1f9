// Mechanical mutations of a site file's text for the fuzzer: bytes, lines, tokens, types, huge
// values, deep nesting, line endings, unicode and prototype names. A mutation is plain data
// (positions are fractions of the text), so fast-check can shrink it and a failure reads as what
// was done to which seed.
import fc from 'fast-check';

/** Where in the text, as a fraction of its length: the same op applies to any seed. */
type At = number;

export type Op =
  | { op: 'insert'; at: At; text: string }
  | { op: 'delete'; at: At; length: number }
  | { op: 'replaceToken'; at: At; with: string }
  | { op: 'deleteLine'; at: At }
  | { op: 'duplicateLine'; at: At }
  | { op: 'swapLines'; at: At; other: At }
  | { op: 'indent'; at: At; by: number }
  | { op: 'nest'; at: At; open: string; depth: number; close: boolean }
  | { op: 'lineEndings'; style: '\r' | '\r\n' | 'mixed' }
  | { op: 'renameKey'; at: At; to: string };

/** Names that are properties of every JavaScript object: a lookup on a plain object finds them. */
export const PROTOTYPE_NAMES = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', 'prototype', 'isPrototypeOf', '__defineGetter__'];

const SPECIAL = ['[', ']', '{', '}', ':', ',', '-', '#', '&', '*', '!', '|', '>', "'", '"', '%', '@', '`', '?', ' ', '\t', '\n', '\r', '\0', '\\', '$'];
const UNICODE = ['é', 'ß', '😀', '\u200b', '\u202e', '\u2028', '\ufeff', '\u001b[31m', 'İ', '\ud800'];

/** Values of every type and size the schema might meet where a scalar was. */
const VALUES = fc.oneof(
  fc.constantFrom('0', '-1', '1.5', '65535', '65536', '70000', '010', '0x1f', '1e400', 'NaN', '.inf', '-.inf', '4294967296', '18446744073709551616'),
  fc.constantFrom('true', 'false', 'null', '~', '""', "''", '[]', '{}', '[[]]', '{a: {}}', '- x', '|', '>-', '!!binary aGk=', '*nope', '&a x', '? x'),
  fc.constantFrom('1-65535', '65535-1', '0.0.0.0/0', '::/0', '10.0.0.1/33', 'fe80::1%eth0', '2001:db8::1', '[::1]:80', '256.1.1.1', '10.0.0.1-10.0.0.0', '@set', 'router', 'any', 'eth0.10', 'x:y', '..'),
  fc.constantFrom(...PROTOTYPE_NAMES),
  fc.integer({ min: 1, max: 200_000 }).map((n) => 'a'.repeat(n)),
  fc.integer({ min: 1, max: 4000 }).map((n) => '9'.repeat(n)),
  fc.integer({ min: 1, max: 2000 }).map((n) => `"${'\\u001b'.repeat(n)}"`),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: fc.constantFrom(...SPECIAL, ...UNICODE), maxLength: 12 }),
);

const at = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('insert' as const), at, text: fc.oneof(fc.constantFrom(...SPECIAL, ...UNICODE), fc.string({ unit: 'binary', maxLength: 8 })) }),
  fc.record({ op: fc.constant('delete' as const), at, length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ op: fc.constant('replaceToken' as const), at, with: VALUES }),
  fc.record({ op: fc.constant('replaceToken' as const), at, with: VALUES }),
  fc.record({ op: fc.constant('deleteLine' as const), at }),
  fc.record({ op: fc.constant('duplicateLine' as const), at }),
  fc.record({ op: fc.constant('swapLines' as const), at, other: at }),
  fc.record({ op: fc.constant('indent' as const), at, by: fc.integer({ min: -6, max: 6 }) }),
  fc.record({ op: fc.constant('nest' as const), at, open: fc.constantFrom('[', '{', '{a: ', '- ', '[{x: ', '? '), depth: fc.integer({ min: 1, max: 20_000 }), close: fc.boolean() }),
  fc.record({ op: fc.constant('lineEndings' as const), style: fc.constantFrom('\r' as const, '\r\n' as const, 'mixed' as const) }),
  fc.record({ op: fc.constant('renameKey' as const), at, to: fc.oneof(fc.constantFrom(...PROTOTYPE_NAMES), VALUES) }),
);

const CLOSE: Record<string, string> = { '[': ']', '{': '}', '{a: ': '}', '- ': '', '[{x: ': '}]', '? ': '' };

function lineSpan(text: string, pos: number): [number, number] {
  const start = text.lastIndexOf('\n', pos - 1) + 1;
  const nl = text.indexOf('\n', pos);
  return [start, nl < 0 ? text.length : nl + 1];
}

export function apply(text: string, op: Op): string {
  const pos = 'at' in op ? Math.floor(op.at * text.length) : 0;
  switch (op.op) {
    case 'insert':
      return text.slice(0, pos) + op.text + text.slice(pos);
    case 'delete':
      return text.slice(0, pos) + text.slice(pos + op.length);
    case 'replaceToken': {
      // The word (scalar, key, address) at or after the position.
      const m = /[\w.:/@-]+/g;
      m.lastIndex = pos;
      const found = m.exec(text);
      return found ? text.slice(0, found.index) + op.with + text.slice(found.index + found[0].length) : text + op.with;
    }
    case 'renameKey': {
      // The key before the next colon, found by walking back from it (a regex that backtracks
      // over a 200 000-character word would make the fuzzer, not kairo, quadratic).
      const colon = text.indexOf(':', pos);
      let start = colon;
      while (start > 0 && /[\w-]/.test(text[start - 1])) start--;
      return colon < 0 || start === colon ? text : text.slice(0, start) + op.to + text.slice(colon);
    }
    case 'deleteLine': {
      const [s, e] = lineSpan(text, pos);
      return text.slice(0, s) + text.slice(e);
    }
    case 'duplicateLine': {
      const [s, e] = lineSpan(text, pos);
      return text.slice(0, e) + text.slice(s, e) + text.slice(e);
    }
    case 'swapLines': {
      const lines = text.split('\n');
      const i = Math.floor(op.at * lines.length);
      const j = Math.floor(op.other * lines.length);
      [lines[i], lines[j]] = [lines[j], lines[i]];
      return lines.join('\n');
    }
    case 'indent': {
      const [s] = lineSpan(text, pos);
      if (op.by >= 0) return text.slice(0, s) + ' '.repeat(op.by) + text.slice(s);
      const spaces = /^ */.exec(text.slice(s))![0].length;
      return text.slice(0, s) + text.slice(s + Math.min(spaces, -op.by));
    }
    case 'nest':
      return text.slice(0, pos) + op.open.repeat(op.depth) + 'x' + (op.close ? CLOSE[op.open].repeat(op.depth) : '') + text.slice(pos);
    case 'lineEndings':
      if (op.style === 'mixed') {
        let k = 0;
        return text.replace(/\n/g, () => ['\n', '\r\n', '\r'][k++ % 3]);
      }
      return text.replace(/\n/g, op.style);
  }
}
