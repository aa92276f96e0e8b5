/**
 * The identity-key operations that cost tens to hundreds of milliseconds, behind one async
 * interface (RFC 6508 §6.1.2 receiver key validation, §6.2.1 encapsulation, §6.2.2
 * decapsulation; RFC 6507 §5.2.2 verification), as TS 33.179 uses them: KMS key-set
 * validation (7.2.4), the CSK sent with REGISTER (9.1.3), GMKs and PCKs received (7.3.2, 7.4).
 *
 * Why async: on a page, a 1024-bit pairing or the first build of a window table blocks the
 * main thread for 50–1200 ms. A browser app hands these to a dedicated worker
 * (workers/crypto-worker.ts through src/platform/crypto-worker); Node, unit tests, tools and
 * dev servers use `inThreadIdentityCrypto()`, which runs the same functions here and behaves
 * the same (same results, same typed errors).
 *
 * The in-thread implementation caches one prepared SAKKE receiver per (UID, Z): the UID
 * names an identity in one key period (TS 33.179 F.2.1), so this is the per-period cache of
 * receive.ts. The cached receiver is used only when the RSK asked with is the one it was
 * built from. Pure: no I/O, no timers.
 */
import { eccsiVerify, type EccsiPublicKeys } from './eccsi.js';
import { createSakkeReceiver, sakkeEncapsulate, sakkeValidateReceiverKey, type SakkeReceiver, type SakkeReceiverKeys, type SakkeRecipient } from './sakke/sakke.js';

export interface IdentityCrypto {
  /** RFC 6508 §6.2.1: Encapsulated Data (273 octets) carrying a 16-octet SSV to `to`. */
  sakkeEncapsulate(ssv: Uint8Array, to: SakkeRecipient): Promise<Uint8Array>;
  /**
   * RFC 6508 §6.2.2 with a receiver prepared once per (UID, Z) and kept. Rejects with the
   * CryptoError of `SakkeReceiver.decapsulate` / `createSakkeReceiver`.
   */
  sakkeDecapsulate(encapsulated: Uint8Array, keys: SakkeReceiverKeys): Promise<Uint8Array>;
  /** RFC 6508 §6.1.2: true when the RSK matches the identifier and Z. */
  sakkeValidateReceiverKey(keys: SakkeReceiverKeys): Promise<boolean>;
  /** RFC 6507 §5.2.2. Optional: callers verify in-thread without it. */
  eccsiVerify?(message: Uint8Array, signature: Uint8Array, keys: EccsiPublicKeys): Promise<boolean>;
}

export interface InThreadIdentityCryptoOptions {
  /** Prepared SAKKE receivers kept (previous, current and next period, and one spare); default 4. */
  readonly maxReceivers?: number;
}

/** Same-thread implementation; also the handler behind the crypto worker. */
export interface InThreadIdentityCrypto extends IdentityCrypto {
  eccsiVerify(message: Uint8Array, signature: Uint8Array, keys: EccsiPublicKeys): Promise<boolean>;
  /** Drops the prepared receivers (logout, or the worker told to forget). */
  clear(): void;
}

interface CachedReceiver {
  readonly rsk: Uint8Array;
  readonly receiver: SakkeReceiver;
}

function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

export function inThreadIdentityCrypto(options: InThreadIdentityCryptoOptions = {}): InThreadIdentityCrypto {
  const max = options.maxReceivers ?? 4;
  if (!Number.isSafeInteger(max) || max < 1) throw new RangeError('maxReceivers must be an integer ≥ 1');
  const receivers = new Map<string, CachedReceiver>();

  function receiverFor(keys: SakkeReceiverKeys): SakkeReceiver {
    if (!(keys.id instanceof Uint8Array) || !(keys.z instanceof Uint8Array) || !(keys.rsk instanceof Uint8Array)) {
      throw new TypeError('SAKKE receiver keys must be Uint8Arrays');
    }
    const k = `${hex(keys.id)}/${hex(keys.z)}`;
    const hit = receivers.get(k);
    if (hit !== undefined && sameBytes(hit.rsk, keys.rsk)) {
      receivers.delete(k); // most recently used last
      receivers.set(k, hit);
      return hit.receiver;
    }
    const receiver = createSakkeReceiver(keys);
    receivers.delete(k);
    if (receivers.size >= max) receivers.delete(receivers.keys().next().value!);
    receivers.set(k, { rsk: keys.rsk.slice(), receiver });
    return receiver;
  }

  // `async` turns a synchronous throw into a rejection, as the worker's answers are.
  return {
    sakkeEncapsulate: async (ssv, to) => sakkeEncapsulate(ssv, to),
    sakkeDecapsulate: async (encapsulated, keys) => receiverFor(keys).decapsulate(encapsulated),
    sakkeValidateReceiverKey: async (keys) => sakkeValidateReceiverKey(keys),
    eccsiVerify: async (message, signature, keys) => eccsiVerify(message, signature, keys),
    clear: () => receivers.clear(),
  };
}
