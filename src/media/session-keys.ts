/**
 * The key of one sender stream, TS 33.179 7.3.6 (group) and 7.4.4 (private call), then 7.5.1:
 *
 *   TGK (GMK | PCK), CS-ID, CSB-ID (sender's GUK-ID | PCK-ID), RAND
 *     ─► MIKEY PRF (RFC 3830 4.1.3, PRF-HMAC-SHA-256)  ─► SRTP master key (16) and salt (12)
 *     ─► RFC 3711 AES-CM KDF, kdr = 0                  ─► SRTP session key (16) and salt (12)
 *     ─► imported once as a non-extractable AES-GCM CryptoKey
 *
 * Group keys are per sender (the CSB-ID is the sender's GUK-ID), so every talker's stream has
 * its own key; private-call keys are per direction (the CS-ID of the initiator or receiver).
 */
import { srtpMasterKeys, srtpSessionKeys } from '../crypto/index.js';
import { bufferSource, subtle } from '../util/webcrypto.js';
import type { FrameKey } from '../codec/frame.js';

export interface StreamKeyInput {
  /** GMK or PCK (the MIKEY TGK). */
  readonly tgk: Uint8Array;
  /** CS-ID of the stream (group, private initiator or private receiver, per the key profile). */
  readonly csId: number;
  /** The sender's GUK-ID (group) or the PCK-ID (private call). */
  readonly csbId: Uint8Array;
  /** RAND of the key's distribution. */
  readonly rand: Uint8Array;
  /** 'encrypt' for our own streams, 'decrypt' for those we receive. */
  readonly usage: 'encrypt' | 'decrypt';
}

/**
 * Derives the session key and salt of one stream. The raw session key exists only between
 * the KDF and the import and is overwritten afterwards (best effort: the JS engine may hold
 * copies), so what leaves this function is a CryptoKey that cannot be exported.
 */
export async function deriveStreamKey(input: StreamKeyInput): Promise<FrameKey> {
  const { masterKey, masterSalt } = srtpMasterKeys({ tgk: input.tgk, csId: input.csId, csbId: input.csbId, rand: input.rand });
  try {
    const session = await srtpSessionKeys({ masterKey, masterSalt });
    try {
      const key = await subtle().importKey('raw', bufferSource(session.srtp.key), 'AES-GCM', false, [input.usage]);
      return { key, salt: session.srtp.salt.slice() };
    } finally {
      session.srtp.key.fill(0);
      session.srtp.salt.fill(0);
      session.srtcp.key.fill(0);
      session.srtcp.salt.fill(0);
    }
  } finally {
    masterKey.fill(0);
    masterSalt.fill(0);
  }
}
