/**
 * MIKEY-SAKKE UID of TS 33.179 F.2.1 (also TS 33.180 F.2.1), UserIDFormat '2':
 *
 *   UID = SHA-256( 0x00 ‖ "MIKEY-SAKKE-UID" ‖ L0 ‖ identifier ‖ L1 ‖ KMS URI ‖ L2 ‖
 *                  key period ‖ L3 ‖ key period offset ‖ L4 ‖ key period number ‖ L5 )
 *
 * The string is the TS 33.220 B.1 encoding with the dummy FC 0x00; F.2.1 states the KDF itself is
 * not used ("the FC value should only be considered as a dummy value"), so this is a plain
 * SHA-256 hash, not an HMAC. F.2.1 calls P0 an "18 character string" but "MIKEY-SAKKE-UID" has 15
 * characters: L0 = 0x000f, which is what every published UID vector reproduces.
 * Integers (P3..P5) are minimal big-endian octet strings (0 → 0x00), again as the vectors show.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { assertBytes, utf8 } from '../util/bytes.js';
import { encodeKdfInput } from './kdf.js';

/** Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01); RFC 5905. */
export const NTP_UNIX_OFFSET = 2208988800 as const;

export interface UidInput {
  /** The user's identifier (the MCPTT ID / IDRi / IDRr ID data); strings are UTF-8 encoded. */
  readonly identifier: string | Uint8Array;
  /** The KMS identifier (ID data of IDRkmsi / IDRkmsr); strings are UTF-8 encoded. */
  readonly kmsUri: string | Uint8Array;
  /** Key period length in seconds (UserKeyPeriod of the KMS certificate). */
  readonly keyPeriod: number | bigint;
  /** Key period offset in seconds (UserKeyOffset of the KMS certificate). */
  readonly keyPeriodOffset: number | bigint;
  /** Current key period number since 0h 1 January 1900 (see `keyPeriodNo`). */
  readonly keyPeriodNo: number | bigint;
}

const UID_LABEL = utf8('MIKEY-SAKKE-UID');

function toBigInt(v: number | bigint, what: string): bigint {
  if (typeof v === 'bigint') {
    if (v < 0n) throw new RangeError(`${what} must not be negative`);
    return v;
  }
  if (typeof v !== 'number') throw new TypeError(`${what} must be a number or bigint`);
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${what} must be a non-negative safe integer`);
  return BigInt(v);
}

/** Minimal big-endian octets of a non-negative integer; 0 is one 0x00 octet (TS 33.220 B.1). */
function minimalBigEndian(n: bigint): Uint8Array {
  let hex = n.toString(16);
  if (hex.length % 2 === 1) hex = '0' + hex;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function textOrBytes(v: string | Uint8Array, what: string): Uint8Array {
  if (typeof v === 'string') return utf8(v);
  return assertBytes(v, what);
}

/** TS 33.179 F.2.1: the 32-octet UID used as ECCSI ID and SAKKE identifier. */
export function mikeySakkeUid(input: UidInput): Uint8Array {
  const s = encodeKdfInput(0x00, [
    UID_LABEL,
    textOrBytes(input.identifier, 'identifier'),
    textOrBytes(input.kmsUri, 'kmsUri'),
    minimalBigEndian(toBigInt(input.keyPeriod, 'keyPeriod')),
    minimalBigEndian(toBigInt(input.keyPeriodOffset, 'keyPeriodOffset')),
    minimalBigEndian(toBigInt(input.keyPeriodNo, 'keyPeriodNo')),
  ]);
  return sha256(s);
}

/**
 * TS 33.179 F.2.1: P5 = Floor((TIME − P4) / P3), TIME in NTP seconds (Unix seconds +
 * NTP_UNIX_OFFSET). A time before the offset has no key period, hence a RangeError.
 */
export function keyPeriodNo(args: {
  ntpSeconds: number | bigint;
  keyPeriod: number | bigint;
  keyPeriodOffset: number | bigint;
}): number {
  const t = toBigInt(args.ntpSeconds, 'ntpSeconds');
  const period = toBigInt(args.keyPeriod, 'keyPeriod');
  const offset = toBigInt(args.keyPeriodOffset, 'keyPeriodOffset');
  if (period === 0n) throw new RangeError('keyPeriod must be positive');
  if (t < offset) throw new RangeError('ntpSeconds lies before the key period offset');
  // bigint division truncates, which is floor for the non-negative operands checked above.
  const n = (t - offset) / period;
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('key period number exceeds a safe integer');
  return Number(n);
}
