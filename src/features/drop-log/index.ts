// The drop log: the firewall's logged drops through NFLOG to ulogd2, as JSON lines that name the
// rule or policy that dropped each packet (its config path) and the zone pair. The firewall writes
// the log line in a rule of its own, rate-limited, before the unconditional drop
// (../firewall/nflog.ts): logging can neither throttle nor stop the drop. `kairo logs drops`
// reads the lines back with the applied generation's id map.
import { defineFeature } from '../feature.js';
import { firewall } from '../firewall/index.js';
import { buildDropLogModel, type DropLogModel } from './model.js';
import { DROP_LOG_MAP, LOGROTATE, ULOGD_CONF, ULOGD_UNIT, UNIT_PATH, renderDropLog } from './render.js';
import { dropLogSiteKeys, dropsOf } from './schema.js';

export { DROP_LOG, DROP_LOG_MAP } from './render.js';

export const dropLog = defineFeature({
  id: 'drop-log',
  siteKeys: dropLogSiteKeys,
  verify(c) {
    const d = dropsOf(c.site.logs);
    if (d.enabled !== true) return;
    // The written slice, not the model: verify runs on sites whose other parts may be wrong.
    const f = c.sliceOf(firewall).firewall;
    const logged = [...(f?.policies ?? []), ...(f?.rules ?? [])].some((x) => x.log !== undefined && x.log !== false && x.action !== 'accept');
    if (!logged) {
      c.warn('drop-log.nothing-logged', ['logs', 'drops'], 'the drop log is on but no firewall rule or policy that drops or rejects says log: it stays empty',
        'add log: true to the policies whose drops you want to see, e.g. { from: wan, to: router, action: drop, log: true }');
    }
  },
  model: (ctx): DropLogModel | undefined => buildDropLogModel(ctx.modelOf(firewall), dropsOf(ctx.site.logs)),
  firewall: (m) => ({ nflog: [m.spec] }),
  render: (m, ctx) => renderDropLog(m, ctx.head, ctx.node.site),
  services: (m) => [{
    unit: ULOGD_UNIT,
    // The id map is read by `kairo logs drops`, not by ulogd: it needs no restart.
    files: [ULOGD_CONF, UNIT_PATH],
    onChange: 'restart',
    enabled: true,
    after: ['kairo-boot.service'],
    // No port: ready once it has bound the firewall's NFLOG group in the namespace (src/lab/run.ts).
    lab: { listens: [`nflog:${m.spec.group}`] },
  }],
});
