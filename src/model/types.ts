// The per-node model: everything resolved (devices, zones, families, addresses), no text yet.
import type { Cidr, Endpoint, Family } from '../lib/ip.js';
import type { Secret } from '../config/secret.js';

export interface IfaceModel {
  key: string;
  path: string;
  device: string;
  zone: string;
  ipv4: Cidr[];
  ipv4Dhcp: boolean;
  ipv6: Cidr[];
  ipv6Mode: 'static' | 'slaac' | 'dhcp' | 'none';
  gateway4?: string;
  gateway6?: string;
  peer4?: string;
  acceptRa: boolean;
  rpFilter?: 'strict' | 'loose' | 'off';
  bridge?: string[];
  mtu?: number;
  routes: { to: string; via?: string; metric?: number }[];
  /** DHCPv6-PD requested on this uplink, with the length hint. */
  pd?: { length: number; path: string };
  /** This link's /64 comes from the prefix delegated on `uplinkDevice`, subnet id `subnet`. */
  ipv6From?: { uplinkKey: string; uplinkDevice: string; subnet: number; path: string };
  /** Containers/VMs on this link with their addresses (snippets are rendered for them). */
  hosts: { name: string; ipv4?: string; ipv6?: string; path: string }[];
  /** PPPoE: `device` is the PPP device (pppN); the session runs over the Ethernet device `over`. */
  pppoe?: { over: string; user: string; password: Secret; mtu: number; serviceName?: string; unit: number; path: string };
  /** IPv4 over an ipip6 softwire to an AFTR (RFC 6333): the tunnel device joins this interface's zone. */
  dsLite?: { tunnel: string; aftr: string; mtu: number; waitSeconds: number; path: string };
}

export type Verdict = 'accept' | 'drop' | 'reject';

/** One address match: literal prefixes of one family, or a named set. */
export type AddrMatch = { family: Family; prefixes: string[] } | { family: Family; set: string };

export interface FilterRule {
  path: string;
  /** Stable identity for comments: `firewall.rules[NAME]` when named, else the path. Inserting a rule does not renumber the others. */
  label: string;
  name?: string;
  /** Restricts to one family; undefined = both. */
  family?: Family;
  protos: string[];
  ports: string[];
  sourcePorts: string[];
  source?: AddrMatch;
  destination?: AddrMatch;
  icmpTypes: string[];
  log?: string;
  limit?: { rate: string; burst?: number };
  action: Verdict;
}

export interface PairPolicy {
  action: Verdict;
  log?: string;
  path: string;
  /** `firewall.policies[lan>wan]`: the pair is the policy's identity. */
  label: string;
}

/** A zone pair: `to` is a zone or 'router'. */
export interface ZonePair {
  from: string;
  to: string;
  rules: FilterRule[];
  policy?: PairPolicy;
}

export interface SetModel {
  name: string;
  family: Family;
  elements: string[];
  interval: boolean;
}

export interface MasqueradeModel {
  path: string;
  devices: string[];
  family: Family;
  sources: string[];
}

export interface SnatModel {
  path: string;
  devices: string[];
  family: Family;
  sources: string[];
  to: string;
}

export interface NptModel {
  path: string;
  devices: string[];
  inside: Cidr;
  outside: Cidr;
}

export interface ForwardModel {
  path: string;
  name: string;
  /** `nat.forwards[NAME]` when named, else the path: what comments carry (seed 002 removes mappings by it). */
  label: string;
  family: Family;
  protos: ('tcp' | 'udp')[];
  port: number;
  portEnd?: number;
  /** Public address matched, if any. */
  destination?: string;
  target: Endpoint;
  fromDevices: string[];
  /** Inside devices whose clients may use the public address (hairpin), and the addresses that mean "public" for them. */
  hairpin?: { devices: string[]; publicAddresses: string[] | 'local'; sources: string[] };
}

export interface NodeModel {
  site: string;
  node: string;
  interfaces: IfaceModel[];
  /** zone → devices, in declaration order. */
  zones: Map<string, string[]>;
  pairs: ZonePair[];
  defaultAction: 'drop' | 'reject';
  sets: SetModel[];
  masquerade: MasqueradeModel[];
  snat: SnatModel[];
  npt: NptModel[];
  /** NPTv6 to a /64 of a delegated prefix: the follower fills its chains when the prefix is known. */
  nptPd: { path: string; index: number; devices: string[]; inside: Cidr; uplinkDevice: string; length: number; subnet: number }[];
  forwards: ForwardModel[];
  sysctl: { ipv4Forwarding: boolean; ipv6Forwarding: boolean; extra: Record<string, string> };
}
