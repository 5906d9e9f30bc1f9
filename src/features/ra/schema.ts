// The `ra:` key of an interface: what the router announces on that link in its router
// advertisements (RFC 4861), or `false` for none. Defaults live here, not in the model.
import { z } from 'zod';
import { address, cidr } from '../../config/schema-core.js';

/** Router lifetime: 0 says "not a default router"; otherwise RFC 4861's 4 to 9000 seconds (networkd refuses 1-3). */
const routerLifetime = z.number().int().min(0).max(9000)
  .refine((v) => v === 0 || v >= 4, { message: '0 (not a default router) or 4 to 9000 seconds' });

export const raObject = z.strictObject({
  dns: z.array(address).optional()
    .describe("recursive DNS servers announced (RDNSS, IPv6 addresses); default: the router's own address on this link when the site runs a resolver for it, else none"),
  domains: z.array(z.string()).optional().describe('DNS search domains announced (DNSSL); default: none'),
  mtu: z.number().int().min(1280).max(65535).optional()
    .describe('link MTU to announce: not possible with systemd-networkd 252 (verify says so); kept so the site says what it wants'),
  managed: z.boolean().optional().describe('M flag: hosts take their addresses from a DHCPv6 server; default on where the link\'s dhcp has pool6'),
  other: z.boolean().optional().describe('O flag: hosts take other configuration (DNS) from a DHCPv6 server; default on where the link serves DHCPv6'),
  'router-lifetime': routerLifetime.default(1800).describe('seconds hosts keep the router as default router (0: announce prefixes, not a default route)'),
  slaac: z.boolean().optional()
    .describe('hosts may form their own addresses in the announced /64s (autonomous flag); default: yes, except on links whose hosts kairo numbers (hosts:)'),
  prefixes: z.array(cidr).optional()
    .describe("more prefixes to announce besides the link's own, e.g. one routed onto the link (routes: [{to}] without via)"),
  'preferred-lifetime': z.number().int().min(0).max(4294967295).default(1800).describe('seconds an address formed in a static prefix stays preferred'),
  'valid-lifetime': z.number().int().min(0).max(4294967295).default(3600).describe('seconds an address formed in a static prefix stays valid'),
});

export const raSchema = z.union([z.literal(false), z.literal(true), raObject]);
export type RaObject = z.output<typeof raObject>;

/** `ra: true` is the object with every default. */
export const RA_DEFAULTS: RaObject = raObject.parse({});
