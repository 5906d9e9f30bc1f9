// The flows slice of the site file: which links softflowd watches, where it sends NetFlow v9 or
// IPFIX, and the optional local collector (nfcapd) whose files `kairo flows` queries.
import { z } from 'zod';
import { duration } from '../dhcp/schema.js';

/** `512M`, `1G`, `2T`: the local collector's disk budget. */
export const size = z.string().regex(/^\d{1,6}[KMGT]$/i, 'a size such as 500M or 1G');

export const flowsExportSchema = z.strictObject({
  collector: z.string().describe('ADDRESS:PORT of a NetFlow/IPFIX collector, e.g. 192.0.2.50:2055 or [2001:db8::50]:4739'),
  version: z.union([z.literal(9), z.literal(10), z.literal('ipfix')]).default(9).describe('9 (NetFlow v9) or 10 / ipfix (IPFIX)'),
});

export const flowsLocalSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('run the local collector (nfcapd) on the router'),
  port: z.number().int().min(1).max(65535).default(9995).describe('UDP port nfcapd listens on, on 127.0.0.1 only'),
  rotate: duration.default('5m').describe('how often nfcapd starts a new file (flows show in `kairo flows` once their file is closed)'),
  retention: duration.default('7d').describe('files older than this are deleted'),
  'max-size': size.default('1G').describe('the collector\'s files never take more than this (the oldest go first)'),
});

export const flowsSchema = z.strictObject({
  links: z.array(z.string()).describe('interface keys whose traffic is accounted, e.g. [lan]'),
  export: z.array(flowsExportSchema).default([]).describe('collectors the flow records are sent to'),
  local: z.union([z.boolean(), flowsLocalSchema]).optional().describe('a collector on the router itself, queried with `kairo flows`; true = the defaults'),
  timeouts: z.strictObject({
    active: duration.default('5m').describe('a long flow is exported at least this often (softflowd maxlife)'),
    idle: duration.default('60s').describe('a flow without packets for this long is exported and forgotten'),
  }).default({ active: '5m', idle: '60s' }).describe('when softflowd exports a flow'),
  'max-flows': z.number().int().min(64).max(1_000_000).default(8192).describe('flows tracked at once per link (softflowd -m)'),
});

export const flowsSiteKeys = {
  flows: flowsSchema.optional().describe('NetFlow/IPFIX accounting of chosen links (softflowd), to collectors and/or a local nfcapd'),
};

export type FlowsConfig = z.infer<typeof flowsSchema>;
export type FlowsLocalConfig = z.infer<typeof flowsLocalSchema>;
