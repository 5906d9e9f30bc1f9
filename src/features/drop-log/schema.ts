// The `logs:` slice of the site file: the drop log (what the firewall drops where a rule or policy
// says `log:`), written by ulogd2 as JSON lines.
import { z } from 'zod';

export const dropsSchema = z.strictObject({
  enabled: z.boolean().optional().describe('default: on when any firewall rule or policy that drops or rejects says log'),
  group: z.number().int().min(0).max(65535).default(1).describe('the NFLOG group the firewall logs to and ulogd reads'),
  rate: z.string().regex(/^[1-9]\d{0,8}\/(second|minute|hour)$/, 'a rate such as 10/second').default('10/second')
    .describe('lines per logging rule at most (the drop itself is never limited)'),
  burst: z.number().int().min(1).max(100000).default(20).describe('lines a logging rule may write at once before the rate applies'),
  keep: z.strictObject({
    size: z.string().regex(/^\d{1,6}[kMG]?$/, 'a size such as 10M').default('10M').describe('rotate the log when it is larger than this'),
    files: z.number().int().min(1).max(100).default(5).describe('rotated files kept'),
  }).default({ size: '10M', files: 5 }),
  'plugin-dir': z.string().regex(/^\/[\w./-]+$/, 'an absolute path').default('/usr/lib/x86_64-linux-gnu/ulogd').describe("where ulogd2's plugins are (Debian's multiarch directory)"),
});

export const logsSchema = z.strictObject({
  drops: z.union([z.boolean(), dropsSchema]).optional().describe('the drop log: logged drops to ulogd2 as JSON lines with their config path (kairo logs drops)'),
});

export const dropLogSiteKeys = { logs: logsSchema.optional() };

export type DropsConfig = z.output<typeof dropsSchema>;

/** The drops settings with defaults, and whether they were switched on or off outright. */
export function dropsOf(v: z.output<typeof logsSchema> | undefined): { cfg: DropsConfig; enabled?: boolean } {
  const d = v?.drops;
  if (d === undefined) return { cfg: dropsSchema.parse({}) };
  if (typeof d === 'boolean') return { cfg: dropsSchema.parse({}), enabled: d };
  return { cfg: d, enabled: d.enabled };
}
