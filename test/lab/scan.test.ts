// `kairo lab scan` finds exactly the declared open ports for every example, and catches a port the
// site does not declare.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { labDown, upLab } from '../../src/lab/index.js';
import { scanLab } from '../../src/lab/scan.js';
import { AGENT } from '../../src/lab/run.js';
import { have, must, run } from '../../src/lib/exec.js';
import { example, labSkip } from './helpers.js';

const skip = labSkip() || (!have('nmap') ? 'skipped: nmap is not installed' : false);

const expectOpen: Record<string, string[]> = {
  'home-router': [],
  'cloud-nat-instance': ['10.0.0.1 tcp/22', '10.0.0.1 tcp/8001', '2001:db8:1:0:65b0:adc4:6e38:7fd0 tcp/22', '2001:db8:1:0:65b0:adc4:6e38:7fd0 tcp/8001'],
  'vps-nat66-containers': ['203.0.113.10 tcp/22', '2001:db8:202:1202::10 tcp/22', '2001:db8:202:1202::10 tcp/80', '2001:db8:202:1202::10 udp/53'],
  'routed-vm-host': ['203.0.113.48 tcp/22', ...['198.51.100.11', '198.51.100.12', '198.51.100.13'].map((a) => `${a} tcp/80`), ...[112, 113, 114, 115, 116, 117, 118, 119].map((n) => `192.0.2.${n} tcp/80`)],
};

for (const [name, open] of Object.entries(expectOpen)) {
  test(`lab scan: ${name} exposes exactly what it declares`, { skip }, () => {
    const r = example(name);
    const { plan } = upLab(r, () => {});
    try {
      const s = scanLab(r, plan, () => {});
      assert.equal(s.unexpected, 0, s.table);
      assert.equal(s.missing, 0, s.table);
      assert.deepEqual(s.rows.filter((x) => x.open).map((x) => `${x.addr} ${x.proto}/${x.port}`).sort(), [...open].sort(), s.table);
    } finally {
      labDown(plan.prefix);
    }
  });
}

test('lab scan: a port opened behind kairo\'s back is reported as unexpected', { skip }, () => {
  const r = example('cloud-nat-instance');
  const { plan } = upLab(r, () => {});
  try {
    const router = plan.routers[0].ns;
    // Someone adds a rule by hand and starts a service: the site does not declare it.
    must('nft', ['insert', 'rule', 'inet', 'kairo', 'in_wan', 'tcp', 'dport', '8080', 'accept'], { netns: router });
    const fd = openSync('/dev/null', 'w');
    spawn('ip', ['netns', 'exec', router, process.execPath, AGENT, 'serve', 'rogue', 'tcp:8080'], { detached: true, stdio: ['ignore', fd, fd] }).unref();
    for (let i = 0; i < 40 && !/:8080\s/.test(run('ss', ['-Hltn'], { netns: router }).stdout); i++) run('sleep', ['0.05']);
    const s = scanLab(r, plan, () => {});
    const rogue = s.rows.filter((x) => x.open && !x.expected).map((x) => `${x.addr} ${x.proto}/${x.port}`);
    assert.deepEqual(rogue.sort(), ['10.0.0.1 tcp/8080', '2001:db8:1:0:65b0:adc4:6e38:7fd0 tcp/8080'], s.table);
  } finally {
    labDown(plan.prefix);
  }
});

test('lab scan: ipoe-ha-pair opens only ssh over IPv6 on both routers\' SLAAC addresses', { skip }, () => {
  const r = example('ipoe-ha-pair');
  const { plan } = upLab(r, () => {});
  try {
    const s = scanLab(r, plan, () => {});
    assert.equal(s.unexpected + s.missing, 0, s.table);
    const open = s.rows.filter((x) => x.open);
    assert.equal(open.length, 2, s.table);
    for (const o of open) {
      assert.equal(`${o.proto}/${o.port}`, 'tcp/22');
      assert.match(o.addr, /^2001:db8:1000:/, 'the SLAAC address from the ISP\'s advertised prefix');
    }
  } finally {
    labDown(plan.prefix);
  }
});
