// The flows model of one node: a softflowd per watched link of this node, the collectors each
// sends to (the local nfcapd first when it runs), and the local collector's limits. Built from a
// verified site, so values parse.
import { parseAddress } from '../../lib/ip.js';
import type { IfaceModel } from '../../model/types.js';
import { seconds } from '../dhcp/schema.js';
import type { FlowsConfig, FlowsLocalConfig } from './schema.js';

export interface Collector {
  host: string;
  port: number;
}

export interface FlowsLink {
  key: string;
  path: string;
  device: string;
}

export interface LocalCollector {
  port: number;
  rotate: number;
  retention: number;
  /** Bytes. */
  maxSize: number;
}

export interface FlowsModel {
  links: FlowsLink[];
  /** Where each link's softflowd sends its records (the local collector included). */
  collectors: Collector[];
  version: 9 | 10;
  active: number;
  idle: number;
  maxFlows: number;
  local?: LocalCollector;
}

/** `192.0.2.5:2055` or `[2001:db8::5]:4739`; undefined when it is neither. */
export function parseCollector(text: string): Collector | undefined {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:\[\]]+):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const a = parseAddress(m[1]);
  const port = Number(m[2]);
  if (!a || a.addr.range() === 'unspecified' || port < 1 || port > 65535) return undefined;
  // An IPv4-only match with an IPv6 address cannot happen (the second pattern excludes ':').
  return { host: a.addr.toString(), port };
}

export function collectorText(c: Collector): string {
  return c.host.includes(':') ? `[${c.host}]:${c.port}` : `${c.host}:${c.port}`;
}

const UNITS = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 } as const;

export function sizeBytes(s: string): number {
  return Number(s.slice(0, -1)) * UNITS[s.slice(-1).toUpperCase() as keyof typeof UNITS];
}

/** The `local:` value with `true` read as "all defaults" and `false` as off. */
export function localOf(v: FlowsConfig['local']): FlowsLocalConfig | undefined {
  if (v === undefined || v === false) return undefined;
  const full: FlowsLocalConfig = v === true ? { enabled: true, port: 9995, rotate: '5m', retention: '7d', 'max-size': '1G' } : v;
  return full.enabled ? full : undefined;
}

export function buildFlowsModel(f: FlowsConfig | undefined, interfaces: IfaceModel[]): FlowsModel | undefined {
  if (!f) return undefined;
  const byKey = new Map(interfaces.map((i) => [i.key, i]));
  // A link this node does not have (on a pair, a node's own LAN) is watched where it is.
  const links = f.links.flatMap((k) => byKey.get(k) ?? []).map((i) => ({ key: i.key, path: i.path, device: i.device }));
  if (links.length === 0) return undefined;
  const l = localOf(f.local);
  const local = l && { port: l.port, rotate: seconds(l.rotate), retention: seconds(l.retention), maxSize: sizeBytes(l['max-size']) };
  const collectors = [...(local ? [{ host: '127.0.0.1', port: local.port }] : []), ...f.export.map((e) => parseCollector(e.collector)!)];
  if (collectors.length === 0) return undefined;
  const v = f.export[0]?.version;
  return {
    links, collectors, version: v === 10 || v === 'ipfix' ? 10 : 9,
    active: seconds(f.timeouts.active), idle: seconds(f.timeouts.idle), maxFlows: f['max-flows'], local,
  };
}
