/**
 * The body of every REGISTER: MCPTT user service authorization (TS 33.179 5.6.2.1) with the
 * CSK distribution of 9.1.3.2 — a fresh access token and the CSK I_MESSAGE for the MCPTT
 * domain (MDSI, 9.1.3.1), as built by `buildServiceAuthorizationBody`.
 *
 * One CSK per SIP session (9.1.2: it "remains in use until a new CSK is required, the SIP
 * session is torn down, the MCPTT user logs off"): 16 random octets, a CSK-ID with the CSK
 * purpose tag, a RAND; created at the first REGISTER and re-sent with each one. A new CSK is
 * made when our key period changes (the I_MESSAGE is signed with the period's key) or when
 * asked (`renew()`).
 *
 * The I_MESSAGE bytes are re-sent unchanged while they are young; once older than
 * `maxMessageAgeMs` (default 300 s, half the 600 s freshness window a receiver applies to
 * CSKs) the SAME CSK is encapsulated again with a new timestamp, so that a MDSI which checks
 * freshness keeps accepting it. The MDSI sees the same CSK-ID either way: same CSK-ID = same
 * key, a new CSK-ID = a new key.
 *
 * With `xmlProtection` (9.3, 9.1.3.2 "Encrypted Access token, MCPTT ID"): the mcpttinfo part
 * has the token encrypted under the CSK and mcptt-Params signed with it
 * (src/codec/xml-protect protectMcpttInfo), and the I_MESSAGE names the user by UID only
 * (IDRuidi, E.7), so neither the MCPTT ID nor the token crosses the SIP core in clear. The
 * token is never sent in clear then: without a CSK it is left out.
 *
 * 5.6.2.0: a REGISTER is never delayed for lack of a token. If the token or the CSK cannot be
 * had, the other part goes alone (and `onDegraded` says which part is missing); with neither,
 * the REGISTER has no body.
 */
import { buildMcpttInfoXml, buildServiceAuthorizationBody } from '../../codec/sip-bodies.js';
import { buildServiceAuthorizationBodyXml, protectMcpttInfo } from '../../codec/xml-protect/index.js';
import { AuthError } from '../../errors.js';
import {
  createKeyDistribution,
  keyProfile,
  newKeyId,
  ntpSecondsOfUnixMs,
  periodAt,
  periodEndUnixMs,
  type KeyProfileName,
  type KmsPublicParameters,
  type LocalIdentity,
} from '../../keys/index.js';
import type { IdentityCrypto } from '../../crypto/heavy.js';
import { bytesToHex } from '../../util/bytes.js';
import { randomBytes as webRandomBytes } from '../../util/webcrypto.js';
import type { SipBodyInit } from '../sip/index.js';
import { SignallingError } from './errors.js';
import type { AuthorizationDegraded, CskInfo } from './events.js';
import { failureCodeOf } from './failure-status.js';

/** The CSK of this SIP session. Key material: hand it to the signalling protection (9.3), never log it. */
export interface ClientServerKey {
  readonly key: Uint8Array;
  /** CSK-ID (4 octets, CSK purpose tag). */
  readonly keyId: Uint8Array;
  readonly rand: Uint8Array;
  /** Our key period the I_MESSAGE is signed in. */
  readonly keyPeriodNo: number;
  /** Unix ms. */
  readonly createdAt: number;
}

export interface ServiceAuthorizationOptions {
  readonly identity: () => LocalIdentity | undefined;
  /** A usable access token (the auth adapter refreshes it when near expiry). */
  readonly accessToken: () => Promise<string>;
  /** The MCPTT domain security identifier the CSK is encrypted to (9.1.3.1). */
  readonly mdsi: string;
  /** KMS parameters of the MDSI; default: our own KMS. */
  readonly mdsiKms?: () => KmsPublicParameters | undefined;
  readonly profile?: KeyProfileName;
  readonly now?: () => number;
  readonly randomBytes?: (n: number) => Uint8Array;
  /** Re-encapsulate the same CSK once its I_MESSAGE is older than this; default 300 000 ms. */
  readonly maxMessageAgeMs?: number;
  /** TS 33.179 9.3: token encrypted and signed under the CSK, CSK initiator hidden (E.7). */
  readonly xmlProtection?: boolean;
  /** Where the CSK's SAKKE encapsulation runs (a crypto worker in browsers); default in-thread. */
  readonly identityCrypto?: IdentityCrypto;
  readonly onCsk?: (info: CskInfo) => void;
  readonly onDegraded?: (info: AuthorizationDegraded) => void;
}

interface CurrentCsk extends ClientServerKey {
  message: Uint8Array;
  messageTime: number;
}

export class ServiceAuthorization {
  readonly #o: ServiceAuthorizationOptions;
  readonly #now: () => number;
  readonly #random: (n: number) => Uint8Array;
  readonly #maxAgeMs: number;
  #csk: CurrentCsk | undefined;
  #renewReason: CskInfo['reason'] = 'new-session';
  #building: Promise<CurrentCsk> | undefined;

  constructor(o: ServiceAuthorizationOptions) {
    if (typeof o.mdsi !== 'string' || !/^sips?:[^\s<>"]+$/.test(o.mdsi)) throw new TypeError('mdsi must be a SIP URI');
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.#random = o.randomBytes ?? webRandomBytes;
    this.#maxAgeMs = o.maxMessageAgeMs ?? 300_000;
    if (!(this.#maxAgeMs > 0)) throw new RangeError('maxMessageAgeMs must be positive');
  }

  /** The registerBody callback: token + CSK I_MESSAGE, whichever can be had. */
  async body(): Promise<SipBodyInit | undefined> {
    const [token, csk] = await Promise.allSettled([this.#o.accessToken(), this.#cskMessage()]);
    let accessToken = token.status === 'fulfilled' && typeof token.value === 'string' && token.value.length > 0 ? token.value : undefined;
    const current = csk.status === 'fulfilled' ? csk.value : undefined;
    const cskIMessage = current?.message;
    if (accessToken !== undefined) {
      try {
        buildMcpttInfoXml({ accessToken });
      } catch {
        // Not an RFC 6750 b64token: the body builder refuses it, and it must not take the CSK down with it.
        this.#degraded('token', new AuthError('ERR_AUTH_INVALID_TOKEN', 'the access token is not a bearer token'));
        accessToken = undefined;
      }
    } else this.#degraded('token', token.status === 'rejected' ? token.reason : undefined);
    if (cskIMessage === undefined) this.#degraded('csk', csk.status === 'rejected' ? csk.reason : undefined);
    if (this.#o.xmlProtection === true) {
      // Fail closed: no CSK, no way to hide the token, so it stays home.
      if (current === undefined) return undefined;
      const me = this.#o.identity();
      if (me === undefined) return undefined;
      const mcpttInfoXml = accessToken === undefined ? undefined : await protectMcpttInfo(buildMcpttInfoXml({ accessToken }), current, me.uri);
      return buildServiceAuthorizationBodyXml({ cskIMessage: current.message, ...(mcpttInfoXml !== undefined ? { mcpttInfoXml } : {}) });
    }
    if (accessToken === undefined && cskIMessage === undefined) return undefined;
    return buildServiceAuthorizationBody({ ...(accessToken !== undefined ? { accessToken } : {}), ...(cskIMessage !== undefined ? { cskIMessage } : {}) });
  }

  /** The CSK of this session, once made (for the 9.3 signalling protection). */
  current(): ClientServerKey | undefined {
    const c = this.#csk;
    return c === undefined ? undefined : { key: c.key, keyId: c.keyId, rand: c.rand, keyPeriodNo: c.keyPeriodNo, createdAt: c.createdAt };
  }

  /** Forget the CSK: the next REGISTER carries a new one. */
  renew(reason: CskInfo['reason'] = 'renewed'): void {
    this.#csk = undefined;
    this.#renewReason = reason;
  }

  /** Unix ms at which the CSK's key period ends (a new CSK is due then). */
  periodEndsAt(): number | undefined {
    const c = this.#csk;
    const kms = this.#o.identity()?.kms;
    return c === undefined || kms === undefined ? undefined : periodEndUnixMs(kms, c.keyPeriodNo);
  }

  async #cskMessage(): Promise<CurrentCsk> {
    this.#building ??= this.#ensure().finally(() => {
      this.#building = undefined;
    });
    return await this.#building;
  }

  async #ensure(): Promise<CurrentCsk> {
    const from = this.#o.identity();
    if (from === undefined) throw new SignallingError('ERR_SIGNALLING_NO_IDENTITY', 'no identity keys for the CSK distribution');
    const now = this.#now();
    const period = periodAt(from.kms, ntpSecondsOfUnixMs(now));
    const to = { uri: this.#o.mdsi, kms: this.#o.mdsiKms?.() ?? from.kms };
    let c = this.#csk;
    if (c !== undefined && c.keyPeriodNo !== period) {
      this.renew('period-change');
      c = undefined;
    }
    if (c === undefined) {
      const profile = keyProfile(this.#o.profile ?? 'ts33180');
      const key = this.#random(16).slice(0, 16);
      const keyId = newKeyId(profile.defaultTag.CSK!, this.#random);
      const rand = this.#random(16).slice(0, 16);
      const message = await createKeyDistribution({ kind: 'CSK', key, keyId, rand, from, to, time: now, profile: profile.name, randomBytes: this.#random, ...this.#hide() });
      c = { key, keyId, rand, keyPeriodNo: period, createdAt: now, message, messageTime: now };
      this.#csk = c;
      const reason = this.#renewReason;
      this.#renewReason = 'renewed';
      this.#o.onCsk?.({ cskId: bytesToHex(keyId), keyPeriodNo: period, reason });
    } else if (now - c.messageTime > this.#maxAgeMs) {
      c.message = await createKeyDistribution({
        kind: 'CSK',
        key: c.key,
        keyId: c.keyId,
        rand: c.rand,
        from,
        to,
        time: now,
        profile: this.#o.profile ?? 'ts33180',
        randomBytes: this.#random,
        ...this.#hide(),
      });
      c.messageTime = now;
    }
    return c;
  }

  /** E.7: under XML protection the MCPTT ID must not show in IDRi either. */
  #hide(): { hideIdentities?: true; identityCrypto?: IdentityCrypto } {
    const crypto = this.#o.identityCrypto !== undefined ? { identityCrypto: this.#o.identityCrypto } : {};
    return this.#o.xmlProtection === true ? { hideIdentities: true, ...crypto } : crypto;
  }

  #degraded(part: 'token' | 'csk', e: unknown): void {
    try {
      this.#o.onDegraded?.({ part, code: e === undefined ? 'ERR_AUTH_NOT_LOGGED_IN' : failureCodeOf(e) });
    } catch {
      /* a listener must not stop the REGISTER */
    }
  }
}
