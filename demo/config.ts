/**
 * Where the demo page finds the dev MCPTT system: `?devstack=<JSON>` (tests), else what an
 * earlier load of this tab saw (the OIDC redirect drops the query), else
 * `demo/.devstack.json` written by `npm run devstack`.
 */
export interface DemoUserConfig {
  readonly username: string;
  readonly mcpttId: string;
  readonly displayName: string;
  readonly transportKey?: { readonly id: string; readonly keyHex: string };
}

export interface DemoConfig {
  readonly idms: string;
  readonly kms: string;
  readonly kmsUri: string;
  readonly kmsSecurity: 'on' | 'off';
  readonly clientId: string;
  readonly users: readonly DemoUserConfig[];
  readonly serverIdentities: { readonly gms: string; readonly mdsi: string };
  /** With the SIP part of the dev system running. */
  readonly sip?: string;
  readonly mcpttServer?: string;
  readonly gms?: string;
  readonly groups?: readonly { readonly groupId: string; readonly displayName: string; readonly members: readonly string[] }[];
  /** The MCPTT server requires TS 33.179 9.3 protection: connect with `xmlProtection: true`. */
  readonly xmlProtection?: boolean;
}

const KEY = 'mcptt.demo.devstack';

export async function loadDemoConfig(): Promise<DemoConfig> {
  const param = new URLSearchParams(location.search).get('devstack');
  if (param !== null) {
    sessionStorage.setItem(KEY, param);
    history.replaceState(null, '', location.pathname);
    return JSON.parse(param) as DemoConfig;
  }
  const saved = sessionStorage.getItem(KEY);
  if (saved !== null) return JSON.parse(saved) as DemoConfig;
  const res = await fetch(new URL('./.devstack.json', location.href));
  if (!res.ok) throw new Error('the dev system is not running: start it with `npm run demo`');
  return (await res.json()) as DemoConfig;
}
