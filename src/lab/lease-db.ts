// A site whose DHCP leases live in MySQL on the router itself (`host: localhost` or 127.0.0.1)
// needs that database to be there: the lab stands in for it with a real MariaDB in the router's
// namespace, its data in the lab's state directory, the database and user made with the site's
// own credentials (read from the rendered Kea file, as the router reads them). Kea's unit then
// creates the schema with kea-admin, as on a host.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { have, must, run } from '../lib/exec.js';
import type { Artifact } from '../render/artifact.js';
import { sandboxScript } from '../targets/sandbox.js';

export interface LeaseDb {
  type: string;
  host: string;
  port?: number;
  name: string;
  user: string;
  password: string;
}

/** The lease database a router's Kea files name, when it is MySQL on the router itself. */
export function localLeaseDb(artifacts: Artifact[]): LeaseDb | undefined {
  for (const a of artifacts.filter((x) => /\/kea\/dhcp[46]\.json$/.test(x.path))) {
    const json = JSON.parse(a.content.slice(a.content.indexOf('{'))) as Record<string, { 'lease-database'?: LeaseDb }>;
    const db = Object.values(json)[0]['lease-database'];
    if (db && db.type !== 'memfile' && ['localhost', '127.0.0.1', '::1'].includes(db.host)) return db;
  }
  return undefined;
}

const sqlString = (s: string) => `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
const sqlName = (s: string) => `\`${s.replaceAll('`', '``')}\``;

/**
 * Starts MariaDB in `ns`, its socket in `socketDir` (bound on /run/mysqld where Kea runs), and
 * creates the site's database and user. Returns the server's pid.
 */
export function startLeaseDb(ns: string, db: LeaseDb, dir: string, socketDir: string, startIn: (ns: string, log: string, cmd: string, args: string[]) => number | undefined, logFile: string): number | undefined {
  if (db.type !== 'mysql') throw new Error(`the lab stands in for a MySQL/MariaDB lease database only, not ${db.type}`);
  if (!have('mariadbd')) throw new Error('the site keeps its leases in MySQL on the router: the lab needs MariaDB (apt install mariadb-server)');
  const data = join(dir, 'data');
  mkdirSync(data, { recursive: true });
  mkdirSync(socketDir, { recursive: true });
  must('mariadb-install-db', ['--no-defaults', `--datadir=${data}`, '--user=root', '--skip-test-db', '--auth-root-authentication-method=socket'], { timeoutMs: 60_000 });
  const sock = join(socketDir, 'mysqld.sock');
  const script = sandboxScript({ root: join(dir, 'no-root') }, `exec mariadbd --no-defaults --datadir=${data} --socket=${sock} --pid-file=${join(dir, 'mariadb.pid')} --bind-address=127.0.0.1 --port=${db.port ?? 3306} --user=root --skip-log-bin`);
  const pid = startIn(ns, logFile, 'unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script]);
  const sql = (q: string) => run('mariadb', ['--no-defaults', '-S', sock, '-u', 'root', '-e', q], { netns: ns });
  const deadline = Date.now() + 20_000;
  while (sql('SELECT 1').code !== 0) {
    if (Date.now() > deadline) throw new Error(`MariaDB did not come up in ${ns} (log: ${logFile})`);
    run('sleep', ['0.1']);
  }
  const users = ['localhost', '127.0.0.1', '::1'].map((h) => `${sqlString(db.user)}@${sqlString(h)}`);
  const r = sql([
    `CREATE DATABASE IF NOT EXISTS ${sqlName(db.name)}`,
    ...users.map((u) => `CREATE USER IF NOT EXISTS ${u} IDENTIFIED BY ${sqlString(db.password)}`),
    ...users.map((u) => `GRANT ALL ON ${sqlName(db.name)}.* TO ${u}`),
  ].join('; '));
  if (r.code !== 0) throw new Error(`MariaDB in ${ns}: ${r.stderr.trim()}`);
  return pid;
}

/** Leases in the lab's database, for checks: address and hardware address of each. */
export function leasesInDb(ns: string, socketDir: string, db: LeaseDb): { address: string; hwaddr: string }[] {
  const r = run('mariadb', ['--no-defaults', '-S', join(socketDir, 'mysqld.sock'), '-u', 'root', '-N', '-B', '-e', `SELECT INET_NTOA(address), HEX(hwaddr) FROM ${sqlName(db.name)}.lease4`], { netns: ns });
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => {
    const [address, hw] = l.split('\t');
    return { address, hwaddr: (hw.toLowerCase().match(/../g) ?? []).join(':') };
  });
}
