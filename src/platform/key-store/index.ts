/**
 * The key store of the SDK (platform layer): IndexedDB storage, sealed at rest, of the KMS
 * certificate, key sets and transport keys (TS 33.179 7.2, Annex D) and of received GMKs,
 * PCKs and CSKs (7.3, 7.4, 9.1.3). See docs/key-store.md.
 */
export { openKeyStore } from './key-store.js';
export type { KeyStore, KeyStoreChange, KeyStoreChangeOrigin, KeyStoreOptions, MediaKeyFilter, PruneOptions, PruneResult } from './key-store.js';
export { DEFAULT_KEY_STORE_NAME, KEY_STORE_SCHEMA_VERSION } from './schema.js';
export type { MediaKeyKind, StoredKeySet, StoredKmsCertificate, StoredTransportKey } from './schema.js';
