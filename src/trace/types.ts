// Shapes shared by the tracer's stages. Public ones are re-exported from evaluate.ts.
import type { Addr, Family } from '../lib/ip.js';

export interface Packet {
  family: 4 | 6;
  /** Same names as protoNames in src/config/schema.ts. */
  proto: string;
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  /** nft names, e.g. 'echo-request'. */
  icmpType?: string;
  /** Input device name, as in the model's interfaces[].device. */
  iif: string;
  /** Conntrack state; default 'new'. */
  state?: 'new' | 'established' | 'related' | 'invalid';
}

export interface TraceStep {
  table: string;
  chain: string;
  text: string;
  path?: string;
  verdict?: string;
}

export interface TraceResult {
  verdict: 'accept' | 'drop' | 'reject';
  hook: 'input' | 'forward';
  oif?: string;
  dnat?: { addr: string; port?: number; path: string; name: string };
  snat?: { kind: 'masquerade' | 'snat' | 'npt' | 'hairpin'; to?: string; path: string };
  decidedBy: { path: string; name?: string };
  steps: TraceStep[];
}

export interface TraceOptions {
  /**
   * Addresses the router holds that the site cannot know offline (DHCP, SLAAC, PPPoE). Without
   * them a dynamic uplink's address looks like any remote address and would be routed, not delivered.
   */
  localAddresses?: string[];
}

/** A packet or option the tracer cannot evaluate (bad address, family mismatch): a user error, not a bug. */
export class TraceInputError extends Error {}

/** The packet as the stages see it: parsed, with the destination as rewritten so far. */
export interface Flow {
  readonly pkt: Packet;
  readonly family: Family;
  readonly state: NonNullable<Packet['state']>;
  readonly src: Addr;
  dst: Addr;
  dport?: number;
  /** conntrack's `ct status dnat`: set by any DNAT in kairo's nat tables (forwards, hairpin, NPTv6). */
  dnatted: boolean;
}

export interface Decision {
  verdict: 'accept' | 'drop' | 'reject';
  decidedBy: { path: string; name?: string };
}
