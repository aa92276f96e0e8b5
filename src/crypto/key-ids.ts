/**
 * Key identifiers and keys derived with the TS 33.220 KDF:
 *
 * - TS 33.179 7.3.1 / F.1.3 (TS 33.180 F.1.3): User Salt = the 28 least significant bits of
 *   KDF(GMK, FC = 0x50, P0 = MCPTT ID); GUK-ID = GMK-ID XOR User Salt. The salt has its four top
 *   bits clear, so the purpose tag (the 4 MSBs of the GMK-ID) passes through unchanged, and the
 *   same XOR applied to a GUK-ID gives back the GMK-ID (7.3.1: the UE "xors the GUK-ID and User
 *   Salt together to extract the GMK-ID").
 * - TS 33.179 9.3.3 / F.1.4 (TS 33.180 F.1.4): the XML/signalling protection keys,
 *   KDF(XPK, FC = 0x51 confidentiality | 0x52 integrity, P0 = MCPTT ID, P1 = XPK-ID); the 128 least
 *   significant bits of the 256-bit output are the key.
 *
 * TS 33.179 v13.0.0 prints "FC = 0xXX"; 0x50/0x51/0x52 are the values of later TS 33.179 Rel-13
 * versions and TS 33.180 (0x50 is confirmed by every published GUK-ID vector).
 */
import { bytesOf, utf8 } from '../util/bytes.js';
import { kdf33220 } from './kdf.js';

/** FC values of TS 33.180 Annex F.1 (frozen constants, CONVENTIONS 2). */
export const FC = Object.freeze({
  USER_SALT: 0x50,
  XPK_CONFIDENTIALITY: 0x51,
  XPK_INTEGRITY: 0x52,
} as const);

function mcpttIdBytes(mcpttId: string): Uint8Array {
  if (typeof mcpttId !== 'string') throw new TypeError('mcpttId must be a string');
  return utf8(mcpttId);
}

/** F.1.3: 28-bit User Salt of `mcpttId` under the GMK (an unsigned integer < 2^28). */
export function userSalt(args: { gmk: Uint8Array; mcpttId: string }): number {
  const gmk = bytesOf(args.gmk, [16, 32], 'GMK');
  const out = kdf33220(gmk, FC.USER_SALT, [mcpttIdBytes(args.mcpttId)]);
  // The 28 LSBs of the 256-bit output live in its last four octets.
  return (((out[28]! & 0x0f) << 24) | (out[29]! << 16) | (out[30]! << 8) | out[31]!) >>> 0;
}

/**
 * 7.3.1: GUK-ID = GMK-ID XOR User Salt (4 octets). The operation is an involution: passing a
 * GUK-ID as `gmkId` yields the GMK-ID, which is how a receiving UE recovers it.
 */
export function gukId(args: { gmk: Uint8Array; gmkId: Uint8Array; mcpttId: string }): Uint8Array {
  const id = bytesOf(args.gmkId, 4, 'GMK-ID');
  const salt = userSalt({ gmk: args.gmk, mcpttId: args.mcpttId });
  return new Uint8Array([
    id[0]! ^ (salt >>> 24),
    id[1]! ^ ((salt >>> 16) & 0xff),
    id[2]! ^ ((salt >>> 8) & 0xff),
    id[3]! ^ (salt & 0xff),
  ]);
}

/**
 * F.1.4: the two 128-bit signalling protection keys of a 128-bit XPK (CSK or SPK, 9.3.3).
 * F.1.4 defines only the 128-bit case ("the two 128 bit keys … are derived from the 128 bit
 * XPK"; "the 128 least significant bits … shall be used"), so other XPK sizes are refused.
 */
export function xpkKeys(args: { xpk: Uint8Array; xpkId: Uint8Array; mcpttId: string }): {
  encryptionKey: Uint8Array;
  integrityKey: Uint8Array;
} {
  const xpk = bytesOf(args.xpk, 16, 'XPK');
  const xpkId = bytesOf(args.xpkId, 4, 'XPK-ID');
  const params = [mcpttIdBytes(args.mcpttId), xpkId];
  return {
    encryptionKey: kdf33220(xpk, FC.XPK_CONFIDENTIALITY, params).slice(16),
    integrityKey: kdf33220(xpk, FC.XPK_INTEGRITY, params).slice(16),
  };
}
