// The RA as systemd-networkd sends it (systemd 252, `man systemd.network`): IPv6SendRA=yes, one
// [IPv6SendRA] section (flags, router lifetime, RDNSS, DNSSL) and one [IPv6Prefix] per static
// prefix. A delegated /64 is announced by networkd itself ([DHCPPrefixDelegation] Announce=yes,
// prefix-delegation's section); its lifetimes follow the delegation.
import { section } from '../interfaces/networkd.js';
import type { NetworkdContribution } from '../feature.js';
import type { RaLink } from './model.js';

const yn = (b: boolean) => (b ? 'yes' : 'no');

export function raNetworkd(l: RaLink): NetworkdContribution {
  // DNS and domains are explicit: with EmitDNS=yes and no DNS=, networkd would relay whatever
  // servers the uplink learnt at run time, which nobody reviewed in the site file or the plan.
  const send = section('IPv6SendRA', [
    ['Managed', yn(l.managed)],
    ['OtherInformation', yn(l.other)],
    ['RouterLifetimeSec', l.routerLifetime],
    ['EmitDNS', yn(l.dns.length > 0)],
    ['DNS', l.dns.length ? l.dns.join(' ') : undefined],
    ['EmitDomains', yn(l.domains.length > 0)],
    ['Domains', l.domains.length ? l.domains.join(' ') : undefined],
  ]);
  const prefixes = l.prefixes.map((p) => section('IPv6Prefix', [
    ['Prefix', p.network],
    ['AddressAutoconfiguration', yn(p.autonomous)],
    ['PreferredLifetimeSec', p.preferred],
    ['ValidLifetimeSec', p.valid],
  ]));
  return { device: l.device, ipv6: true, network: [['IPv6SendRA', 'yes']], sections: [send, ...prefixes] };
}
