// Every example's ruleset on the real kernel, in a namespace this test creates: accepted by
// `nft -c`, loaded twice (the second load replaces the first atomically, same result), and a
// foreign table that existed before (a Docker-like one) is byte-identical afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { compileSite } from '../../src/pipeline.js';
import { fileReaderBeside } from '../../src/config/files.js';
import { have, isRoot, must, run } from '../../src/lib/exec.js';

const examples = join(import.meta.dirname, '..', '..', 'examples');
const skip = !isRoot() ? 'skipped: needs root for network namespaces' : !have('nft') ? 'skipped: nft not installed' : false;

const FOREIGN = `table ip docker_like {
	chain DOCKER { }
	chain FORWARD {
		type filter hook forward priority filter; policy accept;
		iifname "docker0" oifname != "docker0" accept
		oifname "docker0" ct state established,related accept
		oifname "docker0" jump DOCKER
	}
	chain POSTROUTING {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr 172.17.0.0/16 oifname != "docker0" masquerade
	}
}
`;

for (const file of readdirSync(examples).filter((f) => f.endsWith('.yaml')).sort()) {
  test(`nft accepts and atomically reloads ${file}`, { skip }, () => {
    const result = compileSite(readFileSync(join(examples, file), 'utf8'), file, { readFile: fileReaderBeside(join(examples, file)) });
    assert.ok(result.ok, result.diagnostics.map((d) => d.message).join('\n'));
    const ns = `kt-nft-${process.pid}`;
    run('ip', ['netns', 'del', ns]);
    must('ip', ['netns', 'add', ns]);
    try {
      must('nft', ['-f', '-'], { netns: ns, input: FOREIGN });
      const foreignBefore = must('nft', ['list', 'table', 'ip', 'docker_like'], { netns: ns });
      for (const n of result.nodes) {
        const nft = n.artifacts.find((a) => a.reload === 'nftables')!.content;
        const check = run('nft', ['-c', '-f', '-'], { netns: ns, input: nft });
        assert.equal(check.code, 0, `nft -c rejected ${file} node ${n.node}: ${check.stderr}`);
        must('nft', ['-f', '-'], { netns: ns, input: nft });
        const first = must('nft', ['list', 'ruleset'], { netns: ns });
        must('nft', ['-f', '-'], { netns: ns, input: nft });
        const second = must('nft', ['list', 'ruleset'], { netns: ns });
        assert.equal(second, first, 'a second load must replace the tables with the same content');
        for (const t of ['table inet kairo', 'table ip kairo_nat', 'table ip6 kairo_nat']) {
          assert.equal(second.split('\n').filter((l) => l === t + ' {').length, 1, `${t} exactly once`);
        }
        assert.equal(must('nft', ['list', 'table', 'ip', 'docker_like'], { netns: ns }), foreignBefore, 'foreign table untouched');
      }
    } finally {
      run('ip', ['netns', 'del', ns]);
    }
  });
}
