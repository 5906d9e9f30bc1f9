import { compileFile, summary } from './io.js';

export function validateCommand(file: string): void {
  const result = compileFile(file);
  if (!result) process.exit(1);
  if (!result.ok) {
    console.error(summary(result));
    process.exit(1);
  }
  const n = result.nodes.length;
  console.log(`${file}: ok (${n} node${n === 1 ? '' : 's'}: ${result.nodes.map((x) => x.node).join(', ')}; ${summary(result)})`);
}
