/**
 * The dev MCPTT server and group management server (ARCHITECTURE.md, "The dev MCPTT
 * system"), one Node process:
 *
 * - SIP (./sip-endpoint.ts): registers the server URI (= the MDSI), the GMS URI and every
 *   group PSI with the SIP core over WebSocket, and receives the third-party REGISTER that
 *   the core repeats from a user's REGISTER (TS 33.179 5.6.2.1 step 9). It authorizes the
 *   user from the access token, binds the SIP identity to the MCPTT ID and takes the CSK
 *   (9.1.3) — ./service-authorization.ts — then answers 200, 400 or 403. Expires 0 unbinds.
 *   The same checks serve a PUBLISH to the server URI (5.6.2.2, `Event: poc.settings`,
 *   RFC 3903 entity-tags; the publisher is the From user); its removal unbinds.
 * - GMS (./gms.ts): one GMK per group with the RFC 5275 lifecycle; GMKs go out as SIP
 *   MESSAGE requests From the GMS URI to each member (7.3.2 "Notify group configuration"),
 *   one request per group carrying that member's I_MESSAGE; the member's final status is
 *   recorded (the SDK answers 200 only after it accepted and stored every key).
 * - HTTP (./http-api.ts): the group configuration pull of 5.6.1 step C-5 and dev-only
 *   admin endpoints (add/remove member, rekey, revoke).
 * - Group calls (./group-calls.ts): a member's INVITE to the server URI joins the group
 *   named in its mcpttinfo; a werift peer connection per member (./media-leg.ts) and, per
 *   call, a media focus (./media-focus.ts) that forwards only the floor holder's encrypted
 *   frames and one floor arbitrator (TS 24.380 6.3) on each member's `mcptt-floor` channel.
 *
 * Who is notified: members with a live service authorization (default), because only they
 * have a SIP binding the core could deliver to; the others get the GMK in force when they
 * next authorize, or pull it over HTTP. Per member and group the server remembers which GMK
 * the member acknowledged with 200 under its current binding, so a registration refresh
 * sends only what the member is missing.
 *
 * XML protection (`xmlProtection`, TS 33.179 9.1.3.3, 9.3): 'required' (the demo) refuses
 * clear service authorization bodies with 403 and binds the opaque SIP identity of a
 * protected one to the MCPTT ID from the decrypted token; GMK notifications then carry the
 * group ID encrypted and signed under the member's CSK, the I_MESSAGEs name GMS and member by
 * UID only (E.7), and the group PSIs are not registered with the SIP core (the group IDs
 * would be in clear in those REGISTERs). 'optional' reads both forms; 'off' (default) only
 * clear ones. Every refusal is kept with its reason (`refusals()`).
 *
 * Silent unless `debug` is given; even then lines carry counts and statuses, never keys,
 * tokens, MCPTT IDs or group IDs.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Core } from 'sip.js';

import { buildGmkNotificationBody, buildMcpttInfoXml, parseMcpttInfoXml } from '../../../src/codec/sip-bodies.js';
import { buildGmkNotificationBodyXml, cskByIdLookup, protectMcpttInfo, unprotectMcpttInfo } from '../../../src/codec/xml-protect/index.js';
import { encodeBase64 } from '../../../src/codec/sdp-key-mgmt.js';
import {
  createMemoryReplayCache,
  createMikeyKeyReceiver,
  type KmsPublicParameters,
  type LocalIdentity,
  type PeriodKeys,
  type ReceivedKey,
  uidOf,
} from '../../../src/keys/index.js';
import { bytesToHex } from '../../../src/util/bytes.js';
import { createGroupKeyManager, type GroupKey, type GroupKeyManager } from './gms.js';
import { GroupCalls, type CallFloorFactory, type CallerBinding, type GroupCallSummary } from './group-calls.js';
import { createGmsHttpHandler, type GroupConfiguration } from './http-api.js';
import { createSipEndpoint, type SipEndpoint } from './sip-endpoint.js';
import { serverFloor } from './floor.js';
import { normalizeSipUri, plainSipUri, randomToken, type OutgoingResponse } from './sip-message.js';
import { PTT_SERVER_SCOPE, authorizeService, type ServiceAuthorizationFailure, type XmlProtectionMode } from './service-authorization.js';

export { GMS_SCOPE } from './http-api.js';
export type { GroupConfiguration } from './http-api.js';
export { PTT_SERVER_SCOPE } from './service-authorization.js';
export type { ServiceAuthorizationFailure, XmlProtectionMode } from './service-authorization.js';
export { DEFAULT_REKEY_ACTIVATION_DELAY_MS, GmsError, createGroupKeyManager } from './gms.js';
export type { GmsErrorCode, GroupDefinition, GroupKey, GroupKeyManager, GroupKeyManagerOptions, IMessageOptions } from './gms.js';
export { createSipEndpoint } from './sip-endpoint.js';
export { GroupCalls, readPlainMcpttInfo } from './group-calls.js';
export type { CallFloor, CallFloorFactory, CallerBinding, GroupCallSummary, GroupCallsOptions } from './group-calls.js';
export type { MediaFocusCounters } from './media-focus.js';
export { FLOOR_CHANNEL_LABEL } from './media-leg.js';
export type { SipEndpoint, SipEndpointOptions, SipEndpointState, SipRequestInit, SipRequestResult } from './sip-endpoint.js';

export interface McpttServerGroup {
  readonly groupId: string;
  readonly displayName?: string;
  readonly members: readonly string[];
}

export interface McpttServerOptions {
  /** `ws://…` of the SIP core (Kamailio). */
  readonly sipWsUrl: string;
  /** The SIP domain the core serves. */
  readonly domain: string;
  /** The MCPTT server's SIP URI; also the MDSI that CSKs are encrypted to (9.1.3.1). */
  readonly serverUri: string;
  /** The GMS identity: signs GMKs (7.3.1) and is the From of GMK notifications. */
  readonly gmsUri: string;
  readonly kmsParams: KmsPublicParameters;
  /** Key material of the server's own identities (MDSI, GMS), e.g. the dev KMS's `issue`. */
  readonly keysFor: (identity: string, keyPeriodNo: number) => PeriodKeys;
  readonly verifyToken: (authorization: string | undefined, requiredScope: string) => Promise<{ readonly mcpttId: string }>;
  readonly groups: readonly McpttServerGroup[];
  readonly http?: { readonly host?: string; readonly port?: number; readonly corsOrigins?: readonly string[] };
  /** Periodic GMK refresh (a rekey of every keyed group), ms; default off. */
  readonly refreshIntervalMs?: number;
  /** Delay before a replacing GMK becomes active, ms (default 5 s). */
  readonly rekeyActivationDelayMs?: number;
  /**
   * Whom group operations notify: members with a live service authorization (default), or
   * every member, registered or not (benchmarks; unregistered ones get 404 from the core).
   */
  readonly deliverTo?: 'authorized' | 'all-members';
  /** Longest wait for a member's answer to a GMK notification, ms (default 10 s). */
  readonly requestTimeoutMs?: number;
  /** Unix ms; default Date.now. */
  readonly now?: () => number;
  /**
   * The floor arbitrator of each group call (TS 24.380 6.3). Default: src/floor's arbitrator
   * with each member's CSK for the floor channel's protection.
   */
  readonly floor?: CallFloorFactory;
  /** Group calls: how many forwarded payloads each call keeps for `forwardedPayloads` (default 2000). */
  readonly forwardedRecordLimit?: number;
  /** Extra ICE host addresses of the media focus (default `['127.0.0.1']`). */
  readonly iceAdditionalHostAddresses?: readonly string[];
  readonly debug?: (line: string) => void;
  /** TS 33.179 9.3 protection of sensitive signalling (see the header); default 'off'. */
  readonly xmlProtection?: XmlProtectionMode;
  /** MCPTT IDs of the user directory (hidden CSK initiators are resolved against it); default every group member. */
  readonly users?: readonly string[];
}

/** A refused service authorization: the category and, for 9.3, the XmlProtectError code. Never an identity. */
export interface AuthorizationRefusal {
  readonly what: string;
  readonly status: number;
  readonly failure: ServiceAuthorizationFailure | 'aor-taken';
  readonly code: string | undefined;
}

/** One GMK notification and the member's final answer (408: none in time, 503: not sent). */
export interface GmkNotificationRecord {
  readonly to: string;
  readonly groupId: string;
  readonly gmkId: Uint8Array;
  readonly revoked: boolean;
  readonly status: number;
}

export interface RunningMcpttServer {
  /** `http://127.0.0.1:<port>` of the GMS HTTP API. */
  readonly httpUrl: string;
  close(): Promise<void>;
  /** RFC 5275 4.3: adds a member and sends it the GMK in force. */
  addMember(groupId: string, mcpttId: string): Promise<void>;
  /** RFC 5275 4.4 (closed list): removes a member and sends a new GMK to the remaining members. */
  removeMember(groupId: string, mcpttId: string): Promise<void>;
  /** RFC 5275 4.5: a new GMK for every member. */
  rekey(groupId: string): Promise<void>;
  /** TS 33.179 7.3.2 revocation: the GMK in force goes out again with Status revoked. */
  revoke(groupId: string): Promise<void>;
  /** MCPTT IDs with a live service authorization. */
  authorizedUsers(): readonly string[];
  currentGmkId(groupId: string): Uint8Array | undefined;
  /** Every GMK notification sent so far, in the order the answers came. */
  sent(): readonly GmkNotificationRecord[];
  /** Group calls with at least one participant: group ID, participants, floor holder, counters. */
  groupCalls(): readonly GroupCallSummary[];
  /**
   * The last payloads (up to `forwardedRecordLimit`) the server forwarded in the group's
   * current call, or its last ended call: the proof that it only ever saw ciphertext.
   */
  forwardedPayloads(groupId: string): Uint8Array[];
  /** Test-only: what a compromised server could do — let a non-member join the group's media. */
  admitToMedia(groupId: string, mcpttId: string): void;
  /** Every refused service authorization so far. */
  refusals(): readonly AuthorizationRefusal[];
  /** The SIP identity (AOR) of the user's live binding, opaque under XML protection. */
  aorOf(mcpttId: string): string | undefined;
}

interface Binding {
  readonly mcpttId: string;
  /** The registered IMPU (the To of the third-party REGISTER), plain `sip:user@host`. */
  readonly impu: string;
  expiresAt: number;
  csk: { readonly message: Uint8Array; readonly key: ReceivedKey } | undefined;
  /** The CSK before the last renewal: floor packets under it may still be on their way. */
  previousCsk: ReceivedKey | undefined;
  /** The authorization was 9.3-protected: everything sent to this binding is protected too. */
  protected: boolean;
  /** Group → tag of the GMK the member acknowledged (200) under this binding. */
  readonly delivered: Map<string, string>;
  /** Group → tag of the GMK on its way to the member (not to be sent twice at once). */
  readonly inFlight: Map<string, string>;
}

interface Notification {
  readonly to: string;
  readonly key: GroupKey;
  readonly message: Uint8Array;
  readonly revoked: boolean;
}

/** The Event package of the service authorization PUBLISH (TS 24.379: MCPTT service settings). */
export const PUBLISH_EVENT = 'poc.settings';
const PUBLISH_DEFAULT_EXPIRES = 600;
const PUBLISH_MIN_EXPIRES = 30;
const PUBLISH_MAX_EXPIRES = 3600;

const LOOPBACK = /^(?:127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|::1)$/;

const keyTag = (k: GroupKey, revoked: boolean): string => `${bytesToHex(k.keyId)}${revoked ? ':revoked' : ''}`;

function identityOf(uri: string, kms: KmsPublicParameters, keysFor: McpttServerOptions['keysFor']): LocalIdentity {
  return {
    uri,
    kms,
    keysForPeriod: (n) => {
      try {
        return keysFor(uri, n);
      } catch {
        return undefined;
      }
    },
  };
}

function checkOptions(o: McpttServerOptions): void {
  if (o === null || typeof o !== 'object') throw new TypeError('options must be an object');
  for (const [name, v] of [
    ['serverUri', o.serverUri],
    ['gmsUri', o.gmsUri],
  ] as const) {
    if (normalizeSipUri(v) !== v) throw new TypeError(`${name} must be a plain sip:user@host URI`);
  }
  if (typeof o.domain !== 'string' || !/^[A-Za-z0-9.-]{1,253}$/.test(o.domain)) throw new TypeError('domain must be a host name');
  if (typeof o.keysFor !== 'function' || typeof o.verifyToken !== 'function') throw new TypeError('keysFor and verifyToken must be functions');
  if (o.http?.host !== undefined && !LOOPBACK.test(o.http.host)) throw new RangeError('the dev MCPTT server binds to loopback only');
  if (o.refreshIntervalMs !== undefined && (!Number.isSafeInteger(o.refreshIntervalMs) || o.refreshIntervalMs < 1_000)) {
    throw new RangeError('refreshIntervalMs must be an integer ≥ 1000');
  }
}

/** Starts the server: keys for every group, SIP registration, HTTP listener. */
export async function startMcpttServer(o: McpttServerOptions): Promise<RunningMcpttServer> {
  checkOptions(o);
  const now = o.now ?? Date.now;
  const debug = o.debug;
  const log = (line: string): void => {
    try {
      debug?.(line);
    } catch {
      /* a logger must not break the server */
    }
  };
  const deliverTo = o.deliverTo ?? 'authorized';
  const serverUri = o.serverUri;
  const gmsUri = o.gmsUri;

  const gms: GroupKeyManager = createGroupKeyManager({
    gms: identityOf(gmsUri, o.kmsParams, o.keysFor),
    memberKms: o.kmsParams,
    groups: o.groups,
    now,
    ...(o.rekeyActivationDelayMs !== undefined ? { rekeyActivationDelayMs: o.rekeyActivationDelayMs } : {}),
  });
  const cskReceiver = createMikeyKeyReceiver({ self: identityOf(serverUri, o.kmsParams, o.keysFor), replayCache: createMemoryReplayCache(), now });
  const bindings = new Map<string, Binding>();
  const records: GmkNotificationRecord[] = [];
  const refusals: AuthorizationRefusal[] = [];
  const xmlProtection: XmlProtectionMode = o.xmlProtection ?? 'off';
  const directory = [...new Set(o.users ?? o.groups.flatMap((g) => g.members))];
  // E.7: UID → MCPTT ID per key period, computed once per period for the whole directory.
  const uidIndex = new Map<number, Map<string, string>>();
  const resolveUid = (uid: Uint8Array, keyPeriodNo: number): string | undefined => {
    let index = uidIndex.get(keyPeriodNo);
    if (index === undefined) {
      index = new Map(directory.map((u) => [bytesToHex(uidOf(u, o.kmsParams, keyPeriodNo)), u]));
      if (uidIndex.size >= 3) uidIndex.delete(uidIndex.keys().next().value!);
      uidIndex.set(keyPeriodNo, index);
    }
    return index.get(bytesToHex(uid));
  };

  // Key state changes and I_MESSAGE creation run one at a time; waiting for answers does not.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(f: () => Promise<T>): Promise<T> => {
    const p = chain.then(f, f);
    chain = p.catch(() => {});
    return p;
  };

  const liveBinding = (mcpttId: string): Binding | undefined => {
    const b = bindings.get(mcpttId);
    return b !== undefined && b.expiresAt > now() ? b : undefined;
  };
  const targets = (members: readonly string[]): string[] => members.filter((m) => deliverTo === 'all-members' || liveBinding(m) !== undefined);

  async function prepare(key: GroupKey, members: readonly string[], revoked: boolean): Promise<Notification[]> {
    const messages = await gms.iMessages(key, members, { revoked, hideIdentities: xmlProtection !== 'off' });
    for (const m of members) liveBinding(m)?.inFlight.set(key.groupId, keyTag(key, revoked));
    return members.map((to, i) => ({ to, key, message: messages[i]!, revoked }));
  }

  async function send(batch: readonly Notification[]): Promise<void> {
    await Promise.all(
      batch.map(async (n) => {
        const bound = liveBinding(n.to);
        let body: { contentType: string; body: string };
        if (bound?.protected === true && bound.csk !== undefined) {
          // 9.3: the group ID encrypted and signed under the member's CSK (P0 = its MCPTT ID).
          const info = await protectMcpttInfo(buildMcpttInfoXml({ groupId: n.key.groupId }), bound.csk.key, n.to);
          body = buildGmkNotificationBodyXml({ mcpttInfoXml: info, iMessages: [n.message] });
        } else if (xmlProtection === 'required') {
          // No CSK to hide the group ID under, and no AOR that is not the MCPTT ID: not sent.
          records.push({ to: n.to, groupId: n.key.groupId, gmkId: n.key.keyId.slice(), revoked: n.revoked, status: 503 });
          return;
        } else body = buildGmkNotificationBody({ groupId: n.key.groupId, iMessages: [n.message] });
        const target = bound?.impu ?? n.to;
        const r = await sip.request({ method: 'MESSAGE', target, from: gmsUri, body });
        records.push({ to: n.to, groupId: n.key.groupId, gmkId: n.key.keyId.slice(), revoked: n.revoked, status: r.status });
        const b = liveBinding(n.to);
        const tag = keyTag(n.key, n.revoked);
        if (b?.inFlight.get(n.key.groupId) === tag) b.inFlight.delete(n.key.groupId);
        // 488 "Duplicate Key" means the member already holds this very GMK (it pulled it over
        // HTTP before the push arrived): delivered all the same, so it is not sent again.
        const alreadyHeld = r.status === 488 && r.reason === 'Duplicate Key';
        if ((r.status >= 200 && r.status < 300) || alreadyHeld) b?.delivered.set(n.key.groupId, tag);
        log(`gms: ${n.revoked ? 'revocation' : 'GMK'} notification ${r.status}`);
      }),
    );
  }

  /** What a member lacks after a (re)authorization: the GMK in force of each of its groups. */
  async function deliverMissing(mcpttId: string): Promise<void> {
    const batch = await serial(async () => {
      const b = liveBinding(mcpttId);
      if (b === undefined) return [];
      const out: Notification[] = [];
      for (const g of gms.groupsOf(mcpttId)) {
        const k = gms.current(g);
        const tag = k === undefined ? undefined : keyTag(k, false);
        if (k === undefined || b.delivered.get(g) === tag || b.inFlight.get(g) === tag) continue;
        out.push(...(await prepare(k, [mcpttId], false)));
      }
      return out;
    });
    if (batch.length > 0) log(`gms: ${batch.length} GMK(s) for an authorized member`);
    await send(batch);
  }

  /** Drops the user's binding and what it was sent (5.6.2: a new login re-binds). */
  function unbind(user: string): void {
    for (const [id, b] of bindings) if (b.impu === user) bindings.delete(id);
  }

  /**
   * The common part of both service authorization routes (5.6.2.1 steps 10-11, 5.6.2.2
   * steps 2-3): checks the body, binds IMPU ↔ MCPTT ID for `expires` seconds, keeps the CSK,
   * and once the 200 is on its way sends the member the GMKs it is missing (7.3.2).
   */
  async function authorize(
    what: string,
    user: string,
    req: Core.IncomingRequestMessage,
    expires: number,
  ): Promise<{ ok: true } | { ok: false; status: 400 | 403 }> {
    const existing = [...bindings.values()].find((b) => b.impu === user && b.expiresAt > now());
    const result = await authorizeService(
      { verifyToken: o.verifyToken, cskReceiver, userKms: o.kmsParams, normalize: normalizeSipUri, xmlProtection, resolveUid },
      { user, contentType: req.getHeader('content-type') ?? '', body: req.body ?? '', boundCsk: existing?.csk },
    );
    if (!result.ok) {
      refusals.push({ what, status: result.status, failure: result.failure, code: result.code });
      log(`sip: ${what} ${result.status} (${result.failure}${result.code !== undefined ? ` ${result.code}` : ''})`);
      return { ok: false, status: result.status };
    }
    // An opaque AOR is the user's only while its binding lives: nobody else may take it over.
    if (existing !== undefined && existing.mcpttId !== result.mcpttId) {
      refusals.push({ what, status: 403, failure: 'aor-taken', code: undefined });
      log(`sip: ${what} 403 (aor-taken)`);
      return { ok: false, status: 403 };
    }
    const expiresAt = now() + expires * 1000;
    let b = liveBinding(result.mcpttId);
    if (b === undefined || b.impu !== user) {
      b = { mcpttId: result.mcpttId, impu: user, expiresAt, csk: undefined, previousCsk: undefined, protected: result.protected, delivered: new Map(), inFlight: new Map() };
      bindings.set(result.mcpttId, b);
    }
    b.expiresAt = expiresAt;
    b.protected = result.protected;
    if (result.csk !== undefined && result.cskMessage !== undefined) {
      if (b.csk !== undefined && b.csk.key !== result.csk) b.previousCsk = b.csk.key;
      b.csk = { message: result.cskMessage, key: result.csk };
    }
    log(`sip: ${what} 200 (${result.csk !== undefined ? 'with' : 'without'} CSK)`);
    // After our 200 is on its way: the member's GMKs (7.3.2) follow the authorization.
    const mcpttId = result.mcpttId;
    setTimeout(() => {
      deliverMissing(mcpttId).catch(() => log('gms: delivery after authorization failed'));
    }, 0);
    return { ok: true };
  }

  async function handleRegister(req: Core.IncomingRequestMessage): Promise<OutgoingResponse> {
    const user = plainSipUri(req.to.uri);
    // The core always states the user's expiry (Expires header of the third-party REGISTER).
    const rawExpires = req.getHeader('expires')?.trim() ?? '';
    const expires = /^\d{1,10}$/.test(rawExpires) ? Number(rawExpires) : Number.NaN;
    if (user === undefined || !Number.isSafeInteger(expires)) {
      log('sip: third-party REGISTER 400 (headers)');
      return { status: 400 };
    }
    if (expires === 0) {
      unbind(user);
      log('sip: third-party REGISTER 200 (unbound)');
      return { status: 200, headers: ['Expires: 0'] };
    }
    const r = await authorize('third-party REGISTER', user, req, expires);
    return r.ok ? { status: 200, headers: [`Expires: ${expires}`] } : { status: r.status };
  }

  /** RFC 3903 publications of the service authorization: entity-tag → publisher and expiry. */
  const publications = new Map<string, { readonly user: string; expiresAt: number }>();

  /**
   * Service authorization by PUBLISH (5.6.2.2), with RFC 3903's entity-tags: an initial
   * publication (body, no SIP-If-Match), a modification (body + SIP-If-Match, e.g. a new
   * token), a refresh (SIP-If-Match, no body) and a removal (SIP-If-Match, Expires 0),
   * which unbinds the user. The publisher is the From user (the dev core authenticates
   * nobody; a deployment's core would assert it in P-Asserted-Identity).
   */
  async function handlePublish(req: Core.IncomingRequestMessage): Promise<OutgoingResponse> {
    for (const [tag, p] of publications) if (p.expiresAt <= now()) publications.delete(tag);
    const event = (req.getHeader('event') ?? '').split(';', 1)[0]!.trim().toLowerCase();
    if (event !== PUBLISH_EVENT) {
      log('sip: PUBLISH 489 (event)');
      return { status: 489, reason: 'Bad Event', headers: [`Allow-Events: ${PUBLISH_EVENT}`] };
    }
    const user = plainSipUri(req.from.uri);
    const rawExpires = req.getHeader('expires')?.trim();
    const asked = rawExpires === undefined ? PUBLISH_DEFAULT_EXPIRES : /^\d{1,10}$/.test(rawExpires) ? Number(rawExpires) : Number.NaN;
    if (user === undefined || !Number.isSafeInteger(asked)) {
      log('sip: PUBLISH 400 (headers)');
      return { status: 400 };
    }
    if (asked > 0 && asked < PUBLISH_MIN_EXPIRES) {
      return { status: 423, reason: 'Interval Too Brief', headers: [`Min-Expires: ${PUBLISH_MIN_EXPIRES}`] };
    }
    const expires = Math.min(asked, PUBLISH_MAX_EXPIRES);
    const hasBody = (req.body ?? '') !== '';
    const ifMatch = req.getHeader('sip-if-match')?.trim();
    if (ifMatch !== undefined) {
      const p = publications.get(ifMatch);
      if (p === undefined || p.user !== user) {
        log('sip: PUBLISH 412 (entity-tag)');
        return { status: 412, reason: 'Conditional Request Failed' };
      }
      if (expires === 0) {
        publications.delete(ifMatch);
        unbind(user);
        log('sip: PUBLISH 200 (unbound)');
        return { status: 200, headers: [`SIP-ETag: ${ifMatch}`, 'Expires: 0'] };
      }
    } else if (!hasBody || expires === 0) {
      // RFC 3903 6 step 4: without SIP-If-Match a PUBLISH must create a publication.
      log('sip: PUBLISH 400 (no body)');
      return { status: 400 };
    }
    if (hasBody) {
      const r = await authorize('PUBLISH', user, req, expires);
      if (!r.ok) return { status: r.status };
    } else {
      // A refresh: the authorization checked before lasts longer.
      const b = [...bindings.values()].find((x) => x.impu === user && x.expiresAt > now());
      if (b === undefined) {
        log('sip: PUBLISH 412 (no binding)');
        return { status: 412, reason: 'Conditional Request Failed' };
      }
      b.expiresAt = now() + expires * 1000;
      log('sip: PUBLISH 200 (refresh)');
    }
    // RFC 3903 6 step 8: every successful PUBLISH gets a new entity-tag.
    if (ifMatch !== undefined) publications.delete(ifMatch);
    for (const [tag, p] of publications) if (p.user === user) publications.delete(tag);
    const etag = randomToken(12);
    publications.set(etag, { user, expiresAt: now() + expires * 1000 });
    return { status: 200, headers: [`SIP-ETag: ${etag}`, `Expires: ${expires}`] };
  }

  /** The URI a request was addressed to: the core puts the original one in P-Called-Party-ID. */
  function addressedTo(req: Core.IncomingRequestMessage): string | undefined {
    const called = req.getHeader('p-called-party-id');
    if (called !== undefined) {
      const m = /^\s*<([^<>]+)>\s*$/.exec(called);
      return normalizeSipUri(m !== null ? m[1]! : called.trim());
    }
    return req.ruri === undefined ? undefined : plainSipUri(req.ruri);
  }

  function onRequest(req: Core.IncomingRequestMessage): Promise<OutgoingResponse> | OutgoingResponse {
    if (req.method === 'REGISTER') {
      const ruri = req.ruri === undefined ? undefined : plainSipUri(req.ruri);
      if (ruri !== serverUri) return { status: 404 };
      return handleRegister(req);
    }
    if (req.method === 'PUBLISH') {
      if (addressedTo(req) !== serverUri) return { status: 404 };
      return handlePublish(req);
    }
    if (req.method === 'OPTIONS') return { status: 200 };
    if (req.method === 'INVITE') return calls.handleInvite(req);
    if (req.method === 'CANCEL') return calls.handleCancel(req);
    if (req.method === 'BYE') return calls.handleBye(req);
    return { status: 501 };
  }

  /** The caller's live binding as the call control sees it: its MCPTT ID and CSKs. */
  function callerBinding(impu: string): CallerBinding | undefined {
    const b = [...bindings.values()].find((x) => x.impu === impu && x.expiresAt > now());
    if (b === undefined) return undefined;
    return {
      mcpttId: b.mcpttId,
      cskById: (keyIdHex) => {
        const want = keyIdHex.toLowerCase();
        for (const k of [b.csk?.key, b.previousCsk]) if (k !== undefined && bytesToHex(k.keyId) === want) return k;
        return undefined;
      },
      currentCsk: () => b.csk?.key,
    };
  }

  const calls = new GroupCalls({
    serverUri,
    bindingOf: callerBinding,
    // 9.3: the INVITE's mcpttinfo verified and decrypted under the caller's CSK ('required': protected only).
    ...(xmlProtection !== 'off'
      ? { readMcpttInfo: async (xml: string, b: CallerBinding) => parseMcpttInfoXml((await unprotectMcpttInfo(xml, cskByIdLookup(b.cskById, b.mcpttId), { required: xmlProtection === 'required' })).xml) }
      : {}),
    membersOf: (g) => (gms.groupIds().includes(g) ? gms.members(g) : undefined),
    floor: o.floor ?? serverFloor(),
    ...(o.iceAdditionalHostAddresses !== undefined ? { iceAdditionalHostAddresses: o.iceAdditionalHostAddresses } : {}),
    ...(o.forwardedRecordLimit !== undefined ? { recordLimit: o.forwardedRecordLimit } : {}),
    log,
  });

  const sip: SipEndpoint = createSipEndpoint({
    url: o.sipWsUrl,
    domain: o.domain,
    // 'required': group PSIs in REGISTERs would show the group IDs; calls go to the server URI.
    aors: xmlProtection === 'required' ? [serverUri, gmsUri] : [serverUri, gmsUri, ...gms.groupIds()],
    contactUser: 'mcptt-server',
    ...(o.requestTimeoutMs !== undefined ? { requestTimeoutMs: o.requestTimeoutMs } : {}),
    onRequest,
    log,
  });

  async function groupsFor(mcpttId: string): Promise<GroupConfiguration[]> {
    return await serial(async () => {
      const out: GroupConfiguration[] = [];
      for (const g of gms.groupsOf(mcpttId)) {
        const k = gms.current(g);
        const iMessages = k === undefined ? [] : [encodeBase64(await gms.iMessage(k, mcpttId))];
        out.push({ groupId: g, displayName: gms.displayName(g), iMessages });
      }
      return out;
    });
  }

  const ops = {
    async addMember(groupId: string, mcpttId: string): Promise<void> {
      const batch = await serial(async () => {
        const k = gms.addMember(groupId, mcpttId);
        return k === undefined ? [] : await prepare(k, targets([mcpttId]), false);
      });
      log(`gms: member added, ${batch.length} notification(s)`);
      await send(batch);
    },
    async removeMember(groupId: string, mcpttId: string): Promise<void> {
      const batch = await serial(async () => {
        const k = gms.removeMember(groupId, mcpttId);
        bindings.get(mcpttId)?.delivered.delete(groupId);
        bindings.get(mcpttId)?.inFlight.delete(groupId);
        return k === undefined ? [] : await prepare(k, targets(gms.members(groupId)), false);
      });
      log(`gms: member removed, rekey with ${batch.length} notification(s)`);
      await send(batch);
    },
    async rekey(groupId: string): Promise<void> {
      const batch = await serial(async () => prepare(gms.rekey(groupId), targets(gms.members(groupId)), false));
      log(`gms: rekey with ${batch.length} notification(s)`);
      await send(batch);
    },
    async revoke(groupId: string): Promise<void> {
      const batch = await serial(async () => {
        const k = gms.revoke(groupId);
        return k === undefined ? [] : await prepare(k, targets(gms.members(groupId)), true);
      });
      log(`gms: revocation with ${batch.length} notification(s)`);
      await send(batch);
    },
  };

  const httpServer: Server = createServer(
    createGmsHttpHandler({
      verifyToken: o.verifyToken,
      groupsFor,
      ...ops,
      corsOrigins: o.http?.corsOrigins ?? [],
      log,
      ...(xmlProtection !== 'off' ? { directory: { aorOf: (id: string) => liveBinding(id)?.impu, resolveUid, scope: PTT_SERVER_SCOPE } } : {}),
    }),
  );

  try {
    await sip.start();
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(o.http?.port ?? 0, o.http?.host ?? '127.0.0.1', () => {
        httpServer.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    await sip.close();
    httpServer.close();
    throw e;
  }
  const address = httpServer.address() as AddressInfo;
  const httpUrl = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;

  let refreshTimer: ReturnType<typeof setInterval> | undefined;
  if (o.refreshIntervalMs !== undefined) {
    refreshTimer = setInterval(() => {
      void (async () => {
        for (const g of gms.groupIds()) if (gms.current(g) !== undefined) await ops.rekey(g);
      })().catch(() => log('gms: periodic refresh failed'));
    }, o.refreshIntervalMs);
    refreshTimer.unref();
  }

  let closing: Promise<void> | undefined;
  return {
    httpUrl,
    ...ops,
    close() {
      closing ??= (async () => {
        if (refreshTimer !== undefined) clearInterval(refreshTimer);
        await new Promise<void>((resolve) => {
          httpServer.close(() => resolve());
          httpServer.closeAllConnections();
        });
        await calls.close();
        await sip.close();
      })();
      return closing;
    },
    authorizedUsers: () => [...bindings.values()].filter((b) => b.expiresAt > now()).map((b) => b.mcpttId),
    currentGmkId(groupId) {
      return gms.groupIds().includes(groupId) ? gms.current(groupId)?.keyId.slice() : undefined;
    },
    sent: () => records.map((r) => ({ ...r, gmkId: r.gmkId.slice() })),
    groupCalls: () => calls.summaries(),
    forwardedPayloads: (groupId) => calls.forwardedPayloads(groupId),
    admitToMedia: (groupId, mcpttId) => calls.admitToMedia(groupId, mcpttId),
    refusals: () => refusals.slice(),
    aorOf: (mcpttId) => liveBinding(mcpttId)?.impu,
  };
}
