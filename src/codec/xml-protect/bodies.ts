/**
 * The SIP bodies of src/codec/sip-bodies.ts with a protected mcpttinfo part (TS 33.179 9.3
 * inside the 9.1.3.2 service authorization body and the 7.3.2 GMK notification). The
 * multipart layout is the same; only the mcpttinfo text is given ready-made (protected by
 * ./mcptt-info.ts) and read back raw, because the plain readers of sip-bodies.ts refuse
 * `type="Encrypted"` on purpose: only a holder of the XPK can turn it into a value.
 */
import {
  MCPTT_INFO_CONTENT_TYPE,
  MIKEY_CONTENT_TYPE,
  MULTIPART_MIXED,
  buildMultipartMixed,
  mikeyPart,
  parseContentType,
  parseMultipartMixed,
  readMikeyPart,
  type MimePart,
  type MimePartInit,
  type MultipartBuildOptions,
  type SipBody,
} from '../sip-bodies.js';
import { SipError } from '../../errors.js';

/** The parts of a service authorization or GMK body, the mcpttinfo text not yet read. */
export interface RawMcpttBody {
  readonly mcpttInfoXml: string | undefined;
  readonly iMessages: readonly Uint8Array[];
}

/** 9.1.3.2 body: the CSK I_MESSAGE part first, then the (protected) mcpttinfo part. */
export function buildServiceAuthorizationBodyXml(b: { readonly cskIMessage?: Uint8Array; readonly mcpttInfoXml?: string }, options?: MultipartBuildOptions): SipBody {
  const parts: MimePartInit[] = [];
  if (b.cskIMessage !== undefined) parts.push(mikeyPart(b.cskIMessage));
  if (b.mcpttInfoXml !== undefined) parts.push({ contentType: MCPTT_INFO_CONTENT_TYPE, content: b.mcpttInfoXml });
  if (parts.length === 0) throw new RangeError('a service authorization body needs an mcpttinfo part or a CSK I_MESSAGE');
  return buildMultipartMixed(parts, options);
}

/** 7.3.2 body: the (protected) mcpttinfo part with the group ID, then one part per I_MESSAGE. */
export function buildGmkNotificationBodyXml(b: { readonly mcpttInfoXml: string; readonly iMessages: readonly Uint8Array[] }, options?: MultipartBuildOptions): SipBody {
  if (!Array.isArray(b.iMessages) || b.iMessages.length === 0) throw new RangeError('a GMK notification needs at least one I_MESSAGE');
  return buildMultipartMixed([{ contentType: MCPTT_INFO_CONTENT_TYPE, content: b.mcpttInfoXml }, ...b.iMessages.map((m) => mikeyPart(m))], options);
}

/**
 * Splits a multipart/mixed body (or a lone mcpttinfo body) into its mcpttinfo text and
 * I_MESSAGEs. At most one mcpttinfo part; `kind` decides whether other parts are tolerated
 * (service authorization: yes, e.g. a resource list) or refused (GMK notification).
 */
export function readMcpttBody(contentType: string, body: string, kind: 'service-authorization' | 'gmk-notification'): RawMcpttBody {
  const ct = parseContentType(contentType);
  let parts: MimePart[];
  if (ct.mediaType === MULTIPART_MIXED) parts = parseMultipartMixed(contentType, body);
  else if (ct.mediaType === MCPTT_INFO_CONTENT_TYPE && kind === 'service-authorization') {
    if (typeof body !== 'string') throw new TypeError('body must be a string');
    return { mcpttInfoXml: body, iMessages: [] };
  } else throw new SipError('ERR_SIP_BODY_UNSUPPORTED', `unexpected body ${ct.mediaType}`);
  let mcpttInfoXml: string | undefined;
  const iMessages: Uint8Array[] = [];
  for (const p of parts) {
    if (p.mediaType === MCPTT_INFO_CONTENT_TYPE) {
      if (mcpttInfoXml !== undefined) throw new SipError('ERR_SIP_BODY_MISSING_PART', 'two mcptt-info parts');
      mcpttInfoXml = p.content;
    } else if (p.mediaType === MIKEY_CONTENT_TYPE) iMessages.push(readMikeyPart(p));
    else if (kind === 'gmk-notification') throw new SipError('ERR_SIP_BODY_UNSUPPORTED', `unexpected ${p.mediaType} part in a GMK notification`);
  }
  if (kind === 'service-authorization' && iMessages.length > 1) throw new SipError('ERR_SIP_BODY_MISSING_PART', 'two application/mikey parts in a service authorization body');
  return { mcpttInfoXml, iMessages };
}
