/**
 * `mcptt-sdk/crypto`: the pure cryptographic core of TS 33.179 (RFC 6507 ECCSI,
 * RFC 6508/6509 SAKKE, the key derivations of TS 33.179 Annex F / TS 33.180 Annex F,
 * the MIKEY PRF of RFC 3830/6043, RFC 3711 SRTP key derivation, RFC 3394 key wrap and
 * RFC 7714 AEAD). No I/O. Byte values are Uint8Array; points are 0x04 ‖ x ‖ y.
 * This surface is used by other tools: keep it stable (docs/crypto-api.md).
 */
export {
  eccsiSign,
  eccsiVerify,
  eccsiValidateSigningKey,
  eccsiDeriveKpak,
  eccsiIssueSigningKey,
} from './eccsi.js';
export type { EccsiSigningKeys, EccsiPublicKeys, EccsiSignOptions, EccsiIssuedKey } from './eccsi.js';
export {
  sakkeEncapsulate,
  sakkeDecapsulate,
  createSakkeReceiver,
  sakkeValidateReceiverKey,
  sakkeDerivePublicKey,
  sakkeIssueReceiverKey,
} from './sakke/sakke.js';
export type { SakkeRecipient, SakkeReceiverKeys, SakkeReceiver } from './sakke/sakke.js';
export { kdf33220 } from './kdf.js';
export { mikeySakkeUid, keyPeriodNo, NTP_UNIX_OFFSET } from './uid.js';
export type { UidInput } from './uid.js';
export { userSalt, gukId, xpkKeys } from './key-ids.js';
export { mikeyPrf, srtpMasterKeys } from './mikey-prf.js';
export { srtpSessionKeys } from './srtp-kdf.js';
export type { SrtpSessionKeys } from './srtp-kdf.js';
export { aesKeyWrap, aesKeyUnwrap } from './aes-key-wrap.js';
export { srtpAeadIv, srtcpAeadIv, aesGcmEncrypt, aesGcmDecrypt } from './aead.js';
export { inThreadIdentityCrypto } from './heavy.js';
export type { IdentityCrypto, InThreadIdentityCrypto, InThreadIdentityCryptoOptions } from './heavy.js';
