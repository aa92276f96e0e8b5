/**
 * The dev MCPTT system's fixed configuration: demo users, the OIDC client, the KMS and the
 * server identities. Dev only: these passwords exist to be typed into a local login form.
 */
export interface DemoUser {
  readonly username: string;
  readonly password: string;
  /** MCPTT ID (TS 23.179): the identity keys are issued for. */
  readonly mcpttId: string;
  readonly displayName: string;
}

export const DEMO_USERS: readonly DemoUser[] = Object.freeze([
  { username: 'alice', password: 'alice-pass', mcpttId: 'sip:alice@mcptt.example', displayName: 'Alice (field)' },
  { username: 'bob', password: 'bob-pass', mcpttId: 'sip:bob@mcptt.example', displayName: 'Bob (field)' },
  { username: 'carol', password: 'carol-pass', mcpttId: 'sip:carol@mcptt.example', displayName: 'Carol (field)' },
  { username: 'dispatch', password: 'dispatch-pass', mcpttId: 'sip:dispatch@mcptt.example', displayName: 'Dispatcher' },
  // In no group: the outsider a compromised server could admit to a group call's media
  // (RunningMcpttServer.admitToMedia), to show she receives frames she cannot decrypt.
  { username: 'eve', password: 'eve-pass', mcpttId: 'sip:eve@mcptt.example', displayName: 'Eve (outsider)' },
]);

/** The public PKCE client of the demo page and the tests. */
export const DEV_CLIENT_ID = 'mcptt-demo';

/** TS 33.179 Annex B scopes. */
export const MCPTT_SCOPES = Object.freeze([
  'openid',
  '3gpp:mcptt:ptt_server',
  '3gpp:mcptt:key_management_server',
  '3gpp:mcptt:config_management_server',
  '3gpp:mcptt:group_management_server',
]);

/** The KMS URI that goes into every UID (F.2.1) and into IDRkms payloads. */
export const DEV_KMS_URI = 'kms.mcptt.example';

/** Server identities provisioned by the KMS like users (TS 33.179 7.3.5.1, 9.1.3.1). */
export const SERVER_IDENTITIES = Object.freeze({
  /** The group management server: signs GMK distributions. */
  gms: 'sip:gms@mcptt.example',
  /** The MCPTT domain security identifier: receives CSKs. */
  mdsi: 'sip:mcptt-server@mcptt.example',
});

/** Key period of the dev KMS: one day, so period changes can be exercised. */
export const DEV_USER_KEY_PERIOD = 86_400;
export const DEV_USER_KEY_OFFSET = 0;

/** SIP domain of the dev system (Kamailio serves it). */
export const DEV_SIP_DOMAIN = 'mcptt.example';

/** The MCPTT server's SIP address; it is also the MDSI that receives CSKs (9.1.3.1). */
export const MCPTT_SERVER_URI = SERVER_IDENTITIES.mdsi;

export interface DemoGroup {
  /** MCPTT group ID, also the group's PSI. */
  readonly groupId: string;
  readonly displayName: string;
  readonly members: readonly string[];
}

/** Talk groups of the dev GMS. The dispatcher monitors all of them. */
export const DEMO_GROUPS: readonly DemoGroup[] = Object.freeze([
  { groupId: 'sip:fire-ops@mcptt.example', displayName: 'Fire ops', members: ['sip:alice@mcptt.example', 'sip:bob@mcptt.example', 'sip:carol@mcptt.example', 'sip:dispatch@mcptt.example'] },
  { groupId: 'sip:ems@mcptt.example', displayName: 'EMS', members: ['sip:bob@mcptt.example', 'sip:dispatch@mcptt.example'] },
  { groupId: 'sip:police@mcptt.example', displayName: 'Police', members: ['sip:carol@mcptt.example', 'sip:dispatch@mcptt.example'] },
]);

/** N more groups with the dispatcher as the only member (`sip:monitor-<i>@mcptt.example`): a dispatcher console at scale. */
export function dispatcherGroups(n: number): DemoGroup[] {
  return Array.from({ length: n }, (_, i) => ({ groupId: `sip:monitor-${i + 1}@mcptt.example`, displayName: `Monitor ${i + 1}`, members: ['sip:dispatch@mcptt.example'] }));
}
