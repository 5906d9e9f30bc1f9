// The exporter scraped by a real Prometheus (Debian's) in the lab: the router runs `kairo exporter`
// from its unit, listening only on its LAN address; Prometheus on a LAN client scrapes it, and
// PromQL returns the counter of the rule that let the client's ssh in and the client's lease.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { labDown, testLab, upLab } from '../../src/lab/index.js';
import { startIn, stateDir } from '../../src/lab/run.js';
import { labMac, requestLease } from '../../src/lab/dhcp-probe.js';
import { have, run } from '../../src/lib/exec.js';
import { example, labSkip } from './helpers.js';

const skip = labSkip() || (!have('prometheus') ? 'skipped: prometheus is not installed (scripts/setup.sh installs it)' : false);

/** PromQL through Prometheus' HTTP API, from inside the namespace it runs in. */
function promql(ns: string, query: string): { metric: Record<string, string>; value: [number, string] }[] {
  const url = `http://127.0.0.1:9090/api/v1/query?query=${encodeURIComponent(query)}`;
  const r = run(process.execPath, ['-e', `fetch(${JSON.stringify(url)}).then((r) => r.text()).then((t) => console.log(t)).catch((e) => console.log(JSON.stringify({ error: String(e) })))`], { netns: ns, timeoutMs: 5000 });
  const j = JSON.parse(r.stdout.trim() || '{}') as { data?: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  return j.data?.result ?? [];
}

test('lab: Prometheus scrapes kairo exporter on the LAN only; PromQL finds the rule counter and the lease', { skip, timeout: 120_000 }, () => {
  const r = example('home-router', (t) => t.replace('name: home\n', 'name: promlab\n').replace('\nzones:\n', '\nmetrics: { on: [lan] }\nzones:\n'));
  const { plan } = upLab(r, () => {});
  const client = plan.hosts.find((h) => h.role === 'client')!;
  let prom: number | undefined;
  try {
    // Traffic the counters must show: the site's checks (ssh from the LAN among them) and a kept lease.
    const t = testLab(r, plan);
    assert.equal(t.failed, 0, t.table);
    const mac = labMac('prometheus lease');
    const lease = requestLease(client.ns, mac, join(stateDir(plan.prefix), 'udhcpc-print.sh'), false);
    assert.ok(!('error' in lease), JSON.stringify(lease));

    // The exporter answers on the LAN address and not on the uplink.
    const get = (ns: string, url: string) => run(process.execPath, ['-e', `fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(1500) }).then((r) => r.text()).then((t) => console.log(t)).catch((e) => console.log('failed: ' + e))`], { netns: ns, timeoutMs: 5000 }).stdout;
    assert.match(get(client.ns, 'http://10.0.0.1:9838/metrics'), /^# TYPE kairo_rule_packets_total counter$/m);
    assert.match(get(plan.isp!.ns, 'http://100.64.0.2:9838/metrics'), /^failed: /);

    const dir = join(stateDir(plan.prefix), 'prometheus');
    mkdirSync(join(dir, 'data'), { recursive: true });
    writeFileSync(join(dir, 'prometheus.yml'), 'global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: kairo\n    static_configs: [{ targets: ["10.0.0.1:9838"] }]\n');
    prom = startIn(client.ns, join(dir, 'prometheus.log'), 'prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, '--web.listen-address=127.0.0.1:9090']);
    let up: ReturnType<typeof promql> = [];
    for (let i = 0; i < 100 && !(up = promql(client.ns, 'up{job="kairo"} == 1')).length; i++) run('sleep', ['0.2']);
    assert.equal(up.length, 1, `Prometheus never scraped the exporter (log: ${join(dir, 'prometheus.log')})`);

    const ssh = promql(client.ns, 'kairo_rule_packets_total{path="firewall.rules[ssh-from-lan]"}');
    assert.equal(ssh.length, 1, JSON.stringify(ssh));
    assert.ok(Number(ssh[0].value[1]) >= 1, `ssh-from-lan matched ${ssh[0].value[1]} packets`);
    const leases = promql(client.ns, 'kairo_dhcp_leases{subnet="10.0.0.0/24"}');
    assert.equal(leases.length, 1, JSON.stringify(leases));
    assert.ok(Number(leases[0].value[1]) >= 1, `leases: ${leases[0].value[1]}`);
    assert.ok(promql(client.ns, 'kairo_interface_receive_bytes_total{device="enp2s0"} > 0').length === 1);
    assert.ok(promql(client.ns, 'kairo_dns_queries_total > 0').length === 1, 'resolver statistics');
  } finally {
    if (prom) run('kill', [String(prom)]);
    labDown(plan.prefix);
  }
});
