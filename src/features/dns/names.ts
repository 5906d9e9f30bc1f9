// Domain names as the resolver's files need them: checked, lower-cased, without the final dot.
// Pure; shared by the checks, the model and the list-file reader.

/** One DNS label: letters, digits and '-', not at either end, at most 63. */
export const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;
// Blocklists also name hosts with '_' (service labels): allowed there, never in names we publish.
const LIST_LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/i;

/** `example.com`, `example.com.`: labels separated by dots, at most 253 characters. */
export function isDomain(s: string, list = false): boolean {
  const name = s.endsWith('.') ? s.slice(0, -1) : s;
  if (name.length === 0 || name.length > 253) return false;
  return name.split('.').every((l) => (list ? LIST_LABEL : LABEL).test(l));
}

export function canonical(s: string): string {
  return (s.endsWith('.') ? s.slice(0, -1) : s).toLowerCase();
}

/** A host name as written (`nas`, or a full name with dots) → its full name in the site's domain. */
export function fullName(name: string, domain: string): string {
  return canonical(name.includes('.') ? name : `${name}.${canonical(domain)}`);
}

/**
 * One line of a block list → the domain it names, '' for a blank or comment line, undefined when
 * it names none. Hosts-file lines (`0.0.0.0 ads.example.com`) give their name.
 */
export function listEntry(line: string): string | undefined {
  const hash = line.indexOf('#');
  const fields = (hash >= 0 ? line.slice(0, hash) : line).trim().split(/\s+/).filter(Boolean);
  if (fields.length === 0) return '';
  const name = fields.length === 2 && /^(0\.0\.0\.0|127\.0\.0\.1|::1?|::)$/.test(fields[0]) ? fields[1] : fields.length === 1 ? fields[0] : undefined;
  if (name === undefined) return undefined;
  const c = canonical(name);
  // A hosts file lists its own names too: they are no one's to block.
  if (fields.length === 2 && ['localhost', 'localhost.localdomain', 'local', 'broadcasthost', 'ip6-localhost', 'ip6-loopback'].includes(c)) return '';
  // A name with a dot: a single word is no one's domain to block (and a file of passwords is full of them).
  return c.includes('.') && isDomain(c, true) ? c : undefined;
}
