/**
 * Test access to `../shared` (beside the project root): the vectors every derivation is
 * checked against. Tests read them as data; nothing here is copied into the repo.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

export const SHARED_DIR = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../shared');
export const SHARED_VECTORS_DIR = resolve(SHARED_DIR, 'vectors');

/** Parsed JSON of `../shared/vectors/<name>` (name with or without `.json`). */
export function sharedVector<T = any>(name: string): T {
  const file = name.endsWith('.json') ? name : `${name}.json`;
  return JSON.parse(readFileSync(resolve(SHARED_VECTORS_DIR, file), 'utf8')) as T;
}
