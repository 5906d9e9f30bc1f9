// DOT → SVG with Graphviz compiled to WebAssembly (@hpcc-js/wasm-graphviz): the real layout
// engine, no system package, no network. The only impure part of the diagram (it loads a module).
import { Graphviz } from '@hpcc-js/wasm-graphviz';

export async function dotToSvg(dot: string): Promise<string> {
  const g = await Graphviz.load();
  return g.dot(dot, 'svg');
}
