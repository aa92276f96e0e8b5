/**
 * The crypto worker's message handler (RFC 6508 §6.1.2, §6.2.1, §6.2.2; RFC 6507 §5.2.2 for
 * TS 33.179 7.2.4, 7.3.2, 7.4, 9.1.3), apart from the worker's global scope so that unit
 * tests run it in-process behind a fake Worker. It answers every request exactly once:
 * a result, or an error with a crypto code (the error's message only, never an argument).
 * Requests are handled one at a time, in order, by `inThreadIdentityCrypto`, which keeps the
 * prepared SAKKE receivers per (UID, Z) and the window tables of P, Z and g warm.
 */
import { CryptoError } from '../../errors.js';
import { inThreadIdentityCrypto, type InThreadIdentityCrypto } from '../../crypto/heavy.js';
import {
  CRYPTO_WORKER_PROTOCOL_VERSION,
  CryptoWorkerProtocolError,
  readToCryptoWorker,
  type FromCryptoWorker,
  type ToCryptoWorker,
} from './protocol.js';

export interface CryptoWorkerCore {
  onMessage(data: unknown): Promise<void>;
}

function errorAnswer(id: number | null, e: unknown): FromCryptoWorker {
  if (e instanceof CryptoError) return { kind: 'error', id, code: e.code, message: e.message };
  if (e instanceof CryptoWorkerProtocolError) return { kind: 'error', id, code: 'ERR_CRYPTO_WORKER', message: `protocol: ${e.message}` };
  if (e instanceof TypeError) return { kind: 'error', id, code: 'TypeError', message: e.message };
  if (e instanceof RangeError) return { kind: 'error', id, code: 'RangeError', message: e.message };
  return { kind: 'error', id, code: 'ERR_CRYPTO_WORKER', message: 'the crypto worker failed' };
}

export function createCryptoWorkerCore(post: (m: FromCryptoWorker) => void, crypto: InThreadIdentityCrypto = inThreadIdentityCrypto()): CryptoWorkerCore {
  let queue: Promise<void> = Promise.resolve();

  async function handle(m: ToCryptoWorker): Promise<FromCryptoWorker> {
    switch (m.kind) {
      case 'init':
        if (m.protocol !== CRYPTO_WORKER_PROTOCOL_VERSION) {
          return { kind: 'error', id: m.id, code: 'ERR_CRYPTO_WORKER', message: `protocol ${m.protocol} is not ${CRYPTO_WORKER_PROTOCOL_VERSION}` };
        }
        return { kind: 'ready', id: m.id, protocol: CRYPTO_WORKER_PROTOCOL_VERSION };
      case 'sakke-encapsulate':
        return { kind: 'bytes', id: m.id, value: await crypto.sakkeEncapsulate(m.ssv, { id: m.uid, z: m.z }) };
      case 'sakke-decapsulate':
        return { kind: 'bytes', id: m.id, value: await crypto.sakkeDecapsulate(m.data, { id: m.uid, z: m.z, rsk: m.rsk }) };
      case 'sakke-validate':
        return { kind: 'bool', id: m.id, value: await crypto.sakkeValidateReceiverKey({ id: m.uid, z: m.z, rsk: m.rsk }) };
      case 'eccsi-verify':
        return { kind: 'bool', id: m.id, value: await crypto.eccsiVerify(m.message, m.signature, { id: m.uid, kpak: m.kpak }) };
    }
  }

  async function run(data: unknown): Promise<void> {
    let answer: FromCryptoWorker;
    try {
      answer = await handle(readToCryptoWorker(data));
    } catch (e) {
      const id = e instanceof CryptoWorkerProtocolError ? e.id : requestIdOf(data);
      answer = errorAnswer(id, e);
    }
    post(answer);
  }

  return {
    onMessage(data) {
      const p = queue.then(() => run(data));
      queue = p.catch(() => undefined);
      return p;
    },
  };
}

function requestIdOf(data: unknown): number | null {
  const id = (data as { id?: unknown } | null)?.id;
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 1 ? id : null;
}
