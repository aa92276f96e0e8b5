/**
 * The IdM client of the SDK (TS 33.179 5.5.1, 5.5.3, 5.6.1, Annex B): OpenID Connect login
 * against the IdMS with oidc-client-ts, the MCPTT ID from the ID token (B.1.1.2), access
 * tokens for the resource servers (5.6.1) kept fresh with the refresh token (B.4).
 *
 * The authorization request is the one of B.3.1.1: `response_type=code`, PKCE S256
 * (oidc-client-ts's default), `state`, the MCPTT scopes and `acr_values=3gpp:acr:password`.
 * A response whose state matches no request of ours is dropped by oidc-client-ts (B.3.1.2).
 *
 * Session life cycle:
 *
 *              login / completeLogin / session() restores
 *   (none) ───────────────────────────────────────────────▶ active ──┐ refresh at
 *      ▲                                                       ▲     │ expiresAt − refreshBefore
 *      │  ended: 'logout' | 'expired' | 'refresh-failed'        └─────┘ ('session' again)
 *      └────────────────────────────────────────────────────────────┘
 *
 * Tokens live in sessionStorage by default (gone with the tab, never shared with other tabs)
 * or only in memory; never in localStorage. Nothing is logged: oidc-client-ts's logger is
 * switched off because its messages can carry claims.
 */
import {
  ErrorResponse,
  InMemoryWebStorage,
  Log,
  UserManager,
  WebStorageStateStore,
  type RevokeTokensTypes,
  type SigninPopupArgs,
  type SigninRedirectArgs,
  type SigninSilentArgs,
  type SignoutRedirectArgs,
  type UserManagerSettings,
} from 'oidc-client-ts';

import { AuthError } from '../../errors.js';

/** TS 33.179 table B.3.1.1-1: `openid` plus the four MCPTT resource server scopes. */
export const MCPTT_DEFAULT_SCOPES: readonly string[] = Object.freeze([
  'openid',
  '3gpp:mcptt:ptt_server',
  '3gpp:mcptt:key_management_server',
  '3gpp:mcptt:config_management_server',
  '3gpp:mcptt:group_management_server',
]);

/** The password ACR value every MCPTT IdMS must support (table B.3.1.1-1). */
export const MCPTT_ACR_PASSWORD = '3gpp:acr:password';

/** The part of an oidc-client-ts `User` the SDK reads. */
export interface OidcUserLike {
  readonly access_token: string;
  readonly refresh_token?: string | undefined;
  readonly id_token?: string | undefined;
  /** Unix time in seconds. */
  readonly expires_at?: number | undefined;
  readonly scope?: string | undefined;
  readonly profile: Readonly<Record<string, unknown>>;
}

/** The part of oidc-client-ts's `UserManager` the SDK uses; unit tests pass a fake. */
export interface UserManagerLike {
  signinRedirect(args?: SigninRedirectArgs): Promise<void>;
  signinPopup(args?: SigninPopupArgs): Promise<OidcUserLike>;
  signinRedirectCallback(url?: string): Promise<OidcUserLike>;
  signinPopupCallback(url?: string, keepOpen?: boolean): Promise<void>;
  /** Called only when the user has a refresh token, so it never falls back to an iframe. */
  signinSilent(args?: SigninSilentArgs): Promise<OidcUserLike | null>;
  getUser(): Promise<OidcUserLike | null>;
  removeUser(): Promise<void>;
  revokeTokens(types?: RevokeTokensTypes): Promise<void>;
  signoutRedirect(args?: SignoutRedirectArgs): Promise<void>;
  /** Drops the state of logins and logouts that never came back (it holds PKCE verifiers). */
  clearStaleState(): Promise<void>;
}

export type { UserManagerSettings };

export interface McpttAuthOptions {
  /** The IdMS issuer URL (its discovery document is fetched from there). */
  readonly authority: string;
  readonly clientId: string;
  /** Registered redirect URI of the page that calls `completeLogin()` after a redirect login. */
  readonly redirectUri: string;
  /** Registered redirect URI for popup logins; default `redirectUri`. */
  readonly popupRedirectUri?: string;
  /** Where the IdMS sends the browser after `logout({ redirect: true })`. */
  readonly postLogoutRedirectUri?: string;
  /** Default MCPTT_DEFAULT_SCOPES; must contain `openid`. */
  readonly scopes?: readonly string[];
  /** 'session' (default): sessionStorage; 'memory': lost on reload. Never localStorage. */
  readonly tokenStore?: 'session' | 'memory';
  /** Refresh this long before the access token expires; default 60 s. */
  readonly refreshBeforeSeconds?: number;
  /** Adapter factory, for unit tests; default oidc-client-ts's `UserManager`. */
  readonly userManager?: (settings: UserManagerSettings) => UserManagerLike;
}

export interface McpttSession {
  /** From the ID token's `mcptt_id` claim (B.1.1.2). Never log it. */
  readonly mcpttId: string;
  /** Bearer token for the resource servers (B.5). Never log it. */
  readonly accessToken: string;
  /** Unix time in milliseconds. */
  readonly expiresAt: number;
  /** The scopes the IdMS granted for the access token. */
  readonly scopes: readonly string[];
}

export type McpttAuthEndReason = 'logout' | 'expired' | 'refresh-failed';

/** Event name → listener arguments. */
export interface McpttAuthEvents {
  session: [session: McpttSession];
  ended: [reason: McpttAuthEndReason];
}

export interface McpttAuth {
  /** 'redirect' (default) navigates away and resolves undefined; 'popup' resolves with the session. */
  login(mode?: 'redirect' | 'popup'): Promise<McpttSession | undefined>;
  /**
   * On the redirect URI page: exchanges the code and returns the session. In a login popup:
   * hands the response to the opening page and never settles (the popup closes).
   */
  completeLogin(url?: string): Promise<McpttSession>;
  /** The current session, restored from sessionStorage after a reload when still usable. */
  session(): Promise<McpttSession | undefined>;
  /** A usable access token, refreshed first when it is within `refreshBeforeSeconds` of expiry. */
  accessToken(): Promise<string>;
  on(event: 'session', listener: (s: McpttSession) => void): () => void;
  on(event: 'ended', listener: (reason: McpttAuthEndReason) => void): () => void;
  /** Forgets the tokens (revoking the refresh token); `redirect: true` also ends the IdMS session. */
  logout(options?: { redirect?: boolean }): Promise<void>;
  /** Stops timers and drops listeners; the stored session stays for the next page. */
  dispose(): void;
}

/** Marks a popup login's `state` so its callback page knows to hand the response back. */
const POPUP_URL_STATE = 'mcptt-popup';
const STORE_PREFIX = 'mcptt.oidc.';
const REQUEST_TIMEOUT_SECONDS = 15;
/** setTimeout's limit (2^31 − 1 ms); later refreshes are re-armed when the timer fires. */
const MAX_TIMER_MS = 2_147_483_647;
/** A token this close to expiry is not handed out: it could die on its way to the server. */
const EXPIRY_MARGIN_MS = 5_000;
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;

interface Current {
  readonly user: OidcUserLike;
  readonly session: McpttSession;
  /** When to refresh: `refreshBeforeSeconds` ahead of expiry (see adopt()). */
  readonly refreshAt: number;
}

type Listener<K extends keyof McpttAuthEvents> = (...args: McpttAuthEvents[K]) => void;

export function createMcpttAuth(o: McpttAuthOptions): McpttAuth {
  const authority = checkUrl(o.authority, 'authority');
  const redirectUri = checkUrl(o.redirectUri, 'redirectUri');
  const popupRedirectUri = o.popupRedirectUri === undefined ? redirectUri : checkUrl(o.popupRedirectUri, 'popupRedirectUri');
  const postLogoutRedirectUri = o.postLogoutRedirectUri === undefined ? undefined : checkUrl(o.postLogoutRedirectUri, 'postLogoutRedirectUri');
  if (typeof o.clientId !== 'string' || o.clientId === '') throw new TypeError('clientId must be a non-empty string');
  const scopes = o.scopes ?? MCPTT_DEFAULT_SCOPES;
  if (!scopes.includes('openid') || scopes.some((s) => typeof s !== 'string' || s === '' || /\s/.test(s))) {
    throw new TypeError('scopes must be single scope values and include openid');
  }
  const refreshBeforeMs = (o.refreshBeforeSeconds ?? 60) * 1000;
  if (!Number.isFinite(refreshBeforeMs) || refreshBeforeMs < 0) throw new RangeError('refreshBeforeSeconds must be a non-negative number');
  const tokenStore = o.tokenStore ?? 'session';
  if (tokenStore !== 'session' && tokenStore !== 'memory') throw new TypeError("tokenStore must be 'session' or 'memory'");

  // oidc-client-ts logs at INFO to the console by default, subject IDs included.
  Log.setLevel(Log.NONE);

  const sessionStore = browserSessionStorage();
  const settings: UserManagerSettings = {
    authority,
    client_id: o.clientId,
    redirect_uri: redirectUri,
    popup_redirect_uri: popupRedirectUri,
    ...(postLogoutRedirectUri === undefined ? {} : { post_logout_redirect_uri: postLogoutRedirectUri }),
    response_type: 'code',
    response_mode: 'query',
    scope: scopes.join(' '),
    acr_values: MCPTT_ACR_PASSWORD,
    // The refresh is ours (below), by refresh token: no silent-renew iframe, no session iframe.
    automaticSilentRenew: false,
    monitorSession: false,
    loadUserInfo: false,
    revokeTokensOnSignout: false,
    validateSubOnSilentRenew: true,
    requestTimeoutInSeconds: REQUEST_TIMEOUT_SECONDS,
    userStore: new WebStorageStateStore({
      prefix: STORE_PREFIX,
      store: tokenStore === 'session' && sessionStore !== undefined ? sessionStore : new InMemoryWebStorage(),
    }),
    // The PKCE verifier and state must survive the redirect, so they go to sessionStorage
    // even with tokenStore 'memory'; oidc-client-ts removes them when the response arrives.
    stateStore: new WebStorageStateStore({ prefix: STORE_PREFIX, store: sessionStore ?? new InMemoryWebStorage() }),
  };
  const um: UserManagerLike = o.userManager === undefined ? new UserManager(settings) : o.userManager(settings);

  const listeners: { [K in keyof McpttAuthEvents]: Set<Listener<K>> } = { session: new Set(), ended: new Set() };
  let current: Current | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let refreshing: Promise<McpttSession> | undefined;
  let restoring: Promise<McpttSession | undefined> | undefined;
  let restored = false;
  let disposed = false;

  function assertLive(): void {
    if (disposed) throw new TypeError('this McpttAuth has been disposed');
  }

  function emit<K extends keyof McpttAuthEvents>(event: K, ...args: McpttAuthEvents[K]): void {
    if (disposed) return;
    for (const listener of [...listeners[event]]) {
      try {
        (listener as (...a: McpttAuthEvents[K]) => void)(...args);
      } catch (err) {
        // A throwing listener must not break the SDK or the other listeners; the browser
        // still reports it as an uncaught error so that it is not lost.
        const report = (globalThis as { reportError?: (e: unknown) => void }).reportError;
        if (typeof report === 'function') report(err);
      }
    }
  }

  function clearTimer(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  }

  function arm(at: number, run: () => void): void {
    clearTimer();
    if (disposed) return;
    const delay = Math.max(0, at - Date.now());
    timer = setTimeout(() => {
      timer = undefined;
      if (Date.now() < at) arm(at, run); // beyond setTimeout's range: wait again
      else run();
    }, Math.min(delay, MAX_TIMER_MS));
  }

  /** Refresh ahead of expiry when a refresh token exists; otherwise end at expiry. */
  function schedule(): void {
    const c = current;
    if (c === undefined) return clearTimer();
    if (c.user.refresh_token) {
      arm(c.refreshAt, () => {
        refresh().catch(() => {
          // The failure is handled (retry or end) inside refresh(); nobody awaits this call.
        });
      });
    } else {
      arm(c.session.expiresAt, () => {
        if (current === c) void end('expired');
      });
    }
  }

  /**
   * `fresh`: the tokens were just issued, so their lifetime is known; a lifetime shorter than
   * twice `refreshBeforeSeconds` is refreshed at half-life, not at once and over and over.
   * A restored session's lifetime is unknown: the plain rule applies, and one refresh later
   * the tokens are fresh.
   */
  function adopt(user: OidcUserLike, session: McpttSession, fresh: boolean): McpttSession {
    const lead = fresh ? Math.min(refreshBeforeMs, (session.expiresAt - Date.now()) / 2) : refreshBeforeMs;
    const refreshAt = session.expiresAt - lead;
    current = { user, session, refreshAt };
    schedule();
    emit('session', session);
    return session;
  }

  async function end(reason: McpttAuthEndReason): Promise<void> {
    const had = current !== undefined;
    current = undefined;
    clearTimer();
    try {
      await um.removeUser();
    } catch {
      // Storage failures must not keep a dead session alive in memory; it is gone already.
    }
    if (had) emit('ended', reason);
  }

  /** Turns a fresh or stored user into a session, refusing users without an MCPTT ID. */
  async function accept(user: OidcUserLike): Promise<McpttSession> {
    try {
      return toSession(user);
    } catch (err) {
      await um.removeUser().catch(() => undefined);
      throw err;
    }
  }

  function refresh(): Promise<McpttSession> {
    refreshing ??= doRefresh().finally(() => {
      refreshing = undefined;
    });
    return refreshing;
  }

  async function doRefresh(): Promise<McpttSession> {
    const before = current;
    if (before === undefined) throw new AuthError('ERR_AUTH_NOT_LOGGED_IN', 'no session to refresh');
    if (!before.user.refresh_token) {
      throw new AuthError('ERR_AUTH_REFRESH_FAILED', 'the IdMS issued no refresh token');
    }
    let user: OidcUserLike | null;
    try {
      user = await um.signinSilent();
    } catch (err) {
      if (current !== before) throw new AuthError('ERR_AUTH_NOT_LOGGED_IN', 'the session ended during the refresh', { cause: err });
      if (err instanceof ErrorResponse || Date.now() >= before.session.expiresAt) {
        // The IdMS said no (refresh token revoked or expired, user disabled): that is final.
        await end('refresh-failed');
        throw new AuthError('ERR_AUTH_REFRESH_FAILED', refusalMessage('refresh', err), { cause: err });
      }
      // Unreachable IdMS: try again while the current access token still works.
      const wait = Math.min(RETRY_MAX_MS, Math.max(RETRY_MIN_MS, (before.session.expiresAt - Date.now()) / 2));
      arm(Math.min(Date.now() + wait, before.session.expiresAt), () => {
        if (current !== before) return;
        if (Date.now() >= before.session.expiresAt) void end('refresh-failed');
        else refresh().catch(() => undefined);
      });
      throw new AuthError('ERR_AUTH_REFRESH_FAILED', 'the IdMS could not be reached for a token refresh', { cause: err });
    }
    if (current !== before) throw new AuthError('ERR_AUTH_NOT_LOGGED_IN', 'the session ended during the refresh');
    let session: McpttSession;
    try {
      if (user === null) throw new AuthError('ERR_AUTH_REFRESH_FAILED', 'the refresh returned no tokens');
      session = toSession(user);
      // The refresh must continue the same user's session (B.4), not switch identities.
      if (session.mcpttId !== before.session.mcpttId) throw new AuthError('ERR_AUTH_REFRESH_FAILED', 'the refresh changed the MCPTT ID');
    } catch (err) {
      await end('refresh-failed');
      throw err instanceof AuthError && err.code === 'ERR_AUTH_REFRESH_FAILED'
        ? err
        : new AuthError('ERR_AUTH_REFRESH_FAILED', 'the refreshed tokens were refused', { cause: err });
    }
    return adopt(user, session, true);
  }

  async function restore(): Promise<McpttSession | undefined> {
    await um.clearStaleState().catch(() => undefined);
    const user = await um.getUser();
    if (user === null || current !== undefined || disposed) return current?.session;
    let session: McpttSession;
    try {
      session = await accept(user);
    } catch {
      return undefined; // a stored user without an MCPTT ID is dropped, not an error here
    }
    if (Date.now() < session.expiresAt - EXPIRY_MARGIN_MS) return adopt(user, session, false);
    if (!user.refresh_token) {
      await um.removeUser().catch(() => undefined);
      return undefined;
    }
    // Expired while the page was away: the refresh token may still be good.
    current = { user, session, refreshAt: 0 };
    try {
      return await refresh();
    } catch {
      if (current?.user === user) {
        current = undefined;
        await um.removeUser().catch(() => undefined);
      }
      return undefined;
    }
  }

  async function session(): Promise<McpttSession | undefined> {
    assertLive();
    if (current === undefined && !restored) {
      restoring ??= restore().finally(() => {
        restored = true;
        restoring = undefined;
      });
      return restoring;
    }
    const c = current;
    if (c === undefined) return undefined;
    if (Date.now() < c.session.expiresAt - EXPIRY_MARGIN_MS) return c.session;
    if (!c.user.refresh_token) {
      await end('expired');
      return undefined;
    }
    return refresh().catch(() => undefined);
  }

  async function completeLogin(url?: string): Promise<McpttSession> {
    assertLive();
    const href = url ?? globalThis.location?.href;
    if (typeof href !== 'string') throw new TypeError('completeLogin needs the callback URL outside a browser page');
    const callback = new URL(href);
    const state = callback.searchParams.get('state');
    if (state === null || (!callback.searchParams.has('code') && !callback.searchParams.has('error'))) {
      throw new AuthError('ERR_AUTH_LOGIN_FAILED', 'the URL carries no authorization response');
    }
    const [stateId = '', ...marks] = state.split(';');
    if (marks.join(';') === POPUP_URL_STATE) {
      // In the popup: give the response to the opener (postMessage, or a BroadcastChannel
      // named after the state when COOP cut the opener link), which exchanges the code.
      callback.searchParams.set('state', stateId);
      await um.signinPopupCallback(callback.href);
      return new Promise<McpttSession>(() => {});
    }
    let user: OidcUserLike;
    try {
      user = await um.signinRedirectCallback(href);
    } catch (err) {
      throw new AuthError('ERR_AUTH_LOGIN_FAILED', refusalMessage('login', err), { cause: err });
    }
    return adopt(user, await accept(user), true);
  }

  async function login(mode: 'redirect' | 'popup' = 'redirect'): Promise<McpttSession | undefined> {
    assertLive();
    if (mode === 'redirect') {
      try {
        await um.signinRedirect();
      } catch (err) {
        throw new AuthError('ERR_AUTH_LOGIN_FAILED', refusalMessage('login', err), { cause: err });
      }
      return undefined;
    }
    if (mode !== 'popup') throw new TypeError("login mode must be 'redirect' or 'popup'");
    let user: OidcUserLike;
    try {
      user = await um.signinPopup({ url_state: POPUP_URL_STATE });
    } catch (err) {
      throw new AuthError('ERR_AUTH_LOGIN_FAILED', refusalMessage('login', err), { cause: err });
    }
    if (disposed) throw new TypeError('this McpttAuth has been disposed');
    return adopt(user, await accept(user), true);
  }

  async function accessToken(): Promise<string> {
    const s = await session();
    const c = current;
    if (s === undefined || c === undefined) throw new AuthError('ERR_AUTH_NOT_LOGGED_IN', 'no MCPTT session');
    if (Date.now() < c.refreshAt) return c.session.accessToken;
    if (!c.user.refresh_token) return c.session.accessToken; // session() ended it if it was expired
    try {
      return (await refresh()).accessToken;
    } catch (err) {
      // A transient failure leaves the session up; its token is still fine for a while.
      if (current === c && Date.now() < c.session.expiresAt - EXPIRY_MARGIN_MS) return c.session.accessToken;
      throw err instanceof AuthError ? err : new AuthError('ERR_AUTH_REFRESH_FAILED', 'token refresh failed', { cause: err });
    }
  }

  async function logout(options?: { redirect?: boolean }): Promise<void> {
    assertLive();
    const user = current?.user ?? (await um.getUser());
    const had = current !== undefined || user !== null;
    current = undefined;
    clearTimer();
    if (user?.refresh_token) {
      // Revoking the refresh token ends the grant at the IdMS (B.4); access tokens are JWTs
      // and stay valid until they expire, which is why they are short-lived.
      await um.revokeTokens(['refresh_token']).catch(() => undefined);
    }
    await um.removeUser().catch(() => undefined);
    if (had) emit('ended', 'logout');
    if (options?.redirect === true) {
      await um.signoutRedirect(user?.id_token === undefined ? {} : { id_token_hint: user.id_token });
    }
  }

  function on<K extends keyof McpttAuthEvents>(event: K, listener: Listener<K>): () => void {
    assertLive();
    const set = listeners[event] as Set<Listener<K>> | undefined;
    if (set === undefined) throw new TypeError(`unknown event ${String(event)}`);
    if (typeof listener !== 'function') throw new TypeError('listener must be a function');
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  return {
    login,
    completeLogin,
    session,
    accessToken,
    on: on as McpttAuth['on'],
    logout,
    dispose() {
      disposed = true;
      clearTimer();
      listeners.session.clear();
      listeners.ended.clear();
    },
  };
}

function toSession(user: OidcUserLike): McpttSession {
  const mcpttId = user.profile['mcptt_id'];
  if (typeof mcpttId !== 'string' || mcpttId === '') {
    throw new AuthError('ERR_AUTH_NO_MCPTT_ID', 'the ID token carries no mcptt_id claim');
  }
  if (typeof user.access_token !== 'string' || user.access_token === '') {
    throw new AuthError('ERR_AUTH_LOGIN_FAILED', 'the IdMS returned no access token');
  }
  if (typeof user.expires_at !== 'number' || !Number.isFinite(user.expires_at)) {
    throw new AuthError('ERR_AUTH_LOGIN_FAILED', 'the IdMS returned no access token lifetime');
  }
  const scopes = Object.freeze((user.scope ?? '').split(' ').filter((s) => s !== ''));
  return Object.freeze({ mcpttId, accessToken: user.access_token, expiresAt: user.expires_at * 1000, scopes });
}

/** What went wrong, in words that carry no token or identity. */
function refusalMessage(what: 'login' | 'refresh', err: unknown): string {
  if (err instanceof ErrorResponse) return `the IdMS refused the ${what} (${err.error ?? 'unknown error'})`;
  if (err instanceof Error && /popup/i.test(err.message)) return `the ${what} popup was closed or blocked`;
  if (err instanceof Error && /state/i.test(err.message)) return `the ${what} response matches no request of this page`;
  return `the ${what} did not complete`;
}

function checkUrl(value: string, name: string): string {
  if (typeof value !== 'string' || !URL.canParse(value)) throw new TypeError(`${name} must be an absolute URL`);
  return value;
}

/** sessionStorage when the platform has one and allows it (it throws in some sandboxes). */
function browserSessionStorage(): Storage | undefined {
  try {
    const s = (globalThis as { sessionStorage?: Storage }).sessionStorage;
    return s ?? undefined;
  } catch {
    return undefined;
  }
}
