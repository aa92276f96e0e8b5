/**
 * Entry of the identity crypto worker (`mcptt-sdk/crypto-worker`): the RFC 6508 SAKKE and
 * RFC 6507 ECCSI operations TS 33.179 needs at login and on every received key (7.2.4 key-set
 * validation, 9.1.3 CSK encapsulation, 7.3.2/7.4 decapsulation), off the page's main thread.
 * Start it with
 *   new Worker(new URL('…/workers/crypto-worker.ts', import.meta.url), { type: 'module' })
 * (src/platform/crypto-worker/client.ts does).
 *
 * Key material: the page posts the RSK (and, to encapsulate, the SSV) to this dedicated,
 * same-origin worker as structured-cloned bytes; the worker keeps the prepared SAKKE
 * receivers (derived from the RSK) of the last few (UID, Z) pairs in memory until it is
 * terminated. It has no network, no storage, no console output, and never echoes an argument.
 */
import type { FromCryptoWorker } from '../src/platform/crypto-worker/protocol.js';
import { createCryptoWorkerCore } from '../src/platform/crypto-worker/worker-core.js';

interface WorkerScope {
  postMessage(message: unknown): void;
  onmessage: ((event: MessageEvent) => void) | null;
  onmessageerror: ((event: MessageEvent) => void) | null;
}

const scope = globalThis as unknown as WorkerScope;
const core = createCryptoWorkerCore((m: FromCryptoWorker) => scope.postMessage(m));

scope.onmessage = (event) => void core.onMessage(event.data);
// A message that could not be deserialized has no id to answer by: said all the same.
scope.onmessageerror = () =>
  scope.postMessage({ kind: 'error', id: null, code: 'ERR_CRYPTO_WORKER', message: 'a message could not be deserialized' } satisfies FromCryptoWorker);
