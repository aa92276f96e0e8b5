/**
 * The IdM client of the SDK (TS 33.179 5.5, 5.6.1, Annex B): OpenID Connect login with
 * PKCE, the MCPTT ID from the ID token, and fresh access tokens for the resource servers.
 */
export { createMcpttAuth, MCPTT_ACR_PASSWORD, MCPTT_DEFAULT_SCOPES } from './oidc-auth.js';
export type {
  McpttAuth,
  McpttAuthEndReason,
  McpttAuthEvents,
  McpttAuthOptions,
  McpttSession,
  OidcUserLike,
  UserManagerLike,
  UserManagerSettings,
} from './oidc-auth.js';
