/**
 * Test page of the IdM client (TS 33.179 5.5.3, Annex B): logs in against the dev IdMS
 * given as `?idms=<issuer>`, by redirect or popup, and hands the session to the Playwright
 * test through `window.mcpttLogin`. The DOM shows only non-secret status: the access token
 * and the MCPTT ID never reach it.
 */
import { createMcpttAuth, type McpttAuth, type McpttSession } from '../../src/platform/auth/index.js';
import { isMcpttError } from '../../src/errors.js';

export interface LoginPageApi {
  /** Settles once the page has handled its URL (callback or restore). */
  readonly ready: Promise<void>;
  session(): Promise<McpttSession | undefined>;
  accessToken(): Promise<string>;
  /** 'session' for each session event, 'ended:<reason>' for each end. */
  readonly events: readonly string[];
  /** The error code of the last failed action, if any. */
  readonly lastError: string | undefined;
}

declare global {
  interface Window {
    mcpttLogin?: LoginPageApi;
  }
}

// The redirect back from the IdMS drops `?idms=`: the issuer (not a secret) waits in
// sessionStorage, which a login popup inherits from this tab.
const IDMS_KEY = 'login-page.idms';
const CLIENT_ID = 'mcptt-demo';

const params = new URLSearchParams(location.search);
const fromQuery = params.get('idms');
if (fromQuery !== null) sessionStorage.setItem(IDMS_KEY, fromQuery);
const authority = fromQuery ?? sessionStorage.getItem(IDMS_KEY);
const pageUri = `${location.origin}${location.pathname}`;

const el = (id: string): HTMLElement => {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`missing #${id}`);
  return e;
};
const status = el('status');
const detail = el('detail');
const buttons = ['login', 'login-popup', 'logout', 'logout-idms'].map((id) => el(id) as HTMLButtonElement);
const [loginButton, popupButton, logoutButton, logoutIdmsButton] = buttons;

function render(s: McpttSession | undefined, note = ''): void {
  status.textContent = s === undefined ? 'Signed out' : 'Signed in';
  detail.textContent = s === undefined ? note : `${s.scopes.length} scopes; token valid for ${Math.round((s.expiresAt - Date.now()) / 1000)} s`;
  loginButton?.toggleAttribute('disabled', s !== undefined);
  popupButton?.toggleAttribute('disabled', s !== undefined);
  logoutButton?.toggleAttribute('disabled', s === undefined);
  logoutIdmsButton?.toggleAttribute('disabled', s === undefined);
}

function describe(err: unknown): string {
  return isMcpttError(err) ? err.code : 'unexpected error';
}

const events: string[] = [];
let lastError: string | undefined;

function start(auth: McpttAuth): Promise<void> {
  auth.on('session', (s) => {
    events.push('session');
    render(s);
  });
  auth.on('ended', (reason) => {
    events.push(`ended:${reason}`);
    render(undefined, `session ended (${reason})`);
  });
  const fail = (err: unknown): void => {
    lastError = describe(err);
    status.textContent = `Error: ${lastError}`;
  };
  loginButton?.addEventListener('click', () => void auth.login('redirect').catch(fail));
  popupButton?.addEventListener('click', () => void auth.login('popup').catch(fail));
  logoutButton?.addEventListener('click', () => void auth.logout().catch(fail));
  logoutIdmsButton?.addEventListener('click', () => void auth.logout({ redirect: true }).catch(fail));

  if (params.has('state') && (params.has('code') || params.has('error'))) {
    return auth.completeLogin(location.href).then(
      (s) => {
        // The code is single-use: a reload must not replay it.
        history.replaceState(null, '', pageUri);
        render(s);
      },
      (err: unknown) => {
        history.replaceState(null, '', pageUri);
        render(undefined);
        fail(err);
      },
    );
  }
  return auth.session().then((s) => render(s), fail);
}

if (authority === null) {
  status.textContent = 'No IdMS given (?idms=)';
} else {
  const auth = createMcpttAuth({ authority, clientId: CLIENT_ID, redirectUri: pageUri, postLogoutRedirectUri: pageUri });
  window.mcpttLogin = {
    ready: start(auth),
    session: () => auth.session(),
    accessToken: () => auth.accessToken(),
    events,
    get lastError() {
      return lastError;
    },
  };
}
