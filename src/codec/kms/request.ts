/**
 * KMS requests, TS 33.179 Annex D.2 as changed by the CR (resource URIs under
 * /keymanagement/identity/v1: init, keyprov[/{uri}[/{ntp-time}]], certcache[/{n}]) and D.2.2
 * (the optional SignedKmsRequest body: KmsRequest with UserUri, KmsUri, Time, ClientId,
 * DeviceId, ClientReqUrl, ClientError, TrK-ID, Signature-ID, signed with the InK or TrK).
 *
 * Without the security extension a request is an empty POST; with it the body is the signed
 * XML. `parseKmsRequest` is for the dev KMS: it verifies the signature, then reads the fields.
 * The checks that need server context (KmsUri is ours, Time within a few seconds, ClientReqUrl
 * equals the URL that was POSTed to) are the server's, on the returned fields.
 */
import { NTP_UNIX_OFFSET } from '../../crypto/index.js';
import { parseXml } from '../xml/parser.js';
import type { XmlLimits } from '../xml/parser.js';
import type { XmlBuildElement } from '../xml/serialize.js';
import { getAttr, trimXmlWhitespace } from '../xml/tree.js';
import { DSIG_NS, KMS_NS, KMS_PATH_ROOT, KMS_REQUEST_VERSION, KMS_SECEXT_NS } from './constants.js';
import { signHmacEnvelope, verifyHmacEnvelope } from './dsig.js';
import type { TransportKeyLookup } from './dsig.js';
import { parseKmsDateTime } from './encoding.js';
import type { KmsDateTime } from './encoding.js';
import { KmsError } from './errors.js';
import { KmsReader, malformed, textOnly } from './read.js';
import { readServerError } from './response.js';
import type { KmsClientError, KmsRequest, KmsRequestTarget } from './types.js';

const NTP_TIME_RE = /^[0-9A-Fa-f]{16}$/;

/** NTP-UTC 64-bit timestamp (RFC 5905: seconds since 1900 ‖ 32-bit fraction) of an instant. */
export function ntpTimestamp(when: Date | number): bigint {
  const ms = typeof when === 'number' ? when : when.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('invalid date');
  const secs = Math.floor(ms / 1000) + NTP_UNIX_OFFSET;
  if (secs < 0 || secs > 0xffffffff) throw new RangeError('instant outside the NTP era 0');
  const frac = BigInt(Math.floor(((ms - Math.floor(ms / 1000) * 1000) * 2 ** 32) / 1000));
  return (BigInt(secs) << 32n) | frac;
}

/** The resource path of a request (D.2), e.g. `/keymanagement/identity/v1/keyprov/sip%3Aa%40b/D6B4323200000000`. */
export function kmsRequestPath(target: KmsRequestTarget): string {
  switch (target.kind) {
    case 'init':
      return `${KMS_PATH_ROOT}/init`;
    case 'keyprov': {
      let p = `${KMS_PATH_ROOT}/keyprov`;
      if (target.identity !== undefined) {
        if (typeof target.identity !== 'string' || target.identity === '') throw new TypeError('identity must be a non-empty string');
        // encodeURIComponent escapes ':' '@' '/' as the CR example shows (sip%3Auser%40example.org).
        p += '/' + encodeURIComponent(target.identity);
      }
      if (target.time !== undefined) {
        if (target.identity === undefined) throw new TypeError('a keyprov time needs an identity (D.2)');
        if (typeof target.time !== 'bigint' || target.time < 0n || target.time >= 1n << 64n) throw new RangeError('time must be a 64-bit NTP timestamp');
        p += '/' + target.time.toString(16).toUpperCase().padStart(16, '0');
      }
      return p;
    }
    case 'certcache':
      if (target.cacheNum === undefined) return `${KMS_PATH_ROOT}/certcache`;
      if (!Number.isSafeInteger(target.cacheNum) || target.cacheNum < 0) throw new RangeError('cacheNum must be a non-negative integer');
      return `${KMS_PATH_ROOT}/certcache/${target.cacheNum}`;
    default:
      throw new TypeError('unknown KMS request kind');
  }
}

/**
 * Read a request path (the dev KMS side). `prefix` is whatever precedes the KMS root
 * (a deployment's base path). Unknown resources (redirect, cert, lookup of later releases)
 * are ERR_KMS_UNSUPPORTED; malformed segments ERR_KMS_MALFORMED.
 */
export function parseKmsRequestPath(path: string): KmsRequestTarget & { readonly prefix: string } {
  if (typeof path !== 'string') throw new TypeError('path must be a string');
  if (/[?#]/.test(path)) malformed('request path must not contain a query or fragment');
  const at = path.indexOf(`${KMS_PATH_ROOT}/`);
  if (at < 0) malformed('not a KMS resource path');
  const prefix = path.slice(0, at);
  const segs = path.slice(at + KMS_PATH_ROOT.length + 1).split('/');
  const [op, a, b, ...more] = segs;
  if (more.length > 0) malformed('too many path segments');
  switch (op) {
    case 'init':
      if (a !== undefined) malformed('init takes no sub-resource');
      return { kind: 'init', prefix };
    case 'keyprov': {
      if (a === undefined) return { kind: 'keyprov', prefix };
      let identity: string;
      try {
        identity = decodeURIComponent(a);
      } catch (cause) {
        throw new KmsError('ERR_KMS_MALFORMED', 'keyprov identity is not valid percent-encoding', { cause });
      }
      if (identity === '') malformed('keyprov identity is empty');
      if (b === undefined) return { kind: 'keyprov', identity, prefix };
      if (!NTP_TIME_RE.test(b)) malformed('keyprov time must be 16 hex digits (NTP-UTC 64-bit)');
      return { kind: 'keyprov', identity, time: BigInt(`0x${b}`), prefix };
    }
    case 'certcache': {
      if (b !== undefined) malformed('certcache takes at most one sub-resource');
      if (a === undefined) return { kind: 'certcache', prefix };
      if (!/^[0-9]{1,15}$/.test(a)) malformed('certcache number must be decimal');
      return { kind: 'certcache', cacheNum: Number(a), prefix };
    }
    default:
      throw new KmsError('ERR_KMS_UNSUPPORTED', 'unsupported KMS resource');
  }
}

/** The KmsRequest fields a client signs (CR Table D.2.2-1); ClientReqUrl is filled in. */
export interface KmsRequestInput {
  readonly userUri: string;
  readonly kmsUri: string;
  readonly time: KmsDateTime;
  readonly clientId?: string;
  readonly deviceId?: string;
  readonly clientError?: KmsClientError;
  /** The TrK the client holds, when the operator requires confidentiality. */
  readonly trkId?: string;
  /** `Id` of KmsRequest, the signature's reference (default "kmsreq"). */
  readonly id?: string;
}

export interface KmsRequestSecurity {
  /** InK if the client has one, else the TrK (D.2.2). */
  readonly signingKeyId: string;
  readonly signingKey: Uint8Array;
  readonly hmacOutputBits?: number;
}

export interface BuildKmsRequestOptions {
  /** Scheme, host and optional base path of the KMS, e.g. `https://kms.example.org`. */
  readonly baseUrl: string;
  readonly target: KmsRequestTarget;
  /** With `security`: the signed body (SignedKmsRequest). Both or neither. */
  readonly request?: KmsRequestInput;
  readonly security?: KmsRequestSecurity;
  readonly indent?: string;
}

export interface BuiltKmsRequest {
  /** Absolute URL to POST to (also the signed ClientReqUrl). */
  readonly url: string;
  readonly path: string;
  /** Absent without the security extension: the POST then has no body. */
  readonly body?: string;
  readonly contentType?: string;
}

function baseOf(baseUrl: string): string {
  if (typeof baseUrl !== 'string') throw new TypeError('baseUrl must be a string');
  let u: URL;
  try {
    u = new URL(baseUrl);
  } catch {
    throw new TypeError('baseUrl must be an absolute URL');
  }
  if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.search !== '' || u.hash !== '') {
    throw new TypeError('baseUrl must be an http(s) URL without query or fragment');
  }
  return baseUrl.replace(/\/+$/, '');
}

/** Build the URL (and, with the security extension, the signed body) of a KMS request. */
export function buildKmsRequest(opts: BuildKmsRequestOptions): BuiltKmsRequest {
  const path = kmsRequestPath(opts.target);
  const url = baseOf(opts.baseUrl) + path;
  if ((opts.request === undefined) !== (opts.security === undefined)) throw new TypeError('request and security go together');
  if (!opts.request || !opts.security) return { url, path };
  const q = opts.request;
  const sec = opts.security;
  for (const [k, v] of [['userUri', q.userUri], ['kmsUri', q.kmsUri], ['signingKeyId', sec.signingKeyId]] as const) {
    if (typeof v !== 'string' || v === '') throw new TypeError(`${k} must be a non-empty string`);
  }
  parseKmsDateTime(q.time.text, 'time');
  if (q.clientError && !Number.isSafeInteger(q.clientError.errorCode)) throw new RangeError('errorCode must be a safe integer');
  const id = q.id ?? 'kmsreq';
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(id)) throw new TypeError('id must be an NCName');
  const t = (name: string, v: string | undefined): XmlBuildElement[] => (v === undefined ? [] : [{ name, children: [v] }]);
  const kmsRequest: XmlBuildElement = {
    name: 'KmsRequest',
    attrs: [['Id', id], ['Version', KMS_REQUEST_VERSION]],
    // Schema order of KmsRequestType (D.3.4.2), then the CR's additions.
    children: [
      ...t('UserUri', q.userUri),
      ...t('KmsUri', q.kmsUri),
      ...t('Time', q.time.text),
      ...t('ClientId', q.clientId),
      ...t('DeviceId', q.deviceId),
      ...t('ClientReqUrl', url),
      ...(q.clientError
        ? [
            {
              name: 'ClientError',
              // ErrorType is declared in the base schema: its children are in the base namespace.
              children: [
                ...t('ikms:ErrorCode', String(q.clientError.errorCode)),
                ...t('ikms:ErrorMsg', q.clientError.errorMsg),
              ],
            },
          ]
        : []),
      ...t('TrK-ID', q.trkId),
      ...t('Signature-ID', sec.signingKeyId),
    ],
  };
  const body = signHmacEnvelope(
    (signature) => ({
      name: 'SignedKmsRequest',
      attrs: [
        ['xmlns', KMS_SECEXT_NS],
        ['xmlns:ikms', KMS_NS],
        ['xmlns:ds', DSIG_NS],
      ],
      children: [kmsRequest, signature],
    }),
    id,
    { keyId: sec.signingKeyId, key: sec.signingKey, hmacOutputBits: sec.hmacOutputBits },
    { indent: opts.indent },
  );
  return { url, path, body, contentType: 'application/xml' };
}

export interface ParseKmsRequestOptions {
  /** InK/TrK by identifier (the dev KMS's store). */
  readonly getTransportKey: TransportKeyLookup;
  readonly limits?: XmlLimits;
}

const REQUEST_FIELDS = ['UserUri', 'KmsUri', 'Time', 'ClientId', 'DeviceId', 'ClientReqUrl', 'ClientError', 'TrK-ID', 'Signature-ID'] as const;

/** Verify and read a SignedKmsRequest body (dev KMS). Throws `KmsError` on any failure. */
export function parseKmsRequest(xml: string | Uint8Array, opts: ParseKmsRequestOptions): KmsRequest {
  if (typeof opts?.getTransportKey !== 'function') throw new TypeError('getTransportKey is required');
  const r = new KmsReader();
  const doc = parseXml(xml, { ...opts.limits, onQuirk: (q) => r.quirk(q) });
  const root = doc.root;
  if (!r.isKms(root, 'SignedKmsRequest')) malformed(`unexpected root element <${root.local}>`);
  if (trimXmlWhitespace(root.text) !== '') malformed('<SignedKmsRequest> must not contain character data');
  const [inner, sig, ...extra] = root.children;
  if (!inner || !r.isKms(inner, 'KmsRequest') || extra.length > 0 || (sig !== undefined && !(sig.ns === DSIG_NS && sig.local === 'Signature'))) {
    malformed('SignedKmsRequest must hold KmsRequest then ds:Signature');
  }
  if (!sig) throw new KmsError('ERR_KMS_BAD_SIGNATURE', 'SignedKmsRequest carries no signature');
  const sid = inner.children.filter((c) => r.isKms(c, 'Signature-ID'));
  if (sid.length > 1) malformed('<Signature-ID> occurs more than once');
  const signature = verifyHmacEnvelope({
    doc,
    message: inner,
    signature: sig,
    declaredKeyId: sid[0] ? textOnly(sid[0]) : undefined,
    getKey: opts.getTransportKey,
    quirk: (q) => r.quirk(q),
  });
  const f = r.fields(inner, REQUEST_FIELDS);
  const ce = f.element('ClientError');
  return {
    version: getAttr(inner, 'Version'),
    id: getAttr(inner, 'Id'),
    userUri: f.requiredText('UserUri'),
    kmsUri: f.requiredText('KmsUri'),
    time: parseKmsDateTime(f.requiredText('Time'), 'KmsRequest Time'),
    clientId: f.text('ClientId'),
    deviceId: f.text('DeviceId'),
    clientReqUrl: f.requiredText('ClientReqUrl'),
    clientError: ce ? readServerError(r, ce) : undefined,
    trkId: f.text('TrK-ID'),
    signatureId: f.text('Signature-ID'),
    signature,
    quirks: r.quirks,
  };
}
