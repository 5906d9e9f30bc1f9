// The tracer says what the kernel does: generated sites (test/property/site-arb.ts, static
// addresses only) are built as namespaces (a router with kairo's ruleset and sysctl, one host per
// link), sampled packets are sent from the hosts, and where each arrived (a counter in the host
// the tracer says it goes to, or in the router's input after kairo's chain) is compared with the
// tracer's verdict for the same packet. Seeded like the other property test: KAIRO_PROP_SEED,
// KAIRO_ORACLE_SITES (default 12), KAIRO_ORACLE_PACKETS per site (default 16).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compileSite } from '../../src/pipeline.js';
import { tracePacket } from '../../src/trace/evaluate.js';
import { have, isRoot, must, run } from '../../src/lib/exec.js';
import { siteArb } from '../property/site-arb.js';
import { build, counters, OBSERVE, send, teardown } from '../property/oracle-net.js';

const skip = !isRoot() ? 'skipped: needs root for network namespaces' : !have('nft') ? 'skipped: nft not installed' : false;
const SITES = Number(process.env.KAIRO_ORACLE_SITES ?? 12);
const PACKETS = Number(process.env.KAIRO_ORACLE_PACKETS ?? 16);
const SEED = Number(process.env.KAIRO_PROP_SEED ?? Date.now() % 2 ** 31);

test(`tracer == kernel: sampled packets through generated sites (${SITES} sites × ${PACKETS} packets, seed ${SEED})`, { skip, timeout: 900_000 }, () => {
  const rnd = fc.sample(fc.integer({ min: 0, max: 2 ** 30 }), { numRuns: 4000, seed: SEED });
  let r = 0;
  const pick = <T>(xs: readonly T[]): T => xs[rnd[r++ % rnd.length] % xs.length];
  const sites = fc.sample(siteArb, { numRuns: SITES * 6, seed: SEED })
    .map((text) => ({ text, c: compileSite(text, 'oracle.json', { env: () => 'pw' }) }))
    // Static addresses only: the oracle hands out the addresses itself.
    .filter((s) => s.c.ok && s.c.nodes[0].model.interfaces.every((i) => i.ipv6Mode !== 'slaac' && i.ipv6Mode !== 'dhcp' && !i.ipv4Dhcp && i.ipv4.length > 0) && !s.c.nodes[0].model.interfaces.some((i) => i.device.startsWith('ppp')))
    .slice(0, SITES);
  assert.ok(sites.length >= Math.min(SITES, 4), `only ${sites.length} generated sites have static addresses`);
  const disagreements: string[] = [];
  let packets = 0;
  const tally = { accepted: 0, refused: 0 };
  const t0 = Date.now();
  try {
    for (const s of sites) {
      teardown();
      const node = s.c.nodes[0];
      const { router, hosts } = build(node);
      const hostList = [...hosts.values()];
      const candidate = (k: number) => {
        const from = pick(hostList);
        const family = from.v6 && pick([true, false]) ? 6 : 4;
        const src = family === 6 ? from.v6! : from.v4!;
        // To another host, or to the router's own address on some link.
        const toRouter = pick([true, false, false]);
        const toIface = pick(node.model.interfaces);
        const dst = toRouter ? (family === 6 ? toIface.ipv6[0]?.addr.toString() : toIface.ipv4[0]?.addr.toString()) : (family === 6 ? hosts.get(toIface.device)!.v6 : hosts.get(toIface.device)!.v4);
        if (!dst || (toIface.device === from.dev && !toRouter)) return undefined;
        const proto = pick(['tcp', 'udp', 'icmp']);
        const ports = node.model.features.has('firewall') ? [22, 53, 80, 443, 8080, 123, pick([1, 1000, 20000, 65535])] : [80];
        const port = pick(ports);
        const traced = tracePacket(node.model, { family, iif: from.dev, proto: proto === 'icmp' ? (family === 6 ? 'icmpv6' : 'icmp') : proto, src, dst, ...(proto === 'icmp' ? { icmpType: 'echo-request' } : { sport: 40000 + k, dport: port }) });
        return { from, proto, src, dst, port, traced, family };
      };
      for (let k = 0; k < PACKETS; k++) {
        // Candidates are cheap (the tracer only): half the packets are ones the tracer accepts, so
        // both verdicts meet the kernel even where the generated policy drops most things.
        const want = k % 2 === 0 ? 'accept' : 'other';
        let chosen: ReturnType<typeof candidate> | undefined;
        for (let tries = 0; tries < 40; tries++) {
          const c = candidate(k);
          if (!c) continue;
          chosen ??= c;
          if ((c.traced.verdict === 'accept') === (want === 'accept')) { chosen = c; break; }
        }
        if (!chosen) continue;
        const { from, proto, src, dst, port, traced, family } = chosen;
        // Where it would arrive: the router (input), or the host on the outgoing link (after DNAT).
        const at = traced.hook === 'input' ? router : traced.oif ? hosts.get(traced.oif)?.ns : undefined;
        if (!at) continue;
        const watch = traced.dnat?.port ?? port;
        run('nft', ['delete', 'table', 'inet', 'observe'], { netns: at });
        must('nft', ['-f', '-'], { netns: at, input: OBSERVE(family === 6 ? 'ip6' : 'ip', watch) });
        send(from, proto, dst, port);
        const arrived = counters(at) > 0;
        run('nft', ['delete', 'table', 'inet', 'observe'], { netns: at });
        packets++;
        tally[arrived ? 'accepted' : 'refused']++;
        if (arrived !== (traced.verdict === 'accept')) {
          disagreements.push(`${proto} ${src} → ${dst}${proto === 'icmp' ? '' : `:${port}`} in ${from.dev}: tracer ${traced.verdict} by ${traced.decidedBy.path} (${traced.hook}${traced.oif ? ` → ${traced.oif}` : ''}), kernel ${arrived ? 'delivered it' : 'did not deliver it'}\n--- site ---\n${s.text}`);
        }
      }
    }
  } finally {
    teardown();
  }
  console.log(`tracer oracle: ${packets} packets through ${sites.length} sites (seed ${SEED}) in ${Date.now() - t0} ms (${tally.accepted} delivered, ${tally.refused} not); ${disagreements.length} disagreements`);
  assert.ok(tally.accepted > 0 && tally.refused > 0, 'both verdicts were put to the kernel');
  assert.ok(packets >= sites.length * PACKETS * 0.5, `only ${packets} packets were sent`);
  if (disagreements.length) console.log(`first disagreement:\n${disagreements[0]}`);
  assert.equal(disagreements.length, 0, `${disagreements.length} disagreements (the first is printed above)`);
});
