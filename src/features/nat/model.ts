// NAT's per-node model: masquerade, SNAT, NPTv6 (fixed or to a /64 of a delegated prefix) and
// port forwards with their arrival devices and hairpin, resolved once.
import { parseAddress, parseCidr, parseEndpoint, type Cidr, type Endpoint, type Family } from '../../lib/ip.js';
import { formatPath } from '../../config/diagnostics.js';
import { ANY, asList, familyOfMatch } from '../../model/resolve.js';
import type { ModelContext } from '../feature.js';
import { prefixDelegation } from '../prefix-delegation/index.js';
import type { natSiteKeys } from './schema.js';
import { firewall } from '../firewall/index.js';

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

/** NPTv6 to a /64 of a delegated prefix: the follower fills its chains when the prefix is known. */
export interface NptPdModel {
  path: string;
  index: number;
  devices: string[];
  inside: Cidr;
  uplinkDevice: string;
  length: number;
  subnet: number;
}

export interface ForwardModel {
  path: string;
  name: string;
  /** `nat.forwards[NAME]` when named, else the path: what comments carry, so a mapping can be found and removed by it. */
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

export interface NatModel {
  masquerade: MasqueradeModel[];
  snat: SnatModel[];
  npt: NptModel[];
  nptPd: NptPdModel[];
  forwards: ForwardModel[];
}

type Ctx = ModelContext<typeof natSiteKeys>;

export function natModel(ctx: Ctx): NatModel {
  const { interfaces, zones } = ctx;
  const sets = ctx.sliceOf(firewall).sets as Record<string, { family: 'ipv4' | 'ipv6'; elements: string[] }> | undefined;
  const nat = ctx.site.nat ?? { masquerade: [], snat: [], npt: [], forwards: [] };
  const devicesOf = (out: string): string[] => {
    if (zones.has(out)) return zones.get(out)!;
    const i = interfaces.find((x) => x.key === out);
    return i ? [i.device] : [];
  };
  /** NAT tables cannot see the filter table's sets; NAT source lists carry the elements instead. */
  const expandSets = (list: string[]) => list.flatMap((s) => (s.startsWith('@') ? sets?.[s.slice(1)]?.elements ?? [] : [s]));

  // An empty source list means "every source": a rule whose given sources leave none for its family
  // is not rendered at all (verify refuses empty sets; `family: both` with IPv4 sources only warns).
  const masquerade = nat.masquerade.flatMap((m, i) => {
    const fams: Family[] = m.family === 'both' ? [4, 6] : m.family === 'ipv6' ? [6] : [4];
    return fams.flatMap((family) => {
      const sources = expandSets(asList(m.source)).filter((s) => familyOfMatch(sets, s) === family);
      if (m.source !== undefined && sources.length === 0) return [];
      return [{ path: formatPath(['nat', 'masquerade', i]), devices: devicesOf(m.out), family, sources }];
    });
  });
  const snat = nat.snat.flatMap((s, i) => {
    const sources = expandSets(asList(s.source));
    if (sources.length === 0) return [];
    return [{ path: formatPath(['nat', 'snat', i]), devices: devicesOf(s.out), family: parseAddress(s.to)!.family, sources, to: s.to }];
  });
  const npt = nat.npt.flatMap((n, i) => (typeof n.outside === 'string' ? [{
    path: formatPath(['nat', 'npt', i]),
    devices: devicesOf(n.out),
    inside: parseCidr(n.inside)!,
    outside: parseCidr(n.outside)!,
  }] : []));
  const pd = ctx.modelOf(prefixDelegation);
  const nptPd = nat.npt.flatMap((n, i) => {
    const outside = n.outside;
    if (typeof outside === 'string') return [];
    const up = pd?.uplinks.find((u) => u.key === outside.delegated);
    return [{
      path: formatPath(['nat', 'npt', i]),
      index: i,
      devices: devicesOf(n.out),
      inside: parseCidr(n.inside)!,
      uplinkDevice: up?.device ?? outside.delegated,
      length: up?.length ?? 56,
      subnet: outside.subnet,
    }];
  });

  const masqZones = nat.masquerade.map((m) => m.out).filter((o) => zones.has(o));
  // Forwards share a handful of arrival zones: resolve each (zones, family) once, not 10 000 times.
  const arrival = new Map<string, { fromDevices: string[]; hairpin?: ForwardModel['hairpin'] }>();
  const forwards: ForwardModel[] = nat.forwards.map((f, i) => {
    const target = parseEndpoint(f.to)!;
    const fromZones = asList(f.from ?? masqZones);
    const range = /^(\d+)-(\d+)$/.exec(String(f.port));
    const family = target.family;
    const key = `${fromZones.join(',')}|${family}|${f.hairpin}|${f.destination ?? ''}`;
    let a = arrival.get(key);
    if (!a) arrival.set(key, (a = resolveArrival(fromZones, family, f.hairpin, f.destination)));
    return {
      path: formatPath(['nat', 'forwards', i]),
      name: f.name ?? `forward-${i}`,
      label: f.name ? `nat.forwards[${f.name}]` : formatPath(['nat', 'forwards', i]),
      family,
      protos: asList(f.proto),
      port: range ? Number(range[1]) : Number(f.port),
      portEnd: range ? Number(range[2]) : undefined,
      destination: f.destination,
      target,
      fromDevices: a.fromDevices,
      hairpin: a.hairpin,
    };
  });

  function resolveArrival(fromZones: string[], family: Family, wantHairpin: boolean, destination: string | undefined) {
    const fromZoneList = fromZones.includes(ANY) ? [...zones.keys()] : fromZones;
    const fromDevices = fromZoneList.flatMap((z) => zones.get(z) ?? []);
    let hairpin: ForwardModel['hairpin'];
    if (wantHairpin) {
      const insideIfaces = interfaces.filter((x) => !fromZoneList.includes(x.zone));
      const fromIfaces = interfaces.filter((x) => fromZoneList.includes(x.zone));
      // "Public" = the forward's own address, else the static addresses of the arrival interfaces;
      // with a dynamic uplink (DHCP, PPP) any local address stands for it.
      const statics = fromIfaces.flatMap((x) => (family === 4 ? x.ipv4 : x.ipv6)).map((c) => c.addr.toString());
      const dynamic = fromIfaces.some((x) => (family === 4 ? x.ipv4Dhcp || ctx.device(x.device).dynamic4 : x.ipv6Mode === 'slaac' || x.ipv6Mode === 'dhcp'));
      const publicAddresses = destination ? [destination] : dynamic || statics.length === 0 ? 'local' : statics;
      const sources = insideIfaces.flatMap((x) => (family === 4 ? x.ipv4 : x.ipv6)).map((c) => c.network);
      if (insideIfaces.length > 0) hairpin = { devices: insideIfaces.map((x) => x.device), publicAddresses, sources };
    }
    return { fromDevices, hairpin };
  }

  return { masquerade, snat, npt, nptPd, forwards };
}

