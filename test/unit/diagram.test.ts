// `kairo diagram`: every example drawn by real Graphviz (WebAssembly): every router, every link
// with its subnet, the zones, the Internet beyond the uplink, published services and VMs appear.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { compileSite } from '../../src/pipeline.js';
import { fileReaderBeside } from '../../src/config/files.js';
import { siteDot } from '../../src/diagram/dot.js';
import { dotToSvg } from '../../src/diagram/svg.js';
import { featureModel } from '../../src/model/build.js';
import { nat } from '../../src/features/nat/index.js';

const examples = join(import.meta.dirname, '..', '..', 'examples');

test('diagram: every example renders to SVG with its routers, links, zones, addresses and published services', async () => {
  for (const f of readdirSync(examples).filter((x) => x.endsWith('.yaml'))) {
    const r = compileSite(readFileSync(join(examples, f), 'utf8'), f, { readFile: fileReaderBeside(join(examples, f)) });
    assert.ok(r.ok && r.site, f);
    const dot = siteDot(r.site, r.nodes.map((n) => n.model));
    const svg = await dotToSvg(dot);
    assert.match(svg, /^<\?xml[\s\S]*<svg[\s\S]*<\/svg>\s*$/, f);
    // Graphviz writes each node's id as its <title>; labels as <text>.
    const titles = new Set([...svg.matchAll(/<title>([^<]*)<\/title>/g)].map((m) => m[1].replaceAll('&#45;', '-').replaceAll('&gt;', '>')));
    for (const n of r.nodes) {
      assert.ok(titles.has(`node:${n.node}`), `${f}: router ${n.node}`);
      for (const i of n.model.interfaces) {
        assert.ok(titles.has(`link:${i.key}`), `${f}: link ${i.key}`);
        assert.ok(svg.includes(`>zone ${i.zone}<`), `${f}: zone ${i.zone}`);
        for (const a of i.ipv4) assert.ok(svg.includes(a.addr.toString()), `${f}: ${a.text}`);
      }
    }
    const text = svg.replaceAll('&#45;', '-');
    for (const fw of featureModel(r.nodes[0].model, nat)?.forwards ?? []) assert.ok(text.includes(`${fw.name}:`), `${f}: forward ${fw.name}`);
    if (f === 'routed-vm-host.yaml') assert.ok(titles.has('vm:192.0.2.116'), 'a routed VM');
    if (f === 'ipoe-ha-pair.yaml') assert.match(text, /DS-Lite/);
  }
});

test('diagram: labels are escaped (a quote in a description cannot break the graph)', async () => {
  const r = compileSite('version: 1\ndescription: \'the "main" box\'\ninterfaces:\n  lan: { device: eth1, zone: lan, ipv4: 10.0.0.1/24 }\n', 'site.yaml');
  assert.ok(r.ok && r.site);
  const svg = await dotToSvg(siteDot(r.site, r.nodes.map((n) => n.model)));
  assert.match(svg, /the &quot;main&quot; box/);
});
