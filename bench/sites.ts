// Generated sites of growing size for the bench (and the lab's data-plane bench): port forwards,
// routed hosts, blocklist entries. Addresses are arithmetic, so every size is valid.
import { stringify } from 'yaml';

export interface SiteSize {
  forwards: number;
  routedHosts: number;
  blocklist: number;
}

function v4(n: number, base: [number, number]): string {
  return `${base[0]}.${base[1]}.${(n >> 8) & 255}.${n & 255}`;
}

export interface GeneratedSite {
  text: string;
  /** Files the site refers to (the blocklist, as a list file the way feeds are kept). */
  files: Record<string, string>;
}

export function generatedSite(size: SiteSize): GeneratedSite {
  const bridges = Math.max(1, Math.ceil(size.routedHosts / 100));
  const interfaces: Record<string, unknown> = {
    wan: { device: 'wan0', zone: 'wan', ipv4: '192.0.2.2/24', gateway4: '192.0.2.1', ipv6: '2001:db8::2/64', gateway6: 'fe80::1' },
    lan: { device: 'lan0', zone: 'lan', ipv4: '10.0.0.1/16', ipv6: 'fd00::1/64' },
  };
  const hosts: string[] = [];
  for (let b = 0; b < (size.routedHosts ? bridges : 0); b++) {
    const routes = [];
    for (let h = 0; h < 100 && b * 100 + h < size.routedHosts; h++) {
      const ip = v4(b * 100 + h + 1, [198, 18]);
      hosts.push(ip);
      routes.push({ to: ip });
    }
    interfaces[`vm${b}`] = { device: `brvm${b}`, zone: 'vms', bridge: [], ipv4: `172.31.${b}.1/24`, routes };
  }
  const forwards = [];
  for (let i = 0; i < size.forwards; i++) {
    forwards.push({ name: `pf${i}`, from: 'wan', proto: i % 2 ? 'udp' : 'tcp', port: 1024 + i, to: `${v4(i + 2, [10, 0])}:${80 + (i % 1000)}` });
  }
  const blocklist: string[] = [];
  for (let i = 0; i < size.blocklist; i++) blocklist.push(`${v4(i, [100, 64 + (i >> 16)])}`);
  const site = {
    version: 1,
    name: `bench-${size.forwards}-${size.routedHosts}-${size.blocklist}`,
    interfaces,
    zones: { wan: {}, lan: {}, ...(size.routedHosts ? { vms: {} } : {}) },
    sets: {
      ...(blocklist.length ? { blocklist: { family: 'ipv4', file: 'blocklist.txt' } } : {}),
      ...(hosts.length ? { public: { family: 'ipv4', elements: hosts } } : {}),
    },
    firewall: {
      default: 'drop',
      policies: [
        { from: 'lan', to: 'wan', action: 'accept' },
        { from: 'wan', to: 'router', action: 'drop' },
        ...(hosts.length ? [{ from: 'vms', to: 'wan', action: 'accept' }] : []),
      ],
      rules: [
        ...(blocklist.length ? [{ name: 'blocklist', from: 'wan', to: 'any', source: '@blocklist', action: 'drop' }] : []),
        { name: 'ssh', from: 'wan', to: 'router', proto: 'tcp', port: 22, action: 'accept' },
        ...(hosts.length ? [{ name: 'to-vms', from: 'wan', to: 'vms', destination: '@public', action: 'accept' }] : []),
      ],
    },
    nat: { masquerade: [{ out: 'wan', source: '10.0.0.0/16' }], forwards },
  };
  return { text: stringify(site, { lineWidth: 0 }), files: blocklist.length ? { 'blocklist.txt': blocklist.join('\n') + '\n' } : {} };
}
