// The boot unit: at start-up, before any interface comes up, load the last *confirmed*
// generation's ruleset and sysctl from kairo's store. A box that reboots while a commit-confirm is
// pending therefore comes back with the configuration that was known to work (Junos does the same).
import type { Artifact } from '../../render/artifact.js';
import { NFT_PATH, SYSCTL_PATH } from '../../render/ruleset.js';
import { defineFeature } from '../feature.js';

export const BOOT_UNIT_PATH = '/etc/systemd/system/kairo-boot.service';
const CONFIRMED = '/var/lib/kairo/confirmed';

export function renderBootUnit(head: string, nftPath: string, sysctlPath: string): Artifact {
  const content = `${head}
[Unit]
Description=kairo: the last confirmed firewall and sysctl, before the network comes up
DefaultDependencies=no
After=local-fs.target
Before=network-pre.target
Wants=network-pre.target
ConditionPathExists=${CONFIRMED}${nftPath}

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/sbin/nft -f ${CONFIRMED}${nftPath}
ExecStart=/usr/sbin/sysctl -q -p ${CONFIRMED}${sysctlPath}

[Install]
WantedBy=sysinit.target
`;
  return { path: BOOT_UNIT_PATH, content, mode: 0o644, owner: 'boot', reload: 'none' };
}

export const boot = defineFeature({
  id: 'boot',
  model: () => ({}),
  render: (_m, ctx) => [renderBootUnit(ctx.head, NFT_PATH, SYSCTL_PATH)],
  services: () => [{ unit: 'kairo-boot.service', files: [BOOT_UNIT_PATH], onChange: 'none', enabled: true }],
});
