/**
 * Runs the conformance checks over every shared vector file inside a dedicated worker of
 * a real browser: the same relations `mcptt-sdk vectors` checks in Node, on the browser's
 * BigInt engine and Web Crypto, judged against the same known-defects list.
 */
import { checkVectorDocument, VECTOR_CHECKS, type Json } from '../src/conformance/checks.js';
import { judge, type KnownDefect } from '../src/conformance/known-defects.js';
import { MIKEY_VECTOR_CHECKS } from '../src/conformance/mikey-checks.js';
import { FRAME_VECTOR_CHECKS } from '../src/conformance/frame-checks.js';
import knownDefects from '../test/known-defects.json';

const CHECKS = [...VECTOR_CHECKS, ...MIKEY_VECTOR_CHECKS, ...FRAME_VECTOR_CHECKS];
const files = {
  ...import.meta.glob('../../shared/vectors/*.json', { eager: true, import: 'default' }),
  ...import.meta.glob('../test/vectors/*.json', { eager: true, import: 'default' }),
};

async function selftest(): Promise<{ passed: number; failed: number; known: number; failures: string[] }> {
  let passed = 0;
  let known = 0;
  const failures: string[] = [];
  for (const [path, doc] of Object.entries(files)) {
    const name = path.slice(path.lastIndexOf('/') + 1);
    const results = await checkVectorDocument(doc as Json, CHECKS);
    if (results.length === 0) failures.push(`${name}: no checkable case`);
    for (const r of results) {
      const v = judge(name, r, knownDefects.defects as KnownDefect[]);
      if (v.kind === 'pass') passed++;
      else if (v.kind === 'known') known++;
      else failures.push(v.line);
    }
  }
  return { passed, failed: failures.length, known, failures };
}

selftest().then(
  (r) => postMessage(r),
  (e: unknown) => postMessage({ passed: 0, failed: 1, known: 0, failures: [String(e)] }),
);
