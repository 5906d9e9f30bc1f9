// The lab's stand-ins for the Internet's DNS, for a site whose router runs the resolver:
//   - a root server (an unbound serving a small, unsigned root zone that holds example.com and example.test) in
//     the ISP namespace, and the forwarders the site names, answering plain DNS and DNS-over-TLS
//     (port 853) with a certificate for each tls-name signed by a lab CA;
//   - for the router's resolver only, three files laid over the system's (never the rendered
//     ones): the root hints (the lab's root instead of the real root servers), the trust anchor (the
//     lab's root is unsigned, so the anchor names a domain the lab never asks about and validation
//     has nothing to check), and the CA bundle (the lab CA, so certificate names are checked against
//     the lab's certificates exactly as against a provider's on a host).
// The router's unbound.conf is byte for byte what a host gets.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CA_BUNDLE, ROOT_HINTS, ROOT_KEY } from '../features/dns/render.js';

export interface LabDns {
  /** The lab root server's address (IPv4, on the ISP's loopback). */
  root4: string;
  /** The forwarders the site names: the ISP owns these addresses and answers there. */
  forwarders: { address: string; port: number; tlsName?: string }[];
  /** Names the ISP's TLS certificate carries: the forwarders' tls-names (a test may change them). */
  certNames: string[];
  internet4: string;
  internet6: string;
}

export const ROOT_NS = 'root.kairo-lab.test';

/**
 * The lab's root zone: the root server's own name, example.com and example.test (every name under
 * them), as the ISP's dnsmasq answers them. A resolver answers test. itself (RFC 6761): checks
 * through the router's resolver ask for example.com.
 */
export function rootZone(d: LabDns): string {
  return [
    `. 3600 IN SOA ${ROOT_NS}. hostmaster.kairo-lab.test. 1 3600 600 86400 300`,
    `. 3600 IN NS ${ROOT_NS}.`,
    `${ROOT_NS}. 3600 IN A ${d.root4}`,
    ...['example.com', 'example.test'].flatMap((z) => [
      `${z}. 300 IN A ${d.internet4}`, `${z}. 300 IN AAAA ${d.internet6}`, `*.${z}. 300 IN A ${d.internet4}`, `*.${z}. 300 IN AAAA ${d.internet6}`,
    ]),
    '',
  ].join('\n');
}

/** The ISP's unbound: authoritative for the lab root on its address and on every forwarder's (plain and TLS). */
export function ispUnboundConf(d: LabDns, dir: string): string {
  const tls = d.forwarders.some((f) => f.tlsName);
  const listen = [`${d.root4}@53`, ...d.forwarders.map((f) => `${f.address}@${f.port}`)];
  return `server:
	interface-automatic: no
${[...new Set(listen)].map((l) => `	interface: ${l}`).join('\n')}
	access-control: 0.0.0.0/0 allow
	access-control: ::/0 allow
	username: ""
	chroot: ""
	directory: "${dir}"
	pidfile: "${dir}/unbound.pid"
	use-syslog: no
	logfile: "${dir}/unbound.log"
	verbosity: 1
	module-config: "iterator"
${tls ? `	tls-port: 853\n	tls-service-key: "${dir}/server.key"\n	tls-service-pem: "${dir}/server.pem"\n` : ''}
auth-zone:
	name: "."
	zonefile: "${dir}/root.zone"
	for-downstream: yes
	for-upstream: no
	fallback-enabled: no
`;
}

/** The files the router's resolver sees instead of the system's: path on the node → content. */
export function routerStandIns(d: LabDns, caPem?: string): Record<string, string> {
  return {
    [ROOT_HINTS]: `; the kairo lab's root server, standing in for the Internet's\n.\t3600000\tNS\t${ROOT_NS}.\n${ROOT_NS}.\t3600000\tA\t${d.root4}\n`,
    // The lab's root is unsigned: an anchor for a name never asked about leaves it insecure.
    [ROOT_KEY]: '; kairo lab: the lab root is unsigned; this anchor is for a name the lab never asks about\nkairo-lab.invalid. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n',
    ...(caPem ? { [CA_BUNDLE]: caPem } : {}),
  };
}

/** A lab CA and a server certificate for `names`, signed by it (openssl). Returns the CA's PEM. */
export function makeCertificates(dir: string, names: string[]): string {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const f = (n: string) => join(dir, n);
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=kairo lab CA', '-keyout', f('ca.key'), '-out', f('ca.pem'),
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${names[0] ?? 'kairo-lab'}`, '-keyout', f('server.key'), '-out', f('server.csr'));
  writeFileSync(f('server.ext'), `subjectAltName=${names.map((n) => `DNS:${n}`).join(',') || 'DNS:kairo-lab.invalid'}\nextendedKeyUsage=serverAuth\n`);
  ssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', f('server.ext'), '-out', f('server.pem'));
  return execFileSync('cat', [f('ca.pem')]).toString();
}

/** Writes the ISP side's files (zone, config, certificates) under `dir`; returns the CA's PEM when TLS is used. */
export function writeIspDns(d: LabDns, dir: string): { conf: string; caPem?: string } {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'root.zone'), rootZone(d));
  const conf = join(dir, 'unbound.conf');
  writeFileSync(conf, ispUnboundConf(d, dir));
  const caPem = d.forwarders.some((f) => f.tlsName) ? makeCertificates(dir, d.certNames) : undefined;
  return { conf, caPem };
}

/** Lays the stand-ins out as a tree (ROOT/etc/..., ROOT/usr/...) for the sandbox to put under the rendered files. */
export function writeStandIns(root: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}
