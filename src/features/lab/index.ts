// The `lab:` slice: checks that `kairo lab test` proves with real traffic, in the user's terms,
// and what the lab's VMs serve. Checked here (pure); run by src/lab.
import { z } from 'zod';
import { defineFeature } from '../feature.js';
import { parseChecks } from './checks.js';

export const labCheckSchema = z.strictObject({
  name: z.string().optional(),
  from: z.string().describe("'internet', an interface key (a client on that link), or the address of a lab host (forward target, VM)"),
  to: z.string().describe("HOST:PORT/tcp|udp, HOST/icmp, HOST/dns or router/dhcp (a lease from the router, family: ipv4); HOST is internet, router, an interface key (the router's address there) or an address ([v6] in brackets)"),
  family: z.enum(['ipv4', 'ipv6']).optional().describe('for symbolic hosts; default ipv4'),
  expect: z.string().describe("'allow', 'blocked', 'reaches ADDRESS:PORT', for DHCP 'lease' / 'lease ADDRESS', for DNS also 'answer ADDRESS|NAME' (among the answers) and 'nxdomain'"),
  'seen-as': z.string().optional().describe('source address the server must see: an address, or an interface key (the router\'s address there)'),
  query: z.string().optional().describe("DNS checks: the name asked (default www.example.com, which the lab's Internet answers), or an address for its reverse name (PTR)"),
  mac: z.string().optional().describe('DHCP checks: the client\'s hardware address (e.g. a reservation\'s); default one the lab makes up'),
  needs: z.enum(['ip6tnl', 'ppp', 'vlan', 'wireguard']).optional().describe('kernel feature the check needs; skipped with the reason where missing'),
});

export const labSchema = z.strictObject({
  checks: z.array(labCheckSchema).optional(),
  'vm-ports': z.array(z.number().int().min(1).max(65535)).optional().describe('TCP ports the lab VMs (routed hosts) serve; default [80]'),
});

export type LabCheckConfig = z.infer<typeof labCheckSchema>;
export type LabConfig = z.infer<typeof labSchema>;

export const lab = defineFeature({
  id: 'lab',
  siteKeys: { lab: labSchema.optional().describe('checks that `kairo lab test` proves with real traffic') },
  verify(c) {
    for (const [i, field, message] of parseChecks(c.site).problems) {
      c.error('lab.check-invalid', ['lab', 'checks', i, field], message, 'e.g. { from: lan, to: internet:443/tcp, expect: allow, seen-as: wan }');
    }
  },
});
