/**
 * General Extension payloads of MIKEY-SAKKE (RFC 3830 §6.15):
 * - TS 33.179 E.5 "SAKKE-to-self": the data is a full RFC 6509 §4.2 SAKKE payload (its own
 *   next-payload octet, normally 0, included) encapsulating the same key to the initiator.
 *   v13 leaves the type as "AA"; the deployed value is 6 (GENERAL_EXTENSION_TYPE.SAKKE_TO_SELF).
 * - E.6 associated parameters: see `gmk-params.ts` (v13 layout) and `key-params.ts` (the
 *   TS 33.180 layout both interop implementations send).
 */
import { MikeyError } from '../../errors.js';
import { GENERAL_EXTENSION_TYPE, PAYLOAD_TYPE } from './constants.js';
import type { GeneralExtensionPayload, SakkePayload } from './payloads.js';
import { readPayload, writePayload } from './payloads.js';
import { MikeyReader } from './reader.js';
import { MikeyWriter } from './writer.js';

/** Extensions of `type` in message order. */
export function extensionsOfType(
  exts: readonly GeneralExtensionPayload[],
  type: number,
): GeneralExtensionPayload[] {
  return exts.filter((e) => e.type === type);
}

/**
 * The SAKKE payload inside a SAKKE-to-self extension (E.5). The embedded payload must fill
 * the extension exactly and announce no further payload.
 */
export function decodeSakkeToSelf(ext: GeneralExtensionPayload): SakkePayload {
  const r = new MikeyReader(ext.data);
  const { payload, next } = readPayload(r, PAYLOAD_TYPE.SAKKE);
  if (next !== PAYLOAD_TYPE.LAST) {
    throw new MikeyError('ERR_MIKEY_MALFORMED', `MIKEY SAKKE-to-self: embedded SAKKE payload announces payload ${next}`);
  }
  r.expectEnd('SAKKE-to-self');
  return payload as SakkePayload;
}

/** A SAKKE-to-self General Extension carrying `sakke` (E.5). */
export function sakkeToSelfExtension(
  sakke: SakkePayload,
  type: number = GENERAL_EXTENSION_TYPE.SAKKE_TO_SELF,
): GeneralExtensionPayload {
  const w = new MikeyWriter(sakke.data.length + 8);
  writePayload(w, sakke, PAYLOAD_TYPE.LAST);
  return { kind: 'GENERAL_EXTENSION', type, data: w.finish() };
}
