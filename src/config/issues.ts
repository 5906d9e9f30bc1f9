// zod's issues said in the user's terms: "port 70000 is beyond 65535", not zod's own wording
// ("Too big: expected number to be <=65535"), which names JavaScript types and operators.
import type { z } from 'zod';
import { shown } from './diagnostics.js';

type Issue = z.core.$ZodIssue;

/** What the user calls the value: the key it stands under (`port`), or `entry` inside a list. */
function subject(issue: Issue): string {
  const last = issue.path[issue.path.length - 1];
  return typeof last === 'string' ? shown(last) : 'entry';
}

const KINDS: Record<string, string> = {
  object: 'a mapping (key: value)',
  record: 'a mapping (key: value)',
  array: 'a list',
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
};

/** `a list`, `nothing`, `text` … for the value the user wrote. */
export function kindOf(input: unknown): string {
  if (input === null) return 'nothing';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a mapping';
  if (typeof input === 'number') return Number.isInteger(input) ? `the number ${input}` : `the number ${shown(input)}`;
  if (typeof input === 'string') return `the text '${shown(input)}'`;
  return shown(input);
}

export function expectedKind(expected: string): string {
  return KINDS[expected] ?? expected;
}

/** The message and hint of an issue that issueMessage() in load.ts does not word itself. */
export function userWording(issue: Issue): { message: string; hint?: string } {
  switch (issue.code) {
    case 'too_big': {
      const max = Number(issue.maximum);
      if (issue.origin === 'string') return { message: `${subject(issue)} is ${String(issue.input).length} characters long; at most ${max} are allowed` };
      if (issue.origin === 'array') return { message: `${subject(issue)} has ${(issue.input as unknown[]).length} entries; at most ${max} are allowed` };
      return { message: `${subject(issue)} ${shown(issue.input)} is ${issue.inclusive ? 'beyond' : 'not below'} ${max}` };
    }
    case 'too_small': {
      const min = Number(issue.minimum);
      if (issue.origin === 'string') return { message: min <= 1 ? `${subject(issue)} is empty` : `${subject(issue)} is shorter than ${min} characters` };
      if (issue.origin === 'array') return { message: min <= 1 ? `${subject(issue)} is an empty list` : `${subject(issue)} has fewer than ${min} entries`, hint: 'give at least one entry, or leave the key out' };
      return { message: `${subject(issue)} ${shown(issue.input)} is ${issue.inclusive ? 'below' : 'not above'} ${min}` };
    }
    case 'invalid_key': {
      const why = issue.issues[0]?.message;
      return { message: `'${shown(issue.input)}' cannot be a name here${why ? `: ${why}` : ''}` };
    }
    case 'invalid_element':
      return { message: `an entry of ${subject(issue)} is not valid` };
    case 'not_multiple_of':
      return { message: `${subject(issue)} ${shown(issue.input)} is not a multiple of ${String(issue.divisor)}` };
    case 'invalid_format':
      // The schema's own pattern messages are written for users; zod's generic ones are not.
      return { message: issue.message.startsWith('Invalid') ? `'${shown(issue.input)}' is not in the expected form` : issue.message };
    default:
      return { message: issue.message };
  }
}
