/**
 * Logging in at the dev IdMS without a browser (TS 33.179 B.3.1: authorization code flow with
 * PKCE, as a native client does): the login form is posted like a user would. For servers
 * of the dev system that need their own token, benchmarks and tests. Dev only.
 */
import { createHash, randomBytes } from 'node:crypto';
import { MCPTT_SCOPES } from './config.js';

export interface DevTokens {
  readonly access_token: string;
  readonly id_token: string;
  readonly refresh_token?: string;
  readonly token_type: string;
  readonly expires_in: number;
  readonly scope: string;
}

export interface DevLoginOptions {
  readonly issuer: string;
  readonly clientId: string;
  /** A redirect URI registered for the client; it is never fetched. */
  readonly redirectUri: string;
  readonly username: string;
  readonly password: string;
  /** Post a wrong password first and return the page the IdMS answered with. */
  readonly wrongPasswordFirst?: boolean;
}

export interface DevLoginResult {
  readonly tokens: DevTokens;
  readonly wrongPasswordPage?: string;
}

/** Just enough of a cookie jar for one host (the IdMS scopes its cookies by name). */
export class CookieJar {
  readonly #cookies = new Map<string, string>();

  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*expires=/i.test(a) && Date.parse(a.split('=')[1] ?? '') < Date.now());
      if (value === '' || expired) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

export async function step(jar: CookieJar, url: string, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), cookie: jar.header() } });
  jar.take(res);
  return res;
}

/** Follows redirects on the IdMS until it sends the browser elsewhere (or shows a page). */
export async function follow(jar: CookieJar, issuer: string, res: Response): Promise<{ res: Response; url: string }> {
  let current = res;
  let url = '';
  for (let hops = 0; hops < 10; hops++) {
    const location = current.headers.get('location');
    if (current.status < 300 || current.status >= 400 || location === null) return { res: current, url };
    url = new URL(location, issuer).href;
    if (!url.startsWith(issuer)) return { res: current, url };
    current = await step(jar, url);
  }
  throw new Error('dev login: too many redirects');
}

export async function devLogin(o: DevLoginOptions): Promise<DevLoginResult> {
  const jar = new CookieJar();
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const auth = new URL('/auth', o.issuer);
  auth.search = new URLSearchParams({
    client_id: o.clientId,
    response_type: 'code',
    scope: MCPTT_SCOPES.join(' '),
    redirect_uri: o.redirectUri,
    state,
    nonce: randomBytes(16).toString('base64url'),
    acr_values: '3gpp:acr:password',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();

  const { res } = await follow(jar, o.issuer, await step(jar, auth.href));
  if (res.status !== 200) throw new Error(`dev login: the IdMS answered ${res.status} instead of its login form`);
  const action = /action="([^"]+\/login)"/.exec(await res.text())?.[1];
  if (action === undefined) throw new Error('dev login: no login form');
  const post = (password: string) =>
    step(jar, new URL(action, o.issuer).href, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: o.username, password }).toString(),
    });
  let wrongPasswordPage: string | undefined;
  if (o.wrongPasswordFirst) wrongPasswordPage = await (await post(`${o.password}-wrong`)).text();
  const done = await follow(jar, o.issuer, await post(o.password));
  const back = new URL(done.url || 'about:blank');
  if (`${back.origin}${back.pathname}` !== new URL(o.redirectUri).href.replace(/[?#].*$/, '')) throw new Error('dev login: the IdMS did not send the browser back (wrong password?)');
  if (back.searchParams.get('state') !== state) throw new Error('dev login: state mismatch');
  const code = back.searchParams.get('code');
  if (!code) throw new Error('dev login: no authorization code');

  const token = await fetch(new URL('/token', o.issuer), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: o.redirectUri, client_id: o.clientId, code_verifier: verifier }).toString(),
  });
  if (token.status !== 200) throw new Error(`dev login: token endpoint answered ${token.status}`);
  return { tokens: (await token.json()) as DevTokens, ...(wrongPasswordPage !== undefined ? { wrongPasswordPage } : {}) };
}
