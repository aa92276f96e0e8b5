/**
 * The page side of the identity crypto worker: an `IdentityCrypto` (src/crypto/heavy.ts)
 * whose RFC 6508 / RFC 6507 operations run in workers/crypto-worker.ts, so that TS 33.179
 * key-set validation (7.2.4), CSK creation (9.1.3) and key reception (7.3.2, 7.4) never hold
 * the main thread for long (issue 7: no main-thread task over 50 ms).
 *
 *   const crypto = createCryptoWorkerClient();          // the worker starts on first use
 *   createMikeyKeyReceiver({ self, identityCrypto: crypto });
 *   crypto.dispose();                                    // terminates it
 *
 * Requests carry ids and are answered once each; the init/ready handshake is pipelined with
 * the first requests (the worker handles messages in order). A request not answered within
 * `timeoutMs`, a worker that fails to load or crashes, or an answer that breaks the protocol
 * rejects with CryptoError ERR_CRYPTO_WORKER; a crashed worker is replaced on the next call.
 * The worker's own refusals come back as the CryptoError (or TypeError/RangeError) the
 * in-thread code would have thrown.
 *
 * Key material (RSK, SSV) is posted to the dedicated, same-origin worker as copied bytes;
 * nothing here logs, and no error message carries an argument.
 */
import { CryptoError } from '../../errors.js';
import type { EccsiPublicKeys } from '../../crypto/eccsi.js';
import type { IdentityCrypto } from '../../crypto/heavy.js';
import type { SakkeReceiverKeys, SakkeRecipient } from '../../crypto/sakke/sakke.js';
import { CRYPTO_WORKER_PROTOCOL_VERSION, readFromCryptoWorker, type FromCryptoWorker, type ToCryptoWorker } from './protocol.js';

/** What the client needs of a Worker (tests pass a fake that runs the handler in-process). */
export interface CryptoWorkerLike {
  postMessage(message: unknown): void;
  terminate(): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  addEventListener(type: 'messageerror', listener: (event: MessageEvent) => void): void;
  addEventListener(type: 'error', listener: (event: ErrorEvent) => void): void;
}

export interface CryptoWorkerClientOptions {
  /** Starts the worker; default the module worker of workers/crypto-worker.ts. */
  readonly createWorker?: () => CryptoWorkerLike;
  /**
   * How long one request may take, ms (default 30 000: the first key-set validation builds
   * the pairing tables, which takes seconds on a loaded machine).
   */
  readonly timeoutMs?: number;
}

export interface CryptoWorkerClient extends IdentityCrypto {
  eccsiVerify(message: Uint8Array, signature: Uint8Array, keys: EccsiPublicKeys): Promise<boolean>;
  /** Terminates the worker; pending and later calls reject with ERR_CRYPTO_WORKER. */
  dispose(): void;
}

/** True where a dedicated worker can be started (browsers; not Node). */
export function cryptoWorkerSupported(): boolean {
  return typeof (globalThis as { Worker?: unknown }).Worker === 'function';
}

function defaultWorker(): CryptoWorkerLike {
  // The URL pattern Vite and other bundlers recognize and emit as a separate module worker.
  return new Worker(new URL('../../../workers/crypto-worker.ts', import.meta.url), { type: 'module', name: 'mcptt-crypto' });
}

type Request = ToCryptoWorker extends infer M ? (M extends unknown ? Omit<M, 'id'> : never) : never;

interface Pending {
  readonly kind: Request['kind'];
  readonly resolve: (m: FromCryptoWorker) => void;
  readonly reject: (e: unknown) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

const workerFailure = (message: string, cause?: unknown): CryptoError =>
  new CryptoError('ERR_CRYPTO_WORKER', message, cause === undefined ? undefined : { cause });

/** The worker takes fields up to 1 KiB (the message to verify: 256 KiB); longer is refused here as in-thread code would. */
function bytesIn(v: unknown, what: string, max = 1024): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
  if (v.length > max) throw new CryptoError('ERR_CRYPTO_BAD_LENGTH', `${what} is too long`);
  return v;
}

export function createCryptoWorkerClient(options: CryptoWorkerClientOptions = {}): CryptoWorkerClient {
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new RangeError('timeoutMs must be positive');
  const createWorker = options.createWorker ?? defaultWorker;
  let worker: CryptoWorkerLike | undefined;
  let nextId = 1;
  const pending = new Map<number, Pending>();
  let disposed = false;

  function failAll(w: CryptoWorkerLike, reason: string): void {
    if (w !== worker) return;
    worker = undefined;
    try {
      w.terminate();
    } catch {
      /* already gone */
    }
    const all = [...pending.values()];
    pending.clear();
    for (const p of all) {
      clearTimeout(p.timer);
      p.reject(workerFailure(reason));
    }
  }

  function onMessage(w: CryptoWorkerLike, data: unknown): void {
    if (w !== worker) return;
    let m: FromCryptoWorker;
    try {
      m = readFromCryptoWorker(data);
    } catch (e) {
      const id = (e as { id?: unknown }).id;
      const p = typeof id === 'number' ? pending.get(id) : undefined;
      if (p === undefined || typeof id !== 'number') return failAll(w, 'the crypto worker broke the protocol');
      pending.delete(id);
      clearTimeout(p.timer);
      p.reject(workerFailure('the crypto worker answered outside the protocol', e));
      return;
    }
    if (m.kind === 'error' && m.id === null) return failAll(w, `the crypto worker failed: ${m.message}`);
    if (m.id === null) return;
    const p = pending.get(m.id);
    // An answer after its timeout: the caller has moved on.
    if (p === undefined) return;
    pending.delete(m.id);
    clearTimeout(p.timer);
    if (m.kind === 'error') {
      if (p.kind === 'init') return failAll(w, `the crypto worker refused the handshake: ${m.message}`);
      p.reject(m.code === 'TypeError' ? new TypeError(m.message) : m.code === 'RangeError' ? new RangeError(m.message) : new CryptoError(m.code, m.message));
      return;
    }
    p.resolve(m);
  }

  function start(): CryptoWorkerLike {
    let w: CryptoWorkerLike;
    try {
      w = createWorker();
    } catch (e) {
      throw workerFailure('the crypto worker could not be started', e);
    }
    worker = w;
    w.addEventListener('message', (e) => onMessage(w, e.data));
    w.addEventListener('messageerror', () => failAll(w, 'a crypto worker message could not be deserialized'));
    w.addEventListener('error', (e) => {
      e.preventDefault?.();
      failAll(w, 'the crypto worker failed');
    });
    // Pipelined: the worker answers in order, so requests need not wait for 'ready'.
    send(w, { kind: 'init', protocol: CRYPTO_WORKER_PROTOCOL_VERSION }).then(
      (m) => {
        if (m.kind !== 'ready' || m.protocol !== CRYPTO_WORKER_PROTOCOL_VERSION) failAll(w, 'the crypto worker speaks another protocol');
      },
      () => undefined, // failAll already rejected the rest
    );
    return w;
  }

  function send(w: CryptoWorkerLike, message: Request): Promise<FromCryptoWorker> {
    const id = nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (pending.delete(id)) reject(workerFailure(`the crypto worker did not answer ${message.kind} in ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(id, { kind: message.kind, resolve, reject, timer });
      try {
        w.postMessage({ ...message, id });
      } catch (e) {
        pending.delete(id);
        clearTimeout(timer);
        reject(workerFailure(`cannot post ${message.kind} to the crypto worker`, e));
      }
    });
  }

  async function request(message: Request): Promise<FromCryptoWorker> {
    if (disposed) throw workerFailure('the crypto worker client is disposed');
    return send(worker ?? start(), message);
  }

  async function bytesAnswer(message: Request, length: number): Promise<Uint8Array> {
    const m = await request(message);
    if (m.kind !== 'bytes' || m.value.length !== length) throw workerFailure(`the crypto worker answered ${message.kind} with the wrong kind of value`);
    return m.value;
  }

  async function boolAnswer(message: Request): Promise<boolean> {
    const m = await request(message);
    if (m.kind !== 'bool') throw workerFailure(`the crypto worker answered ${message.kind} with the wrong kind of value`);
    return m.value;
  }

  return {
    sakkeEncapsulate: async (ssv: Uint8Array, to: SakkeRecipient) =>
      bytesAnswer({ kind: 'sakke-encapsulate', ssv: bytesIn(ssv, 'SSV'), uid: bytesIn(to?.id, 'identifier'), z: bytesIn(to?.z, 'KMS public key Z') }, 273),
    sakkeDecapsulate: async (data: Uint8Array, keys: SakkeReceiverKeys) =>
      bytesAnswer({ kind: 'sakke-decapsulate', data: bytesIn(data, 'Encapsulated Data'), uid: bytesIn(keys?.id, 'identifier'), z: bytesIn(keys?.z, 'KMS public key Z'), rsk: bytesIn(keys?.rsk, 'RSK') }, 16),
    sakkeValidateReceiverKey: async (keys: SakkeReceiverKeys) =>
      boolAnswer({ kind: 'sakke-validate', uid: bytesIn(keys?.id, 'identifier'), z: bytesIn(keys?.z, 'KMS public key Z'), rsk: bytesIn(keys?.rsk, 'RSK') }),
    eccsiVerify: async (message: Uint8Array, signature: Uint8Array, keys: EccsiPublicKeys) =>
      boolAnswer({ kind: 'eccsi-verify', message: bytesIn(message, 'message', 256 * 1024), signature: bytesIn(signature, 'signature'), uid: bytesIn(keys?.id, 'identifier'), kpak: bytesIn(keys?.kpak, 'KPAK') }),
    dispose() {
      if (disposed) return;
      const w = worker;
      if (w !== undefined) failAll(w, 'the crypto worker client is disposed');
      disposed = true;
    },
  };
}
