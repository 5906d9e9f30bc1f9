// Generators of site files for property tests: sites a user could write, valid by construction
// where the language says so (distinct subnets, ports in range, families consistent), and varied
// where it leaves freedom (names, zones, rules, sets, NAT, sysctl, uplinks). Whatever kairo
// accepts of them is then put before the real consumers (nft, sysctl, systemd-analyze).
import fc from 'fast-check';

const ZONE_NAMES = ['wan', 'lan', 'dmz', 'guest', 'mgmt', 'valueOf', 'z_1', 'Iot-2'];
const ICMP4 = ['echo-request', 'echo-reply', 'destination-unreachable', 'time-exceeded', 'parameter-problem', 0, 3, 8, 11, 42, 255];
const ICMP6 = ['echo-request', 'echo-reply', 'packet-too-big', 'nd-neighbor-solicit', 'mld-listener-query', 1, 2, 128, 135, 200];
/** Keys every Linux kernel with IPv4 and IPv6 has, outside what kairo writes itself. */
const SYSCTL_EXTRA: [string, fc.Arbitrary<string | number>][] = [
  ['net.ipv4.tcp_syncookies', fc.constantFrom(0, 1, 2)],
  ['net.core.somaxconn', fc.integer({ min: 128, max: 65535 })],
  ['net.ipv4.conf.all.log_martians', fc.constantFrom(0, 1)],
  ['net.ipv4.ip_local_port_range', fc.constant('32768 60999')],
  ['net.ipv6.conf.all.use_tempaddr', fc.constantFrom(0, 1, 2)],
];

export interface GenIface {
  key: string;
  device: string;
  zone: string;
  n: number; // the /24 10.n.0.0 and the /64 fd00:n::
  v6: boolean;
  uplink?: 'static' | 'dhcp' | 'slaac' | 'pppoe' | 'ds-lite';
}

const portArb = fc.oneof(
  fc.integer({ min: 1, max: 65535 }),
  fc.integer({ min: 1, max: 9999 }).map((p) => `0${p}`), // leading zero: decimal, never octal
  fc.tuple(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 0, max: 2000 })).map(([a, d]) => `${a}-${Math.min(65535, a + d)}`),
);

const nameArb = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,20}$/);
/** Free text as users write it in rule names and log prefixes: spaces, accents, kana, punctuation. */
const textArb = fc.stringMatching(/^[ -~éäøカナ漢]{1,40}$/);

function addrIn(i: GenIface, fam: 4 | 6, host: number): string {
  return fam === 4 ? `10.${i.n}.0.${host}` : `fd00:${i.n.toString(16)}::${host.toString(16)}`;
}

export const siteArb = fc
  .record({
    zoneCount: fc.integer({ min: 2, max: 4 }),
    zonePick: fc.shuffledSubarray(ZONE_NAMES, { minLength: 4, maxLength: 4 }),
    ifaceCount: fc.integer({ min: 2, max: 5 }),
    subnets: fc.uniqueArray(fc.integer({ min: 1, max: 250 }), { minLength: 5, maxLength: 5 }),
    v6: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
    uplink: fc.constantFrom('static', 'dhcp', 'slaac', 'pppoe', 'ds-lite', undefined),
    rpFilter: fc.option(fc.constantFrom('strict', 'loose', 'off'), { nil: undefined }),
    seed: fc.integer(),
  })
  .chain((g) => {
    const zones = g.zonePick.slice(0, g.zoneCount);
    const ifaces: GenIface[] = Array.from({ length: g.ifaceCount }, (_, k) => ({
      key: k === 0 ? 'up' : `if${k}`,
      device: `eth${k}`,
      zone: zones[k % zones.length],
      n: g.subnets[k],
      v6: g.v6[k],
      uplink: k === 0 ? g.uplink : undefined,
    }));
    const v4Ifaces = ifaces.filter((i) => !(i.uplink && i.uplink !== 'static'));
    const zoneRef = fc.oneof(fc.constantFrom(...zones), fc.constant('any'));
    const setArb = fc.record({
      family: fc.constantFrom('ipv4' as const, 'ipv6' as const),
      elements: fc.array(fc.oneof(
        fc.tuple(fc.integer({ min: 1, max: 223 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 8, max: 32 })).map(([a, b, l]) => `${a}.${b}.0.0/${Math.max(l, 16)}`),
        fc.tuple(fc.integer({ min: 1, max: 223 }), fc.integer({ min: 1, max: 254 })).map(([a, b]) => `${a}.0.0.${b}`),
        fc.tuple(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 101, max: 200 })).map(([a, b]) => `192.0.2.${a}-192.0.2.${b}`),
      ), { minLength: 1, maxLength: 6 }),
      elements6: fc.array(fc.integer({ min: 1, max: 0xffff }).map((x) => `2001:db8:${x.toString(16)}::/48`), { minLength: 1, maxLength: 4 }),
    }).map((s) => ({ family: s.family, elements: s.family === 'ipv4' ? s.elements : s.elements6 }));
    const sets = fc.dictionary(fc.constantFrom('block', 'allow', 'toString', 'admins', 'b-2'), setArb, { maxKeys: 3 });
    return fc.record({
      sets,
      rules: fc.array(fc.record({
        name: fc.option(fc.oneof(nameArb, textArb), { nil: undefined }),
        from: zoneRef,
        to: fc.oneof(zoneRef, fc.constant('router')),
        kind: fc.constantFrom('tcp', 'udp', 'tcpudp', 'icmp', 'icmpv6', 'esp', 'none'),
        port: fc.option(fc.oneof(portArb, fc.array(portArb, { minLength: 1, maxLength: 3 })), { nil: undefined }),
        icmp: fc.option(fc.oneof(fc.constantFrom(...ICMP4), fc.array(fc.constantFrom(...ICMP4), { minLength: 1, maxLength: 3 })), { nil: undefined }),
        icmp6: fc.option(fc.oneof(fc.constantFrom(...ICMP6), fc.array(fc.constantFrom(...ICMP6), { minLength: 1, maxLength: 3 })), { nil: undefined }),
        src: fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }),
        log: fc.option(fc.oneof(fc.boolean(), textArb.map((t) => t.replace(/[$"\\]/g, ''))), { nil: undefined }),
        limit: fc.option(fc.oneof(
          fc.tuple(fc.integer({ min: 1, max: 4294967295 }), fc.constantFrom('second', 'minute', 'hour', 'day')).map(([r, u]) => `${r}/${u}`),
          // A burst the kernel's token bucket holds at that rate (verify refuses larger ones).
          fc.record({ rate: fc.tuple(fc.integer({ min: 1, max: 100000 }), fc.constantFrom('second', 'minute')), burst: fc.integer({ min: 1, max: 4294967295 }) })
            .map(({ rate: [r, u], burst }) => ({ rate: `${r}/${u}`, burst: Number(BigInt(Math.min(burst, Number((2n ** 64n - 1n) / ((u === 'second' ? 10n ** 9n : 6n * 10n ** 10n) / BigInt(r)))))) })),
        ), { nil: undefined }),
        action: fc.constantFrom('accept', 'drop', 'reject'),
      }), { maxLength: 8 }),
      policies: fc.uniqueArray(fc.record({ from: fc.constantFrom(...zones), to: fc.constantFrom(...zones, 'router'), action: fc.constantFrom('accept', 'drop', 'reject'), log: fc.option(fc.boolean(), { nil: undefined }) }), { maxLength: 6, selector: (p) => `${p.from}>${p.to}` }),
      masq: fc.option(fc.record({ family: fc.constantFrom('ipv4', 'ipv6', 'both'), src: fc.boolean() }), { nil: undefined }),
      forwards: fc.uniqueArray(fc.record({ port: fc.integer({ min: 1, max: 65535 }), proto: fc.constantFrom('tcp', 'udp'), target: fc.integer({ min: 1, max: 4 }), tport: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }), v6: fc.boolean() }), { maxLength: 5, selector: (f) => `${f.proto}/${f.port}/${f.v6}` }),
      extra: fc.subarray(SYSCTL_EXTRA, { maxLength: 3 }).chain((keys) => fc.tuple(...keys.map(([k, v]) => v.map((x) => [k, x] as const)))),
      default: fc.constantFrom('drop', 'reject'),
    }).map((p) => render(zones, ifaces, v4Ifaces, g.rpFilter, p));
  });

interface Parts {
  sets: Record<string, { family: 'ipv4' | 'ipv6'; elements: string[] }>;
  rules: { name?: string; from: string; to: string; kind: string; port?: unknown; icmp?: unknown; icmp6?: unknown; src?: number; log?: boolean | string; limit?: unknown; action: string }[];
  policies: { from: string; to: string; action: string; log?: boolean }[];
  masq?: { family: string; src: boolean };
  forwards: { port: number; proto: string; target: number; tport?: number; v6: boolean }[];
  extra: readonly (readonly [string, string | number])[];
  default: string;
}

function render(zones: string[], ifaces: GenIface[], v4Ifaces: GenIface[], rpFilter: string | undefined, p: Parts): string {
  const up = ifaces[0];
  const interfaces: Record<string, unknown> = {};
  for (const i of ifaces) {
    const o: Record<string, unknown> = { device: i.device, zone: i.zone };
    if (i === up && i.uplink === 'pppoe') Object.assign(o, { device: 'ppp0', pppoe: { over: i.device, user: 'user@example.jp', password: { env: 'KAIRO_PROP_PW' } } });
    else if (i === up && i.uplink === 'dhcp') Object.assign(o, { ipv4: 'dhcp', ...(i.v6 ? { ipv6: 'slaac' } : {}) });
    else if (i === up && i.uplink === 'slaac') Object.assign(o, { ipv6: 'slaac', ipv4: `10.${i.n}.0.1/24` });
    else if (i === up && i.uplink === 'ds-lite') Object.assign(o, { ipv6: 'slaac', 'ds-lite': { aftr: 'transix-east', tunnel: 'dslite0' } });
    else {
      o.ipv4 = `10.${i.n}.0.1/24`;
      if (i.v6) o.ipv6 = `fd00:${i.n.toString(16)}::1/64`;
      if (i === up) o.gateway4 = `10.${i.n}.0.254`;
    }
    if (i === up && rpFilter && i.uplink !== 'pppoe') o['rp-filter'] = rpFilter;
    interfaces[i.key] = o;
  }
  const setNames = Object.keys(p.sets);
  const rules = p.rules.map((r, k) => {
    const out: Record<string, unknown> = { from: r.from, to: r.to, action: r.action };
    if (r.name !== undefined) out.name = `${r.name}-${k}`; // names are unique
    let fam: 4 | 6 | undefined;
    if (r.kind === 'tcp' || r.kind === 'udp') out.proto = r.kind;
    if (r.kind === 'tcpudp') out.proto = ['tcp', 'udp'];
    if (r.kind === 'esp') out.proto = 'esp';
    if (r.kind === 'icmp') { out.proto = 'icmp'; fam = 4; if (r.icmp !== undefined) out['icmp-type'] = r.icmp; }
    if (r.kind === 'icmpv6') { out.proto = 'icmpv6'; fam = 6; if (r.icmp6 !== undefined) out['icmp-type'] = r.icmp6; }
    if (r.port !== undefined && ['tcp', 'udp', 'tcpudp'].includes(r.kind)) out.port = r.port;
    if (r.src !== undefined) {
      const set = setNames[r.src % Math.max(1, setNames.length)];
      const sf = set ? (p.sets[set].family === 'ipv4' ? 4 : 6) : undefined;
      if (set && (fam === undefined || fam === sf)) out.source = `@${set}`;
      else out.source = fam === 6 ? '2001:db8::/32' : `198.51.100.${r.src}`;
    }
    if (r.log !== undefined) out.log = r.log;
    if (r.limit !== undefined) out.limit = r.limit;
    return out;
  });
  const site: Record<string, unknown> = {
    version: 1,
    name: 'prop',
    interfaces,
    zones: Object.fromEntries(zones.map((z) => [z, {}])),
    ...(setNames.length ? { sets: p.sets } : {}),
    firewall: { default: p.default, policies: p.policies, rules },
  };
  const inside = v4Ifaces.filter((i) => i !== up);
  if (p.masq && up.zone !== inside[0]?.zone) {
    const fam = up.uplink === 'ds-lite' ? 'ipv4' : p.masq.family;
    const m: Record<string, unknown> = { out: up.key, family: fam };
    if (p.masq.src && inside.length && fam === 'ipv4') m.source = inside.map((i) => `10.${i.n}.0.0/24`);
    const forwards = p.forwards.flatMap((f, k) => {
      const t = inside[f.target % Math.max(1, inside.length)];
      if (!t || (f.v6 && (!t.v6 || fam === 'ipv4')) || (!f.v6 && fam === 'ipv6')) return [];
      const addr = addrIn(t, f.v6 ? 6 : 4, 10 + f.target);
      return [{ name: `fwd-${k}`, from: up.zone, proto: f.proto, port: f.port, to: f.tport ? (f.v6 ? `[${addr}]:${f.tport}` : `${addr}:${f.tport}`) : addr }];
    });
    site.nat = { masquerade: [m], forwards };
  }
  if (p.extra.length) site.sysctl = { extra: Object.fromEntries(p.extra) };
  return JSON.stringify(site, null, 1);
}
