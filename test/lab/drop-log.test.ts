// The drop log on live traffic (root): the home example (its wan → router policy says log) in a
// lab of its own name. A probe the firewall drops appears in `kairo logs drops` with the config
// path of the policy that dropped it; then a flood of 100 000 dropped packets: the log grows by at
// most rate × duration + burst lines, while the policy's drop counter grows by every one of them
// and the witness sees none pass the router.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { labDown, upLab } from '../../src/lab/index.js';
import { stateDir } from '../../src/lab/run.js';
import { watch } from '../../src/lab/witness.js';
import { run } from '../../src/lib/exec.js';
import { example, labSkip, root } from './helpers.js';
import { have } from '../../src/lib/exec.js';

const skip = labSkip() || (!have('ulogd') && 'skipped: ulogd is not installed (scripts/setup.sh installs ulogd2 and ulogd2-json)');
const FLOOD = 100_000;

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0);
/** The policy's `counter drop` rule in its chain (the log rule before it has no counter). */
function dropCounter(ns: string, chain: string, path: string): number {
  const j = JSON.parse(run('nft', ['-j', 'list', 'chain', 'inet', 'kairo', chain], { netns: ns }).stdout) as { nftables: { rule?: { comment?: string; expr: Record<string, unknown>[] } }[] };
  const rule = j.nftables.map((x) => x.rule).find((r) => r?.comment === path && r.expr.some((e) => 'drop' in e));
  const c = rule?.expr.find((e) => 'counter' in e) as { counter: { packets: number } } | undefined;
  assert.ok(c, `no counted drop rule for ${path} in ${chain}`);
  return c.counter.packets;
}

test('lab: drop log: a dropped probe is logged with its policy; a 100 000 packet flood is all dropped, the log bounded', { skip, timeout: 180_000 }, () => {
  const site = example('home-router', (t) => t.replace('name: home', 'name: droplog'));
  const { plan } = upLab(site, () => {});
  try {
    const r = plan.routers[0];
    const isp = plan.isp!;
    const wanDev = r.links.find((l) => l.segment === isp.segment)!.dev;
    const wan = /"local":"([\d.]+)"/.exec(run('ip', ['-n', r.ns, '-j', '-4', 'addr', 'show', 'dev', wanDev]).stdout)?.[1];
    assert.ok(wan, `the router has no IPv4 address on ${wanDev}`);
    const log = join(stateDir(plan.prefix), r.node, 'var/log/kairo/drops.json');
    const kairo = (args: string[]) => run(process.execPath, [join(root, 'bin', 'kairo.js'), ...args]);

    // The probe: SYNs to the router's ssh port from the Internet (wan → router: dropped and logged).
    run('timeout', ['3', 'bash', '-c', `echo > /dev/tcp/${wan}/22`], { netns: isp.ns });
    let shown = '';
    for (let i = 0; i < 40 && !shown.includes(`${wan} tcp/22`); i++) {
      run('sleep', ['0.1']);
      shown = kairo(['logs', 'drops', '--target', `lab:droplog:${r.node}`]).stdout;
    }
    const probe = shown.split('\n').find((l) => l.includes(`→ ${wan} tcp/22`));
    assert.ok(probe, `the probe is not in the drop log:\n${shown}`);
    assert.match(probe, /wan>router {2}drop by firewall\.policies\[wan>router\]/);
    assert.match(readFileSync(log, 'utf8'), /"oob.prefix": "kairo k[0-9a-f]{8} wan>router firewall.policies\[wan>router\]"/, 'the file itself names the policy');

    // The flood: 100 000 UDP datagrams to a closed port of the router, as fast as node sends them.
    run('sleep', ['2.5']); // the log's bucket refills (burst) after the probe
    const before = { lines: lines(log), dropped: dropCounter(r.ns, 'in_wan', 'firewall.policies[wan>router]') };
    const witness = watch([r.ns], { family: 4, dst: wan, proto: 'udp', port: 9 });
    // Each send's callback counts it handed to the kernel; the socket closes after the last one.
    const sender = `const s=require('dgram').createSocket('udp4');const b=Buffer.alloc(32);let n=0,done=0,err=0;
const cb=(e)=>{if(e)err++;if(++done===${FLOOD})s.close(()=>{console.log(done-err);process.exit(err?1:0)})};
function go(){let k=0;while(n<${FLOOD}&&k<500){s.send(b,9,'${wan}',cb);n++;k++}if(n<${FLOOD})setImmediate(go)}go()`;
    const t0 = Date.now();
    const sent = run(process.execPath, ['-e', sender], { netns: isp.ns, timeoutMs: 120_000 });
    assert.equal(sent.code, 0, sent.stderr);
    assert.equal(Number(sent.stdout.trim()), FLOOD, 'every datagram was sent');
    const seconds = (Date.now() - t0) / 1000;
    run('sleep', ['1']); // ulogd writes each line as it comes (sync); give the last ones a moment
    const w = witness();
    const after = { lines: lines(log), dropped: dropCounter(r.ns, 'in_wan', 'firewall.policies[wan>router]') };
    const logged = after.lines - before.lines;
    const dropped = after.dropped - before.dropped;
    const bound = Math.ceil(10 * (seconds + 1)) + 20; // rate 10/second over the flood and the wait, plus the burst
    console.log(`flood: ${FLOOD} sent in ${seconds.toFixed(2)} s; arrived ${w.arrived}, passed ${w.passed}; dropped by the policy ${dropped}; log lines ${logged} (bound ${bound})`);
    assert.equal(w.arrived, FLOOD, 'every datagram reached the router');
    assert.equal(w.passed, 0, 'none passed the router');
    assert.ok(dropped >= FLOOD, `the policy dropped ${dropped} of ${FLOOD}`);
    assert.ok(logged >= 1, 'the flood was logged at all');
    assert.ok(logged <= bound, `${logged} lines logged, more than ${bound}`);
  } finally {
    labDown(plan.prefix);
  }
});
