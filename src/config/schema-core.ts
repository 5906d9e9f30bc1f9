// The building blocks of the site file's schema, and the keys no feature owns (version, name,
// nodes, interfaces with their core facts). Features build their slices from these; the whole
// schema is composed in ./schema.ts from the feature registry.
import { z } from 'zod';

export const name = z
  .string()
  // No regex flags: the JSON Schema keeps only the pattern, and editors must accept what kairo accepts.
  .regex(/^[A-Za-z][A-Za-z0-9_-]*$/, 'names start with a letter and use letters, digits, - and _')
  // nft names (chains and sets are built from one or two of these) end at 255 bytes.
  .max(64, 'a name of at most 64 characters');

/**
 * A Linux interface name (IFNAMSIZ is 16 including the NUL). The kernel refuses '/', ':' and
 * spaces; '@' and '+' break the unit names kairo derives from tunnel names. Dots (VLAN names such
 * as eth0.10) pass here and are refused by verify with a hint of their own.
 */
export const deviceName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,15}$/, 'an interface name of 1 to 15 letters, digits, _ or -');

export const cidr = z.string().describe('address with prefix length, e.g. 192.0.2.1/24 or 2001:db8::1/64');
export const address = z.string().describe('an IPv4 or IPv6 address');

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
export type SecretRef = z.infer<typeof secretSchema>;

export const addressList = z.union([cidr, z.array(cidr)]);

export const action = z.enum(['accept', 'drop', 'reject']);
export const protoNames = [
  'tcp', 'udp', 'icmp', 'icmpv6', 'vrrp', 'ipip', 'esp', 'ah', 'gre', 'sctp', 'udplite', 'ospf',
] as const;
export const proto = z.enum(protoNames);
export const port = z.union([
  z.number().int().min(1).max(65535),
  z.string().regex(/^\d{1,5}(-\d{1,5})?$/, 'a port or a range such as 8000-8100'),
]);
export const ports = z.union([port, z.array(port).min(1)]);
/** Addresses, prefixes or `@set` references. */
export const addrMatch = z.union([z.string(), z.array(z.string()).min(1)]);
export const zoneRef = z.union([z.string(), z.array(z.string()).min(1)]);
export const logSpec = z.union([z.boolean(), z.string().max(127)]);

const routeSchema = z.strictObject({
  to: z.string().describe('destination prefix or host address'),
  via: address.optional().describe('next hop; omitted = directly on this link (a host route)'),
  metric: z.number().int().nonnegative().optional(),
});

const ipv4Mode = z.union([z.literal('dhcp'), addressList]);
const ipv6Mode = z.union([z.literal('slaac'), z.literal('dhcp'), addressList]);

/** What every interface has, whatever features it uses. */
export const coreInterfaceKeys = {
  device: perNode(deviceName).describe('kernel interface name, once or per node'),
  zone: name.describe('firewall zone this interface belongs to'),
  description: z.string().optional(),
  ipv4: perNode(ipv4Mode).optional().describe("addresses with prefix, or 'dhcp'"),
  ipv6: perNode(ipv6Mode).optional().describe("addresses with prefix, 'slaac' or 'dhcp'"),
  gateway4: address.optional().describe('IPv4 default gateway on this link'),
  gateway6: address.optional().describe('IPv6 default gateway on this link (fe80::1 is fine)'),
  peer4: address
    .optional()
    .describe('point-to-point peer: the gateway is on-link although outside a /32 uplink address'),
  'accept-ra': z
    .boolean()
    .optional()
    .describe('take router advertisements although forwarding is on (networkd IPv6AcceptRA=yes); on by default for slaac and dhcp'),
  'rp-filter': z.enum(['strict', 'loose', 'off']).optional(),
  bridge: z.array(deviceName).optional().describe('make this a bridge with these member ports'),
  mtu: z.number().int().min(576).max(65535).optional(),
  routes: z.array(routeSchema).optional().describe('extra routes on this link'),
};

export const nodeSchema = z.strictObject({
  description: z.string().optional(),
  hostname: z.string().optional(),
});

export const coreInterfaceSchema = z.strictObject(coreInterfaceKeys);

/** The top of the file, before the features' keys. */
export const coreSiteKeys = {
  version: z.literal(1),
  name: name.optional().describe('site name'),
  description: z.string().optional(),
  nodes: z.record(name, nodeSchema).optional().describe('routers of this site; default one named router'),
};

export type CoreInterface = z.infer<typeof coreInterfaceSchema>;
