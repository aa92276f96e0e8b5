/**
 * MCPTT user service authorization at the MCPTT server (TS 33.179 5.6.2.1 steps 9-11) and
 * the CSK it carries (9.1.3.2-9.1.3.4): what the server decides on a third-party REGISTER,
 * or on a PUBLISH (5.6.2.2 steps 2-3, the user being its From).
 *
 *   1. the body parses (src/codec/sip-bodies.ts: CSK I_MESSAGE and/or mcptt-info with the token)
 *   2. an access token is present and valid for scope `3gpp:mcptt:ptt_server` (B.5, B.6.2)
 *   3. the token's MCPTT ID is the user whose registration this is (the To of the third-party
 *      REGISTER): the server binds IMPU and MCPTT ID only then (5.6.1)
 *   4. a CSK I_MESSAGE, if present, is addressed to the MDSI, verifies (signature, freshness,
 *      replay) and was signed by that same user (9.1.3.3 step 3): the IDRi URI, or under
 *      identity hiding (E.7) the UID of the token's MCPTT ID
 *
 * With XML protection (TS 33.179 9.1.3.3, 9.3; `xmlProtection` 'optional' or 'required'):
 *
 *   a. the mcpttinfo part is protected (signed and/or with encrypted values) — 'required'
 *      refuses a clear one (403, ERR_XML_PROTECT_REQUIRED) and a CSK I_MESSAGE naming its
 *      initiator in clear (the MCPTT ID would be in IDRi)
 *   b. the CSK I_MESSAGE verifies as above; its owner is IDRi, or under E.7 the directory user
 *      whose UID for the period is IDRuidi (`resolveUid`): P0 of the F.1.4 keys
 *   c. the signature over mcptt-Params verifies and the token decrypts under that CSK and
 *      owner (src/codec/xml-protect unprotectMcpttInfo): any XmlProtectError is a 403 whose
 *      code is reported in `code`
 *   d. the token is valid and its MCPTT ID is the CSK's owner (9.1.3.3 step 3). The SIP
 *      identity is then opaque: the caller (index.ts) binds it to the MCPTT ID
 *
 * Refusals: 400 for a body that does not parse, 403 for everything about authorization. The
 * reason phrase is the standard one; what failed is only told to the (silent by default)
 * debug log as a category, never with the token, key or identity.
 */
import { parseMcpttInfoXml, parseServiceAuthorizationBody } from '../../../src/codec/sip-bodies.js';
import { mcpttInfoProtectionState, readMcpttBody, singleCskLookup, unprotectMcpttInfo } from '../../../src/codec/xml-protect/index.js';
import { isMcpttError, XmlProtectError } from '../../../src/errors.js';
import { uidOf, type KmsPublicParameters, type MikeyKeyReceiver, type ReceivedKey } from '../../../src/keys/index.js';
import { equalBytes } from '../../../src/util/bytes.js';

/** The Annex B scope of the MCPTT server. */
export const PTT_SERVER_SCOPE = '3gpp:mcptt:ptt_server';

export type ServiceAuthorizationFailure =
  | 'body'
  | 'no-token'
  | 'token'
  | 'identity-mismatch'
  | 'csk'
  | 'csk-initiator'
  /** 9.3: the protected mcpttinfo did not verify or decrypt (`code` says how). */
  | 'xml-protect'
  /** 9.3 required: a token, MCPTT ID or CSK initiator in clear. */
  | 'clear-body';

/** How the server treats 9.3 XML protection: refuse clear bodies, accept both, or read clear only. */
export type XmlProtectionMode = 'required' | 'optional' | 'off';

export type ServiceAuthorizationResult =
  | {
      readonly ok: true;
      readonly mcpttId: string;
      /** The CSK the user sent, undefined when the body had none. */
      readonly csk: ReceivedKey | undefined;
      readonly cskMessage: Uint8Array | undefined;
      /** The body was 9.3-protected: the SIP identity may be opaque. */
      readonly protected: boolean;
    }
  | { readonly ok: false; readonly status: 400 | 403; readonly failure: ServiceAuthorizationFailure; readonly code?: string };

export interface ServiceAuthorizationContext {
  readonly verifyToken: (authorization: string | undefined, requiredScope: string) => Promise<{ readonly mcpttId: string }>;
  /** Receives as the MDSI, with a replay cache. */
  readonly cskReceiver: MikeyKeyReceiver;
  /** The KMS of the users (to compute a hidden initiator's UID). */
  readonly userKms: KmsPublicParameters;
  /** `sip:user@host` in the plain form both sides are compared in. */
  readonly normalize: (uri: string) => string | undefined;
  /** Default 'off'. */
  readonly xmlProtection?: XmlProtectionMode;
  /** E.7: the directory user whose UID under `userKms` for the period is `uid`. */
  readonly resolveUid?: (uid: Uint8Array, keyPeriodNo: number) => string | undefined;
}

export interface ServiceAuthorizationRequest {
  /** The registering user: the To URI of the third-party REGISTER, in plain form. */
  readonly user: string;
  readonly contentType: string;
  readonly body: string;
  /**
   * The CSK message and key already bound to this user. A refresh that repeats the same
   * I_MESSAGE byte for byte keeps that CSK instead of tripping the replay cache.
   */
  readonly boundCsk?: { readonly message: Uint8Array; readonly key: ReceivedKey } | undefined;
}

export async function authorizeService(ctx: ServiceAuthorizationContext, req: ServiceAuthorizationRequest): Promise<ServiceAuthorizationResult> {
  const mode = ctx.xmlProtection ?? 'off';
  if (mode === 'off') return authorizeClear(ctx, req);
  let raw: ReturnType<typeof readMcpttBody>;
  let isProtected: boolean;
  try {
    raw = readMcpttBody(req.contentType, req.body, 'service-authorization');
    const state = raw.mcpttInfoXml === undefined ? undefined : mcpttInfoProtectionState(raw.mcpttInfoXml);
    isProtected = state !== undefined && (state.signed || state.encrypted > 0);
  } catch {
    return { ok: false, status: 400, failure: 'body' };
  }
  if (!isProtected) {
    if (mode === 'required') return { ok: false, status: 403, failure: 'clear-body', code: 'ERR_XML_PROTECT_REQUIRED' };
    return authorizeClear(ctx, req);
  }
  // b. the CSK and its owner, needed before anything can be decrypted
  const message = raw.iMessages[0];
  if (message === undefined) return { ok: false, status: 403, failure: 'csk' };
  let csk: ReceivedKey;
  if (req.boundCsk !== undefined && equalBytes(req.boundCsk.message, message)) csk = req.boundCsk.key;
  else {
    try {
      csk = await ctx.cskReceiver.receive(message, 'CSK');
    } catch (e) {
      if (isMcpttError(e) || e instanceof TypeError || e instanceof RangeError) return { ok: false, status: 403, failure: 'csk' };
      throw e;
    }
  }
  const i = csk.initiator;
  if (i.kmsUri !== ctx.userKms.kmsUri) return { ok: false, status: 403, failure: 'csk-initiator' };
  if (i.uri !== undefined && mode === 'required') return { ok: false, status: 403, failure: 'clear-body', code: 'ERR_XML_PROTECT_REQUIRED' };
  const owner = i.uri ?? ctx.resolveUid?.(i.uid, i.keyPeriodNo);
  if (owner === undefined) return { ok: false, status: 403, failure: 'csk-initiator' };
  // c. signature, then decryption, under the owner's CSK
  let clearXml: string;
  try {
    clearXml = (await unprotectMcpttInfo(raw.mcpttInfoXml!, singleCskLookup(csk, owner), { required: mode === 'required' })).xml;
  } catch (e) {
    if (e instanceof XmlProtectError) return { ok: false, status: 403, failure: 'xml-protect', code: e.code };
    throw e;
  }
  let accessToken: string | undefined;
  try {
    accessToken = parseMcpttInfoXml(clearXml).accessToken;
  } catch {
    return { ok: false, status: 400, failure: 'body' };
  }
  if (accessToken === undefined) return { ok: false, status: 403, failure: 'no-token' };
  // d. the token's user is the CSK's owner
  let mcpttId: string;
  try {
    ({ mcpttId } = await ctx.verifyToken(`Bearer ${accessToken}`, PTT_SERVER_SCOPE));
  } catch {
    return { ok: false, status: 403, failure: 'token' };
  }
  if (ctx.normalize(mcpttId) === undefined || mcpttId !== owner) return { ok: false, status: 403, failure: 'identity-mismatch' };
  return { ok: true, mcpttId, csk, cskMessage: message, protected: true };
}

async function authorizeClear(ctx: ServiceAuthorizationContext, req: ServiceAuthorizationRequest): Promise<ServiceAuthorizationResult> {
  let parsed: ReturnType<typeof parseServiceAuthorizationBody>;
  try {
    parsed = parseServiceAuthorizationBody(req.contentType, req.body);
  } catch {
    return { ok: false, status: 400, failure: 'body' };
  }
  if (parsed.accessToken === undefined) return { ok: false, status: 403, failure: 'no-token' };

  let mcpttId: string;
  try {
    ({ mcpttId } = await ctx.verifyToken(`Bearer ${parsed.accessToken}`, PTT_SERVER_SCOPE));
  } catch {
    return { ok: false, status: 403, failure: 'token' };
  }
  if (ctx.normalize(mcpttId) === undefined || ctx.normalize(mcpttId) !== req.user) return { ok: false, status: 403, failure: 'identity-mismatch' };

  const message = parsed.cskIMessage;
  if (message === undefined) return { ok: true, mcpttId, csk: undefined, cskMessage: undefined, protected: false };
  if (req.boundCsk !== undefined && equalBytes(req.boundCsk.message, message)) {
    return { ok: true, mcpttId, csk: req.boundCsk.key, cskMessage: message, protected: false };
  }
  let csk: ReceivedKey;
  try {
    csk = await ctx.cskReceiver.receive(message, 'CSK');
  } catch (e) {
    if (isMcpttError(e) || e instanceof TypeError || e instanceof RangeError) return { ok: false, status: 403, failure: 'csk' };
    throw e;
  }
  const i = csk.initiator;
  const signedByUser =
    i.kmsUri === ctx.userKms.kmsUri && (i.uri !== undefined ? i.uri === mcpttId : equalBytes(i.uid, uidOf(mcpttId, ctx.userKms, i.keyPeriodNo)));
  if (!signedByUser) return { ok: false, status: 403, failure: 'csk-initiator' };
  return { ok: true, mcpttId, csk, cskMessage: message, protected: false };
}
