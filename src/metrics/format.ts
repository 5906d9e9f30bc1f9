// Prometheus' text exposition format (version 0.0.4), from samples. Pure: the collectors gather,
// this writes. Names follow Prometheus conventions (`_total` for counters, base units: bytes).
export interface Sample {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  labels?: Record<string, string>;
  value: number;
}

/** Label values escaped as the format requires (backslash, quote, newline). */
const esc = (v: string) => v.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');

export function exposition(samples: Sample[]): string {
  const byName = new Map<string, Sample[]>();
  for (const s of samples) byName.set(s.name, [...(byName.get(s.name) ?? []), s]);
  const out: string[] = [];
  for (const [name, list] of byName) {
    out.push(`# HELP ${name} ${list[0].help}`, `# TYPE ${name} ${list[0].type}`);
    for (const s of list) {
      const labels = Object.entries(s.labels ?? {});
      out.push(`${name}${labels.length ? `{${labels.map(([k, v]) => `${k}="${esc(v)}"`).join(',')}}` : ''} ${Number.isFinite(s.value) ? s.value : 'NaN'}`);
    }
  }
  return `${out.join('\n')}\n`;
}
