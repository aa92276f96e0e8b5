/**
 * `mcptt-sdk/mikey`: MIKEY-SAKKE I_MESSAGEs (RFC 3830, RFC 6043, RFC 6509, TS 33.179 Annex E):
 * the byte-exact codec, the SDP `a=key-mgmt` attribute (RFC 4567), and the processing rules
 * for receiving and creating GMK, PCK and CSK distributions.
 */
export * from './codec/mikey/index.js';
export * from './codec/sdp-key-mgmt.js';
export * from './keys/index.js';
