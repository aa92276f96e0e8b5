/**
 * The conformance runner must catch a wrong value, refuse a file it cannot check, and keep
 * the known-defects list honest; `mikey create` output must be accepted by `mikey inspect`.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mikeyCommand } from '../../src/cli/mikey.js';
import { readKnownDefects, runVectors } from '../../src/cli/vectors.js';
import { SHARED_VECTORS_DIR } from '../helpers/shared.js';

const dir = mkdtempSync(join(tmpdir(), 'mcptt-vectors-'));
const shared = (name: string): string => join(SHARED_VECTORS_DIR, name);
const lines = (): { out: string[]; print: (l: string) => void } => {
  const out: string[] = [];
  return { out, print: (l) => out.push(l) };
};

describe('mcptt-sdk vectors', () => {
  it('passes the RFC 6508 file and fails it when one octet of the SSV is wrong', async () => {
    const good = lines();
    expect(await runVectors([shared('rfc6508-sakke.json')], good.print)).toMatchObject({ failed: 0 });
    const doc = JSON.parse(readFileSync(shared('rfc6508-sakke.json'), 'utf8'));
    doc.SSV = doc.SSV.replace(/^12/, '13');
    const file = join(dir, 'sakke-bad.json');
    writeFileSync(file, JSON.stringify(doc));
    const bad = lines();
    const summary = await runVectors([file], bad.print);
    expect(summary.failed).toBeGreaterThanOrEqual(2); // encapsulation and decapsulation
    expect(bad.out.filter((l) => l.startsWith('FAIL')).join('\n')).toMatch(/encapsulation reproduced/);
  });

  it('counts a file without a single checkable case as a failure', async () => {
    const file = join(dir, 'empty.json');
    writeFileSync(file, JSON.stringify({ source: 'nothing here', values: [1, 2, 3] }));
    const r = lines();
    expect(await runVectors([file], r.print)).toEqual({ passed: 0, failed: 1, known: 0 });
    expect(r.out[0]).toMatch(/no checkable case/);
  });

  it('reports listed data defects as KNOWN, and a listed check that passes as a failure', async () => {
    const defects = readKnownDefects('test/known-defects.json');
    const r = lines();
    const s = await runVectors([shared('impl-mikey-sakke-published-interop.json')], r.print, defects);
    expect(s).toMatchObject({ failed: 0, known: 2 });
    const stale = [{ file: 'rfc6508-sakke.json', path: '(root)', checks: ['sakke: Z = [z]P'], reason: 'not a defect' }];
    const r2 = lines();
    expect((await runVectors([shared('rfc6508-sakke.json')], r2.print, stale)).failed).toBe(1);
    expect(r2.out.join('\n')).toMatch(/listed as a known defect/);
  });
});

describe('mcptt-sdk mikey', () => {
  it('create prints a base64 I_MESSAGE that inspect decodes payload by payload', async () => {
    const created = lines();
    const code = await mikeyCommand(
      ['create', '--kind', 'pck', '--keys', shared('impl-mikey-sakke-published-interop.json'), '--from', 'sip:alice@streamwide.com', '--to', 'sip:bob@streamwide.com', '--key-id', '1a2b3c4d'],
      created.print,
    );
    expect(code).toBe(0);
    expect(created.out).toHaveLength(1);
    const inspected = lines();
    await mikeyCommand(['inspect', created.out[0]!], inspected.print);
    const text = inspected.out.join('\n');
    expect(text).toMatch(/CSB ID: 0x1a2b3c4d/);
    expect(text).toMatch(/IDRi/);
    expect(text).toMatch(/SAKKE/);
    expect(text).toMatch(/SIGN/);
  });

  it('create refuses a key ID whose purpose tag is not a PCK', async () => {
    await expect(
      mikeyCommand(['create', '--kind', 'pck', '--keys', shared('impl-mikey-sakke-published-interop.json'), '--from', 'sip:alice@streamwide.com', '--to', 'sip:bob@streamwide.com', '--key-id', '0a2b3c4d'], () => {}),
    ).rejects.toMatchObject({ code: 'ERR_MIKEY_WRONG_PURPOSE' });
  });
});
