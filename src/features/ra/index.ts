// Router advertisements (RFC 4861) on the router's IPv6 links: prefixes for SLAAC, the router as
// default router, DNS servers (RDNSS) and search domains (DNSSL), the M/O flags, sent by
// systemd-networkd itself (IPv6SendRA=, see ./networkd.ts). When the ISP renumbers a delegated
// prefix, networkd 252 simply stops announcing the old /64, so hosts would keep using an address
// that no longer routes for up to its preferred lifetime; the prefix-delegation follower then
// sends RAs of its own for the old prefix with lifetime 0 (RFC 9096), with ./deprecate.ts.
import { defineFeature } from '../feature.js';
import { raSchema } from './schema.js';
import { buildRaModel, type RaModel } from './model.js';
import { verifyRa } from './verify.js';
import { raNetworkd } from './networkd.js';
import { RA_DEPRECATE_PATH, deprecateScript } from './deprecate.js';

export type { RaModel, RaLink } from './model.js';

export const ra = defineFeature({
  id: 'ra',
  interfaceKeys: {
    ra: raSchema.optional().describe('router advertisements on this link: false for none, true or settings; default on for a non-uplink link with a static /64 or a delegated prefix'),
  },
  verify: verifyRa,
  model: (ctx): RaModel | undefined => buildRaModel(ctx),
  networkd: (m) => m.links.map(raNetworkd),
  // The sender of RFC 9096's "this prefix is gone" RAs, for the prefix-delegation follower.
  render: (m, ctx) => (m.links.some((l) => l.delegated)
    ? [{ path: RA_DEPRECATE_PATH, content: deprecateScript(ctx.head), mode: 0o755, owner: 'ra', reload: 'none' }]
    : []),
});
