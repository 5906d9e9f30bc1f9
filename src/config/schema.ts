// The site file's shape. zod gives us the TypeScript types, the validation and the JSON Schema
// (`kairo schema`) from one definition. Semantic checks that need more than one node of the tree
// (references, overlaps, families) live in src/verify, not here.
import { z } from 'zod';

const name = z
  .string()
  .regex(/^[a-z][a-z0-9_-]*$/i, 'names start with a letter and use letters, digits, - and _');

/** A Linux interface name (IFNAMSIZ is 16 including the NUL). */
const deviceName = z
  .string()
  .regex(/^[A-Za-z0-9_.:@+-]{1,15}$/, 'an interface name of 1 to 15 letters, digits or ._-:@+');

const cidr = z.string().describe('address with prefix length, e.g. 192.0.2.1/24 or 2001:db8::1/64');
const address = z.string().describe('an IPv4 or IPv6 address');

/**
 * A value that is either written once for every node or per node, as `{ node: value }`.
 * Everything shared is written once (DESIGN: several nodes, per-node values).
 */
export function perNode<T extends z.ZodType>(inner: T) {
  return z.union([inner, z.record(name, inner)]);
}

export const secretSchema = z.union([
  z.strictObject({ file: z.string().describe('read the secret from this file (trailing newline dropped)') }),
  z.strictObject({ env: z.string().describe('read the secret from this environment variable') }),
]);

const addressList = z.union([cidr, z.array(cidr)]);

const routeSchema = z.strictObject({
  to: z.string().describe('destination prefix or host address'),
  via: address.optional().describe('next hop; omitted = directly on this link (a host route)'),
  metric: z.number().int().nonnegative().optional(),
});

const ipv4Mode = z.union([z.literal('dhcp'), addressList]);
const ipv6Mode = z.union([z.literal('slaac'), z.literal('dhcp'), addressList]);

export const dsLiteSchema = z.strictObject({
  aftr: z.string().describe("the AFTR: an IPv6 address, or a preset: transix-east, transix-west (seed 000)"),
  tunnel: deviceName.optional().describe('tunnel device name; default dslite0'),
  mtu: z.number().int().min(1280).max(1500).optional().describe('tunnel MTU; default 1460 (1500 less the 40-byte IPv6 header)'),
  'wait-seconds': z.number().int().min(1).max(3600).optional().describe('how long to wait for a global IPv6 address before giving up; default 120'),
});

export const pppoeSchema = z.strictObject({
  over: deviceName.describe('the Ethernet device that carries PPPoE (it gets no address of its own)'),
  user: z.string().min(1).describe('PPP user name'),
  password: secretSchema.describe('{ env: NAME } or { file: PATH }; never printed'),
  mtu: z.number().int().min(576).max(1500).optional().describe('default 1492 (1500 less the 8-byte PPPoE header)'),
  'service-name': z.string().optional(),
});

export const hostSchema = z.strictObject({
  name: name.describe('container or VM name'),
  ipv4: address.optional().describe('its IPv4 address on this link'),
  ipv6: address.optional().describe('its IPv6 address on this link (a ULA for NAT66, seed 001)'),
});

export const interfaceSchema = z.strictObject({
  device: perNode(deviceName).describe('kernel interface name, once or per node'),
  zone: name.describe('firewall zone this interface belongs to'),
  description: z.string().optional(),
  ipv4: perNode(ipv4Mode).optional().describe("addresses with prefix, or 'dhcp'"),
  ipv6: perNode(ipv6Mode).optional().describe("addresses with prefix, 'slaac' or 'dhcp'"),
  gateway4: address.optional().describe('IPv4 default gateway on this link'),
  gateway6: address.optional().describe('IPv6 default gateway on this link (fe80::1 is fine)'),
  peer4: address
    .optional()
    .describe('point-to-point peer: the gateway is on-link although outside the /32 (seed 003)'),
  'accept-ra': z
    .boolean()
    .optional()
    .describe('take router advertisements although forwarding is on (accept_ra=2, seed 002)'),
  'rp-filter': z.enum(['strict', 'loose', 'off']).optional(),
  bridge: z.array(deviceName).optional().describe('make this a bridge with these member ports'),
  mtu: z.number().int().min(576).max(65535).optional(),
  routes: z.array(routeSchema).optional().describe('extra routes on this link'),
  'prefix-delegation': z.strictObject({
    length: z.number().int().min(40).max(64).optional().describe('prefix length to ask for (hint); default 56'),
  }).optional().describe('ask the ISP for a prefix by DHCPv6-PD on this uplink (needs ipv6: dhcp)'),
  'ipv6-from': z.strictObject({
    uplink: name.describe('the interface that receives the delegated prefix'),
    subnet: z.number().int().min(0).max(65535).describe('which /64 of the delegated prefix this link gets (subnet id)'),
  }).optional().describe('give this link a /64 carved from the prefix delegated on the uplink'),
  hosts: z.array(hostSchema).optional().describe('containers or VMs on this link: kairo renders their network snippets (LXC, networkd)'),
  pppoe: pppoeSchema.optional().describe("dial PPPoE (seed 004); the interface's device is the PPP device, e.g. ppp0"),
  'ds-lite': dsLiteSchema.optional().describe('IPv4 over an ipip6 tunnel to an AFTR once this link has a global IPv6 address (IPoE, seed 000)'),
});

export const zoneSchema = z.strictObject({
  description: z.string().optional(),
});

const action = z.enum(['accept', 'drop', 'reject']);
export const protoNames = [
  'tcp', 'udp', 'icmp', 'icmpv6', 'vrrp', 'ipip', 'esp', 'ah', 'gre', 'sctp', 'udplite', 'ospf',
] as const;
const proto = z.enum(protoNames);
const port = z.union([
  z.number().int().min(1).max(65535),
  z.string().regex(/^\d{1,5}(-\d{1,5})?$/, 'a port or a range such as 8000-8100'),
]);
const ports = z.union([port, z.array(port).min(1)]);
/** Addresses, prefixes or `@set` references. */
const addrMatch = z.union([z.string(), z.array(z.string()).min(1)]);
const zoneRef = z.union([z.string(), z.array(z.string()).min(1)]);
const logSpec = z.union([z.boolean(), z.string().max(127)]);
const limitSpec = z.union([
  z.string().regex(/^\d+\/(second|minute|hour|day)$/, 'a rate such as 10/second'),
  z.strictObject({
    rate: z.string().regex(/^\d+\/(second|minute|hour|day)$/, 'a rate such as 10/second'),
    burst: z.number().int().positive().optional(),
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
  'icmp-type': z.union([z.string(), z.array(z.string())]).optional(),
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
  name: z.string().optional().describe('identity: rules can be found and removed by it (seed 002)'),
  from: zoneRef.optional().describe('zone(s) the connection arrives from; default: every zone with masquerade'),
  proto: z.union([z.enum(['tcp', 'udp']), z.array(z.enum(['tcp', 'udp'])).min(1)]).optional(),
  port: port.describe('public port or range'),
  destination: address.optional().describe('public address to match (default: any local address)'),
  to: z.string().describe("target: '10.0.1.1:80', '[fd00::3]:80' or an address to keep the port"),
  hairpin: z.boolean().optional().describe('let inside clients use the public address too (default true)'),
});

export const sysctlSchema = z.strictObject({
  'ipv4-forwarding': z.boolean().optional(),
  'ipv6-forwarding': z.boolean().optional(),
  extra: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
});

export const labCheckSchema = z.strictObject({
  name: z.string().optional(),
  from: z.string().describe("'internet', an interface key (a client on that link), or the address of a lab host (forward target, VM)"),
  to: z.string().describe("HOST:PORT/tcp|udp, HOST/icmp or HOST/dns; HOST is internet, router, an interface key (the router's address there) or an address ([v6] in brackets)"),
  family: z.enum(['ipv4', 'ipv6']).optional().describe('for symbolic hosts; default ipv4'),
  expect: z.string().describe("'allow', 'blocked', or 'reaches ADDRESS:PORT'"),
  'seen-as': z.string().optional().describe('source address the server must see: an address, or an interface key (the router\'s address there)'),
  needs: z.enum(['ip6tnl', 'ppp', 'vlan', 'wireguard']).optional().describe('kernel feature the check needs; skipped with the reason where missing'),
});

export const labSchema = z.strictObject({
  checks: z.array(labCheckSchema).optional(),
  'vm-ports': z.array(z.number().int().min(1).max(65535)).optional().describe('TCP ports the lab VMs (routed hosts) serve; default [80]'),
});

export const nodeSchema = z.strictObject({
  description: z.string().optional(),
  hostname: z.string().optional(),
});

export const firewallSchema = z.strictObject({
  default: z.enum(['drop', 'reject']).optional().describe('for zone pairs with no policy; default drop'),
  policies: z.array(policySchema).optional(),
  rules: z.array(ruleSchema).optional(),
});

export const natSchema = z.strictObject({
  masquerade: z.array(masqueradeSchema).optional(),
  snat: z.array(snatSchema).optional(),
  npt: z.array(nptSchema).optional(),
  forwards: z.array(forwardSchema).optional(),
});

export const siteSchema = z.strictObject({
  version: z.literal(1),
  name: name.optional().describe('site name'),
  description: z.string().optional(),
  nodes: z.record(name, nodeSchema).optional().describe('routers of this site; default one named router'),
  interfaces: z.record(name, interfaceSchema),
  zones: z.record(name, zoneSchema).optional(),
  sets: z.record(name, setSchema).optional(),
  firewall: firewallSchema.optional(),
  nat: natSchema.optional(),
  sysctl: sysctlSchema.optional(),
  lab: labSchema.optional().describe('checks that `kairo lab test` proves with real traffic'),
});

export type Site = z.infer<typeof siteSchema>;
export type InterfaceConfig = z.infer<typeof interfaceSchema>;
export type RuleConfig = z.infer<typeof ruleSchema>;
export type PolicyConfig = z.infer<typeof policySchema>;
export type ForwardConfig = z.infer<typeof forwardSchema>;
export type LabCheckConfig = z.infer<typeof labCheckSchema>;
export type SecretRef = z.infer<typeof secretSchema>;

/** JSON Schema for editors (yaml-language-server, VS Code). */
export function siteJsonSchema(): object {
  return z.toJSONSchema(siteSchema, { target: 'draft-2020-12', io: 'input' });
}
