// ICMP and ICMPv6 type names as nft 1.0 knows them (`nft describe icmp type`, `icmpv6 type`), and
// their numbers. A rule may name a type or give its number (0-255); a number with a name is
// written by name, so the ruleset, the tracer and `kairo trace --icmp-type` all speak names.
export const ICMP_TYPES: ReadonlyMap<string, number> = new Map([
  ['echo-reply', 0], ['destination-unreachable', 3], ['source-quench', 4], ['redirect', 5],
  ['echo-request', 8], ['router-advertisement', 9], ['router-solicitation', 10], ['time-exceeded', 11],
  ['parameter-problem', 12], ['timestamp-request', 13], ['timestamp-reply', 14], ['info-request', 15],
  ['info-reply', 16], ['address-mask-request', 17], ['address-mask-reply', 18],
]);

export const ICMPV6_TYPES: ReadonlyMap<string, number> = new Map([
  ['destination-unreachable', 1], ['packet-too-big', 2], ['time-exceeded', 3], ['parameter-problem', 4],
  ['echo-request', 128], ['echo-reply', 129], ['mld-listener-query', 130], ['mld-listener-report', 131],
  ['mld-listener-done', 132], ['mld-listener-reduction', 132], ['nd-router-solicit', 133], ['nd-router-advert', 134],
  ['nd-neighbor-solicit', 135], ['nd-neighbor-advert', 136], ['nd-redirect', 137], ['router-renumbering', 138],
  ['ind-neighbor-solicit', 141], ['ind-neighbor-advert', 142], ['mld2-listener-report', 143],
]);

export type IcmpProto = 'icmp' | 'icmpv6';

const table = (p: IcmpProto) => (p === 'icmp' ? ICMP_TYPES : ICMPV6_TYPES);

/** The type as the ruleset writes it (a name where one exists), or undefined when it is none. */
export function normalizeIcmpType(proto: IcmpProto, text: string | number): string | undefined {
  const s = String(text).trim();
  if (table(proto).has(s)) return s;
  if (!/^(0|[1-9]\d{0,2})$/.test(s) || Number(s) > 255) return undefined;
  const n = Number(s);
  for (const [name, v] of table(proto)) if (v === n) return name;
  return s;
}

export function icmpTypeNames(proto: IcmpProto): string[] {
  return [...table(proto).keys()];
}
