// AFTR presets (seed 000): transix, by NTT region. Each region answers on ::feed:100 and ::feed:101
// (round robin behind gw.transix.jp); the first is taken.
import { parseAddress } from '../../lib/ip.js';

export const AFTR_PRESETS: Record<string, string> = {
  'transix-east': '2404:8e00::feed:100',
  'transix-west': '2404:8e01::feed:100',
};

/** The AFTR's IPv6 address, or undefined when it is neither a preset nor an IPv6 address. */
export function resolveAftr(s: string): string | undefined {
  if (Object.hasOwn(AFTR_PRESETS, s)) return AFTR_PRESETS[s];
  const a = parseAddress(s);
  return a?.family === 6 ? a.addr.toString() : undefined;
}
