// The seam between router advertisements and the site's DNS resolver. RDNSS (RFC 8106) points
// hosts at the router's own resolver on their link, but only when the site runs one there:
// announcing an address nobody answers on breaks name resolution for every host on the link.
// The resolver (src/features/dns) is earlier in the registry; its model says which links it
// serves and on which of the router's addresses.
import type { ModelContext } from '../feature.js';
import { dns } from '../dns/index.js';
import { resolverAddresses } from '../dns/model.js';

export function resolverAddressesOn(ctx: ModelContext, ifaceKey: string): string[] {
  const v6 = resolverAddresses(ctx.modelOf(dns), ifaceKey).v6;
  return v6 ? [v6] : [];
}

/** The search domain (DNSSL) hosts get with it: the resolver's local domain, where it serves the link. */
export function resolverDomainsOn(ctx: ModelContext, ifaceKey: string): string[] {
  const m = ctx.modelOf(dns);
  return resolverAddresses(m, ifaceKey).v6 ? [m!.domain] : [];
}
