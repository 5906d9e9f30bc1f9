// The registry: every capability, once, in order. The order fixes model order (a feature may use
// the models of those before it) and render order (output stays byte-identical), and the order of
// keys in the site file's schema. Adding a capability: a folder under src/features/ exporting a
// Feature (see ./feature.ts and docs/adding-a-capability.md), and one line here.
import { interfaces } from './interfaces/index.js';
import { prefixDelegation } from './prefix-delegation/index.js';
import { containers } from './containers/index.js';
import { pppoe } from './pppoe/index.js';
import { dsLite } from './ds-lite/index.js';
import { routedHostsFeature } from './routed-hosts/index.js';
import { ra } from './ra/index.js';
import { firewall } from './firewall/index.js';
import { nat } from './nat/index.js';
import { sysctl } from './sysctl/index.js';
import { boot } from './boot/index.js';
import { dns } from './dns/index.js';
import { dhcp } from './dhcp/index.js';
import { dropLog } from './drop-log/index.js';
import { metrics } from './metrics/index.js';
import { flows } from './flows/index.js';
import { lab } from './lab/index.js';

export const FEATURES = [
  interfaces,
  prefixDelegation,
  containers,
  pppoe,
  dsLite,
  routedHostsFeature,
  firewall,
  nat,
  dns,
  dhcp,
  dropLog,
  ra,
  metrics,
  sysctl,
  boot,
  flows,
  lab,
] as const;
