/**
 * MIKEY Common Header payload, RFC 3830 §6.1, with the CS ID map types of RFC 3830 §6.1.1
 * (SRTP-ID), RFC 4738 (EMPTY) and RFC 6043 §6.1.1 (GENERIC-ID).
 *
 *   0               1               2               3
 *  +---------------+---------------+---------------+-+-------------+
 *  !  version      !  data type    ! next payload  !V! PRF func    !
 *  +---------------+---------------+---------------+-+-------------+
 *  !                         CSB ID                                !
 *  +---------------+---------------+-------------------------------+
 *  ! #CS           ! CS ID map type! CS ID map info ~
 *
 * TS 33.179 puts the GUK-ID (GMK), PCK-ID or CSK-ID in the CSB ID (7.3.1, 7.4.1, E.4).
 * The header's own "next payload" is not stored: the encoder derives every next-payload
 * field from the payload order, so a decoded message always re-encodes to the same octets.
 */
import { MikeyError } from '../../errors.js';
import { CS_ID_MAP_TYPE } from './constants.js';
import type { MikeyReader } from './reader.js';
import { checkUint, type MikeyWriter } from './writer.js';

/** One SRTP-ID map entry (RFC 3830 §6.1.1): 9 octets on the wire. */
export interface SrtpIdEntry {
  readonly policyNo: number;
  readonly ssrc: number;
  readonly roc: number;
}

/** One GENERIC-ID map entry (RFC 6043 §6.1.1). */
export interface GenericIdEntry {
  readonly csId: number;
  readonly protType: number;
  /** The S flag: session data present and meaningful for the protocol. */
  readonly s: boolean;
  /** Policy numbers (#P, at most 127 because #P is 7 bits). */
  readonly policies: readonly number[];
  readonly sessionData: Uint8Array;
  /** Security Parameter Index; the interop GMK carries GMK-ID ‖ GUK-ID here. */
  readonly spi: Uint8Array;
}

export type CsIdMap =
  | { readonly type: typeof CS_ID_MAP_TYPE.SRTP_ID; readonly entries: readonly SrtpIdEntry[] }
  /** EMPTY has no map info; `csCount` keeps the #CS octet as sent (the interop messages use 0). */
  | { readonly type: typeof CS_ID_MAP_TYPE.EMPTY; readonly csCount: number }
  | { readonly type: typeof CS_ID_MAP_TYPE.GENERIC_ID; readonly entries: readonly GenericIdEntry[] };

export interface CommonHeader {
  readonly version: number;
  readonly dataType: number;
  /** The V bit: the initiator asks for a verification message (TS 33.179 E.1.1: not for GMKs). */
  readonly v: boolean;
  /** 7-bit PRF func (RFC 6043 §6.1: 1 = PRF-HMAC-SHA-256). */
  readonly prfFunc: number;
  /** CSB ID as an unsigned 32-bit number. */
  readonly csbId: number;
  readonly csIdMap: CsIdMap;
}

/** Octets taken by version..CS ID map type: the fixed part of the header. */
export const HEADER_FIXED_LENGTH = 10;
/** Smallest GENERIC-ID entry: CS ID, Prot type, S/#P, Session Data Length (2), SPI Length. */
const GENERIC_ID_MIN_LENGTH = 6;
const SRTP_ID_ENTRY_LENGTH = 9;

/**
 * Reads the header after the caller has consumed nothing; returns it with the type of the
 * first payload. Version/data type policy is the caller's (decodeIMessage).
 */
export function readCommonHeader(r: MikeyReader): { header: CommonHeader; nextPayload: number } {
  const version = r.u8('HDR version');
  const dataType = r.u8('HDR data type');
  const nextPayload = r.u8('HDR next payload');
  const vPrf = r.u8('HDR V/PRF');
  const csbId = r.u32('HDR CSB ID');
  const csCount = r.u8('HDR #CS');
  const mapType = r.u8('HDR CS ID map type');
  let csIdMap: CsIdMap;
  switch (mapType) {
    case CS_ID_MAP_TYPE.SRTP_ID: {
      // The count is checked against the octets left before looping, so a #CS of 255 in a
      // short message fails at once instead of after 255 partial reads.
      if (csCount * SRTP_ID_ENTRY_LENGTH > r.remaining) {
        throw new MikeyError('ERR_MIKEY_MALFORMED', `MIKEY HDR: #CS ${csCount} SRTP-ID entries exceed the message`);
      }
      const entries: SrtpIdEntry[] = [];
      for (let i = 0; i < csCount; i++) {
        r.step();
        entries.push({ policyNo: r.u8('SRTP-ID policy no'), ssrc: r.u32('SRTP-ID SSRC'), roc: r.u32('SRTP-ID ROC') });
      }
      csIdMap = { type: CS_ID_MAP_TYPE.SRTP_ID, entries };
      break;
    }
    case CS_ID_MAP_TYPE.EMPTY:
      csIdMap = { type: CS_ID_MAP_TYPE.EMPTY, csCount };
      break;
    case CS_ID_MAP_TYPE.GENERIC_ID: {
      if (csCount * GENERIC_ID_MIN_LENGTH > r.remaining) {
        throw new MikeyError('ERR_MIKEY_MALFORMED', `MIKEY HDR: #CS ${csCount} GENERIC-ID entries exceed the message`);
      }
      const entries: GenericIdEntry[] = [];
      for (let i = 0; i < csCount; i++) {
        r.step();
        const csId = r.u8('GENERIC-ID CS ID');
        const protType = r.u8('GENERIC-ID Prot type');
        const sp = r.u8('GENERIC-ID S/#P');
        const policies = Array.from(r.bytes(sp & 0x7f, 'GENERIC-ID policies'));
        const sessionData = r.bytes(r.u16('GENERIC-ID session data length'), 'GENERIC-ID session data');
        const spi = r.bytes(r.u8('GENERIC-ID SPI length'), 'GENERIC-ID SPI');
        entries.push({ csId, protType, s: (sp & 0x80) !== 0, policies, sessionData, spi });
      }
      csIdMap = { type: CS_ID_MAP_TYPE.GENERIC_ID, entries };
      break;
    }
    default:
      // The map info has no length field: an unknown map type hides where the payloads start.
      throw new MikeyError('ERR_MIKEY_UNSUPPORTED', `MIKEY HDR: CS ID map type ${mapType} is not supported`);
  }
  return {
    header: { version, dataType, v: (vPrf & 0x80) !== 0, prfFunc: vPrf & 0x7f, csbId, csIdMap },
    nextPayload,
  };
}

export function writeCommonHeader(w: MikeyWriter, h: CommonHeader, nextPayload: number): void {
  w.u8(h.version, 'HDR version');
  w.u8(h.dataType, 'HDR data type');
  w.u8(nextPayload, 'HDR next payload');
  checkUint(h.prfFunc, 0x7f, 'HDR PRF func');
  w.u8((h.v ? 0x80 : 0) | h.prfFunc, 'HDR V/PRF');
  w.u32(h.csbId, 'HDR CSB ID');
  const map = h.csIdMap;
  switch (map.type) {
    case CS_ID_MAP_TYPE.SRTP_ID:
      w.u8(map.entries.length, 'HDR #CS');
      w.u8(map.type, 'HDR CS ID map type');
      for (const e of map.entries) {
        w.u8(e.policyNo, 'SRTP-ID policy no').u32(e.ssrc, 'SRTP-ID SSRC').u32(e.roc, 'SRTP-ID ROC');
      }
      break;
    case CS_ID_MAP_TYPE.EMPTY:
      w.u8(map.csCount, 'HDR #CS');
      w.u8(map.type, 'HDR CS ID map type');
      break;
    case CS_ID_MAP_TYPE.GENERIC_ID:
      w.u8(map.entries.length, 'HDR #CS');
      w.u8(map.type, 'HDR CS ID map type');
      for (const e of map.entries) {
        checkUint(e.policies.length, 0x7f, 'GENERIC-ID #P');
        w.u8(e.csId, 'GENERIC-ID CS ID').u8(e.protType, 'GENERIC-ID Prot type');
        w.u8((e.s ? 0x80 : 0) | e.policies.length, 'GENERIC-ID S/#P');
        for (const p of e.policies) w.u8(p, 'GENERIC-ID policy no');
        w.lengthPrefixed(e.sessionData, 16, 'GENERIC-ID session data');
        w.lengthPrefixed(e.spi, 8, 'GENERIC-ID SPI');
      }
      break;
    default: {
      const t: unknown = (map as { type: unknown }).type;
      throw new RangeError(`unsupported CS ID map type ${String(t)}`);
    }
  }
}
