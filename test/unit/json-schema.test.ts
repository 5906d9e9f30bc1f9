// The JSON Schema `kairo schema` prints is what editors check a site file against: it must accept
// every example and agree with kairo's own validation on names (a flag lost in the conversion
// once made editors flag names that validate accepted).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import jsyaml from 'js-yaml';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { siteJsonSchema } from '../../src/config/schema.js';
import { compileSite } from '../../src/pipeline.js';

const root = join(import.meta.dirname, '..', '..');
const ajv = new Ajv2020({ strict: false, allErrors: true });
const validate = ajv.compile(siteJsonSchema());

test('json schema: every example validates against the emitted schema', () => {
  const examples = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.yaml'));
  assert.ok(examples.length >= 5);
  for (const f of examples) {
    const data = jsyaml.load(readFileSync(join(root, 'examples', f), 'utf8'), { schema: jsyaml.CORE_SCHEMA });
    assert.ok(validate(data), `${f}: ${ajv.errorsText(validate.errors)}`);
  }
});

test('json schema: names in upper and mixed case are accepted by both, bad names refused by both', () => {
  const site = (zone: string, key: string) => `version: 1\ninterfaces:\n  ${key}: { device: eth0, zone: ${zone}, ipv4: 10.0.0.1/24 }\n`;
  for (const [zone, key, ok] of [['LAN', 'Uplink', true], ['lan-A_2', 'wan', true], ['1lan', 'wan', false], ['lan', '_x', false]] as const) {
    const text = site(zone, key);
    const ours = compileSite(text).ok;
    const editors = validate(jsyaml.load(text));
    assert.equal(ours, ok, `kairo on zone ${zone}, key ${key}`);
    assert.equal(editors, ok, `JSON Schema on zone ${zone}, key ${key}: ${ajv.errorsText(validate.errors)}`);
  }
});
