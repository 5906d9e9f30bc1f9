// The Prometheus exporter: `kairo exporter`, run by kairo-exporter.service, listening only on the
// router's addresses on the links the site names, with the port opened there and nowhere else.
// What it serves is read at scrape time on the router (src/metrics/collect.ts); this feature says
// where it listens and where Kea's and unbound's statistics are.
import { z } from 'zod';
import { name } from '../../config/schema-core.js';
import { defineFeature } from '../feature.js';
import type { FwRule } from '../firewall/chains.js';
import { dhcp } from '../dhcp/index.js';
import { dns } from '../dns/index.js';

export const EXPORTER_CONF = '/etc/kairo/exporter.json';
const UNIT = 'kairo-exporter.service';

export const metricsSchema = z.strictObject({
  on: z.array(name).min(1).describe('interface keys whose router addresses the exporter listens on (the management links)'),
  port: z.number().int().min(1).max(65535).default(9838).describe('TCP port of the exporter'),
});

export interface ExporterConfig {
  listen: string[];
  port: number;
  kea: { family: 4 | 6; path: string }[];
  /** `family:id` → subnet, so lease metrics are labelled by what the site says. */
  subnets: Record<string, string>;
  unbound?: string;
}

export interface MetricsModel {
  config: ExporterConfig;
  devices: { device: string; path: string }[];
}

export const metrics = defineFeature({
  id: 'metrics',
  siteKeys: { metrics: metricsSchema.optional().describe('a Prometheus exporter on the router (kairo exporter)') },
  verify(c) {
    const m = c.site.metrics;
    if (!m) return;
    m.on.forEach((k, i) => {
      if (!Object.hasOwn(c.site.interfaces, k)) c.error('ref.unknown-interface', ['metrics', 'on', i], `'${k}' is not an interface`, c.suggest(k, Object.keys(c.site.interfaces)));
    });
  },
  model(ctx): MetricsModel | undefined {
    const m = ctx.site.metrics;
    if (!m) return undefined;
    const links = ctx.interfaces.filter((i) => m.on.includes(i.key));
    const listen = links.flatMap((i) => [...i.ipv4, ...i.ipv6].filter((a) => a.addr.range() !== 'linkLocal').map((a) => a.addr.toString()));
    if (listen.length === 0) return undefined;
    const d = ctx.modelOf(dhcp);
    const subnets: Record<string, string> = {};
    for (const l of d?.links ?? []) {
      if (l.v4) subnets[`4:${l.v4.id}`] = l.v4.subnet.network;
      if (l.v6) subnets[`6:${l.v6.id}`] = l.v6.subnet.network;
    }
    return {
      config: {
        listen, port: m.port, subnets,
        kea: [...(d?.links.some((l) => l.v4) ? [{ family: 4 as const, path: '/run/kairo-kea4/control.sock' }] : []), ...(d?.links.some((l) => l.v6) ? [{ family: 6 as const, path: '/run/kairo-kea6/control.sock' }] : [])],
        ...(ctx.modelOf(dns) ? { unbound: '/etc/kairo/unbound/unbound.conf' } : {}),
      },
      devices: links.map((i) => ({ device: i.device, path: `metrics (exporter on ${i.path})` })),
    };
  },
  firewall: (m) => ({
    input: m.devices.map((d): FwRule => ({
      matches: [{ kind: 'iif', devices: [d.device] }, { kind: 'port', dir: 'dport', ports: [String(m.config.port)], proto: 'tcp' }],
      counter: true, verdict: { kind: 'accept' }, comment: d.path, decides: { path: d.path },
    })),
  }),
  render: (m, ctx) => [
    { path: EXPORTER_CONF, content: `${JSON.stringify(m.config, null, 2)}\n`, mode: 0o644, owner: 'metrics', reload: 'none' },
    {
      path: `/etc/systemd/system/${UNIT}`, mode: 0o644, owner: 'metrics', reload: 'none',
      content: `${ctx.head}[Unit]
Description=kairo: Prometheus exporter (rules, interfaces, conntrack, DHCP leases, resolver, units)
After=kairo-boot.service network-pre.target

[Service]
ExecStart=/usr/bin/env kairo exporter --config ${EXPORTER_CONF}
Restart=on-failure
RestartSec=2

[Install]
WantedBy=multi-user.target
`,
    },
  ],
  services: (m) => [{ unit: UNIT, files: [EXPORTER_CONF, `/etc/systemd/system/${UNIT}`], onChange: 'restart', enabled: true, after: ['kairo-boot.service'], lab: { listens: [`tcp:${m.config.port}`] } }],
});
