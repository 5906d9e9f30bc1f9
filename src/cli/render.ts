import { mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { compileFile, summary } from './io.js';
import type { ReloadKind } from '../render/artifact.js';

const KINDS: Record<string, ReloadKind> = { nftables: 'nftables', sysctl: 'sysctl', networkd: 'networkd' };

export function renderCommand(file: string, opts: { out?: string; only?: string; node?: string }): void {
  const result = compileFile(file);
  if (!result) process.exit(1);
  if (!result.ok) {
    console.error(summary(result));
    process.exit(1);
  }
  let nodes = result.nodes;
  if (opts.node) {
    nodes = nodes.filter((n) => n.node === opts.node);
    if (nodes.length === 0) {
      console.error(`kairo: no node '${opts.node}' (nodes: ${result.nodes.map((n) => n.node).join(', ')})`);
      process.exit(1);
    }
  }
  if (opts.only) {
    const kind = KINDS[opts.only];
    if (!kind) {
      console.error(`kairo: --only takes one of ${Object.keys(KINDS).join(', ')}`);
      process.exit(1);
    }
    for (const n of nodes) {
      for (const a of n.artifacts.filter((x) => x.reload === kind)) {
        if (nodes.length > 1 || kind === 'networkd') console.log(`# ==> ${n.node}:${a.path}`);
        process.stdout.write(a.content);
      }
    }
    return;
  }
  if (!opts.out) {
    for (const n of nodes) for (const a of n.artifacts) console.log(`${n.node}:${a.path} (${a.content.length} bytes)`);
    console.log('(use --out DIR to write them, or --only nftables to print one)');
    return;
  }
  for (const n of nodes) {
    for (const a of n.artifacts) {
      const target = join(opts.out, n.node, a.path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, a.content, { mode: a.mode });
      chmodSync(target, a.mode);
    }
    console.log(`${n.node}: ${n.artifacts.length} files under ${join(opts.out, n.node)}`);
  }
}
