// Where the ruleset and sysctl files live, and the tables kairo owns (and only those: tables of
// Docker, LXD or libvirt are never named, so never touched).
export const NFT_PATH = '/etc/kairo/nftables.nft';
export const SYSCTL_PATH = '/etc/kairo/sysctl.conf';
/** Kernel modules the ruleset needs loaded before nft can load it (systemd-modules-load reads it at boot). */
export const MODULES_LOAD_PATH = '/etc/modules-load.d/kairo.conf';
export const KAIRO_TABLES = [['inet', 'kairo'], ['ip', 'kairo_nat'], ['ip6', 'kairo_nat']] as const;
