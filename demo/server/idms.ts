/**
 * The dev IdM server (TS 33.179 5.5.1, 5.5.3.2 and Annex B): oidc-provider on loopback,
 * configured as the MCPTT Connect profile asks.
 *
 * - one public client (B.2): `token_endpoint_auth_method: none`, PKCE S256 required
 *   (B.3.1.1), authorization code + refresh token grants (B.4);
 * - a username/password form of our own (5.5.3.2 steps 3a/3b) that checks the demo users;
 *   oidc-provider's devInteractions would accept any login, which would make the tests lie;
 * - `acr_values=3gpp:acr:password` is advertised and the `acr` claim carries it;
 * - the `mcptt_id` claim in the ID token (B.1.1.2) and in the access token (B.1.2.2);
 * - access tokens are JWTs (B.1.2.0) for one resource indicator that stands for every MCPTT
 *   resource server (KMS, MCPTT server, CMS, GMS); they tell themselves apart by scope;
 * - signing keys (ES256) are generated at every start and published as the JWKS, which the
 *   resource servers use to check tokens (B.6.2, see token-verifier.ts).
 *
 * Dev only: plain HTTP on 127.0.0.1 stands in for the HTTPS that 5.5.1 demands.
 */
import { createHash, generateKeyPairSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { DemoUser } from './config.js';

/**
 * The resource indicator (RFC 8707) and `aud` of every access token: one audience for all
 * MCPTT resource servers, which each demand their own scope (Annex B, table B.3.1.1-1).
 */
export const MCPTT_ACCESS_TOKEN_AUDIENCE = 'urn:mcptt:resource-servers';

/** The password ACR value that every MCPTT IdMS supports (table B.3.1.1-1). */
export const MCPTT_ACR_PASSWORD = '3gpp:acr:password';

/** The scopes of the MCPTT resource servers; `openid` is the OpenID Connect one. */
export const MCPTT_RESOURCE_SCOPES = Object.freeze([
  '3gpp:mcptt:ptt_server',
  '3gpp:mcptt:key_management_server',
  '3gpp:mcptt:config_management_server',
  '3gpp:mcptt:group_management_server',
]);

export interface IdmsOptions {
  /** Loopback only; default 127.0.0.1. */
  readonly host?: string;
  /** 0 (default) picks a free port. */
  readonly port?: number;
  readonly users: readonly DemoUser[];
  readonly clientId: string;
  readonly redirectUris: readonly string[];
  readonly postLogoutRedirectUris?: readonly string[];
  /** Lifetime of access (and ID) tokens; default 300 s. */
  readonly accessTokenTtlSeconds?: number;
  /** Print oidc-provider's notices and server errors to stderr; default silent. */
  readonly debug?: boolean;
}

export interface Idms {
  /** `http://127.0.0.1:<port>`: the OIDC issuer and the `authority` of the SDK. */
  readonly issuer: string;
  readonly jwksUri: string;
  /** The `aud` of the access tokens (MCPTT_ACCESS_TOKEN_AUDIENCE). */
  readonly audience: string;
  close(): Promise<void>;
}

// --- The slice of oidc-provider's API used here (the package ships no type declarations). ---

interface InteractionDetails {
  readonly uid: string;
  readonly prompt: { readonly name: string; readonly details: Record<string, unknown> };
  readonly params: Record<string, unknown>;
  readonly session?: { readonly accountId?: string };
  readonly grantId?: string;
}

interface GrantInstance {
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: readonly string[]): void;
  addResourceScope(resource: string, scope: string): void;
  save(): Promise<string>;
}

interface GrantClass {
  new (init: { accountId: string; clientId: string }): GrantInstance;
  find(id: string): Promise<GrantInstance | undefined>;
}

interface ProviderInstance {
  proxy: boolean;
  readonly Grant: GrantClass;
  callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
  interactionFinished(
    req: IncomingMessage,
    res: ServerResponse,
    result: Record<string, unknown>,
    options?: { mergeWithLastSubmission?: boolean },
  ): Promise<void>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

interface OidcProviderModule {
  readonly Provider: new (issuer: string, configuration: Record<string, unknown>) => ProviderInstance;
  readonly errors: { readonly InvalidTarget: new (description?: string) => Error };
}

/** The parts of oidc-provider's Koa context the callbacks below read. */
interface ProviderContext {
  readonly host: string;
  type: string;
  body: unknown;
  readonly oidc?: { readonly client?: { readonly clientId?: string } };
}

interface OidcClientView {
  readonly clientId: string;
  grantTypeAllowed(type: string): boolean;
}

// A string specifier keeps TypeScript from looking for declarations the package lacks.
const OIDC_PROVIDER = 'oidc-provider';

/**
 * oidc-provider prints an "unsupported runtime" warning when first imported on Node 20;
 * the dev system stays quiet unless asked, so the import runs with console.warn muted.
 */
async function loadOidcProvider(debug: boolean): Promise<OidcProviderModule> {
  const warn = console.warn;
  if (!debug) console.warn = () => {};
  try {
    return (await import(OIDC_PROVIDER)) as OidcProviderModule;
  } finally {
    console.warn = warn;
  }
}

/** Starts the dev IdMS; `close()` stops it and drops every session and token it held. */
export async function startIdms(o: IdmsOptions): Promise<Idms> {
  const host = o.host ?? '127.0.0.1';
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') {
    throw new RangeError('the dev IdMS binds to loopback only');
  }
  const ttl = o.accessTokenTtlSeconds ?? 300;
  if (!Number.isSafeInteger(ttl) || ttl <= 0) throw new RangeError('accessTokenTtlSeconds must be a positive integer');
  if (o.redirectUris.length === 0) throw new RangeError('at least one redirect URI is required');
  const usernames = new Set(o.users.map((u) => u.username));
  if (usernames.size !== o.users.length) throw new RangeError('duplicate usernames');

  const debug = o.debug === true || process.env['MCPTT_IDMS_DEBUG'] === '1';
  const log = (line: string): void => {
    if (debug) process.stderr.write(`[idms] ${line}\n`);
  };
  const { Provider, errors } = await loadOidcProvider(debug);

  // Listen first: the issuer URL carries the port, and oidc-provider needs it up front.
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const usersById = new Map(o.users.map((u) => [u.username, u]));
  const allowedOrigins = new Set(o.redirectUris.map((u) => new URL(u).origin));
  const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  const kid = createHash('sha256').update(JSON.stringify({ x: signingKey.x, y: signingKey.y })).digest('base64url').slice(0, 16);

  // Browsers key cookies by host, not port: several dev IdMSs on 127.0.0.1 must not share them.
  const cookiePrefix = `_idms${port}`;

  const configuration: Record<string, unknown> = {
    adapter: createMemoryAdapterFactory(),
    clients: [
      {
        client_id: o.clientId,
        application_type: 'web',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: [...o.redirectUris],
        post_logout_redirect_uris: [...(o.postLogoutRedirectUris ?? [])],
        id_token_signed_response_alg: 'ES256',
      },
    ],
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    jwks: { keys: [{ ...signingKey, kid, alg: 'ES256', use: 'sig' }] },
    cookies: {
      names: { session: `${cookiePrefix}_session`, interaction: `${cookiePrefix}_interaction`, resume: `${cookiePrefix}_resume` },
      keys: [randomBytes(32).toString('base64url')],
    },
    // Code flow only (B.3.1.1), public clients only: nothing else is advertised or accepted.
    responseTypes: ['code'],
    clientAuthMethods: ['none'],
    // The four MCPTT scopes are resource server scopes (see getResourceServerInfo below).
    scopes: ['openid'],
    // `mcptt_id` rides on the openid scope, so every MCPTT ID token has it (B.1.1.2).
    claims: { openid: ['sub', 'mcptt_id'], acr: null, auth_time: null, sid: null, iss: null },
    // Without this, claims of a code flow go to userinfo only; MCPTT wants them in the ID token.
    conformIdTokenClaims: false,
    acrValues: [MCPTT_ACR_PASSWORD],
    pkce: { required: () => true },
    async findAccount(_ctx: unknown, sub: string) {
      const user = usersById.get(sub);
      if (user === undefined) return undefined;
      return { accountId: sub, claims: async () => ({ sub, mcptt_id: user.mcpttId }) };
    },
    // B.1.2.2: the MCPTT ID in every access token, including the ones a refresh issues.
    async extraTokenClaims(_ctx: unknown, token: { accountId?: string }) {
      const user = token.accountId === undefined ? undefined : usersById.get(token.accountId);
      return user === undefined ? undefined : { mcptt_id: user.mcpttId };
    },
    // A public SPA client gets refresh tokens without offline_access (B.4); they rotate at
    // every use (oidc-provider's default for public clients) and die with the IdMS session.
    async issueRefreshToken(_ctx: unknown, client: OidcClientView) {
      return client.grantTypeAllowed('refresh_token');
    },
    clientBasedCORS(_ctx: unknown, origin: string, client: OidcClientView) {
      return client.clientId === o.clientId && allowedOrigins.has(origin);
    },
    ttl: {
      AccessToken: ttl,
      IdToken: ttl,
      AuthorizationCode: 60,
      Interaction: 600,
      Session: 8 * 3600,
      Grant: 8 * 3600,
      RefreshToken(ctx: { oidc?: { entities?: { RotatedRefreshToken?: { remainingTTL: number } } } }) {
        // Rotation must not extend a refresh token's life beyond the first one's.
        return ctx.oidc?.entities?.RotatedRefreshToken?.remainingTTL ?? 8 * 3600;
      },
    },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx: unknown, client: OidcClientView, token: { clientId?: string }) =>
          token.clientId === client.clientId,
      },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => MCPTT_ACCESS_TOKEN_AUDIENCE,
        useGrantedResource: async () => true,
        async getResourceServerInfo(_ctx: unknown, indicator: string) {
          if (indicator !== MCPTT_ACCESS_TOKEN_AUDIENCE) throw new errors.InvalidTarget();
          return {
            scope: MCPTT_RESOURCE_SCOPES.join(' '),
            audience: MCPTT_ACCESS_TOKEN_AUDIENCE,
            accessTokenTTL: ttl,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          };
        },
      },
    },
    renderError,
  };

  const provider = new Provider(issuer, configuration);
  provider.proxy = false;
  // A listener on 'error' also keeps Koa from printing errors itself.
  provider.on('error', (err) => log(`error: ${describe(err)}`));
  provider.on('server_error', (_ctx, err) => log(`server_error: ${describe(err)}`));
  const providerCallback = provider.callback();

  const interactions = createInteractionRoutes(provider, usersById, o.clientId, log);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const handled = path.startsWith('/interaction/') ? interactions(req, res, path) : providerCallback(req, res);
    handled.catch((err: unknown) => {
      log(`request failed: ${describe(err)}`);
      if (!res.headersSent) sendHtml(res, 500, page('Error', '<p role="alert">Internal error of the dev IdMS.</p>'));
      else res.destroy();
    });
  });

  let closed: Promise<void> | undefined;
  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    audience: MCPTT_ACCESS_TOKEN_AUDIENCE,
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

// --- Interactions: the login form (5.5.3.2 steps 3a/3b) and automatic first-party consent ---

type RouteHandler = (req: IncomingMessage, res: ServerResponse, path: string) => Promise<void>;

function createInteractionRoutes(
  provider: ProviderInstance,
  usersById: ReadonlyMap<string, DemoUser>,
  clientId: string,
  log: (line: string) => void,
): RouteHandler {
  return async (req, res, path) => {
    const m = /^\/interaction\/([A-Za-z0-9_-]+)(\/login|\/abort)?$/.exec(path);
    if (m === null) return sendHtml(res, 404, page('Not found', '<p role="alert">No such page.</p>'));
    const action = m[2] ?? '';
    let details: InteractionDetails;
    try {
      details = await provider.interactionDetails(req, res);
    } catch (err) {
      // Expired or foreign interaction (cookie missing): the user has to start again.
      log(`interaction lookup failed: ${describe(err)}`);
      return sendHtml(res, 400, page('Login expired', '<p role="alert">This login request has expired. Start the login again from the application.</p>'));
    }
    if (details.uid !== m[1]) return sendHtml(res, 400, page('Login expired', '<p role="alert">Unknown login request.</p>'));

    if (req.method === 'GET' && action === '') {
      if (details.prompt.name === 'login') return sendHtml(res, 200, loginPage(details.uid, undefined, undefined));
      if (details.prompt.name === 'consent') return grantConsent(provider, req, res, details, clientId);
      return sendHtml(res, 400, page('Unsupported', '<p role="alert">Unsupported interaction.</p>'));
    }
    if (req.method === 'POST' && action === '/login') {
      if (details.prompt.name !== 'login') return sendHtml(res, 400, page('Unexpected', '<p role="alert">No login expected here.</p>'));
      const form = await readForm(req);
      const username = form.get('username') ?? '';
      const user = usersById.get(username);
      // Hash both sides so the comparison takes the same time whatever the lengths.
      const given = createHash('sha256').update(form.get('password') ?? '').digest();
      const expected = createHash('sha256').update(user?.password ?? randomBytes(16).toString('hex')).digest();
      if (user === undefined || !timingSafeEqual(given, expected)) {
        return sendHtml(res, 200, loginPage(details.uid, username, 'Wrong username or password.'));
      }
      return provider.interactionFinished(
        req,
        res,
        { login: { accountId: user.username, acr: MCPTT_ACR_PASSWORD, amr: ['pwd'] } },
        { mergeWithLastSubmission: false },
      );
    }
    if (req.method === 'POST' && action === '/abort') {
      await readForm(req);
      return provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'The user cancelled the login.' },
        { mergeWithLastSubmission: false },
      );
    }
    return sendHtml(res, 405, page('Not allowed', '<p role="alert">Method not allowed.</p>'));
  };
}

/** The demo client is first-party: everything it asks for is granted without a consent page. */
async function grantConsent(
  provider: ProviderInstance,
  req: IncomingMessage,
  res: ServerResponse,
  details: InteractionDetails,
  clientId: string,
): Promise<void> {
  const accountId = details.session?.accountId;
  if (details.params['client_id'] !== clientId || accountId === undefined) {
    return sendHtml(res, 400, page('Unexpected', '<p role="alert">Unknown client.</p>'));
  }
  const existing = details.grantId === undefined ? undefined : await provider.Grant.find(details.grantId);
  const grant = existing ?? new provider.Grant({ accountId, clientId });
  const pd = details.prompt.details;
  const missingScope = pd['missingOIDCScope'];
  if (Array.isArray(missingScope)) grant.addOIDCScope(missingScope.join(' '));
  const missingClaims = pd['missingOIDCClaims'];
  if (Array.isArray(missingClaims)) grant.addOIDCClaims(missingClaims.filter((c): c is string => typeof c === 'string'));
  const missingResource = pd['missingResourceScopes'];
  if (missingResource !== null && typeof missingResource === 'object') {
    for (const [indicator, scopes] of Object.entries(missingResource)) {
      if (Array.isArray(scopes)) grant.addResourceScope(indicator, scopes.join(' '));
    }
  }
  const grantId = await grant.save();
  return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

const MAX_FORM_BYTES = 8 * 1024;

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_FORM_BYTES) throw new RangeError('form too large');
    chunks.push(buf);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

// --- Pages ---

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · MCPTT IdM server (dev)</title>
<style>
body{font-family:system-ui,sans-serif;max-width:22rem;margin:3rem auto;padding:0 1rem}
label{display:block;margin:.75rem 0 .25rem}input{width:100%;padding:.4rem;box-sizing:border-box}
button{margin-top:1rem;padding:.5rem 1rem}[role=alert]{color:#a00}
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>`;
}

function loginPage(uid: string, username: string | undefined, error: string | undefined): string {
  const base = `/interaction/${encodeURIComponent(uid)}`;
  return page(
    'MCPTT login',
    `${error === undefined ? '' : `<p role="alert">${escapeHtml(error)}</p>`}
<form method="post" action="${base}/login" autocomplete="off">
<label for="username">Username</label>
<input id="username" name="username" required autofocus value="${escapeHtml(username ?? '')}">
<label for="password">Password</label>
<input id="password" name="password" type="password" required>
<button type="submit">Sign in</button>
</form>
<form method="post" action="${base}/abort"><button type="submit">Cancel</button></form>`,
  );
}

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    // The form must not be framed (clickjacking); it loads nothing from elsewhere.
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    'x-content-type-options': 'nosniff',
  });
  res.end(html);
}

// The client is first-party: its logout request needs no "are you sure?" page.
async function logoutSource(ctx: ProviderContext, form: string): Promise<void> {
  ctx.type = 'html';
  ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Signing out</title></head>
<body>${form.replace('</form>', '<input type="hidden" name="logout" value="yes"></form>')}
<p>Signing out…</p><noscript><button type="submit" form="op.logoutForm">Continue</button></noscript>
<script>document.forms[0].submit()</script></body></html>`;
}

async function postLogoutSuccessSource(ctx: ProviderContext): Promise<void> {
  ctx.type = 'html';
  ctx.body = page('Signed out', '<p role="status">You are signed out of the MCPTT IdM server.</p>');
}

async function renderError(ctx: ProviderContext, out: Record<string, unknown>): Promise<void> {
  ctx.type = 'html';
  const rows = Object.entries(out)
    .map(([k, v]) => `<p><strong>${escapeHtml(k)}</strong>: ${escapeHtml(String(v))}</p>`)
    .join('');
  ctx.body = page('Login error', `<div role="alert">${rows}</div>`);
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

// --- Storage: per instance, in memory (oidc-provider's own one is module-global and warns) ---

interface Entry {
  readonly payload: Record<string, unknown>;
  readonly expiresAt: number;
}

interface StoreAdapter {
  upsert(id: string, payload: Record<string, unknown>, expiresIn?: number): Promise<void>;
  find(id: string): Promise<Record<string, unknown> | undefined>;
  findByUid(uid: string): Promise<Record<string, unknown> | undefined>;
  findByUserCode(code: string): Promise<Record<string, unknown> | undefined>;
  consume(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
}

/** Models whose entries belong to a grant, so that revoking the grant removes them. */
const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);

function createMemoryAdapterFactory(): (model: string) => StoreAdapter {
  const entries = new Map<string, Entry>();
  const byGrant = new Map<string, Set<string>>();
  const sessionByUid = new Map<string, string>();
  const byUserCode = new Map<string, string>();

  const live = (key: string): Record<string, unknown> | undefined => {
    const e = entries.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAt <= Date.now()) {
      entries.delete(key);
      return undefined;
    }
    return e.payload;
  };

  return (model) => {
    const keyOf = (id: string): string => `${model}:${id}`;
    return {
      async upsert(id, payload, expiresIn) {
        const key = keyOf(id);
        const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Number.POSITIVE_INFINITY;
        entries.set(key, { payload, expiresAt });
        if (model === 'Session' && typeof payload['uid'] === 'string') sessionByUid.set(payload['uid'], id);
        if (typeof payload['userCode'] === 'string') byUserCode.set(payload['userCode'], id);
        const grantId = payload['grantId'];
        if (GRANTABLE.has(model) && typeof grantId === 'string') {
          const members = byGrant.get(grantId) ?? new Set<string>();
          members.add(key);
          byGrant.set(grantId, members);
        }
      },
      async find(id) {
        return live(keyOf(id));
      },
      async findByUid(uid) {
        const id = sessionByUid.get(uid);
        return id === undefined ? undefined : live(keyOf(id));
      },
      async findByUserCode(code) {
        const id = byUserCode.get(code);
        return id === undefined ? undefined : live(keyOf(id));
      },
      async consume(id) {
        const payload = live(keyOf(id));
        if (payload !== undefined) payload['consumed'] = Math.floor(Date.now() / 1000);
      },
      async destroy(id) {
        entries.delete(keyOf(id));
      },
      async revokeByGrantId(grantId) {
        for (const key of byGrant.get(grantId) ?? []) entries.delete(key);
        byGrant.delete(grantId);
      },
    };
  };
}
