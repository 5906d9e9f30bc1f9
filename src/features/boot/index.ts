// The boot unit. At every start-up, before any interface comes up, `kairo boot` puts the last
// *confirmed* generation in place: if the machine stopped while a commit-confirm was pending (or in
// the middle of an apply), the files of that generation (networkd, units, scripts) are replaced by
// the confirmed ones before networkd reads them, then the confirmed ruleset is loaded, and only then
// the sysctl file that turns forwarding on. A ruleset that fails to load leaves forwarding off.
//
// The sysctl file is kept out of /etc/sysctl.d on purpose: systemd-sysctl applies that directory
// early at every boot, whether or not a firewall is loaded. Ordered after systemd-sysctl, so the
// site's values win over the distribution's defaults.
import type { Artifact } from '../../render/artifact.js';
import { defineFeature } from '../feature.js';

export const BOOT_UNIT = 'kairo-boot.service';
export const BOOT_UNIT_PATH = `/etc/systemd/system/${BOOT_UNIT}`;

export function renderBootUnit(head: string): Artifact {
  const content = `${head}
[Unit]
Description=kairo: the last confirmed configuration and firewall, before the network comes up
DefaultDependencies=no
After=local-fs.target systemd-sysctl.service
Before=network-pre.target systemd-networkd.service shutdown.target
Wants=network-pre.target
Conflicts=shutdown.target

[Service]
Type=oneshot
RemainAfterExit=yes
# kairo is found on systemd's search path (/usr/local/bin, /usr/bin, …) where npm installs it.
ExecStart=/usr/bin/env kairo boot

[Install]
WantedBy=sysinit.target
`;
  return { path: BOOT_UNIT_PATH, content, mode: 0o644, owner: 'boot', reload: 'none' };
}

export const boot = defineFeature({
  id: 'boot',
  model: () => ({}),
  render: (_m, ctx) => [renderBootUnit(ctx.head)],
  services: () => [{ unit: BOOT_UNIT, files: [BOOT_UNIT_PATH], onChange: 'none', enabled: true }],
});
