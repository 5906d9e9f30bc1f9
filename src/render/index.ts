// NodeModel → Artifact[]: the files one router needs. Pure and deterministic (no clock, no I/O),
// so the same site always renders byte-identical files.
import type { NodeModel } from '../model/types.js';
import { header, type Artifact } from './artifact.js';
import { renderFilterTable } from '../features/firewall/render.js';
import { renderNatTables } from '../features/nat/render.js';
import { renderSysctl } from '../features/sysctl/render.js';
import { renderNetworkd } from '../features/interfaces/networkd.js';
import { renderBootUnit } from '../features/boot/render.js';
import { renderRoutedHosts } from '../features/routed-hosts/render.js';
import { renderDsLite } from '../features/ds-lite/render.js';
import { renderPppoe } from '../features/pppoe/render.js';
import { renderContainers } from '../features/containers/render.js';
import { renderPrefixDelegation } from '../features/prefix-delegation/render.js';

export const NFT_PATH = '/etc/kairo/nftables.nft';
export const SYSCTL_PATH = '/etc/sysctl.d/90-kairo.conf';
export const KAIRO_TABLES = [['inet', 'kairo'], ['ip', 'kairo_nat'], ['ip6', 'kairo_nat']] as const;

/**
 * The whole ruleset in one `nft -f` transaction: each kairo table is created (so the delete cannot
 * fail), deleted and defined anew. Tables kairo does not own are never named, so never touched.
 */
export function renderNftables(m: NodeModel): string {
  const replace = KAIRO_TABLES.map(([f, t]) => `table ${f} ${t}\ndelete table ${f} ${t}`).join('\n');
  return `${header('#', m.site, m.node)}\n${replace}\n\n${renderFilterTable(m)}\n${renderNatTables(m).join('\n')}`;
}

export function renderNode(m: NodeModel): Artifact[] {
  const hash = header('#', m.site, m.node);
  return [
    { path: NFT_PATH, content: renderNftables(m), mode: 0o600, owner: 'firewall', reload: 'nftables' },
    { path: SYSCTL_PATH, content: hash + renderSysctl(m), mode: 0o644, owner: 'sysctl', reload: 'sysctl' },
    ...renderNetworkd(m, hash),
    renderBootUnit(hash, NFT_PATH, SYSCTL_PATH),
    ...renderRoutedHosts(m, hash),
    ...renderDsLite(m, hash),
    ...renderPppoe(m, hash),
    ...renderContainers(m, hash),
    ...renderPrefixDelegation(m, hash),
  ];
}
