// The site file's shape, composed from the core keys (./schema-core.ts) and every feature's slice
// (src/features/index.ts), in registry order. zod gives the TypeScript types, the validation and
// the JSON Schema (`kairo schema`) from one definition. Checks that need more than one node of the
// tree (references, overlaps, families) are each feature's verify.
import { z } from 'zod';
import { FEATURES } from '../features/index.js';
import type { Keys } from '../features/feature.js';
import { coreInterfaceKeys, coreSiteKeys, name } from './schema-core.js';

export { protoNames, secretSchema, type SecretRef } from './schema-core.js';

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
type Feature = (typeof FEATURES)[number];
/** A feature without a slice has the bare `Keys` type there (an index signature): it adds nothing. */
type Own<K> = K extends Keys ? (string extends keyof K ? {} : K) : {};
type SiteKeysOf<F> = F extends { siteKeys?: infer S } ? Own<S> : {};
type IfaceKeysOf<F> = F extends { interfaceKeys?: infer I } ? Own<I> : {};
type FeatureSiteKeys = UnionToIntersection<SiteKeysOf<Feature>>;
type FeatureIfaceKeys = UnionToIntersection<IfaceKeysOf<Feature>>;

const ifaceKeys = Object.assign({}, coreInterfaceKeys, ...FEATURES.map((f) => ('interfaceKeys' in f ? f.interfaceKeys : undefined) ?? {})) as typeof coreInterfaceKeys & FeatureIfaceKeys;
export const interfaceSchema = z.strictObject(ifaceKeys);

const siteKeys = Object.assign(
  {},
  coreSiteKeys,
  { interfaces: z.record(name, interfaceSchema) },
  ...FEATURES.map((f) => ('siteKeys' in f ? f.siteKeys : undefined) ?? {}),
) as typeof coreSiteKeys & { interfaces: z.ZodRecord<typeof name, typeof interfaceSchema> } & FeatureSiteKeys;
export const siteSchema = z.strictObject(siteKeys);

export type Site = z.infer<typeof siteSchema>;
export type InterfaceConfig = z.infer<typeof interfaceSchema>;

/** JSON Schema for editors (yaml-language-server, VS Code). */
export function siteJsonSchema(): object {
  return z.toJSONSchema(siteSchema, { target: 'draft-2020-12', io: 'input' });
}
