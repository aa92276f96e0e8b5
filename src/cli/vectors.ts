/**
 * `mcptt-sdk vectors <file.json...>`: the conformance runner. Reads vector files, runs every
 * applicable check (src/conformance/checks.ts), prints one line per failed check and ends
 * with `N passed, M failed` alone on a line. Exit 1 on any failure or on a file without a
 * single checkable case, so a renamed field cannot silently turn a file into a no-op.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { resolve, join, basename } from 'node:path';
import { checkVectorDocument, VECTOR_CHECKS, type Json } from '../conformance/checks.js';
import { MIKEY_VECTOR_CHECKS } from '../conformance/mikey-checks.js';
import { FRAME_VECTOR_CHECKS } from '../conformance/frame-checks.js';
import { judge, type KnownDefect } from '../conformance/known-defects.js';

/** Every relation family the runner knows: crypto, derivations, I_MESSAGE processing, media frames. */
export const ALL_CHECKS = [...VECTOR_CHECKS, ...MIKEY_VECTOR_CHECKS, ...FRAME_VECTOR_CHECKS];

export interface VectorRunSummary {
  readonly passed: number;
  readonly failed: number;
  /** Failures listed as known defects of the vector data (not counted as failed). */
  readonly known: number;
}

export function readKnownDefects(file: string): KnownDefect[] {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { defects?: KnownDefect[] };
  if (!Array.isArray(doc.defects)) throw new TypeError(`${file}: expected { "defects": [...] }`);
  return doc.defects;
}

/** Files of a directory argument, or the shared vectors when no argument is given. */
export function vectorFiles(args: readonly string[], cwd: string): string[] {
  const inputs = args.length > 0 ? args : [resolve(cwd, '../shared/vectors')];
  const files: string[] = [];
  for (const a of inputs) {
    const p = resolve(cwd, a);
    if (existsSync(p) && !p.endsWith('.json')) {
      for (const f of readdirSync(p).sort()) if (f.endsWith('.json')) files.push(join(p, f));
    } else {
      files.push(p);
    }
  }
  return files;
}

export async function runVectors(
  files: readonly string[],
  out: (line: string) => void,
  knownDefects: readonly KnownDefect[] = [],
): Promise<VectorRunSummary> {
  let passed = 0;
  let failed = 0;
  let known = 0;
  for (const file of files) {
    let doc: Json;
    try {
      doc = JSON.parse(readFileSync(file, 'utf8')) as Json;
    } catch (e) {
      failed++;
      out(`FAIL ${basename(file)}: cannot read JSON (${e instanceof Error ? e.message : String(e)})`);
      continue;
    }
    const results = await checkVectorDocument(doc, ALL_CHECKS);
    if (results.length === 0) {
      failed++;
      out(`FAIL ${basename(file)}: no checkable case`);
      continue;
    }
    let filePassed = 0;
    let fileFailed = 0;
    for (const r of results) {
      const v = judge(basename(file), r, knownDefects);
      if (v.kind === 'pass') {
        filePassed++;
      } else {
        if (v.kind === 'known') known++;
        else fileFailed++;
        out(v.line);
      }
    }
    passed += filePassed;
    failed += fileFailed;
    out(`${basename(file)}: ${filePassed}/${results.length} checks passed`);
  }
  return { passed, failed, known };
}
