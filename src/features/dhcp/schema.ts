// The DHCP slice of the site file: a `dhcp:` block per LAN interface (pools, options,
// reservations) and a site-wide `dhcp:` for the lease database. Served by Kea (DHCPv4 and DHCPv6).
import { z } from 'zod';
import { perNode, secretSchema } from '../../config/schema-core.js';

/** `12h`, `30m`, `1d`, `90s` or a number of seconds. */
export const duration = z.union([
  z.number().int().min(1).max(2 ** 32 - 2),
  z.string().regex(/^\d{1,9}[smhd]$/, "a duration such as 90s, 30m, 12h or 7d"),
]);

export function seconds(d: z.infer<typeof duration>): number {
  if (typeof d === 'number') return d;
  const n = Number(d.slice(0, -1));
  return n * { s: 1, m: 60, h: 3600, d: 86400 }[d.slice(-1) as 's' | 'm' | 'h' | 'd']!;
}

/** `10.0.0.100-10.0.0.199` (spaces allowed around the dash) or a prefix inside the subnet. */
const poolText = z.string().describe('a range FIRST-LAST or a prefix inside the link\'s subnet');
// An empty list leases nothing but the reservations.
const pools = z.union([poolText, z.array(poolText)]);

export const dhcpHostSchema = z.strictObject({
  name: z.string().describe('host name: given to the client and resolvable by the router\'s resolver'),
  mac: z.string().optional().describe('hardware address, e.g. 52:54:00:12:34:56'),
  duid: z.string().optional().describe('DHCPv6 client DUID in hex, e.g. 00:03:00:01:52:54:00:12:34:56'),
  ipv4: z.string().optional().describe('fixed IPv4 address (in the link\'s subnet; outside the pool is fine)'),
  ipv6: z.string().optional().describe('fixed IPv6 address (DHCPv6)'),
  prefix: z.string().optional().describe('fixed delegated prefix for a downstream router (DHCPv6-PD)'),
});

export const dhcpInterfaceSchema = z.strictObject({
  pool: perNode(pools).optional().describe("IPv4 addresses to lease: ranges or prefixes; on a site with several nodes one range is split between them (write { node: range } to choose); default the upper half of the subnet"),
  pool6: perNode(pools).optional().describe('IPv6 addresses to lease by DHCPv6 (stateful), inside the link\'s IPv6 prefix'),
  delegate: z.strictObject({
    prefix: z.string().describe('the prefix downstream routers get theirs from, e.g. fd00:100::/48'),
    length: z.number().int().min(40).max(64).default(56).describe('the length each downstream router gets'),
  }).optional().describe('DHCPv6 prefix delegation to routers on this link'),
  router: z.string().optional().describe("the default router the clients get; default this node's address on the link"),
  dns: z.array(z.string()).optional().describe("DNS servers the clients get; default the router's address when the site's resolver serves this link"),
  domain: z.string().optional().describe('the domain clients get (option 15), e.g. home.arpa'),
  search: z.array(z.string()).optional().describe('DNS search list (option 119; DHCPv6 domain-search)'),
  ntp: z.array(z.string()).optional().describe('NTP servers'),
  mtu: z.number().int().min(576).max(65535).optional().describe('interface MTU for the clients (option 26)'),
  routes: z.array(z.strictObject({ to: z.string(), via: z.string() })).optional().describe('classless static routes (option 121); the default route is sent with them'),
  'lease-time': duration.default('12h').describe('how long a lease lasts'),
  'subnet-id': z.number().int().min(1).max(2 ** 32 - 2).optional().describe('Kea subnet id; default derived from the subnet, so an edit elsewhere never renumbers it'),
  'subnet-id6': z.number().int().min(1).max(2 ** 32 - 2).optional().describe('the DHCPv6 subnet id; default derived from the prefix'),
  hosts: z.array(dhcpHostSchema).optional().describe('reservations by MAC or DUID, with host names'),
});

export const dhcpSiteSchema = z.strictObject({
  'lease-database': z.union([
    z.strictObject({ type: z.literal('memfile') }),
    z.strictObject({
      type: z.enum(['mysql', 'postgresql']),
      host: z.string().default('localhost'),
      port: z.number().int().min(1).max(65535).optional(),
      name: z.string().regex(/^[A-Za-z0-9_]{1,64}$/, 'a database name of letters, digits and _').default('kea'),
      user: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a user name of letters, digits, _, . and -').default('kea'),
      password: secretSchema.describe('{ env: NAME } or { file: PATH }; never printed'),
    }),
  ]).default({ type: 'memfile' }).describe('where Kea keeps its leases: a file on disk (default) or MySQL/MariaDB or PostgreSQL'),
});

export const dhcpInterfaceKeys = {
  dhcp: z.union([z.literal(true), dhcpInterfaceSchema]).optional().describe('serve DHCP on this link (Kea); true = the default pool and options'),
};
export const dhcpSiteKeys = {
  dhcp: dhcpSiteSchema.optional().describe('DHCP server settings for the whole site (lease database)'),
};

export type DhcpInterfaceConfig = z.infer<typeof dhcpInterfaceSchema>;
export type DhcpHostConfig = z.infer<typeof dhcpHostSchema>;
