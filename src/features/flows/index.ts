// Flow accounting: softflowd watches chosen links and sends NetFlow v9 or IPFIX records to
// collectors; optionally a collector on the router itself (nfcapd) keeps them under a disk budget
// for `kairo flows` (src/cli/flows.ts). No firewall rule: softflowd captures passively, and its
// records leave through the output path (kairo filters input and forward) or over lo, which the
// input chain accepts.
import { defineFeature, type Service } from '../feature.js';
import { buildFlowsModel, type FlowsModel } from './model.js';
import { NFCAPD_UNIT, UNIT_DIR, renderFlows, softflowdUnit } from './render.js';
import { flowsSiteKeys } from './schema.js';
import { verifyFlows } from './verify.js';

export type { FlowsModel } from './model.js';

export const flows = defineFeature({
  id: 'flows',
  siteKeys: flowsSiteKeys,
  verify: verifyFlows,
  model: (ctx): FlowsModel | undefined => buildFlowsModel(ctx.site.flows, ctx.interfaces),
  render: (m, ctx) => renderFlows(m, ctx.head, ctx.node.site),
  services: (m) => {
    const after = ['kairo-boot.service'];
    // Neither daemon rereads anything: a changed unit restarts it.
    const out: Service[] = [];
    // nfcapd listens on its UDP port once ready: the lab waits for that.
    if (m.local) out.push({ unit: NFCAPD_UNIT, files: [`${UNIT_DIR}/${NFCAPD_UNIT}`], onChange: 'restart', enabled: true, after, lab: { listens: [`udp:${m.local.port}`] } });
    // softflowd listens on nothing (it captures and sends): the lab waits until it still runs a moment after its start.
    for (const l of m.links) out.push({ unit: softflowdUnit(l), files: [`${UNIT_DIR}/${softflowdUnit(l)}`], onChange: 'restart', enabled: true, after: [...after, ...(m.local ? [NFCAPD_UNIT] : [])], lab: { listens: [] } });
    return out;
  },
});
