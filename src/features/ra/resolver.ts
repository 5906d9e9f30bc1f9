// The seam between router advertisements and the site's DNS resolver. RDNSS (RFC 8106) should
// point hosts at the router's own resolver on their link, but only when the site runs one there:
// announcing an address nobody answers on breaks name resolution for every host on the link.
//
// The DNS feature (unbound, being built separately) fills this in: register it before `ra` in
// src/features/index.ts and return, from its model (ctx.modelOf(dns)), the router's addresses on
// `ifaceKey` that its resolver listens on. Until then no link has a resolver: an RA carries DNS
// servers only where `ra.dns` names them.
import type { ModelContext } from '../feature.js';

export function resolverAddressesOn(_ctx: ModelContext, _ifaceKey: string): string[] {
  return [];
}
