// NAT's slice of the site file: masquerade, SNAT, NPTv6 and port forwards.
import { z } from 'zod';
import { addrMatch, address, cidr, name, port, zoneRef } from '../../config/schema-core.js';

export const masqueradeSchema = z.strictObject({
  out: z.string().describe('zone or interface the traffic leaves by'),
  family: z.enum(['ipv4', 'ipv6', 'both']).optional().describe('default ipv4'),
  source: addrMatch.optional().describe('only these sources (default: all)'),
});

export const snatSchema = z.strictObject({
  out: z.string(),
  source: addrMatch,
  to: address.describe('the source address to rewrite to'),
});

export const nptSchema = z.strictObject({
  out: z.string(),
  inside: cidr.describe('internal prefix (e.g. a ULA /64)'),
  outside: z.union([
    cidr.describe('public prefix of the same length'),
    z.strictObject({
      delegated: name.describe('the uplink whose DHCPv6-PD prefix provides the outside /64'),
      subnet: z.number().int().min(0).max(65535).describe('which /64 of the delegated prefix'),
    }),
  ]).describe('a public prefix, or a /64 of a delegated prefix (it follows when the ISP renumbers)'),
});

export const forwardSchema = z.strictObject({
  name: z.string().optional().describe('identity: the mapping can be found and removed by it'),
  from: zoneRef.optional().describe('zone(s) the connection arrives from; default: every zone with masquerade'),
  proto: z.union([z.enum(['tcp', 'udp']), z.array(z.enum(['tcp', 'udp'])).min(1)]).default('tcp'),
  port: port.describe('public port or range'),
  destination: address.optional().describe('public address to match (default: any local address)'),
  to: z.string().describe("target: '10.0.1.1:80', '[fd00::3]:80' or an address to keep the port"),
  hairpin: z.boolean().default(true).describe('let inside clients use the public address too'),
});

export const natSchema = z.strictObject({
  masquerade: z.array(masqueradeSchema).default([]),
  snat: z.array(snatSchema).default([]),
  npt: z.array(nptSchema).default([]),
  forwards: z.array(forwardSchema).default([]),
});

export const natSiteKeys = { nat: natSchema.optional() };
export type ForwardConfig = z.infer<typeof forwardSchema>;
