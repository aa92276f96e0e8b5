/**
 * The dev MCPTT KMS (TS 33.179 7.2, Annex D with the change requests' security extension):
 * Node `http` on loopback serving
 *
 *   POST /keymanagement/identity/v1/init                         root KmsCertificate (D.3.1)
 *   POST /keymanagement/identity/v1/keyprov[/{uri}[/{ntp-hex}]]  KmsKeySets (D.3.2)
 *   POST /keymanagement/identity/v1/certcache[/{n}]              KmsCertCache
 *
 * with a bearer token checked for the `3gpp:mcptt:key_management_server` scope (Annex B).
 * RSK (RFC 6508), SSK and PVT (RFC 6507) are issued per identity and key period from master
 * secrets z_S and KSAK held in memory. With the security extension on, requests must be
 * SignedKmsRequests under a TrK the user holds (D.2.2: KmsUri ours, Time recent, ClientReqUrl
 * the resource POSTed to), responses are signed with that key, key material is wrapped under
 * the user's TrK, and every init rotates the TrK through NewTransportKey.
 *
 * Status codes: a request that HTTP or the security layer refuses (path, method, size, token,
 * request signature) gets a 4xx with an unsigned KmsError body; a refusal of the operation
 * itself (identity not authorized, identity revoked) is a KmsResponse holding a KmsError,
 * HTTP 200 and signed like any response, so that a client can tell it came from the KMS.
 *
 * Dev only: master secrets live in process memory. Silent unless `debug` is given, and even
 * then it never logs identities, tokens or keys.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sha256 } from '@noble/hashes/sha2.js';
import { buildKmsResponse, isKmsError, kmsDateTime, parseKmsRequest, parseKmsRequestPath } from '../../src/codec/kms/index.js';
import type {
  KmsCertificate,
  KmsKeySetInput,
  KmsMessageInput,
  KmsRequest,
  KmsRequestTarget,
  KmsResponseSecurity,
  KmsServerError,
  KmsTransportKey,
} from '../../src/codec/kms/index.js';
import { eccsiDeriveKpak, eccsiIssueSigningKey, sakkeDerivePublicKey, sakkeIssueReceiverKey } from '../../src/crypto/index.js';
import { ntpSecondsOfUnixMs, periodAt, periodEndUnixMs, uidOf, unixMsOfNtpSeconds } from '../../src/keys/identity.js';
import type { KmsPublicParameters, PeriodKeys } from '../../src/keys/identity.js';
import { bytesToHex, concatBytes, utf8 } from '../../src/util/bytes.js';

/** The Annex B scope a KMS request token must carry. */
export const KMS_SCOPE = '3gpp:mcptt:key_management_server';

export type KmsTokenVerifier = (authorization: string | undefined, requiredScope: string) => Promise<{ readonly mcpttId: string }>;

export interface KmsSecurityOptions {
  readonly mode: 'off' | 'on';
  /** The TrK shared out of band with each user's secure element before the first request (D.3.3.1). */
  readonly bootstrapTransportKey: (mcpttId: string) => { readonly id: string; readonly key: Uint8Array };
}

export interface StartKmsOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** The KMS URI of the certificate and of every UID (F.2.1). */
  readonly kmsUri: string;
  /** UserKeyPeriod, seconds. */
  readonly userKeyPeriod: number;
  /** UserKeyOffset, seconds from 1900-01-01. */
  readonly userKeyOffset: number;
  readonly verifyToken: KmsTokenVerifier;
  /** Token mcpttId → further identities (a GMS URI, the MDSI) it may fetch keys for. */
  readonly serverIdentities?: Readonly<Record<string, readonly string[]>>;
  readonly security?: KmsSecurityOptions;
  /** Derives z_S and KSAK deterministically (tests); random otherwise. */
  readonly seed?: Uint8Array;
  /** Unix ms; default Date.now. */
  readonly now?: () => number;
  /** Origins allowed to call from a browser (exact match, e.g. `http://127.0.0.1:5173`). */
  readonly corsOrigins?: readonly string[];
  /** Receives one line per request (operation and status only). Silent when absent. */
  readonly debug?: (line: string) => void;
}

export interface RunningKms {
  /** Base URL, e.g. `http://127.0.0.1:40123`; the resources live under `/keymanagement/identity/v1/`. */
  readonly url: string;
  readonly params: KmsPublicParameters;
  /** The keys of `identity` for a period, issued once and cached (in-process servers, tests). */
  issue(identity: string, keyPeriodNo: number): PeriodKeys;
  /** Refuse further key provisioning for `identity` (KmsError 410). */
  revoke(identity: string): void;
  close(): Promise<void>;
}

/** Largest request body accepted: a SignedKmsRequest is well under 4 KiB. */
const MAX_REQUEST_BYTES = 64 * 1024;
/** D.2.2: the request Time must lie within a recent window ("e.g. 5 seconds"); loopback tests get some slack. */
const REQUEST_TIME_WINDOW_MS = 30_000;
/** Rotated TrKs kept valid per user besides the bootstrap one (a client may not have stored the newest yet). */
const KEPT_TRANSPORT_KEYS = 4;
const MAX_CACHED_KEY_SETS = 10_000;
const CERT_CACHE_VERSION = 1;
const DAY_MS = 86_400_000;
/** Order of the P-256 group (RFC 6507 q for ECCSI). */
const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

class HttpRefusal extends Error {
  constructor(
    readonly status: number,
    readonly kmsError: KmsServerError,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(kmsError.errorMsg);
  }
}

/** A refusal of the operation, answered as a (signed) KmsResponse with KmsError. */
class OperationRefusal extends Error {
  constructor(readonly kmsError: KmsServerError) {
    super(kmsError.errorMsg);
  }
}

function toBigInt(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt(`0x${bytesToHex(b)}`);
}

/** z_S in [2, q−1] (RFC 6508 2.2; 256 bits are far below the 1022-bit q) and KSAK in [1, n−1] (RFC 6507 4.2). */
function masterSecrets(seed: Uint8Array | undefined): { zS: Uint8Array; ksak: Uint8Array } {
  const draw = (label: string, counter: number): Uint8Array =>
    seed === undefined
      ? globalThis.crypto.getRandomValues(new Uint8Array(32))
      : sha256(concatBytes(utf8(`mcptt-dev-kms/${label}/${counter}/`), seed));
  let zS: Uint8Array | undefined;
  let ksak: Uint8Array | undefined;
  for (let i = 0; zS === undefined; i++) {
    const c = draw('z_S', i);
    if (toBigInt(c) >= 2n) zS = c;
  }
  for (let i = 0; ksak === undefined; i++) {
    const c = draw('KSAK', i);
    const k = toBigInt(c);
    if (k > 0n && k < P256_ORDER) ksak = c;
  }
  return { zS, ksak };
}

function checkOptions(o: StartKmsOptions): void {
  if (typeof o !== 'object' || o === null) throw new TypeError('options must be an object');
  if (typeof o.kmsUri !== 'string' || o.kmsUri === '') throw new TypeError('kmsUri must be a non-empty string');
  if (!Number.isSafeInteger(o.userKeyPeriod) || o.userKeyPeriod <= 0) throw new RangeError('userKeyPeriod must be a positive integer');
  if (!Number.isSafeInteger(o.userKeyOffset) || o.userKeyOffset < 0) throw new RangeError('userKeyOffset must be a non-negative integer');
  if (typeof o.verifyToken !== 'function') throw new TypeError('verifyToken must be a function');
  if (o.security !== undefined && o.security.mode !== 'off' && o.security.mode !== 'on') throw new TypeError("security.mode must be 'off' or 'on'");
  if (o.security?.mode === 'on' && typeof o.security.bootstrapTransportKey !== 'function') {
    throw new TypeError('security on needs bootstrapTransportKey');
  }
  if (o.seed !== undefined && (!(o.seed instanceof Uint8Array) || o.seed.length < 16)) throw new RangeError('seed must be at least 16 bytes');
}

function readBody(req: IncomingMessage): Promise<Uint8Array> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (Number.isFinite(declared) && declared > MAX_REQUEST_BYTES) {
    return Promise.reject(new HttpRefusal(413, { errorCode: 413, errorMsg: 'request body too large' }, { connection: 'close' }));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        reject(new HttpRefusal(413, { errorCode: 413, errorMsg: 'request body too large' }, { connection: 'close' }));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}

/** Start the dev KMS; resolves once it listens. */
export async function startKms(o: StartKmsOptions): Promise<RunningKms> {
  checkOptions(o);
  const now = o.now ?? Date.now;
  const host = o.host ?? '127.0.0.1';
  const security = o.security?.mode === 'on' ? o.security : undefined;
  const cors = new Set(o.corsOrigins ?? []);
  const debug = o.debug;
  const { zS, ksak } = masterSecrets(o.seed);
  const params: KmsPublicParameters = Object.freeze({
    kmsUri: o.kmsUri,
    z: sakkeDerivePublicKey(zS),
    kpak: eccsiDeriveKpak(ksak),
    userKeyPeriod: o.userKeyPeriod,
    userKeyOffset: o.userKeyOffset,
  });
  const startedAt = now();
  // A year either side of start: tests ask for past periods, and a demo runs for days.
  const certValidFrom = kmsDateTime(Math.floor((startedAt - 365 * DAY_MS) / DAY_MS) * DAY_MS);
  const certValidTo = kmsDateTime(startedAt + 365 * DAY_MS);
  const certificate: KmsCertificate = {
    role: 'Root',
    certUri: `cert1.${o.kmsUri}`,
    kmsUri: o.kmsUri,
    issuer: 'mcptt-sdk dev KMS',
    validFrom: certValidFrom,
    validTo: certValidTo,
    revoked: false,
    userIdFormat: '2',
    userKeyPeriod: o.userKeyPeriod,
    userKeyOffset: o.userKeyOffset,
    pubEncKey: params.z,
    pubAuthKey: params.kpak,
    parameterSet: 1,
  };

  // -------------------------------------------------------------------------------------------
  // Key material

  const issued = new Map<string, PeriodKeys>();
  const revoked = new Set<string>();

  const issue = (identity: string, keyPeriodNo: number): PeriodKeys => {
    if (typeof identity !== 'string' || identity === '') throw new TypeError('identity must be a non-empty string');
    if (!Number.isSafeInteger(keyPeriodNo) || keyPeriodNo < 0) throw new RangeError('keyPeriodNo must be a non-negative integer');
    if (revoked.has(identity)) throw new Error('identity is revoked');
    const k = `${keyPeriodNo}\n${identity}`;
    const hit = issued.get(k);
    if (hit !== undefined) return hit;
    const uid = uidOf(identity, params, keyPeriodNo);
    const { ssk, pvt } = eccsiIssueSigningKey({ ksak, id: uid });
    const keys: PeriodKeys = Object.freeze({ keyPeriodNo, uid, rsk: sakkeIssueReceiverKey({ zS, id: uid }), ssk, pvt });
    issued.set(k, keys);
    if (issued.size > MAX_CACHED_KEY_SETS) issued.delete(issued.keys().next().value!);
    return keys;
  };

  const keySetOf = (identity: string, keys: PeriodKeys): KmsKeySetInput => ({
    kmsUri: o.kmsUri,
    certUri: certificate.certUri,
    issuer: certificate.issuer,
    userUri: identity,
    userId: bytesToHex(keys.uid).toUpperCase(),
    validFrom: kmsDateTime(unixMsOfNtpSeconds(keys.keyPeriodNo * o.userKeyPeriod + o.userKeyOffset)),
    validTo: kmsDateTime(periodEndUnixMs(params, keys.keyPeriodNo)),
    keyPeriodNo: keys.keyPeriodNo,
    revoked: false,
    userDecryptKey: keys.rsk,
    userSigningKeySSK: keys.ssk,
    userPubTokenPVT: keys.pvt,
  });

  // -------------------------------------------------------------------------------------------
  // Transport keys (security extension): per user, the bootstrap TrK plus the latest rotated ones.

  interface UserTransport {
    readonly bootstrap: KmsTransportKey;
    readonly rotated: KmsTransportKey[];
    counter: number;
  }
  const transport = new Map<string, UserTransport>();

  const transportOf = (mcpttId: string): UserTransport => {
    let t = transport.get(mcpttId);
    if (t === undefined) {
      const b = security!.bootstrapTransportKey(mcpttId);
      if (typeof b?.id !== 'string' || b.id === '' || !(b.key instanceof Uint8Array) || b.key.length !== 32) {
        throw new TypeError('bootstrapTransportKey must return { id, key: 32 bytes }');
      }
      t = { bootstrap: { id: b.id, key: Uint8Array.from(b.key) }, rotated: [], counter: 0 };
      transport.set(mcpttId, t);
    }
    return t;
  };

  const transportKey = (t: UserTransport, id: string): Uint8Array | undefined =>
    t.bootstrap.id === id ? t.bootstrap.key : t.rotated.find((k) => k.id === id)?.key;

  const rotate = (mcpttId: string, t: UserTransport): KmsTransportKey => {
    let id: string;
    do id = `tk.${++t.counter}.${mcpttId}`;
    while (id === t.bootstrap.id);
    const fresh = { id, key: globalThis.crypto.getRandomValues(new Uint8Array(32)) };
    t.rotated.push(fresh);
    if (t.rotated.length > KEPT_TRANSPORT_KEYS) t.rotated.shift();
    return fresh;
  };

  /** D.2.2: verify the SignedKmsRequest, then the fields that need server context. */
  const verifyRequest = (body: Uint8Array, mcpttId: string, req: IncomingMessage, path: string): KmsRequest => {
    if (body.length === 0) throw new HttpRefusal(401, { errorCode: 401, errorMsg: 'a signed KMS request is required' });
    const t = transportOf(mcpttId);
    let request: KmsRequest;
    try {
      request = parseKmsRequest(body, { getTransportKey: (id) => transportKey(t, id) });
    } catch (e) {
      if (isKmsError(e, 'ERR_KMS_BAD_SIGNATURE') || isKmsError(e, 'ERR_KMS_UNKNOWN_TRANSPORT_KEY')) {
        throw new HttpRefusal(401, { errorCode: 401, errorMsg: 'KMS request signature refused' });
      }
      if (isKmsError(e)) throw new HttpRefusal(400, { errorCode: 400, errorMsg: 'malformed KMS request' });
      throw e;
    }
    const refuse = (why: string): never => {
      throw new HttpRefusal(401, { errorCode: 401, errorMsg: why });
    };
    // "based on the UserUri": the key verified is this user's, so the request must speak for them.
    if (request.userUri !== mcpttId) refuse('UserUri is not the token holder');
    if (request.kmsUri !== o.kmsUri) refuse('KmsUri is not this KMS');
    if (Math.abs(request.time.epochMs - now()) > REQUEST_TIME_WINDOW_MS) refuse('request Time outside the accepted window');
    let url: URL;
    try {
      url = new URL(request.clientReqUrl);
    } catch {
      return refuse('ClientReqUrl is not a URL');
    }
    if (url.pathname !== path || url.search !== '' || (req.headers.host !== undefined && url.host !== req.headers.host)) {
      refuse('ClientReqUrl is not the resource requested');
    }
    if (request.trkId !== undefined && transportKey(t, request.trkId) === undefined) refuse('TrK-ID is not known');
    return request;
  };

  // -------------------------------------------------------------------------------------------
  // Operations

  const mayFetch = (mcpttId: string, identity: string): boolean =>
    identity === mcpttId || (o.serverIdentities?.[mcpttId] ?? []).includes(identity);

  const operation = (target: KmsRequestTarget, mcpttId: string): KmsMessageInput => {
    switch (target.kind) {
      case 'init':
        return { kind: 'init', certificate };
      case 'keyprov': {
        const identity = target.identity ?? mcpttId;
        if (!mayFetch(mcpttId, identity)) throw new OperationRefusal({ errorCode: 403, errorMsg: 'not authorized for this identity' });
        if (revoked.has(identity)) throw new OperationRefusal({ errorCode: 410, errorMsg: 'identity revoked' });
        let periods: number[];
        if (target.time !== undefined) {
          const ntpSeconds = Number(target.time >> 32n);
          if (ntpSeconds < o.userKeyOffset) throw new OperationRefusal({ errorCode: 400, errorMsg: 'time lies before the first key period' });
          const period = periodAt(params, ntpSeconds);
          // Keys only inside the certificate's validity: a client would refuse others anyway.
          const start = unixMsOfNtpSeconds(period * o.userKeyPeriod + o.userKeyOffset);
          if (periodEndUnixMs(params, period) <= certValidFrom.epochMs || start >= certValidTo.epochMs) {
            throw new OperationRefusal({ errorCode: 404, errorMsg: 'no key period of this KMS certificate at that time' });
          }
          periods = [period];
        } else {
          // 7.2.4: keys for the current period and the upcoming one, so a client crosses the boundary.
          const current = periodAt(params, ntpSecondsOfUnixMs(now()));
          periods = [current, current + 1];
        }
        return { kind: 'keyprov', keySets: periods.map((n) => keySetOf(identity, issue(identity, n))) };
      }
      case 'certcache':
        // One certificate (our root) in version 1; a client already holding it gets an empty cache.
        return {
          kind: 'certcache',
          cacheNum: CERT_CACHE_VERSION,
          certificates: target.cacheNum !== undefined && target.cacheNum >= CERT_CACHE_VERSION ? [] : [certificate],
        };
      default:
        throw new HttpRefusal(404, { errorCode: 404, errorMsg: 'unknown resource' });
    }
  };

  // -------------------------------------------------------------------------------------------
  // HTTP

  const send = (res: ServerResponse, status: number, body: string, headers: Readonly<Record<string, string>> = {}): void => {
    res.writeHead(status, {
      'content-type': 'application/xml; charset=utf-8',
      // Key material: never cached by a browser or proxy.
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...headers,
    });
    res.end(body);
  };

  const errorBody = (kmsError: KmsServerError, userUri: string, clientReqUrl: string): Promise<string> =>
    buildKmsResponse({ kmsUri: o.kmsUri, userUri, time: kmsDateTime(now()), clientReqUrl, error: kmsError });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<string> => {
    const origin = req.headers.origin;
    if (origin !== undefined && cors.has(origin)) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('vary', 'Origin');
    }
    const rawPath = req.url ?? '/';
    const hostHeader = req.headers.host ?? `${host}`;
    const clientReqUrl = `http://${hostHeader}${rawPath}`;
    let mcpttId = '';
    try {
      let target: KmsRequestTarget & { readonly prefix: string };
      try {
        target = parseKmsRequestPath(rawPath);
      } catch (e) {
        if (isKmsError(e, 'ERR_KMS_MALFORMED') && rawPath.startsWith('/keymanagement/')) {
          throw new HttpRefusal(400, { errorCode: 400, errorMsg: 'malformed resource path' });
        }
        throw new HttpRefusal(404, { errorCode: 404, errorMsg: 'unknown resource' });
      }
      if (target.prefix !== '') throw new HttpRefusal(404, { errorCode: 404, errorMsg: 'unknown resource' });
      if (req.method === 'OPTIONS') {
        // CORS preflight (Fetch standard): only for the configured demo origins.
        if (origin === undefined || !cors.has(origin)) {
          res.writeHead(403, { 'cache-control': 'no-store' }).end();
          return 'preflight 403';
        }
        res.writeHead(204, {
          'access-control-allow-methods': 'POST',
          'access-control-allow-headers': 'authorization, content-type',
          'access-control-max-age': '600',
          'cache-control': 'no-store',
        });
        res.end();
        return 'preflight 204';
      }
      if (req.method !== 'POST') throw new HttpRefusal(405, { errorCode: 405, errorMsg: 'method not allowed' }, { allow: 'POST, OPTIONS' });
      const body = await readBody(req);
      try {
        mcpttId = (await o.verifyToken(req.headers.authorization, KMS_SCOPE)).mcpttId;
      } catch {
        throw new HttpRefusal(401, { errorCode: 401, errorMsg: 'invalid or missing access token' }, {
          'www-authenticate': `Bearer error="invalid_token", scope="${KMS_SCOPE}"`,
        });
      }
      if (typeof mcpttId !== 'string' || mcpttId === '') throw new HttpRefusal(401, { errorCode: 401, errorMsg: 'token carries no MCPTT ID' });

      const request = security ? verifyRequest(body, mcpttId, req, rawPath) : undefined;
      let sec: KmsResponseSecurity | undefined;
      let message: KmsMessageInput | undefined;
      let error: KmsServerError | undefined;
      try {
        message = operation(target, mcpttId);
      } catch (e) {
        if (!(e instanceof OperationRefusal)) throw e;
        error = e.kmsError;
      }
      if (request) {
        const t = transportOf(mcpttId);
        // Sign with the key the client signed with (its InK if it had one, else its TrK), and wrap
        // under the TrK it says it holds (CR D.3.1: "the TrK currently residing in the MC UE").
        const signingKeyId = request.signature.keyId;
        const trkId = request.trkId ?? signingKeyId;
        const newTransportKeys = message?.kind === 'init' ? [rotate(mcpttId, t)] : [];
        sec = {
          signingKeyId,
          signingKey: transportKey(t, signingKeyId)!,
          transportKeyId: trkId,
          transportKey: transportKey(t, trkId)!,
          newTransportKeys,
        };
      }
      const xml = await buildKmsResponse(
        {
          kmsUri: o.kmsUri,
          userUri: mcpttId,
          time: kmsDateTime(now()),
          kmsId: 'mcptt-dev-kms',
          // Under the extension this echoes the verified ClientReqUrl, binding response to request.
          clientReqUrl: request?.clientReqUrl ?? clientReqUrl,
          message,
          error,
        },
        { security: sec },
      );
      send(res, 200, xml);
      return `${target.kind} 200${error ? ` KmsError ${error.errorCode}` : ''}`;
    } catch (e) {
      if (e instanceof HttpRefusal) {
        send(res, e.status, await errorBody(e.kmsError, mcpttId, clientReqUrl), e.headers);
        return `${e.status}`;
      }
      send(res, 500, await errorBody({ errorCode: 500, errorMsg: 'internal error' }, mcpttId, clientReqUrl));
      return `500 ${e instanceof Error ? e.name : 'error'}`;
    }
  };

  const server: Server = createServer((req, res) => {
    const started = Date.now();
    handle(req, res).then(
      (what) => debug?.(`kms ${req.method ?? '?'} ${what} ${Date.now() - started} ms`),
      () => {
        // Only reachable when writing the error response itself failed: drop the connection.
        res.destroy();
      },
    );
  });
  server.requestTimeout = 15_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const urlHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  let closed: Promise<void> | undefined;

  return {
    url: `http://${urlHost}:${addr.port}`,
    params,
    issue,
    revoke: (identity: string): void => {
      if (typeof identity !== 'string' || identity === '') throw new TypeError('identity must be a non-empty string');
      revoked.add(identity);
      for (const k of [...issued.keys()]) if (k.slice(k.indexOf('\n') + 1) === identity) issued.delete(k);
    },
    close: (): Promise<void> => {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive sockets (fetch pools them) would hold close() open otherwise.
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
