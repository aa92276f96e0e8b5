#!/usr/bin/env node
// `npm test`: typecheck, build, unit tests (vitest), the conformance runner over every shared
// vector file, and the browser tests (Playwright + Debian chromium). Ends with one line
// `total: N passed, M failed` that adds up every test and vector check; a step that fails
// without counts (typecheck, build) counts as one failure.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, mkdirSync } from 'node:fs';

const tmp = 'test-results';
mkdirSync(tmp, { recursive: true });
let passed = 0;
let failed = 0;
const lines = [];

function run(title, cmd, args, env = {}) {
  process.stdout.write(`\n=== ${title}: ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  return r.status === 0;
}

function step(title, cmd, args) {
  const ok = run(title, cmd, args);
  if (!ok) failed++;
  lines.push(`${title}: ${ok ? 'ok' : 'FAILED'}`);
}

step('typecheck', 'npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']);
step('build', 'npx', ['tsc', '-p', 'tsconfig.build.json']);

{
  const file = `${tmp}/vitest.json`;
  rmSync(file, { force: true });
  const ok = run('unit tests', 'npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${file}`]);
  try {
    const r = JSON.parse(readFileSync(file, 'utf8'));
    passed += r.numPassedTests;
    failed += r.numFailedTests + (ok || r.numFailedTests > 0 ? 0 : 1);
    lines.push(`unit tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
  } catch {
    failed++;
    lines.push('unit tests: FAILED (no report)');
  }
}

{
  process.stdout.write('\n=== conformance vectors: mcptt-sdk vectors ../shared/vectors test/vectors --known-defects test/known-defects.json\n');
  const r = spawnSync('node', ['bin/mcptt-sdk.js', 'vectors', '../shared/vectors', 'test/vectors', '--known-defects', 'test/known-defects.json'], { encoding: 'utf8' });
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  const m = /^(\d+) passed, (\d+) failed$/m.exec(r.stdout);
  if (m) {
    passed += Number(m[1]);
    failed += Number(m[2]);
    lines.push(`conformance vectors: ${m[1]} passed, ${m[2]} failed`);
  } else {
    failed++;
    lines.push('conformance vectors: FAILED (no summary)');
  }
  if (r.status !== 0 && m && Number(m[2]) === 0) failed++;
}

{
  const file = `${tmp}/playwright.json`;
  rmSync(file, { force: true });
  const ok = run('browser tests', 'npx', ['playwright', 'test'], { PLAYWRIGHT_JSON_OUTPUT_NAME: file });
  try {
    const r = JSON.parse(readFileSync(file, 'utf8'));
    const s = r.stats;
    passed += s.expected;
    failed += s.unexpected + s.flaky;
    lines.push(`browser tests: ${s.expected} passed, ${s.unexpected + s.flaky} failed${s.skipped ? `, ${s.skipped} skipped` : ''}`);
    if (!ok && s.unexpected + s.flaky === 0) failed++;
  } catch {
    failed++;
    lines.push('browser tests: FAILED (no report)');
  }
}

process.stdout.write('\n' + lines.map((l) => `  ${l}`).join('\n') + '\n');
process.stdout.write(`total: ${passed} passed, ${failed} failed\n`);
process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
