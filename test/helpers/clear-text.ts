/**
 * Finds secrets in captured traffic (TS 33.179 9.3 tests): a value counts as leaked when its
 * text occurs, or its base64 at any of the three byte alignments (the characters of a base64
 * stream that depend on the secret's bytes alone, whatever precedes or follows it).
 */
import { Buffer } from 'node:buffer';

/** The base64 fragments that any base64 text containing `secret` must contain, one per alignment. */
export function base64Fragments(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const out: string[] = [];
  for (let k = 0; k < 3; k++) {
    const b64 = Buffer.concat([Buffer.alloc(k), bytes]).toString('base64');
    const start = Math.ceil((k * 8) / 6);
    const end = Math.floor(((k + bytes.length) * 8) / 6);
    out.push(b64.slice(start, end));
  }
  return out;
}

export interface Leak {
  readonly secret: string;
  readonly form: 'text' | 'base64';
  readonly index: number;
}

/** Every place a secret shows in `text`, as text or base64 (also base64url). */
export function findLeaks(text: string, secrets: readonly string[]): Leak[] {
  const leaks: Leak[] = [];
  for (const secret of secrets) {
    const i = text.indexOf(secret);
    if (i >= 0) leaks.push({ secret, form: 'text', index: i });
    for (const f of base64Fragments(secret)) {
      for (const v of new Set([f, f.replace(/\+/g, '-').replace(/\//g, '_')])) {
        const j = text.indexOf(v);
        if (j >= 0) leaks.push({ secret, form: 'base64', index: j });
      }
    }
  }
  return leaks;
}
