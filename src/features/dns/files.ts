// The block list's file, read before the checks (through the reader the caller passes: the core
// does no I/O). Its domains are appended to dns.blocklist.domains, with their line numbers, so a
// later diagnostic points into the file. Like the firewall's set files, a line is never shown in a
// message: `file:` may name the wrong file (a key, a password list).
import { formatPath, shown, type Diagnostic } from '../../config/diagnostics.js';
import type { FileReader } from '../../config/include.js';
import type { SourceMap } from '../../config/load.js';
import { listEntry } from './names.js';
import type { DnsConfig } from './schema.js';

const REPORTED_LINES = 20;

export function readBlocklistFile(site: { dns?: true | DnsConfig }, source: SourceMap, read: FileReader | undefined): Diagnostic[] {
  const bl = site.dns === true ? undefined : site.dns?.blocklist;
  if (!bl?.file) return [];
  const path = ['dns', 'blocklist', 'file'];
  const at = { file: source.file, ...source.locate(path) };
  const text = read?.(bl.file);
  if (text === undefined) {
    return [{ code: 'dns.blocklist-unreadable', severity: 'error', path: formatPath(path), message: `cannot read ${shown(bl.file)}`, hint: 'the path is relative to the site file', ...at }];
  }
  const entries: { domain: string; line: number }[] = [];
  const strays: number[] = [];
  const lines = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    const e = listEntry(lines[i]);
    if (e === undefined) strays.push(i + 1);
    else if (e !== '') entries.push({ domain: e, line: i + 1 });
  }
  if (strays.length > 0 && entries.length === 0) {
    return [{
      code: 'dns.blocklist-not-a-list', severity: 'error', path: formatPath(path), ...at,
      message: `${shown(bl.file)} is not a list of domains: none of its ${strays.length} line${strays.length === 1 ? '' : 's'} is a domain name`,
      hint: 'check the path; a block list holds one domain a line (or hosts-file lines "0.0.0.0 NAME"; # starts a comment). Its content is never shown',
    }];
  }
  const out: Diagnostic[] = strays.slice(0, REPORTED_LINES).map((line) => ({
    code: 'dns.blocklist-invalid', severity: 'error', path: formatPath(path), file: bl.file!, line, column: 1,
    message: 'this line of the block list is not a domain name',
    hint: 'one domain a line, or "0.0.0.0 NAME"; # starts a comment (list lines are not shown in messages)',
  }));
  if (strays.length > REPORTED_LINES) {
    out.push({ code: 'dns.blocklist-invalid', severity: 'error', path: formatPath(path), file: bl.file, line: strays[REPORTED_LINES], column: 1, message: `and ${strays.length - REPORTED_LINES} more lines of the block list from here on are not domain names` });
  }
  source.origins.push({ path: 'dns.blocklist.domains', start: bl.domains.length, file: bl.file, lines: entries.map((e) => e.line) });
  for (const e of entries) bl.domains.push(e.domain);
  return out;
}
