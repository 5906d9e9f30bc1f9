// `kairo diagram FILE`: the site drawn as SVG (nodes, links, zones, addresses, uplinks, published
// services), or its Graphviz source with --dot.
import { writeFileSync } from 'node:fs';
import { siteDot } from '../diagram/dot.js';
import { dotToSvg } from '../diagram/svg.js';
import { compileFile } from './io.js';

export async function diagramCommand(file: string, opts: { out?: string; dot?: boolean }): Promise<void> {
  // Diagnostics are printed by compileFile; a site with errors is not drawn.
  const r = compileFile(file);
  if (!r || !r.ok || !r.site) process.exit(1);
  const dot = siteDot(r.site, r.nodes.map((n) => n.model));
  const text = opts.dot ? dot : await dotToSvg(dot);
  if (opts.out) {
    writeFileSync(opts.out, text);
    console.error(`kairo: wrote ${opts.out} (${text.length} bytes)`);
  } else process.stdout.write(text);
}
