/**
 * The group configuration pull of TS 33.179 5.6.1 step C-5 (gms-client.ts): the request it
 * sends (bearer token, no cookies, no redirects) and the strict reading of the answer.
 */
import { describe, expect, it } from 'vitest';

import { encodeBase64 } from '../../src/codec/sdp-key-mgmt.js';
import { fetchGroupConfigurations, groupConfigurationUrl, isSignallingError, parseGroupConfigurations } from '../../src/platform/signalling/index.js';

const FIRE = 'sip:fire-ops@mcptt.example';
const M = encodeBase64(new Uint8Array([1, 2, 3, 4, 5]));

const json = (doc: unknown, init: ResponseInit = {}): Response =>
  new Response(typeof doc === 'string' ? doc : JSON.stringify(doc), { status: 200, headers: { 'content-type': 'application/json' }, ...init });

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return isSignallingError(e) ? `${e.code}${e.httpStatus ? ` ${e.httpStatus}` : ''}` : String(e);
  }
}

describe('group configuration pull (TS 33.179 5.6.1 C-5)', () => {
  it('GETs {gmsUrl}/gms/v1/groups with the bearer token and reads the groups', async () => {
    const seen: { url: string; init: RequestInit | undefined }[] = [];
    const groups = await fetchGroupConfigurations({
      gmsUrl: 'http://127.0.0.1:8443/base/',
      accessToken: 'tok.en',
      fetch: async (url, init) => {
        seen.push({ url: String(url), init });
        return json({ groups: [{ groupId: FIRE, displayName: 'Fire', iMessages: [M] }], extra: true });
      },
    });
    expect(seen[0]!.url).toBe('http://127.0.0.1:8443/base/gms/v1/groups');
    expect(seen[0]!.init).toMatchObject({ method: 'GET', credentials: 'omit', redirect: 'error', headers: { authorization: 'Bearer tok.en' } });
    expect(groups).toEqual([{ groupId: FIRE, displayName: 'Fire', iMessages: [new Uint8Array([1, 2, 3, 4, 5])] }]);
  });

  it('reports HTTP refusals, network failures and documents it cannot read', async () => {
    const pull = (f: typeof fetch) => codeOf(fetchGroupConfigurations({ gmsUrl: 'https://gms.example', accessToken: 't', fetch: f }));
    expect(await pull(async () => new Response('', { status: 401 }))).toBe('ERR_GMS_HTTP 401');
    expect(await pull(async () => Promise.reject(new TypeError('fetch failed')))).toBe('ERR_GMS_UNREACHABLE');
    expect(await pull(async () => new Response('{}', { headers: { 'content-type': 'text/html' } }))).toBe('ERR_GMS_MALFORMED');
    expect(await pull(async () => json('{"groups": ['))).toBe('ERR_GMS_MALFORMED');
  });

  it('refuses malformed group lists', () => {
    const bad: unknown[] = [
      [],
      { groups: {} },
      { groups: [{ groupId: 'fire-ops', iMessages: [M] }] },
      { groups: [{ groupId: FIRE, iMessages: [] }] },
      { groups: [{ groupId: FIRE, iMessages: ['AQ'] }] }, // no padding: not canonical
      { groups: [{ groupId: FIRE, iMessages: [M] }, { groupId: FIRE, iMessages: [M] }] },
      { groups: [{ groupId: FIRE, displayName: 7, iMessages: [M] }] },
      { groups: [{ groupId: FIRE, iMessages: new Array(16).fill(M) }] },
    ];
    for (const doc of bad) expect(() => parseGroupConfigurations(JSON.stringify(doc))).toThrow(expect.objectContaining({ code: 'ERR_GMS_MALFORMED' }));
    expect(parseGroupConfigurations(JSON.stringify({ groups: [{ groupId: FIRE, iMessages: [M] }] }))[0]!.displayName).toBe('');
  });

  it('only talks to https, or http on loopback', () => {
    expect(groupConfigurationUrl('https://gms.example')).toBe('https://gms.example/gms/v1/groups');
    expect(() => groupConfigurationUrl('http://gms.example')).toThrow(TypeError);
    expect(() => groupConfigurationUrl('https://gms.example/?x=1')).toThrow(TypeError);
    expect(() => groupConfigurationUrl('https://user:pw@gms.example')).toThrow(TypeError);
  });
});
