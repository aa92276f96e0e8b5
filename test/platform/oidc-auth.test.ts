/**
 * The IdM client (TS 33.179 5.5, B.1.1.2, B.3, B.4) against a fake oidc-client-ts
 * UserManager: what it asks for, where tokens are kept, when it refreshes, what it emits.
 * The real flow against the dev IdMS runs in Chromium (e2e/login.spec.ts).
 */
import { ErrorResponse, Log, type StateStore, type UserManagerSettings } from 'oidc-client-ts';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { isMcpttError } from '../../src/errors.js';
import {
  createMcpttAuth,
  MCPTT_DEFAULT_SCOPES,
  type McpttAuth,
  type McpttAuthOptions,
  type McpttSession,
  type OidcUserLike,
  type UserManagerLike,
} from '../../src/platform/auth/index.js';

const T0 = Date.UTC(2030, 0, 1);
const ALICE = 'sip:alice@mcptt.example';
const SCOPE = '3gpp:mcptt:ptt_server 3gpp:mcptt:key_management_server';

/** A Web Storage that records everything put into it. */
class FakeStorage implements Storage {
  readonly #items = new Map<string, string>();
  get length(): number {
    return this.#items.size;
  }
  clear(): void {
    this.#items.clear();
  }
  getItem(key: string): string | null {
    return this.#items.get(key) ?? null;
  }
  key(index: number): string | null {
    return [...this.#items.keys()][index] ?? null;
  }
  removeItem(key: string): void {
    this.#items.delete(key);
  }
  setItem(key: string, value: string): void {
    this.#items.set(key, String(value));
  }
  dump(): string {
    return [...this.#items].map(([k, v]) => `${k}=${v}`).join('\n');
  }
}

let issued = 0;

function makeUser(o: { mcpttId?: string | null; ttl?: number; refresh?: boolean } = {}): OidcUserLike {
  issued += 1;
  const profile: Record<string, unknown> = { sub: 'alice' };
  if (o.mcpttId !== null) profile['mcptt_id'] = o.mcpttId ?? ALICE;
  return {
    access_token: `access-${issued}`,
    ...(o.refresh === false ? {} : { refresh_token: `refresh-${issued}` }),
    id_token: `id-${issued}`,
    expires_at: Math.floor(Date.now() / 1000) + (o.ttl ?? 300),
    scope: SCOPE,
    profile,
  };
}

/** Stores users through the settings' userStore, like UserManager does. */
class FakeUserManager implements UserManagerLike {
  readonly calls: string[] = [];
  /** What the next login (redirect callback or popup) returns. */
  nextLogin: () => OidcUserLike = () => makeUser();
  /** What the next refresh does. */
  nextRefresh: () => Promise<OidcUserLike | null> = async () => makeUser();
  popupArgs: unknown;
  popupCallbackUrl: string | undefined;
  signoutArgs: unknown;
  revoked: unknown[] = [];

  constructor(readonly settings: UserManagerSettings) {}

  get store(): StateStore {
    const s = this.settings.userStore;
    if (s === undefined) throw new Error('no userStore');
    return s;
  }

  async getUser(): Promise<OidcUserLike | null> {
    const raw = await this.store.get('user');
    return raw === null ? null : (JSON.parse(raw) as OidcUserLike);
  }
  async removeUser(): Promise<void> {
    this.calls.push('removeUser');
    await this.store.remove('user');
  }
  async signinRedirect(): Promise<void> {
    this.calls.push('signinRedirect');
  }
  async signinRedirectCallback(url?: string): Promise<OidcUserLike> {
    this.calls.push(`signinRedirectCallback ${url ?? ''}`);
    const user = this.nextLogin();
    await this.store.set('user', JSON.stringify(user));
    return user;
  }
  async signinPopup(args?: unknown): Promise<OidcUserLike> {
    this.calls.push('signinPopup');
    this.popupArgs = args;
    const user = this.nextLogin();
    await this.store.set('user', JSON.stringify(user));
    return user;
  }
  async signinPopupCallback(url?: string): Promise<void> {
    this.popupCallbackUrl = url;
  }
  async signinSilent(): Promise<OidcUserLike | null> {
    this.calls.push('signinSilent');
    const user = await this.nextRefresh();
    if (user !== null) await this.store.set('user', JSON.stringify(user));
    return user;
  }
  async revokeTokens(types?: unknown): Promise<void> {
    this.revoked.push(types);
  }
  async signoutRedirect(args?: unknown): Promise<void> {
    this.calls.push('signoutRedirect');
    this.signoutArgs = args;
  }
  async clearStaleState(): Promise<void> {
    this.calls.push('clearStaleState');
  }
}

const CALLBACK = 'http://127.0.0.1:5181/e2e/pages/login.html?code=abc&state=xyz';

describe('createMcpttAuth', () => {
  let session: FakeStorage;
  let local: FakeStorage;
  let fakes: FakeUserManager[];
  const auths: McpttAuth[] = [];

  function create(o: Partial<McpttAuthOptions> = {}): { auth: McpttAuth; um: FakeUserManager } {
    const auth = createMcpttAuth({
      authority: 'http://127.0.0.1:9999',
      clientId: 'mcptt-demo',
      redirectUri: 'http://127.0.0.1:5181/e2e/pages/login.html',
      userManager: (settings) => {
        const um = new FakeUserManager(settings);
        fakes.push(um);
        return um;
      },
      ...o,
    });
    auths.push(auth);
    const um = fakes.at(-1);
    if (um === undefined) throw new Error('no user manager created');
    return { auth, um };
  }

  function record(auth: McpttAuth): { sessions: McpttSession[]; ended: string[] } {
    const out = { sessions: [] as McpttSession[], ended: [] as string[] };
    auth.on('session', (s) => out.sessions.push(s));
    auth.on('ended', (r) => out.ended.push(r));
    return out;
  }

  async function expectAuthError(p: Promise<unknown>, code: Parameters<typeof isMcpttError>[1]): Promise<void> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isMcpttError(err, code), String(err)).toBe(true);
  }

  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
    session = new FakeStorage();
    local = new FakeStorage();
    vi.stubGlobal('sessionStorage', session);
    vi.stubGlobal('localStorage', local);
    fakes = [];
  });

  afterEach(() => {
    for (const a of auths.splice(0)) a.dispose();
    vi.unstubAllGlobals();
    vi.useRealTimers();
  });

  it('asks for the MCPTT profile: code flow, MCPTT scopes, password ACR, no iframes', () => {
    const setLevel = vi.spyOn(Log, 'setLevel');
    const { um } = create();
    const s = um.settings;
    expect(s.response_type).toBe('code');
    expect(s.scope).toBe(MCPTT_DEFAULT_SCOPES.join(' '));
    expect(s.acr_values).toBe('3gpp:acr:password');
    expect(s.disablePKCE).not.toBe(true);
    expect(s.automaticSilentRenew).toBe(false);
    expect(s.monitorSession).toBe(false);
    expect(s.silent_redirect_uri).toBeUndefined();
    expect(s.popup_redirect_uri).toBe(s.redirect_uri);
    expect(setLevel).toHaveBeenCalledWith(Log.NONE);
    setLevel.mockRestore();
  });

  it('checks its options', () => {
    expect(() => create({ authority: 'not a url' })).toThrow(TypeError);
    expect(() => create({ scopes: ['3gpp:mcptt:ptt_server'] })).toThrow(TypeError);
    expect(() => create({ refreshBeforeSeconds: -1 })).toThrow(RangeError);
  });

  it('completes a redirect login into a session and emits it', async () => {
    const { auth, um } = create();
    const ev = record(auth);
    const s = await auth.completeLogin(CALLBACK);
    expect(um.calls).toContain(`signinRedirectCallback ${CALLBACK}`);
    expect(s.mcpttId).toBe(ALICE);
    expect(s.accessToken).toBe(`access-${issued}`);
    expect(s.expiresAt).toBe(T0 + 300_000);
    expect(s.scopes).toEqual(SCOPE.split(' '));
    expect(ev.sessions).toEqual([s]);
    await expect(auth.session()).resolves.toBe(s);
    await expect(auth.accessToken()).resolves.toBe(s.accessToken);
  });

  it('keeps tokens in sessionStorage, never in localStorage', async () => {
    const { auth } = create();
    const s = await auth.completeLogin(CALLBACK);
    expect(session.dump()).toContain(s.accessToken);
    expect(local.length).toBe(0);
  });

  it("keeps tokens only in memory with tokenStore 'memory'", async () => {
    const { auth } = create({ tokenStore: 'memory' });
    const s = await auth.completeLogin(CALLBACK);
    expect(session.dump()).not.toContain(s.accessToken);
    expect(local.length).toBe(0);
    await expect(auth.accessToken()).resolves.toBe(s.accessToken);
  });

  it('refuses an ID token without mcptt_id and forgets its tokens', async () => {
    const { auth, um } = create();
    const ev = record(auth);
    um.nextLogin = () => makeUser({ mcpttId: null });
    await expectAuthError(auth.completeLogin(CALLBACK), 'ERR_AUTH_NO_MCPTT_ID');
    expect(await um.getUser()).toBeNull();
    expect(ev.sessions).toEqual([]);
    await expect(auth.session()).resolves.toBeUndefined();
    await expectAuthError(auth.accessToken(), 'ERR_AUTH_NOT_LOGGED_IN');
  });

  it('turns a refused or broken callback into ERR_AUTH_LOGIN_FAILED', async () => {
    const { auth, um } = create();
    await expectAuthError(auth.completeLogin('http://127.0.0.1:5181/e2e/pages/login.html'), 'ERR_AUTH_LOGIN_FAILED');
    um.nextLogin = () => {
      throw new ErrorResponse({ error: 'access_denied' });
    };
    await expectAuthError(auth.completeLogin(`${CALLBACK.split('?')[0] ?? ''}?error=access_denied&state=xyz`), 'ERR_AUTH_LOGIN_FAILED');
  });

  it('refreshes refreshBeforeSeconds ahead of expiry, and again after each refresh', async () => {
    const { auth, um } = create();
    const ev = record(auth);
    const first = await auth.completeLogin(CALLBACK);
    await vi.advanceTimersByTimeAsync(239_000);
    expect(um.calls.filter((c) => c === 'signinSilent')).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(um.calls.filter((c) => c === 'signinSilent')).toHaveLength(1);
    const second = ev.sessions.at(-1);
    expect(second?.accessToken).not.toBe(first.accessToken);
    expect(second?.expiresAt).toBe(T0 + 240_000 + 300_000);
    await expect(auth.accessToken()).resolves.toBe(second?.accessToken);
    await vi.advanceTimersByTimeAsync(240_000);
    expect(um.calls.filter((c) => c === 'signinSilent')).toHaveLength(2);
    expect(ev.sessions).toHaveLength(3);
    expect(ev.ended).toEqual([]);
  });

  it('refreshes short-lived tokens at half their lifetime instead of in a loop', async () => {
    const { auth, um } = create({ refreshBeforeSeconds: 120 });
    um.nextLogin = () => makeUser({ ttl: 60 });
    um.nextRefresh = async () => makeUser({ ttl: 60 });
    await auth.completeLogin(CALLBACK);
    await vi.advanceTimersByTimeAsync(29_000);
    expect(um.calls.filter((c) => c === 'signinSilent')).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(um.calls.filter((c) => c === 'signinSilent')).toHaveLength(1);
  });

  it('refreshes on demand in accessToken() within the refresh window, once for concurrent callers', async () => {
    const { auth, um } = create();
    await auth.completeLogin(CALLBACK);
    auth.dispose(); // no timer: only the on-demand path
    const { auth: again, um: um2 } = create();
    let release: (u: OidcUserLike) => void = () => {};
    um2.nextRefresh = () => new Promise((resolve) => (release = resolve));
    await vi.setSystemTime(T0 + 250_000);
    const a = again.accessToken();
    const b = again.accessToken();
    await vi.advanceTimersByTimeAsync(0);
    expect(um2.calls.filter((c) => c === 'signinSilent')).toHaveLength(1);
    release(makeUser());
    const [ta, tb] = await Promise.all([a, b]);
    expect(ta).toBe(tb);
    expect(ta).toBe(`access-${issued}`);
    expect(um.calls).not.toContain('signinSilent');
  });

  it('ends the session when the IdMS refuses the refresh', async () => {
    const { auth, um } = create();
    const ev = record(auth);
    await auth.completeLogin(CALLBACK);
    um.nextRefresh = async () => {
      throw new ErrorResponse({ error: 'invalid_grant' });
    };
    await vi.advanceTimersByTimeAsync(240_000);
    expect(ev.ended).toEqual(['refresh-failed']);
    expect(await um.getUser()).toBeNull();
    await expect(auth.session()).resolves.toBeUndefined();
    await expectAuthError(auth.accessToken(), 'ERR_AUTH_NOT_LOGGED_IN');
  });

  it('retries a refresh the IdMS could not answer, and gives up at expiry', async () => {
    const { auth, um } = create();
    const ev = record(auth);
    const first = await auth.completeLogin(CALLBACK);
    um.nextRefresh = async () => {
      throw new TypeError('fetch failed');
    };
    await vi.advanceTimersByTimeAsync(240_000);
    expect(um.calls.filter((c) => c === 'signinSilent')).toHaveLength(1);
    // Still usable meanwhile: the token has a minute left.
    await expect(auth.accessToken()).resolves.toBe(first.accessToken);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(um.calls.filter((c) => c === 'signinSilent').length).toBeGreaterThanOrEqual(3);
    expect(ev.ended).toEqual([]);
    await vi.advanceTimersByTimeAsync(31_000);
    expect(ev.ended).toEqual(['refresh-failed']);
    await expectAuthError(auth.accessToken(), 'ERR_AUTH_NOT_LOGGED_IN');
  });

  it('recovers when a retried refresh succeeds', async () => {
    const { auth, um } = create();
    const ev = record(auth);
    await auth.completeLogin(CALLBACK);
    let fail = true;
    um.nextRefresh = async () => {
      if (fail) throw new TypeError('fetch failed');
      return makeUser();
    };
    await vi.advanceTimersByTimeAsync(240_000);
    fail = false;
    await vi.advanceTimersByTimeAsync(30_000);
    expect(ev.sessions).toHaveLength(2);
    expect(ev.ended).toEqual([]);
  });

  it('refuses a refresh that switches the MCPTT ID', async () => {
    const { auth, um } = create();
    const ev = record(auth);
    await auth.completeLogin(CALLBACK);
    um.nextRefresh = async () => makeUser({ mcpttId: 'sip:mallory@mcptt.example' });
    await vi.advanceTimersByTimeAsync(240_000);
    expect(ev.ended).toEqual(['refresh-failed']);
    expect(ev.sessions).toHaveLength(1);
  });

  it("ends with 'expired' at expiry when the IdMS gave no refresh token", async () => {
    const { auth, um } = create();
    const ev = record(auth);
    um.nextLogin = () => makeUser({ refresh: false });
    await auth.completeLogin(CALLBACK);
    await vi.advanceTimersByTimeAsync(299_000);
    expect(ev.ended).toEqual([]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(ev.ended).toEqual(['expired']);
    expect(um.calls).not.toContain('signinSilent');
    await expectAuthError(auth.accessToken(), 'ERR_AUTH_NOT_LOGGED_IN');
  });

  it('restores the session after a reload from sessionStorage', async () => {
    const first = create();
    const s = await first.auth.completeLogin(CALLBACK);
    first.auth.dispose();
    const { auth } = create(); // a new page, same tab storage
    const ev = record(auth);
    const restored = await auth.session();
    expect(restored).toEqual(s);
    expect(ev.sessions).toEqual([s]);
    expect(fakes.at(-1)?.calls).toContain('clearStaleState');
  });

  it('restores an expired stored session through its refresh token, or drops it', async () => {
    const first = create();
    await first.auth.completeLogin(CALLBACK);
    first.auth.dispose();
    await vi.setSystemTime(T0 + 400_000);
    const { auth, um } = create();
    const restored = await auth.session();
    expect(um.calls).toContain('signinSilent');
    expect(restored?.expiresAt).toBe(T0 + 700_000);
    auth.dispose();

    await vi.setSystemTime(T0 + 2_000_000);
    const third = create();
    third.um.nextRefresh = async () => {
      throw new ErrorResponse({ error: 'invalid_grant' });
    };
    await expect(third.auth.session()).resolves.toBeUndefined();
    expect(await third.um.getUser()).toBeNull();
  });

  it('logs out: revokes the refresh token, forgets the tokens, emits ended', async () => {
    const { auth, um } = create();
    const ev = record(auth);
    await auth.completeLogin(CALLBACK);
    await auth.logout();
    expect(um.revoked).toEqual([['refresh_token']]);
    expect(await um.getUser()).toBeNull();
    expect(session.dump()).not.toContain('access-');
    expect(ev.ended).toEqual(['logout']);
    expect(um.calls).not.toContain('signoutRedirect');
    await expect(auth.session()).resolves.toBeUndefined();
    await vi.advanceTimersByTimeAsync(600_000);
    expect(um.calls).not.toContain('signinSilent');
  });

  it('logs out at the IdMS too with redirect: true', async () => {
    const { auth, um } = create({ postLogoutRedirectUri: 'http://127.0.0.1:5181/e2e/pages/login.html' });
    const user = makeUser();
    um.nextLogin = () => user;
    await auth.completeLogin(CALLBACK);
    await auth.logout({ redirect: true });
    expect(um.signoutArgs).toEqual({ id_token_hint: user.id_token });
    expect(um.settings.post_logout_redirect_uri).toBe('http://127.0.0.1:5181/e2e/pages/login.html');
  });

  it('logs in with a popup, and hands the response over in the popup', async () => {
    const { auth, um } = create();
    const s = await auth.login('popup');
    expect(s?.mcpttId).toBe(ALICE);
    expect(um.popupArgs).toEqual({ url_state: 'mcptt-popup' });

    const inPopup = create();
    let settled = false;
    void inPopup.auth.completeLogin(`${CALLBACK.split('?')[0] ?? ''}?code=abc&state=s123%3Bmcptt-popup`).finally(() => {
      settled = true;
    });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(new URL(inPopup.um.popupCallbackUrl ?? '').searchParams.get('state')).toBe('s123');
    expect(inPopup.um.calls.some((c) => c.startsWith('signinRedirectCallback'))).toBe(false);
    expect(settled).toBe(false);
  });

  it('isolates listener exceptions and supports unsubscribing', async () => {
    const { auth } = create();
    const seen: string[] = [];
    auth.on('session', () => {
      throw new Error('listener bug');
    });
    const off = auth.on('session', (s) => seen.push(s.accessToken));
    const s = await auth.completeLogin(CALLBACK);
    expect(seen).toEqual([s.accessToken]);
    off();
    await vi.advanceTimersByTimeAsync(240_000);
    expect(seen).toHaveLength(1);
  });

  it('stops its timers on dispose', async () => {
    const { auth, um } = create();
    await auth.completeLogin(CALLBACK);
    auth.dispose();
    await vi.advanceTimersByTimeAsync(600_000);
    expect(um.calls).not.toContain('signinSilent');
    await expect(auth.session()).rejects.toBeInstanceOf(TypeError);
  });
});
