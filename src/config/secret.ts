// Secrets (PPPoE passwords, database credentials) come from a file or an environment variable.
// The value is wrapped so that printing, logging or JSON-serialising it never shows it.
import type { SecretRef } from './schema-core.js';

const hidden = new WeakMap<Secret, string>();

export class Secret {
  constructor(
    readonly source: string,
    value: string,
  ) {
    hidden.set(this, value);
  }
  /** The only way to the plain value: called by renderers that must write it into a daemon file. */
  reveal(): string {
    return hidden.get(this) ?? '';
  }
  toString(): string {
    return `<secret from ${this.source}>`;
  }
  toJSON(): string {
    return this.toString();
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

export type SecretReader = {
  readFile(path: string): string | undefined;
  env(name: string): string | undefined;
};

/** Resolves a secret reference; returns an error message instead of throwing. */
export function resolveSecret(ref: SecretRef, io: SecretReader): Secret | { error: string } {
  if ('env' in ref) {
    const v = io.env(ref.env);
    return v === undefined ? { error: `environment variable ${ref.env} is not set` } : new Secret(`env ${ref.env}`, v);
  }
  const v = io.readFile(ref.file);
  return v === undefined ? { error: `cannot read secret file ${ref.file}` } : new Secret(`file ${ref.file}`, v.replace(/\r?\n$/, ''));
}
