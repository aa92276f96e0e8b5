/**
 * The group configuration pull of TS 33.179 5.6.1 step C-5 (TS 23.179 10.1.2 "Retrieve group
 * configurations at the group management client"): the GM client presents the access token
 * (Annex B.5, scope 3gpp:mcptt:group_management_server) and the GMS answers with the user's
 * groups and, per 7.3.2, their GMK I_MESSAGEs.
 *
 *   GET {gmsUrl}/gms/v1/groups          Authorization: Bearer <token>
 *   200 application/json  { "groups": [ { "groupId": "sip:…", "displayName": "…",
 *                                         "iMessages": ["<base64 I_MESSAGE>", …] } ] }
 *
 * The document is this project's (TS 24.481 would embed the keys in the group document);
 * it is read strictly and with bounds, because it comes from the network. The keys it holds
 * are checked by the same MIKEY processing as a SIP notification (group-keys.ts).
 */
import { decodeBase64Strict } from '../../codec/sdp-key-mgmt.js';
import { SignallingError } from './errors.js';

export interface GroupConfiguration {
  readonly groupId: string;
  readonly displayName: string;
  readonly iMessages: readonly Uint8Array[];
}

export interface FetchGroupConfigurationsOptions {
  /** Base URL of the GMS (`https://…`, or `http://` on loopback). */
  readonly gmsUrl: string;
  readonly accessToken: string;
  readonly fetch?: typeof fetch;
  /** Default 10 s. */
  readonly timeoutMs?: number;
}

export const GROUP_CONFIGURATION_PATH = '/gms/v1/groups';
const MAX_BYTES = 1024 * 1024;
const MAX_GROUPS = 256;
// One notification body holds at most 15 I_MESSAGEs (sip-bodies.ts, 16 parts); same bound.
const MAX_MESSAGES_PER_GROUP = 15;
const MAX_MESSAGE_BASE64 = 16 * 1024;
const MAX_TEXT = 512;
const GROUP_ID = /^sips?:[^\s<>"]+$/;

function malformed(why: string, cause?: unknown): SignallingError {
  return new SignallingError('ERR_GMS_MALFORMED', `group configuration document: ${why}`, cause === undefined ? undefined : { cause });
}

/** The GMS endpoint for a base URL; only https, or http on a loopback host. */
export function groupConfigurationUrl(gmsUrl: string): string {
  let u: URL;
  try {
    u = new URL(gmsUrl);
  } catch (e) {
    throw new TypeError('gmsUrl is not a URL', { cause: e });
  }
  const loopback = u.hostname === 'localhost' || u.hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(u.hostname);
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && loopback)) throw new TypeError('gmsUrl must be https (http only on loopback)');
  if (u.search !== '' || u.hash !== '' || u.username !== '' || u.password !== '') throw new TypeError('gmsUrl must be a plain base URL');
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}${GROUP_CONFIGURATION_PATH}`;
}

function readGroup(g: unknown, i: number): GroupConfiguration {
  if (g === null || typeof g !== 'object' || Array.isArray(g)) throw malformed(`group ${i} is not an object`);
  const { groupId, displayName, iMessages } = g as Record<string, unknown>;
  if (typeof groupId !== 'string' || groupId.length > MAX_TEXT || !GROUP_ID.test(groupId)) throw malformed(`group ${i} has no valid groupId`);
  if (displayName !== undefined && (typeof displayName !== 'string' || displayName.length > MAX_TEXT)) throw malformed(`group ${i} has an invalid displayName`);
  if (!Array.isArray(iMessages) || iMessages.length === 0 || iMessages.length > MAX_MESSAGES_PER_GROUP) {
    throw malformed(`group ${i} needs 1 to ${MAX_MESSAGES_PER_GROUP} iMessages`);
  }
  const messages = iMessages.map((m, j) => {
    if (typeof m !== 'string' || m.length === 0 || m.length > MAX_MESSAGE_BASE64) throw malformed(`group ${i} message ${j} is not a base64 string`);
    try {
      return decodeBase64Strict(m);
    } catch (e) {
      throw malformed(`group ${i} message ${j} is not canonical base64`, e);
    }
  });
  return { groupId, displayName: displayName ?? '', iMessages: messages };
}

/** Parses the GMS answer (exported for tests and for servers checking what they serve). */
export function parseGroupConfigurations(text: string): GroupConfiguration[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw malformed('not JSON', e);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw malformed('not an object');
  const groups = (doc as { groups?: unknown }).groups;
  if (!Array.isArray(groups) || groups.length > MAX_GROUPS) throw malformed(`"groups" must be a list of at most ${MAX_GROUPS}`);
  const out = groups.map(readGroup);
  if (new Set(out.map((g) => g.groupId)).size !== out.length) throw malformed('a group is listed twice');
  return out;
}

/** Fetches the user's group configurations with their GMK I_MESSAGEs. */
export async function fetchGroupConfigurations(o: FetchGroupConfigurationsOptions): Promise<GroupConfiguration[]> {
  const url = groupConfigurationUrl(o.gmsUrl);
  if (typeof o.accessToken !== 'string' || o.accessToken.length === 0 || /[\s]/.test(o.accessToken)) throw new TypeError('accessToken must be a bearer token');
  const f = o.fetch ?? globalThis.fetch;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), o.timeoutMs ?? 10_000);
  try {
    let res: Response;
    try {
      res = await f(url, {
        method: 'GET',
        headers: { authorization: `Bearer ${o.accessToken}`, accept: 'application/json' },
        signal: abort.signal,
        credentials: 'omit',
        redirect: 'error',
        cache: 'no-store',
      });
    } catch (e) {
      throw new SignallingError('ERR_GMS_UNREACHABLE', 'the GMS could not be reached', { cause: e });
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw new SignallingError('ERR_GMS_HTTP', `the GMS answered ${res.status}`, { httpStatus: res.status });
    }
    const type = (res.headers.get('content-type') ?? '').split(';', 1)[0]!.trim().toLowerCase();
    if (type !== 'application/json') {
      await res.body?.cancel().catch(() => {});
      throw malformed(`content type ${type || '(none)'} instead of application/json`);
    }
    const declared = Number(res.headers.get('content-length') ?? '0');
    if (declared > MAX_BYTES) {
      await res.body?.cancel().catch(() => {});
      throw malformed(`larger than ${MAX_BYTES} bytes`);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (e) {
      throw new SignallingError('ERR_GMS_UNREACHABLE', 'the GMS answer was cut off', { cause: e });
    }
    if (text.length > MAX_BYTES) throw malformed(`larger than ${MAX_BYTES} bytes`);
    return parseGroupConfigurations(text);
  } finally {
    clearTimeout(timer);
  }
}
