// The exporter's text: Prometheus' exposition format, names by convention, label values escaped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exposition } from '../../src/metrics/format.js';

test('metrics: HELP and TYPE once per name, labels escaped, counters end in _total', () => {
  const text = exposition([
    { name: 'kairo_rule_packets_total', help: 'Packets.', type: 'counter', labels: { path: 'firewall.rules[a "b"]\\x' }, value: 3 },
    { name: 'kairo_rule_packets_total', help: 'Packets.', type: 'counter', labels: { path: 'nat.forwards[web]' }, value: 0 },
    { name: 'kairo_conntrack_entries', help: 'Tracked.', type: 'gauge', value: NaN },
  ]);
  assert.equal(text, [
    '# HELP kairo_rule_packets_total Packets.',
    '# TYPE kairo_rule_packets_total counter',
    'kairo_rule_packets_total{path="firewall.rules[a \\"b\\"]\\\\x"} 3',
    'kairo_rule_packets_total{path="nat.forwards[web]"} 0',
    '# HELP kairo_conntrack_entries Tracked.',
    '# TYPE kairo_conntrack_entries gauge',
    'kairo_conntrack_entries NaN',
    '',
  ].join('\n'));
});
