/**
 * The MCPTT server's directory as TS 33.179 9.3 protection needs it on the client (the dev
 * server's HTTP API, demo/server/mcptt-server/http-api.ts):
 *
 *   GET {url}/directory/v1/aor?mcpttId=<MCPTT ID>       → { "aor": "sip:ue-…@domain" }
 *   GET {url}/directory/v1/uid/<64 hex>?period=<n>      → { "mcpttId": "sip:…" }
 *
 * With protection on, users register under opaque AORs, so a private call is addressed to the
 * callee's AOR, which only the server knows; and a PCK I_MESSAGE names the caller by UID only
 * (E.7), which the callee resolves here and then re-derives itself (uidOf) — the server's
 * answer is never taken on trust, the UID is. Both requests go over HTTPS to the server with
 * the access token (scope 3gpp:mcptt:ptt_server), never through the SIP core.
 *
 * Failures: ERR_GMS_UNREACHABLE (no answer), ERR_GMS_HTTP (with `httpStatus`, 404 = no live
 * binding / unknown UID), ERR_GMS_MALFORMED (an answer that is not the expected JSON).
 */
import { bytesToHex } from '../../util/bytes.js';
import { SignallingError } from './errors.js';

export interface DirectoryClientOptions {
  /** Base URL of the MCPTT server's HTTP API (the dev server serves it with the GMS pull). */
  readonly url: string;
  readonly accessToken: () => Promise<string>;
  readonly fetch?: typeof fetch;
  /** Default 10 s. */
  readonly timeoutMs?: number;
}

export interface DirectoryClient {
  /** The SIP AOR of the user's live registration. */
  aorOf(mcpttId: string): Promise<string>;
  /** The MCPTT ID whose UID for `keyPeriodNo` is `uid`, as the server claims it (verify it). */
  mcpttIdOfUid(uid: Uint8Array, keyPeriodNo: number): Promise<string>;
}

const SIP_URI = /^sips?:[^\s<>"]{1,256}$/;
const MAX_BYTES = 4096;

export function createDirectoryClient(o: DirectoryClientOptions): DirectoryClient {
  const base = new URL(o.url);
  if (base.protocol !== 'https:' && !(base.protocol === 'http:' && /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(base.hostname))) {
    throw new TypeError('the directory URL must be https (http only on loopback)');
  }
  const f = o.fetch ?? globalThis.fetch;

  async function getJson(path: string, field: 'aor' | 'mcpttId'): Promise<string> {
    const token = await o.accessToken();
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), o.timeoutMs ?? 10_000);
    try {
      let res: Response;
      try {
        res = await f(new URL(path, base).toString(), {
          method: 'GET',
          headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
          signal: abort.signal,
          credentials: 'omit',
          redirect: 'error',
          cache: 'no-store',
        });
      } catch (e) {
        throw new SignallingError('ERR_GMS_UNREACHABLE', 'the MCPTT server directory could not be reached', { cause: e });
      }
      if (!res.ok) {
        await res.body?.cancel().catch(() => {});
        throw new SignallingError('ERR_GMS_HTTP', `the MCPTT server directory answered ${res.status}`, { httpStatus: res.status });
      }
      const text = await res.text();
      let value: unknown;
      try {
        value = text.length <= MAX_BYTES ? (JSON.parse(text) as Record<string, unknown>)[field] : undefined;
      } catch {
        value = undefined;
      }
      if (typeof value !== 'string' || !SIP_URI.test(value)) throw new SignallingError('ERR_GMS_MALFORMED', `the directory answer has no valid ${field}`);
      return value;
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    aorOf: (mcpttId) => getJson(`/directory/v1/aor?mcpttId=${encodeURIComponent(mcpttId)}`, 'aor'),
    mcpttIdOfUid: (uid, keyPeriodNo) => {
      if (!(uid instanceof Uint8Array) || uid.length !== 32) throw new TypeError('uid must be 32 octets');
      if (!Number.isSafeInteger(keyPeriodNo) || keyPeriodNo < 0) throw new RangeError('keyPeriodNo must be a non-negative integer');
      return getJson(`/directory/v1/uid/${bytesToHex(uid)}?period=${keyPeriodNo}`, 'mcpttId');
    },
  };
}
