// `kairo exporter --config FILE`: serves /metrics for Prometheus on the addresses the site names.
// An address not there yet (networkd still configuring the link) is retried every second.
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import type { ExporterConfig } from '../features/metrics/index.js';
import { exposition } from '../metrics/format.js';
import { conntrack, interfaceCounters, keaLeases, ruleCounters, serviceStates, unboundStats } from '../metrics/collect.js';

export async function scrape(cfg: ExporterConfig): Promise<string> {
  const t0 = process.hrtime.bigint();
  const samples = [...ruleCounters(), ...interfaceCounters(), ...conntrack(), ...(await keaLeases(cfg.kea, new Map(Object.entries(cfg.subnets)))), ...(cfg.unbound ? unboundStats(cfg.unbound) : []), ...serviceStates()];
  samples.push({ name: 'kairo_scrape_duration_seconds', help: 'How long collecting these metrics took.', type: 'gauge', value: Number(process.hrtime.bigint() - t0) / 1e9 });
  return exposition(samples);
}

export function exporterCommand(opts: { config: string }): void {
  const cfg = JSON.parse(readFileSync(opts.config, 'utf8')) as ExporterConfig;
  const handler = async (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end('kairo exporter: metrics are at /metrics\n');
      return;
    }
    const body = await scrape(cfg);
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body);
  };
  for (const addr of cfg.listen) {
    const listen = () => {
      const server = createServer((req, res) => void handler(req, res));
      server.on('error', () => setTimeout(listen, 1000));
      server.listen(cfg.port, addr, () => console.error(`kairo exporter: listening on ${addr.includes(':') ? `[${addr}]` : addr}:${cfg.port}`));
    };
    listen();
  }
}
