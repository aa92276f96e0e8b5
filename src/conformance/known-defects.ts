/**
 * Known defects of vector data: failures that come from a vector file, not from the SDK
 * (test/known-defects.json). A listed check that passes again is itself a failure,
 * so the list cannot outlive the defect.
 */
import type { CheckResult } from './checks.js';

export interface KnownDefect {
  readonly file: string;
  readonly path: string;
  readonly checks: readonly string[];
  readonly reason: string;
}

export type Verdict =
  | { readonly kind: 'pass' }
  | { readonly kind: 'fail'; readonly line: string }
  | { readonly kind: 'known'; readonly line: string };

/** Judges one result of file `fileName` (its base name) against the defect list. */
export function judge(fileName: string, r: CheckResult, defects: readonly KnownDefect[]): Verdict {
  const defect = defects.find((d) => d.file === fileName && d.path === r.path && d.checks.includes(r.check));
  if (r.ok && defect === undefined) return { kind: 'pass' };
  if (r.ok) return { kind: 'fail', line: `FAIL ${fileName} ${r.path}: ${r.check} passes but is listed as a known defect (update the list)` };
  if (defect !== undefined) return { kind: 'known', line: `KNOWN ${fileName} ${r.path}: ${r.check}: ${defect.reason}` };
  return { kind: 'fail', line: `FAIL ${fileName} ${r.path}: ${r.check}${r.detail ? ` (${r.detail})` : ''}` };
}
