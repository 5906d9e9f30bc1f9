// Helpers to write nftables text: quoting, anonymous sets, comments that point back to the config.

/** Strings in nft are double-quoted and cannot contain a double quote. */
export function q(s: string): string {
  return `"${s.replace(/["\\]/g, "'")}"`;
}

/** `comment "firewall.rules[3] ssh"`: at most 128 bytes, the kernel's limit. */
export function comment(text: string): string {
  if (text.length <= 60 && !/["\\\u0080-\uffff]/.test(text)) return `comment "${text}"`;
  return `comment "${utf8Prefix(text.replace(/["\\]/g, "'"), 120)}"`;
}

/**
 * The longest prefix of `text` that is at most `max` bytes in UTF-8, whole characters only. One
 * pass: dropping a character at a time and re-measuring was quadratic (a 1 MB name took minutes).
 */
export function utf8Prefix(text: string, max: number): string {
  let bytes = 0;
  let i = 0;
  while (i < text.length) {
    const cp = text.codePointAt(i)!;
    const len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes + len > max) break;
    bytes += len;
    i += cp >= 0x10000 ? 2 : 1;
  }
  return text.slice(0, i);
}

/** One element bare, several in an anonymous set. */
export function anon(items: readonly string[]): string {
  return items.length === 1 ? items[0] : `{ ${items.join(', ')} }`;
}

export function ifnames(devices: readonly string[]): string {
  return anon(devices.map(q));
}

/** Chain names: letters, digits and _ only, so zone names never clash with nft keywords. */
export function ident(...parts: string[]): string {
  return parts.map((p) => p.replace(/[^A-Za-z0-9_]/g, '_')).join('_');
}

export class Block {
  private readonly lines: string[] = [];
  constructor(private readonly indent = 1) {}
  add(line: string): this {
    this.lines.push('\t'.repeat(this.indent) + line);
    return this;
  }
  text(): string {
    return this.lines.join('\n');
  }
}

/** Elements of a set or map in chunks per line, so a 100 000-element set stays readable and fast to parse. */
export function elementLines(elements: readonly string[], indent: string, perLine = 8): string {
  const out: string[] = [];
  for (let i = 0; i < elements.length; i += perLine) {
    const chunk = elements.slice(i, i + perLine).join(', ');
    out.push(indent + chunk + (i + perLine < elements.length ? ',' : ''));
  }
  return out.join('\n');
}
