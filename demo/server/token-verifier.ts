/**
 * Access token checks of the MCPTT resource servers (TS 33.179 5.6.1, B.5, B.6.2): the KMS,
 * the MCPTT server and the GMS call the verifier with the `Authorization` header they got.
 *
 * A token passes only as a bearer JWT (RFC 6750, B.1.2.0) of type `at+jwt` (RFC 9068, so an
 * ID token cannot stand in for an access token), signed by a key of the IdMS JWKS, issued by
 * the IdMS for the MCPTT audience, unexpired, carrying `client_id`, the required scope
 * (B.1.2.1) and `mcptt_id` (B.1.2.2). Every failure is `AuthError('ERR_AUTH_INVALID_TOKEN')`,
 * whose message says what failed and never carries the token.
 */
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';

import { AuthError } from '../../src/errors.js';
import { MCPTT_ACCESS_TOKEN_AUDIENCE } from './idms.js';

export interface TokenVerifierOptions {
  readonly issuer: string;
  readonly jwksUri: string;
  /** Expected `aud`; default MCPTT_ACCESS_TOKEN_AUDIENCE (the dev IdMS's). */
  readonly audience?: string;
}

export interface VerifiedToken {
  readonly mcpttId: string;
  readonly scopes: readonly string[];
  readonly clientId: string;
  readonly subject: string;
  /** Unix time in milliseconds. */
  readonly expiresAt: number;
}

export type TokenVerifier = (authorization: string | undefined, requiredScope: string) => Promise<VerifiedToken>;

/** B.1.1.1/B.1.2.1 allow clock skew leeway of at most 30 s; a few seconds suffice on one host. */
const CLOCK_TOLERANCE_SECONDS = 5;

/** Asymmetric algorithms only: a resource server must never accept an HMAC or `none` token. */
const ALGORITHMS = ['ES256', 'ES384', 'PS256', 'RS256', 'EdDSA'];

// RFC 6750 section 2.1: "Bearer" 1*SP b64token; the scheme name is case-insensitive (RFC 9110).
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;
const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function invalid(message: string, cause?: unknown): AuthError {
  return new AuthError('ERR_AUTH_INVALID_TOKEN', message, cause === undefined ? undefined : { cause });
}

export function createTokenVerifier(o: TokenVerifierOptions): TokenVerifier {
  if (typeof o.issuer !== 'string' || o.issuer === '') throw new TypeError('issuer must be a non-empty string');
  const audience = o.audience ?? MCPTT_ACCESS_TOKEN_AUDIENCE;
  // One JWKS cache per verifier: jose refetches on an unknown `kid` (key rotation), with a cooldown.
  const jwks = createRemoteJWKSet(new URL(o.jwksUri));

  return async (authorization, requiredScope) => {
    if (typeof requiredScope !== 'string' || requiredScope === '' || /\s/.test(requiredScope)) {
      throw new TypeError('requiredScope must be a single scope value');
    }
    if (authorization === undefined || authorization === '') throw invalid('no access token presented');
    const m = BEARER.exec(authorization);
    const token = m?.[1];
    if (token === undefined) throw invalid('Authorization is not a Bearer token');
    if (!JWS_COMPACT.test(token)) throw invalid('access token is not a signed JWT');

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        issuer: o.issuer,
        audience,
        algorithms: ALGORITHMS,
        typ: 'at+jwt',
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (err) {
      throw invalid(describeJoseFailure(err), err);
    }

    const mcpttId = payload['mcptt_id'];
    if (typeof mcpttId !== 'string' || mcpttId === '') throw invalid('access token has no mcptt_id claim');
    const clientId = payload['client_id'];
    if (typeof clientId !== 'string' || clientId === '') throw invalid('access token has no client_id claim');
    const scope = payload['scope'];
    if (typeof scope !== 'string') throw invalid('access token has no scope claim');
    const scopes = scope.split(' ').filter((s) => s !== '');
    if (!scopes.includes(requiredScope)) throw invalid(`access token lacks the scope ${requiredScope}`);
    const { sub, exp } = payload;
    if (typeof sub !== 'string' || sub === '' || typeof exp !== 'number') throw invalid('access token lacks sub or exp');

    return Object.freeze({ mcpttId, scopes: Object.freeze(scopes), clientId, subject: sub, expiresAt: exp * 1000 });
  };
}

/** Names the failed check; jose's messages may quote claim values, so they are not reused. */
function describeJoseFailure(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'access token expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `access token claim check failed (${err.claim})`;
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'access token signature is invalid';
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'access token signed by an unknown key';
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'access token algorithm not allowed';
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid) return 'IdMS keys unavailable';
  if (err instanceof joseErrors.JWTInvalid || err instanceof joseErrors.JWSInvalid) return 'access token is malformed';
  if (err instanceof joseErrors.JOSEError) return `access token rejected (${err.code})`;
  return 'access token could not be verified';
}
