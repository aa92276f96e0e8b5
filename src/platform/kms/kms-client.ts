/**
 * Key management client over HTTP (TS 33.179 7.2.3, CSC-8; Annex D.2 requests, D.3 responses;
 * the change requests' security extension: SignedKmsRequest D.2.2, SignedKmsResponse with
 * TrK-ID / Signature-ID D.3.1, NewTransportKey).
 *
 *   init()          POST …/init                         → the validated root certificate
 *   keyProvision()  POST …/keyprov[/{uri}[/{ntp-hex}]]  → validated key sets
 *   certCache(n?)   POST …/certcache[/{n}]              → validated certificates
 *
 * Every request carries `Authorization: Bearer` (Annex B token with the KMS scope). With
 * security 'required' the body is a SignedKmsRequest (HMAC-SHA-256 under the InK, else the
 * TrK), and a response is used only if its signature verifies under a key from the caller's
 * store, its ClientReqUrl is the URL we POSTed to and its Time is recent. Nothing reaches the
 * caller, and no NewTransportKey reaches the store, before the whole response checked out:
 * transport, size, signature, XML, then the certificate and every key set (src/keys/kms-validation).
 * No caching of key material, no retries: the provisioning layer above decides those.
 */
import { buildKmsRequest, isKmsError, kmsDateTime, ntpTimestamp, parseKmsResponse } from '../../codec/kms/index.js';
import type { BuiltKmsRequest, KmsRequestTarget, KmsResponse } from '../../codec/kms/index.js';
import { KmsError } from '../../errors.js';
import { ntpSecondsOfUnixMs, periodAt } from '../../keys/identity.js';
import { validateKeySetAsync, validateKmsCertificate } from '../../keys/kms-validation.js';
import type { IdentityCrypto } from '../../crypto/heavy.js';
import type { ValidatedKeySet, ValidatedKmsCertificate } from '../../keys/kms-validation.js';
import { concatBytes } from '../../util/bytes.js';

/** Where the client's InK/TrKs live (the lead's key store); looked up by identifier. */
export interface KmsTransportKeyStore {
  get(id: string): Promise<Uint8Array | undefined>;
  put(id: string, key: Uint8Array, kind: 'TrK' | 'InK'): Promise<void>;
  /**
   * Optional: the identifiers of the keys currently held, newest TrK and the InK if any (D.2.2:
   * sign with the InK when present, else the TrK; name the TrK in TrK-ID).
   */
  current?(): Promise<{ readonly trkId?: string; readonly inkId?: string }>;
}

export interface KmsClientOptions {
  /** Scheme, host and optional base path under which `/keymanagement/identity/v1/…` lives. */
  readonly baseUrl: string;
  /** The access token for the `3gpp:mcptt:key_management_server` scope. */
  readonly accessToken: () => Promise<string>;
  readonly fetch?: typeof fetch;
  /** Default 'none'. 'required': signed requests, and only signed responses are accepted. */
  readonly security?: 'none' | 'required';
  /** Required with security 'required'. */
  readonly transportKeys?: KmsTransportKeyStore;
  /** Our MCPTT ID: the UserUri of requests, and the identity of key sets by default. */
  readonly identity: string;
  /** Per request, from sending to the last byte of the body; default 10 000. */
  readonly timeoutMs?: number;
  /** Unix ms; default Date.now. */
  readonly now?: () => number;
  /** Default 256 KiB. */
  readonly maxResponseBytes?: number;
  /**
   * The KMS URI we expect (the certificate must name it). Required with security 'required':
   * the signed request states it before any certificate is known.
   */
  readonly kmsUri?: string;
  /**
   * The TrK provisioned out of band (bootstrap), used to sign when neither `current()` of the
   * store nor a NewTransportKey received by this client names a newer one.
   */
  readonly transportKeyId?: string;
  /**
   * Where the RSK pairing check of each key set runs (RFC 6508 6.1.2, the costly part of the
   * validation): a crypto worker in browsers (src/platform/crypto-worker). Default this thread.
   */
  readonly identityCrypto?: IdentityCrypto;
}

export interface KmsKeyProvisionOptions {
  /** Another identity the token is authorized for (e.g. the GMS); default our own. */
  readonly identity?: string;
  /** Unix ms: ask for the period in force then (`/keyprov/{uri}/{NTP time}`). */
  readonly at?: number;
}

export interface KmsClient {
  init(): Promise<{ certificate: ValidatedKmsCertificate }>;
  keyProvision(o?: KmsKeyProvisionOptions): Promise<ValidatedKeySet[]>;
  certCache(version?: number): Promise<{ certificates: ValidatedKmsCertificate[]; version: number }>;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024;
/** How far a signed response's Time may be from our clock (replayed responses are refused). */
const RESPONSE_TIME_WINDOW_MS = 5 * 60_000;
/** Distinct key identifiers one response may make us fetch (Signature-ID, TrK-ID, KeyNames). */
const MAX_KEY_LOOKUPS = 4;

function malformed(message: string): never {
  throw new KmsError('ERR_KMS_MALFORMED', message);
}

function checkOptions(o: KmsClientOptions): void {
  if (typeof o !== 'object' || o === null) throw new TypeError('options must be an object');
  let u: URL;
  try {
    u = new URL(o.baseUrl);
  } catch {
    throw new TypeError('baseUrl must be an absolute URL');
  }
  if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.search !== '' || u.hash !== '') {
    throw new TypeError('baseUrl must be an http(s) URL without query or fragment');
  }
  if (typeof o.accessToken !== 'function') throw new TypeError('accessToken must be a function');
  if (typeof o.identity !== 'string' || o.identity === '') throw new TypeError('identity must be a non-empty string');
  if (o.fetch !== undefined && typeof o.fetch !== 'function') throw new TypeError('fetch must be a function');
  const security = o.security ?? 'none';
  if (security !== 'none' && security !== 'required') throw new TypeError("security must be 'none' or 'required'");
  if (o.timeoutMs !== undefined && (!Number.isFinite(o.timeoutMs) || o.timeoutMs <= 0)) throw new RangeError('timeoutMs must be positive');
  if (o.maxResponseBytes !== undefined && (!Number.isSafeInteger(o.maxResponseBytes) || o.maxResponseBytes < 1024)) {
    throw new RangeError('maxResponseBytes must be an integer of at least 1024');
  }
  if (o.kmsUri !== undefined && (typeof o.kmsUri !== 'string' || o.kmsUri === '')) throw new TypeError('kmsUri must be a non-empty string');
  if (security === 'required') {
    const s = o.transportKeys;
    if (typeof s?.get !== 'function' || typeof s.put !== 'function') throw new TypeError("security 'required' needs transportKeys { get, put }");
    if (o.kmsUri === undefined) throw new TypeError("security 'required' needs kmsUri (the signed request states it)");
  }
}

/** Read at most `max` bytes of the body; more is ERR_KMS_TOO_LARGE, a broken stream ERR_KMS_UNREACHABLE. */
async function readBounded(res: Response, max: number): Promise<Uint8Array> {
  const declared = res.headers.get('content-length');
  if (declared !== null && Number(declared) > max) {
    await res.body?.cancel().catch(() => undefined);
    throw new KmsError('ERR_KMS_TOO_LARGE', `KMS response exceeds ${max} bytes`);
  }
  if (res.body === null) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let step: ReadableStreamReadResult<Uint8Array>;
    try {
      step = await reader.read();
    } catch (cause) {
      throw new KmsError('ERR_KMS_UNREACHABLE', 'KMS response body could not be read', { cause });
    }
    if (step.done) break;
    total += step.value.length;
    if (total > max) {
      await reader.cancel().catch(() => undefined);
      throw new KmsError('ERR_KMS_TOO_LARGE', `KMS response exceeds ${max} bytes`);
    }
    chunks.push(step.value);
  }
  return concatBytes(...chunks);
}

/** Create a KMS client; nothing is sent until a method is called. */
export function createKmsClient(o: KmsClientOptions): KmsClient {
  checkOptions(o);
  const security = o.security ?? 'none';
  const store = o.transportKeys;
  const now = o.now ?? Date.now;
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = o.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  // Called unbound: a browser's fetch throws when invoked as a method of another object.
  const doFetch = o.fetch ?? ((input: RequestInfo | URL, init?: RequestInit): Promise<Response> => globalThis.fetch(input, init));

  let certificate: ValidatedKmsCertificate | undefined;
  let pendingInit: Promise<{ certificate: ValidatedKmsCertificate }> | undefined;
  /** The newest TrK this client received and stored; it signs the next request. */
  let latestTrkId: string | undefined;

  const signingKeys = async (): Promise<{ signingKeyId: string; signingKey: Uint8Array; trkId: string | undefined }> => {
    const held = (await store!.current?.()) ?? {};
    const trkId = latestTrkId ?? held.trkId ?? o.transportKeyId;
    const signingKeyId = held.inkId ?? trkId;
    if (signingKeyId === undefined) throw new TypeError("security 'required' needs a transport key: transportKeyId or transportKeys.current()");
    const signingKey = await store!.get(signingKeyId);
    if (signingKey === undefined) throw new KmsError('ERR_KMS_UNKNOWN_TRANSPORT_KEY', 'the key for signing KMS requests is not held');
    return { signingKeyId, signingKey, trkId };
  };

  /** parseKmsResponse looks keys up synchronously: fetch each named key from the async store, then parse again. */
  const parseSigned = async (body: Uint8Array): Promise<KmsResponse> => {
    const fetched = new Map<string, Uint8Array | undefined>();
    for (;;) {
      const missing = new Set<string>();
      try {
        return await parseKmsResponse(body, {
          security: 'required',
          limits: { maxBytes },
          getTransportKey: (id) => {
            if (fetched.has(id)) return fetched.get(id);
            missing.add(id);
            return undefined;
          },
        });
      } catch (e) {
        if (!isKmsError(e, 'ERR_KMS_UNKNOWN_TRANSPORT_KEY') || missing.size === 0) throw e;
        if (fetched.size + missing.size > MAX_KEY_LOOKUPS) throw new KmsError('ERR_KMS_MALFORMED', 'KMS response names too many keys');
        for (const id of missing) fetched.set(id, await store!.get(id));
      }
    }
  };

  const post = async (target: KmsRequestTarget): Promise<{ response: KmsResponse; url: string }> => {
    const token = await o.accessToken();
    if (typeof token !== 'string' || token === '') throw new TypeError('accessToken() must return a non-empty string');
    let built: BuiltKmsRequest;
    if (security === 'required') {
      const { signingKeyId, signingKey, trkId } = await signingKeys();
      built = buildKmsRequest({
        baseUrl: o.baseUrl,
        target,
        request: { userUri: o.identity, kmsUri: o.kmsUri!, time: kmsDateTime(now()), trkId },
        security: { signingKeyId, signingKey },
      });
    } else {
      built = buildKmsRequest({ baseUrl: o.baseUrl, target });
    }
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/xml' };
    if (built.body !== undefined) headers['content-type'] = built.contentType ?? 'application/xml';

    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), timeoutMs);
    let body: Uint8Array;
    try {
      let res: Response;
      try {
        // A redirect would move a bearer token and key material elsewhere: never followed.
        res = await doFetch(built.url, { method: 'POST', headers, body: built.body, signal: ctrl.signal, redirect: 'manual' });
      } catch (cause) {
        throw new KmsError('ERR_KMS_UNREACHABLE', ctrl.signal.aborted ? 'KMS request timed out' : 'KMS is unreachable', { cause });
      }
      if (!res.ok) {
        await res.body?.cancel().catch(() => undefined);
        // The body is not echoed: it is the server's, possibly hostile, and may be large.
        throw new KmsError('ERR_KMS_HTTP', `KMS answered HTTP ${res.status}`);
      }
      body = await readBounded(res, maxBytes);
    } catch (e) {
      if (isKmsError(e) || !ctrl.signal.aborted) throw e;
      throw new KmsError('ERR_KMS_UNREACHABLE', 'KMS request timed out', { cause: e });
    } finally {
      clearTimeout(timer);
    }

    const response = security === 'required' ? await parseSigned(body) : await parseKmsResponse(body, { security: 'none', limits: { maxBytes } });
    if (security === 'required') {
      // The signature proves who wrote it, not that it answers this request now.
      if (response.clientReqUrl !== built.url) malformed('signed response answers another request (ClientReqUrl)');
      if (Math.abs(response.time.epochMs - now()) > RESPONSE_TIME_WINDOW_MS) malformed('signed response Time is outside the accepted window');
    }
    return { response, url: built.url };
  };

  /** Store the TrKs a response delivered: called only once everything else in it was accepted. */
  const storeNewTransportKeys = async (response: KmsResponse): Promise<void> => {
    for (const t of response.newTransportKeys) {
      await store!.put(t.id, t.key, 'TrK');
      latestTrkId = t.id;
    }
  };

  const checkKmsUri = (response: KmsResponse, expected: string): void => {
    if (response.kmsUri !== expected) malformed('response KmsUri is not the KMS of the certificate');
  };

  const doInit = async (): Promise<{ certificate: ValidatedKmsCertificate }> => {
    const { response } = await post({ kind: 'init' });
    const m = response.message;
    if (m?.kind !== 'init') malformed('init answered without KmsInit');
    if (m.certificate.role === 'External') throw new KmsError('ERR_KMS_INVALID_CERTIFICATE', 'KmsInit carries an External certificate, not the Root');
    const cert = validateKmsCertificate(m.certificate, { now: now(), expectedKmsUri: o.kmsUri });
    checkKmsUri(response, cert.kmsUri);
    await storeNewTransportKeys(response);
    certificate = cert;
    return { certificate: cert };
  };

  const init = (): Promise<{ certificate: ValidatedKmsCertificate }> => {
    // Concurrent callers share one request; a failure leaves the next call free to retry.
    pendingInit ??= doInit().finally(() => {
      pendingInit = undefined;
    });
    return pendingInit;
  };

  const keyProvision = async (p: KmsKeyProvisionOptions = {}): Promise<ValidatedKeySet[]> => {
    if (typeof p !== 'object' || p === null) throw new TypeError('options must be an object');
    if (p.identity !== undefined && (typeof p.identity !== 'string' || p.identity === '')) throw new TypeError('identity must be a non-empty string');
    if (p.at !== undefined && (typeof p.at !== 'number' || !Number.isFinite(p.at))) throw new TypeError('at must be a finite number (Unix ms)');
    const kms = certificate ?? (await init()).certificate;
    const identity = p.identity ?? o.identity;
    const target: KmsRequestTarget =
      p.at !== undefined
        ? { kind: 'keyprov', identity, time: ntpTimestamp(p.at) }
        : p.identity !== undefined
          ? { kind: 'keyprov', identity }
          : { kind: 'keyprov' };
    const { response } = await post(target);
    const m = response.message;
    if (m?.kind !== 'keyprov') malformed('keyprov answered without KmsKeyProv');
    checkKmsUri(response, kms.kmsUri);
    const t = now();
    // All or nothing: one bad key set refuses the whole response.
    const sets: ValidatedKeySet[] = [];
    for (const ks of m.keySets) sets.push(await validateKeySetAsync(ks, { kms, identity, now: t, ...(o.identityCrypto ? { identityCrypto: o.identityCrypto } : {}) }));
    if (p.at !== undefined) {
      const wanted = periodAt(kms, ntpSecondsOfUnixMs(p.at));
      if (!sets.some((s) => s.keyPeriodNo === wanted)) throw new KmsError('ERR_KMS_INVALID_KEY_SET', 'no key set for the requested period');
    }
    await storeNewTransportKeys(response);
    return sets;
  };

  const certCache = async (version?: number): Promise<{ certificates: ValidatedKmsCertificate[]; version: number }> => {
    if (version !== undefined && (!Number.isSafeInteger(version) || version < 0)) throw new RangeError('version must be a non-negative integer');
    const { response } = await post(version === undefined ? { kind: 'certcache' } : { kind: 'certcache', cacheNum: version });
    const m = response.message;
    if (m?.kind !== 'certcache') malformed('certcache answered without KmsCertCache');
    if (certificate !== undefined) checkKmsUri(response, certificate.kmsUri);
    else if (o.kmsUri !== undefined) checkKmsUri(response, o.kmsUri);
    const t = now();
    const certificates = m.certificates.map((c) => validateKmsCertificate(c, { now: t }));
    await storeNewTransportKeys(response);
    return { certificates, version: m.cacheNum ?? version ?? 0 };
  };

  return { init, keyProvision, certCache };
}
