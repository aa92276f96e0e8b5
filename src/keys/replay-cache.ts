/**
 * Replay protection for I_MESSAGEs (RFC 3830 5.4, replay handling and timestamp usage).
 *
 * A receiver remembers every accepted message within the freshness window and refuses a
 * second copy; messages older than the window are refused by the freshness check first,
 * so the cache only needs to remember the window. Entries are keyed by a digest of the
 * whole message. A message is recorded only after it was fully accepted (`add`), so a
 * refused message leaves nothing behind. The store is passed in (the SDK keeps it in
 * memory; a server may share one).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '../util/bytes.js';

export interface ReplayCache {
  /** True when `message` was accepted before and its entry has not expired. */
  has(message: Uint8Array, nowMs: number): boolean;
  /** Records an accepted message until `expiresAtMs`. */
  add(message: Uint8Array, expiresAtMs: number, nowMs: number): void;
}

/** In-memory replay cache with a hard bound on entries (the oldest go first). */
export function createMemoryReplayCache(maxEntries = 10_000): ReplayCache {
  const entries = new Map<string, number>();
  const key = (m: Uint8Array): string => bytesToHex(sha256(m));
  return {
    has(message, nowMs) {
      const exp = entries.get(key(message));
      return exp !== undefined && exp > nowMs;
    },
    add(message, expiresAtMs, nowMs) {
      for (const [k, e] of entries) {
        if (e > nowMs && entries.size < maxEntries) break;
        entries.delete(k);
      }
      const k = key(message);
      entries.delete(k);
      entries.set(k, expiresAtMs);
    },
  };
}
