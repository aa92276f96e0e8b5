/**
 * `mcptt-sdk`: MCPTT end-to-end security (3GPP TS 33.179) in the browser.
 * The root entry re-exports the typed errors; the layers have their own entries:
 * `mcptt-sdk/crypto` (ECCSI, SAKKE, key derivations) and `mcptt-sdk/mikey` (I_MESSAGEs).
 */
export { McpttError, CryptoError, MikeyError, KmsError, AuthError, StoreError, isMcpttError } from './errors.js';
export type { McpttErrorCode, CryptoErrorCode, MikeyErrorCode, KmsErrorCode, AuthErrorCode, StoreErrorCode, McpttErrorOptions } from './errors.js';
