/**
 * Messages between the page and the identity crypto worker (workers/crypto-worker.ts): the
 * RFC 6508 / RFC 6507 operations of src/crypto/heavy.ts, which TS 33.179 needs for key-set
 * validation (7.2.4), the CSK (9.1.3) and received GMKs/PCKs (7.3.2, 7.4).
 *
 *   page                                        worker
 *   init {id, protocol}                  ─►
 *                                        ◄─     ready {id, protocol}
 *   sakke-encapsulate | sakke-decapsulate | sakke-validate | eccsi-verify {id, …}  ─►
 *                                        ◄─     bytes {id, value} | bool {id, value} | error {id, code, message}
 *
 * A tagged union, every message checked at run time on both sides (`readToCryptoWorker`,
 * `readFromCryptoWorker`): a message that does not fit is answered with an error naming the
 * field, never dropped. Key material (RSK, SSV) crosses by postMessage to a same-origin
 * dedicated worker as structured-cloned bytes; it is never logged, nor put in an error.
 * Pure types and checks, no I/O.
 */
import type { CryptoErrorCode } from '../../errors.js';

export const CRYPTO_WORKER_PROTOCOL_VERSION = 1;

/**
 * Upper bounds only: lengths are judged by the crypto code, so that a payload of the wrong
 * length gets the same CryptoError from the worker as in-thread (parameter set 1 needs 16,
 * 273, 257, 65 and 129 octets).
 */
const MAX_FIELD = 1024;
/** An I_MESSAGE's signed part: bounded by the SIP body limits, with room. */
const MAX_SIGNED = 256 * 1024;
/** The longest value an answer carries: Encapsulated Data (RFC 6509: 273 octets). */
const MAX_ANSWER = 273;

export type ToCryptoWorker =
  | { readonly kind: 'init'; readonly id: number; readonly protocol: number }
  | { readonly kind: 'sakke-encapsulate'; readonly id: number; readonly ssv: Uint8Array; readonly uid: Uint8Array; readonly z: Uint8Array }
  | { readonly kind: 'sakke-decapsulate'; readonly id: number; readonly data: Uint8Array; readonly uid: Uint8Array; readonly z: Uint8Array; readonly rsk: Uint8Array }
  | { readonly kind: 'sakke-validate'; readonly id: number; readonly uid: Uint8Array; readonly z: Uint8Array; readonly rsk: Uint8Array }
  | { readonly kind: 'eccsi-verify'; readonly id: number; readonly message: Uint8Array; readonly signature: Uint8Array; readonly uid: Uint8Array; readonly kpak: Uint8Array };

/** What an error answer may name: a crypto code, or the platform's misuse errors. */
export type CryptoWorkerErrorCode = CryptoErrorCode | 'TypeError' | 'RangeError';

export type FromCryptoWorker =
  | { readonly kind: 'ready'; readonly id: number; readonly protocol: number }
  | { readonly kind: 'bytes'; readonly id: number; readonly value: Uint8Array }
  | { readonly kind: 'bool'; readonly id: number; readonly value: boolean }
  | { readonly kind: 'error'; readonly id: number | null; readonly code: CryptoWorkerErrorCode; readonly message: string };

const CRYPTO_CODES: readonly CryptoWorkerErrorCode[] = Object.freeze([
  'ERR_CRYPTO_BAD_LENGTH',
  'ERR_CRYPTO_BAD_POINT_ENCODING',
  'ERR_CRYPTO_POINT_NOT_ON_CURVE',
  'ERR_CRYPTO_POINT_NOT_IN_SUBGROUP',
  'ERR_CRYPTO_SCALAR_OUT_OF_RANGE',
  'ERR_SAKKE_INVALID_RECEIVER_KEY',
  'ERR_SAKKE_DECAPSULATION_FAILED',
  'ERR_ECCSI_INVALID_SIGNING_KEY',
  'ERR_ECCSI_SIGNING_FAILED',
  'ERR_KEY_UNWRAP_FAILED',
  'ERR_AEAD_AUTH_FAILED',
  'ERR_CRYPTO_WORKER',
  'TypeError',
  'RangeError',
] as const);

/** A message that does not fit the protocol; `id` when the message had a readable one. */
export class CryptoWorkerProtocolError extends Error {
  constructor(
    message: string,
    readonly id: number | null,
  ) {
    super(message);
    this.name = 'CryptoWorkerProtocolError';
  }
}

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CryptoWorkerProtocolError('message must be an object', null);
  return v as Obj;
}

function requestId(o: Obj): number {
  const id = o['id'];
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) throw new CryptoWorkerProtocolError('id must be a positive integer', null);
  return id;
}

function bytes(o: Obj, field: string, id: number | null, min: number, max: number): Uint8Array {
  const v = o[field];
  if (!(v instanceof Uint8Array)) throw new CryptoWorkerProtocolError(`${field} must be a Uint8Array`, id);
  if (v.length < min || v.length > max) throw new CryptoWorkerProtocolError(`${field} has the wrong length`, id);
  return v;
}

/** Worker side: the page's request, checked. */
export function readToCryptoWorker(data: unknown): ToCryptoWorker {
  const o = obj(data);
  const id = requestId(o);
  switch (o['kind']) {
    case 'init': {
      const protocol = o['protocol'];
      if (typeof protocol !== 'number' || !Number.isSafeInteger(protocol)) throw new CryptoWorkerProtocolError('protocol must be an integer', id);
      return { kind: 'init', id, protocol };
    }
    case 'sakke-encapsulate':
      return { kind: 'sakke-encapsulate', id, ssv: bytes(o, 'ssv', id, 0, MAX_FIELD), uid: bytes(o, 'uid', id, 0, MAX_FIELD), z: bytes(o, 'z', id, 0, MAX_FIELD) };
    case 'sakke-decapsulate':
      return {
        kind: 'sakke-decapsulate',
        id,
        data: bytes(o, 'data', id, 0, MAX_FIELD),
        uid: bytes(o, 'uid', id, 0, MAX_FIELD),
        z: bytes(o, 'z', id, 0, MAX_FIELD),
        rsk: bytes(o, 'rsk', id, 0, MAX_FIELD),
      };
    case 'sakke-validate':
      return { kind: 'sakke-validate', id, uid: bytes(o, 'uid', id, 0, MAX_FIELD), z: bytes(o, 'z', id, 0, MAX_FIELD), rsk: bytes(o, 'rsk', id, 0, MAX_FIELD) };
    case 'eccsi-verify':
      return {
        kind: 'eccsi-verify',
        id,
        message: bytes(o, 'message', id, 0, MAX_SIGNED),
        signature: bytes(o, 'signature', id, 0, MAX_FIELD),
        uid: bytes(o, 'uid', id, 0, MAX_FIELD),
        kpak: bytes(o, 'kpak', id, 0, MAX_FIELD),
      };
    default:
      throw new CryptoWorkerProtocolError('unknown message kind', id);
  }
}

/** Page side: the worker's answer, checked. */
export function readFromCryptoWorker(data: unknown): FromCryptoWorker {
  const o = obj(data);
  if (o['kind'] === 'error') {
    const id = o['id'] === null ? null : requestId(o);
    const code = o['code'];
    if (typeof code !== 'string' || !CRYPTO_CODES.includes(code as CryptoWorkerErrorCode)) throw new CryptoWorkerProtocolError('error code is not one of the crypto codes', id);
    const message = typeof o['message'] === 'string' ? o['message'].slice(0, 500) : '';
    return { kind: 'error', id, code: code as CryptoWorkerErrorCode, message };
  }
  const id = requestId(o);
  switch (o['kind']) {
    case 'ready': {
      const protocol = o['protocol'];
      if (typeof protocol !== 'number' || !Number.isSafeInteger(protocol)) throw new CryptoWorkerProtocolError('protocol must be an integer', id);
      return { kind: 'ready', id, protocol };
    }
    case 'bytes':
      return { kind: 'bytes', id, value: bytes(o, 'value', id, 1, MAX_ANSWER) };
    case 'bool': {
      const value = o['value'];
      if (typeof value !== 'boolean') throw new CryptoWorkerProtocolError('value must be a boolean', id);
      return { kind: 'bool', id, value };
    }
    default:
      throw new CryptoWorkerProtocolError('unknown message kind', id);
  }
}
