// The firewall's slice of the site file: zones, named address sets, policies and rules.
import { z } from 'zod';
import { action, addrMatch, logSpec, name, ports, proto, zoneRef } from '../../config/schema-core.js';

// nft keeps a rate and a burst as unsigned numbers; 0 would let nothing through (say drop instead).
const MAX_RATE = 4294967295;
const rate = z
  .string()
  .regex(/^[1-9]\d*\/(second|minute|hour|day)$/, 'a rate such as 10/second (at least 1)')
  .refine((s) => Number(s.split('/')[0]) <= MAX_RATE, `a rate of at most ${MAX_RATE} per unit`);
const limitSpec = z.union([
  rate,
  z.strictObject({
    rate,
    burst: z.number().int().positive().max(MAX_RATE, `a burst of at most ${MAX_RATE} packets`).optional(),
  }),
]);

export const ruleSchema = z.strictObject({
  name: z.string().optional().describe('identity of the rule; shows in comments, counters and traces'),
  from: zoneRef.describe("source zone(s), or 'any'"),
  to: zoneRef.describe("destination zone(s), 'router' for the router itself, or 'any'"),
  family: z.enum(['ipv4', 'ipv6', 'any']).optional(),
  proto: z.union([proto, z.array(proto).min(1)]).optional(),
  port: ports.optional().describe('destination port(s) or ranges'),
  'source-port': ports.optional(),
  source: addrMatch.optional().describe('addresses, prefixes or @set'),
  destination: addrMatch.optional(),
  'icmp-type': z.union([z.string(), z.number(), z.array(z.union([z.string(), z.number()])).min(1)]).optional().describe('nft type names (echo-request) or numbers 0-255'),
  log: logSpec.optional().describe('log matches; a string is the log prefix'),
  limit: limitSpec.optional(),
  action,
  comment: z.string().optional(),
});

export const policySchema = z.strictObject({
  from: z.string().describe('zone'),
  to: z.string().describe("zone, or 'router' for traffic to the router itself"),
  action,
  log: logSpec.optional().describe('log what the policy drops or rejects; a string is the prefix'),
});

export const setSchema = z.strictObject({
  family: z.enum(['ipv4', 'ipv6']),
  elements: z.array(z.string()).default([]).describe('addresses, prefixes and ranges (a-b)'),
  file: z.string().optional().describe('also read elements from this file: one a line, # comments (relative to the site file)'),
  description: z.string().optional(),
});

export const zoneSchema = z.strictObject({
  description: z.string().optional(),
});

export const firewallSchema = z.strictObject({
  default: z.enum(['drop', 'reject']).default('drop').describe('for zone pairs with no policy'),
  policies: z.array(policySchema).default([]),
  rules: z.array(ruleSchema).default([]),
});

export const firewallSiteKeys = {
  zones: z.record(name, zoneSchema).optional(),
  sets: z.record(name, setSchema).optional(),
  firewall: firewallSchema.optional(),
};

export type RuleConfig = z.infer<typeof ruleSchema>;
export type PolicyConfig = z.infer<typeof policySchema>;
