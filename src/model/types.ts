// The per-node model: the core facts every capability builds on (interfaces, zones), and each
// feature's own typed model, keyed by feature id. No text of any daemon's syntax here.
import type { Cidr } from '../lib/ip.js';
import type { CoreInterface } from '../config/schema-core.js';
import type { Contributions } from '../features/feature.js';

/** The keys of a site file that no feature owns. */
export interface SiteBase {
  version: 1;
  name?: string;
  description?: string;
  nodes?: Record<string, { description?: string; hostname?: string }>;
  interfaces: Record<string, CoreInterface>;
}

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
}

export type Verdict = 'accept' | 'drop' | 'reject';

export interface NodeModel {
  site: string;
  node: string;
  interfaces: IfaceModel[];
  /** zone → devices, in declaration order (interfaces, each followed by the devices features add next to it). */
  zones: Map<string, string[]>;
  /** Each feature's model for this node, by feature id (absent when the node does not use it). */
  features: Map<string, unknown>;
  /** What the features contribute to the firewall, routing, networkd files and device facts, merged in registry order. */
  contributions: Contributions;
}
