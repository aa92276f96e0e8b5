/**
 * The identity crypto worker, page side (RFC 6508 / RFC 6507 operations of TS 33.179 7.2.4,
 * 7.3.2, 7.4 and 9.1.3 off the main thread): the client, the protocol and its checks, and the
 * handler the worker runs (exported for tests and for apps that host it themselves).
 */
export { createCryptoWorkerClient, cryptoWorkerSupported } from './client.js';
export type { CryptoWorkerClient, CryptoWorkerClientOptions, CryptoWorkerLike } from './client.js';
export { CRYPTO_WORKER_PROTOCOL_VERSION, CryptoWorkerProtocolError, readFromCryptoWorker, readToCryptoWorker } from './protocol.js';
export type { CryptoWorkerErrorCode, FromCryptoWorker, ToCryptoWorker } from './protocol.js';
export { createCryptoWorkerCore } from './worker-core.js';
export type { CryptoWorkerCore } from './worker-core.js';
