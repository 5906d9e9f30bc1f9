// The `dns:` slice of the site file: the router's caching resolver (unbound) on the LAN links.
import { z } from 'zod';

export const forwarderSchema = z.strictObject({
  address: z.string().describe('the upstream resolver\'s address, e.g. 9.9.9.9 or 2620:fe::fe'),
  'tls-name': z.string().optional().describe('DNS-over-TLS: the name its certificate must carry (checked against the system\'s CA bundle), e.g. dns.quad9.net'),
  port: z.number().int().min(1).max(65535).optional().describe('default 853 with tls-name, else 53'),
});

export const dnsSchema = z.strictObject({
  serve: z.array(z.string()).optional().describe('zones whose clients may use the resolver; default every zone without an uplink. Never an uplink zone (an open resolver)'),
  forwarders: z.array(z.union([z.string(), forwarderSchema])).optional().describe('upstream resolvers to forward to (all plain or all DNS-over-TLS); none = full recursion from the root servers'),
  domain: z.string().default('home.arpa').describe('the local domain: DHCP reservations and hosts get NAME.DOMAIN (and reverse names); names under it that are not declared do not exist'),
  hosts: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional().describe('local names: { nas: [10.0.0.5, "fd00::5"] }; a name without a dot gets the domain'),
  blocklist: z.strictObject({
    domains: z.array(z.string()).default([]).describe('domains answered NXDOMAIN, with every name below them'),
    file: z.string().optional().describe('a list file, one domain a line (# comments; hosts-file lines "0.0.0.0 NAME" too), relative to the site file'),
  }).optional().describe('domains the resolver answers NXDOMAIN'),
  'query-log': z.boolean().default(false).describe('log every query and reply to the journal (journalctl -u kairo-unbound)'),
  'cache-size': z.string().regex(/^\d{1,5}[km]?$/i, 'a size such as 64m').optional().describe("the record cache (the message cache gets half), e.g. 64m; default unbound's"),
  dnssec: z.boolean().default(true).describe("validate answers with DNSSEC (Debian's root trust anchor, /usr/share/dns/root.key)"),
});

export const dnsSiteKeys = {
  dns: z.union([z.literal(true), dnsSchema]).optional().describe('a caching DNS resolver (unbound) for the LANs; true = all defaults'),
};

export type DnsConfig = z.infer<typeof dnsSchema>;
export type ForwarderConfig = z.infer<typeof forwarderSchema>;

/** The slice with `true` read as "all defaults". */
export function dnsOf(v: true | DnsConfig | undefined): DnsConfig | undefined {
  if (v === undefined) return undefined;
  return v === true ? { domain: 'home.arpa', 'query-log': false, dnssec: true } : v;
}

export function forwarderOf(f: string | ForwarderConfig): ForwarderConfig {
  return typeof f === 'string' ? { address: f } : f;
}
