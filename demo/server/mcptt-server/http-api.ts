/**
 * The HTTP side of the dev GMS on loopback:
 *
 *   GET  /gms/v1/groups                          TS 33.179 5.6.1 step C-5: the caller's group
 *                                                configurations with their GMKs (7.3.2), for a
 *                                                Bearer token with `3gpp:mcptt:group_management_server`
 *   GET  /directory/v1/aor?mcpttId=…             TS 33.179 9.3 (xmlProtection): the opaque SIP
 *                                                identity (AOR) of a user's live binding, so
 *                                                a private call can be addressed without the
 *                                                MCPTT ID in the SIP headers → { aor } | 404
 *   GET  /directory/v1/uid/{hex}?period=N        E.7: the MCPTT ID whose UID for key period N
 *                                                is {hex} (a hidden PCK initiator) → { mcpttId } | 404
 *                                                Both for a Bearer token with `3gpp:mcptt:ptt_server`.
 *   POST /admin/groups/{groupId}/members         { "add": mcpttId } | { "remove": mcpttId } → 204
 *   POST /admin/groups/{groupId}/rekey           → 204
 *   POST /admin/groups/{groupId}/revoke          → 204
 *
 * The admin endpoints are the dev system's stand-in for a group list owner (RFC 5275 GLO):
 * unauthenticated, so they exist on loopback only, and they demand
 * `Content-Type: application/json` so that a web page from another origin cannot trigger
 * them with a "simple" cross-origin POST (the preflight is only answered for the configured
 * origins). Responses that carry I_MESSAGEs are `Cache-Control: no-store`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import { isMcpttError } from '../../../src/errors.js';
import { GmsError } from './gms.js';

/** The Annex B scope of the group management server. */
export const GMS_SCOPE = '3gpp:mcptt:group_management_server';

export interface GroupConfiguration {
  readonly groupId: string;
  readonly displayName: string;
  /** base64 I_MESSAGEs made for the caller (empty while the group's GMK is revoked). */
  readonly iMessages: readonly string[];
}

export interface GmsHttpDeps {
  readonly verifyToken: (authorization: string | undefined, requiredScope: string) => Promise<{ readonly mcpttId: string }>;
  readonly groupsFor: (mcpttId: string) => Promise<readonly GroupConfiguration[]>;
  readonly addMember: (groupId: string, mcpttId: string) => Promise<void>;
  readonly removeMember: (groupId: string, mcpttId: string) => Promise<void>;
  readonly rekey: (groupId: string) => Promise<void>;
  readonly revoke: (groupId: string) => Promise<void>;
  readonly corsOrigins: readonly string[];
  readonly log: (line: string) => void;
  /** The directory of 9.3 (absent: no directory endpoints). */
  readonly directory?: {
    readonly aorOf: (mcpttId: string) => string | undefined;
    readonly resolveUid: (uid: Uint8Array, keyPeriodNo: number) => string | undefined;
    readonly scope: string;
  };
}

const MAX_ADMIN_BODY = 4 * 1024;
const ADMIN_PATH = /^\/admin\/groups\/([^/]+)\/(members|rekey|revoke)$/;
const UID_PATH = /^\/directory\/v1\/uid\/([0-9a-f]{64})$/;

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

function readSmallBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_ADMIN_BODY) {
        req.removeAllListeners('data');
        req.resume();
        reject(new HttpFailure(413, 'body too large'));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function bearerChallenge(error?: 'invalid_token' | 'insufficient_scope'): string {
  // RFC 6750 §3: the challenge names the failure, never the token.
  return error === undefined ? 'Bearer realm="mcptt-gms"' : `Bearer realm="mcptt-gms", error="${error}"${error === 'insufficient_scope' ? ` scope="${GMS_SCOPE}"` : ''}`;
}

/** The request handler of the dev GMS's HTTP server. */
export function createGmsHttpHandler(d: GmsHttpDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const cors = new Set(d.corsOrigins);

  function corsHeaders(req: IncomingMessage): Record<string, string> {
    const origin = req.headers.origin;
    if (origin === undefined || !cors.has(origin)) return {};
    return { 'access-control-allow-origin': origin, vary: 'Origin' };
  }

  function send(req: IncomingMessage, res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
    const h: Record<string, string> = { ...corsHeaders(req), 'cache-control': 'no-store', ...headers };
    if (body === undefined) {
      res.writeHead(status, h).end();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(status, { ...h, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) }).end(text);
  }

  async function pull(req: IncomingMessage, res: ServerResponse): Promise<number> {
    const authorization = req.headers.authorization;
    if (authorization === undefined || authorization === '') throw new HttpFailure(401, 'no access token', { 'www-authenticate': bearerChallenge() });
    let mcpttId: string;
    try {
      ({ mcpttId } = await d.verifyToken(authorization, GMS_SCOPE));
    } catch (e) {
      if (!isMcpttError(e, 'ERR_AUTH_INVALID_TOKEN')) throw e;
      // The dev verifier says "lacks the scope" for a valid token without ours: 403 then (RFC 6750 §3.1).
      if (/\bscope\b/.test(e.message)) throw new HttpFailure(403, 'insufficient scope', { 'www-authenticate': bearerChallenge('insufficient_scope') });
      throw new HttpFailure(401, 'invalid token', { 'www-authenticate': bearerChallenge('invalid_token') });
    }
    const groups = await d.groupsFor(mcpttId);
    send(req, res, 200, { groups });
    return groups.length;
  }

  /** The directory lookups: an authorized user learns an AOR or a UID's owner, nothing else. */
  async function directory(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const dir = d.directory!;
    const authorization = req.headers.authorization;
    if (authorization === undefined || authorization === '') throw new HttpFailure(401, 'no access token', { 'www-authenticate': bearerChallenge() });
    try {
      await d.verifyToken(authorization, dir.scope);
    } catch (e) {
      if (!isMcpttError(e, 'ERR_AUTH_INVALID_TOKEN')) throw e;
      throw new HttpFailure(401, 'invalid token', { 'www-authenticate': bearerChallenge('invalid_token') });
    }
    const uid = UID_PATH.exec(url.pathname);
    if (uid !== null) {
      const period = url.searchParams.get('period') ?? '';
      if (!/^\d{1,10}$/.test(period)) throw new HttpFailure(400, 'period must be a key period number');
      const bytes = Uint8Array.from(uid[1]!.match(/../g)!, (h) => parseInt(h, 16));
      const mcpttId = dir.resolveUid(bytes, Number(period));
      if (mcpttId === undefined) throw new HttpFailure(404, 'unknown UID');
      send(req, res, 200, { mcpttId });
      return;
    }
    const mcpttId = url.searchParams.get('mcpttId') ?? '';
    const aor = mcpttId === '' ? undefined : dir.aorOf(mcpttId);
    if (aor === undefined) throw new HttpFailure(404, 'no live binding');
    send(req, res, 200, { aor });
  }

  async function admin(req: IncomingMessage, res: ServerResponse, groupId: string, action: string): Promise<void> {
    const ct = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
    if (ct !== 'application/json') throw new HttpFailure(415, 'admin requests must be application/json');
    const text = await readSmallBody(req);
    let body: unknown = {};
    if (text.trim() !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        throw new HttpFailure(400, 'body is not JSON');
      }
    }
    if (action === 'rekey') await d.rekey(groupId);
    else if (action === 'revoke') await d.revoke(groupId);
    else {
      const b = body as { add?: unknown; remove?: unknown } | null;
      const add = b?.add;
      const remove = b?.remove;
      if (typeof add === 'string' && remove === undefined) await d.addMember(groupId, add);
      else if (typeof remove === 'string' && add === undefined) await d.removeMember(groupId, remove);
      else throw new HttpFailure(400, 'expected {"add": mcpttId} or {"remove": mcpttId}');
    }
    send(req, res, 204);
  }

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const isPull = path === '/gms/v1/groups';
    const adminMatch = ADMIN_PATH.exec(path);
    const isDirectory = d.directory !== undefined && (path === '/directory/v1/aor' || UID_PATH.test(path));
    void (async () => {
      try {
        if (isDirectory) {
          if (method === 'OPTIONS') {
            if (Object.keys(corsHeaders(req)).length === 0) throw new HttpFailure(403, 'origin not allowed');
            send(req, res, 204, undefined, { 'access-control-allow-methods': 'GET', 'access-control-allow-headers': 'Authorization', 'access-control-max-age': '600' });
            return;
          }
          if (method !== 'GET') throw new HttpFailure(405, 'method not allowed', { allow: 'GET, OPTIONS' });
          await directory(req, res, url);
          d.log('http: GET directory 200');
          return;
        }
        if (!isPull && adminMatch === null) throw new HttpFailure(404, 'not found');
        if (method === 'OPTIONS') {
          // CORS preflight: answered for the configured origins only.
          if (Object.keys(corsHeaders(req)).length === 0) throw new HttpFailure(403, 'origin not allowed');
          send(req, res, 204, undefined, {
            'access-control-allow-methods': isPull ? 'GET' : 'POST',
            'access-control-allow-headers': isPull ? 'Authorization' : 'Content-Type',
            'access-control-max-age': '600',
          });
          d.log(`http: OPTIONS ${isPull ? 'groups' : `admin ${adminMatch![2]}`} 204`);
          return;
        }
        if (isPull) {
          if (method !== 'GET') throw new HttpFailure(405, 'method not allowed', { allow: 'GET, OPTIONS' });
          const n = await pull(req, res);
          d.log(`http: GET groups 200 (${n} groups)`);
          return;
        }
        if (method !== 'POST') throw new HttpFailure(405, 'method not allowed', { allow: 'POST, OPTIONS' });
        let groupId: string;
        try {
          groupId = decodeURIComponent(adminMatch![1]!);
        } catch {
          throw new HttpFailure(400, 'bad group ID encoding');
        }
        await admin(req, res, groupId, adminMatch![2]!);
        d.log(`http: POST admin ${adminMatch![2]} 204`);
      } catch (e) {
        let status = 500;
        let message = 'internal error';
        let headers: Record<string, string> = {};
        if (e instanceof HttpFailure) ({ status, message, headers } = { status: e.status, message: e.message, headers: { ...e.headers } });
        else if (e instanceof GmsError) {
          status = e.code === 'ERR_GMS_UNKNOWN_GROUP' ? 404 : e.code === 'ERR_GMS_BAD_IDENTITY' ? 400 : 409;
          message = e.message;
        }
        d.log(`http: ${method} ${isPull ? 'groups' : adminMatch !== null ? `admin ${adminMatch[2]}` : 'other'} ${status}`);
        if (!res.headersSent) send(req, res, status, { error: message }, headers);
        else res.destroy();
      }
    })();
  };
}
