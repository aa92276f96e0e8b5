/**
 * Human-readable rendering of a decoded I_MESSAGE for `mcptt-sdk mikey inspect`: one line
 * per field, indented under a line per payload with its offset and length, so a reader can
 * match the output against a hex dump (the layout of RFC 3830 §6, RFC 6043 §6, RFC 6509 §4).
 *
 * Pure string output. Identities are shown because inspecting them is the point of the
 * command; `redactIdentities` replaces IDR/ID data with its length for logs and bug reports
 * (CONVENTIONS 11: MCPTT IDs are never logged).
 */
import { bytesToHex } from '../../util/bytes.js';
import {
  CS_ID_MAP_TYPE,
  CS_ID_MAP_TYPE_NAMES,
  DATA_TYPE_NAMES,
  GENERAL_EXTENSION_TYPE,
  GENERAL_EXTENSION_TYPE_NAMES,
  ID_ROLE_NAMES,
  ID_TYPE_NAMES,
  PRF_FUNC_NAMES,
  SAKKE_ID_SCHEME_NAMES,
  SIGN_TYPE_NAMES,
  SRTP_POLICY_PARAM_NAMES,
  TS_TYPE_NAMES,
} from './constants.js';
import { decodeSakkeToSelf } from './extensions.js';
import type { DecodedIMessage } from './imessage.js';
import { decodeKeyParametersExtension } from './key-params.js';
import { ntpTimeOf, type MikeyPayload } from './payloads.js';

export interface DescribeOptions {
  /** Replace user identities (ID payloads, IDR payloads except the KMS roles) by their length. */
  readonly redactIdentities?: boolean;
}

/** NTP era 0 starts 70 years (2 208 988 800 s) before the Unix epoch. */
const NTP_UNIX_OFFSET_S = 2_208_988_800;

function named(value: number, names: Readonly<Record<number, string>>): string {
  const n = names[value];
  return n === undefined ? String(value) : `${value} (${n})`;
}

function octets(b: Uint8Array): string {
  return b.length === 0 ? '0 octets' : `${b.length} octets ${bytesToHex(b)}`;
}

function printable(b: Uint8Array): boolean {
  if (b.length === 0) return false;
  for (const c of b) if (c < 0x20 || c > 0x7e) return false;
  return true;
}

/** KMS URIs (IDRkms, IDRkmsi, IDRkmsr) name a server, not a user: never redacted. */
const KMS_ROLES: ReadonlySet<number> = new Set([3, 6, 7]);

function identity(b: Uint8Array, redact: boolean): string {
  if (redact) return `<redacted, ${b.length} octets>`;
  return printable(b) ? `"${Array.from(b, (c) => String.fromCharCode(c)).join('')}" (${b.length} octets)` : octets(b);
}

function ntpText(seconds: number): string {
  const ms = (seconds - NTP_UNIX_OFFSET_S) * 1000;
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? `${seconds} s NTP` : `${seconds} s NTP = ${d.toISOString()}`;
}

function describePayload(p: MikeyPayload, out: string[], redact: boolean): void {
  const f = (name: string, value: string): void => {
    out.push(`  ${name}: ${value}`);
  };
  switch (p.kind) {
    case 'T': {
      f('TS type', named(p.tsType, TS_TYPE_NAMES));
      const ntp = ntpTimeOf(p);
      f('TS value', ntp === undefined ? bytesToHex(p.value) : `${bytesToHex(p.value)} = ${ntpText(Number(ntp >> 32n))}`);
      return;
    }
    case 'RAND':
      f('RAND', octets(p.rand));
      return;
    case 'ID':
      f('ID type', named(p.idType, ID_TYPE_NAMES));
      f('ID data', identity(p.data, redact));
      return;
    case 'CERT':
      f('cert type', String(p.certType));
      f('cert data', octets(p.data));
      return;
    case 'IDR':
      f('ID role', named(p.role, ID_ROLE_NAMES));
      f('ID type', named(p.idType, ID_TYPE_NAMES));
      f('ID data', identity(p.data, redact && !KMS_ROLES.has(p.role)));
      return;
    case 'SP':
      f('policy no', String(p.policyNo));
      f('prot type', p.protType === 0 ? '0 (SRTP)' : String(p.protType));
      for (const q of p.params) f(`param ${named(q.type, SRTP_POLICY_PARAM_NAMES)}`, bytesToHex(q.value));
      return;
    case 'SAKKE':
      f('SAKKE params', p.params === 1 ? '1 (parameter set 1)' : String(p.params));
      f('ID scheme', named(p.idScheme, SAKKE_ID_SCHEME_NAMES));
      f('SAKKE data', octets(p.data));
      return;
    case 'GENERAL_EXTENSION':
      f('type', named(p.type, GENERAL_EXTENSION_TYPE_NAMES));
      f('data', octets(p.data));
      describeExtension(p.type, p.data, out);
      return;
    case 'SIGN':
      f('S type', named(p.signType, SIGN_TYPE_NAMES));
      f('signature', octets(p.signature));
      return;
    default:
      return;
  }
}

/** Known extension contents, best effort: a failure is shown, never thrown. */
function describeExtension(type: number, data: Uint8Array, out: string[]): void {
  try {
    if (type === GENERAL_EXTENSION_TYPE.SAKKE_TO_SELF) {
      const s = decodeSakkeToSelf({ kind: 'GENERAL_EXTENSION', type, data });
      out.push(`  SAKKE-to-self: params ${s.params}, ID scheme ${s.idScheme}, ${s.data.length} octets`);
    } else if (type === GENERAL_EXTENSION_TYPE.KEY_PARAMETERS) {
      const k = decodeKeyParametersExtension(data);
      if (k.format === 'protected') {
        const c = k.container;
        out.push(`  key parameters: protected, message type 0x${c.messageType.toString(16)}, date/time ${c.dateTime}`);
        out.push(`  key parameters: payload algorithm ${c.payloadAlgorithm}, DPPK-ID 0x${c.dppkId.toString(16).padStart(8, '0')}`);
        out.push(`  key parameters: IV ${bytesToHex(c.iv)}, ${c.ciphertext.length} octets ciphertext+tag`);
      } else {
        const p = k.params;
        out.push(`  key parameters: clear (legacy), key type ${p.keyType}, status 0x${p.status.toString(16)}`);
      }
    }
  } catch (e) {
    out.push(`  (contents not decodable: ${e instanceof Error ? e.message : String(e)})`);
  }
}

/** Renders `msg` as text lines, one per field. */
export function describeIMessage(msg: DecodedIMessage, options: DescribeOptions = {}): string[] {
  const redact = options.redactIdentities === true;
  const out: string[] = [];
  const signed = msg.signedBytes;
  out.push(
    `I_MESSAGE: ${msg.bytes.length} octets, ${msg.payloads.length} payloads, ` +
      (signed === undefined ? 'unsigned' : `signature covers octets 0..${signed.length - 1} (${signed.length})`),
  );
  const h = msg.header;
  const hdr = msg.layout[0];
  out.push(`HDR @${hdr?.offset ?? 0} (${hdr?.length ?? 0} octets)`);
  out.push(`  version: ${h.version}`);
  out.push(`  data type: ${named(h.dataType, DATA_TYPE_NAMES)}`);
  out.push(`  V: ${h.v ? 1 : 0}`);
  out.push(`  PRF func: ${named(h.prfFunc, PRF_FUNC_NAMES)}`);
  out.push(`  CSB ID: 0x${h.csbId.toString(16).padStart(8, '0')}`);
  const map = h.csIdMap;
  out.push(`  #CS: ${map.type === CS_ID_MAP_TYPE.EMPTY ? map.csCount : map.entries.length}`);
  out.push(`  CS ID map type: ${named(map.type, CS_ID_MAP_TYPE_NAMES)}`);
  if (map.type === CS_ID_MAP_TYPE.SRTP_ID) {
    map.entries.forEach((e, i) => {
      out.push(`  CS[${i}]: policy no ${e.policyNo}, SSRC 0x${e.ssrc.toString(16).padStart(8, '0')}, ROC ${e.roc}`);
    });
  } else if (map.type === CS_ID_MAP_TYPE.GENERIC_ID) {
    map.entries.forEach((e, i) => {
      out.push(
        `  CS[${i}]: CS ID ${e.csId}, prot type ${e.protType}, S ${e.s ? 1 : 0}, policies [${e.policies.join(', ')}], ` +
          `session data ${octets(e.sessionData)}, SPI ${octets(e.spi)}`,
      );
    });
  }
  msg.payloads.forEach((p, i) => {
    const span = msg.layout[i + 1];
    out.push(`${p.kind} @${span?.offset ?? '?'} (${span?.length ?? '?'} octets)`);
    describePayload(p, out, redact);
  });
  return out;
}
