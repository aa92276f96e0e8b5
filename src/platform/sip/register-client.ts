/**
 * REGISTER transactions (RFC 3261 §10.2) with a body, on the sip.js core.
 *
 * Why not sip.js's `Registerer`: in sip.js 0.21.2 `Registerer.register({ requestOptions })`
 * merges `requestOptions` into its options but only ever copies `extraHeaders` onto the
 * request it built once in its constructor; `requestOptions.body` is dropped, and its own
 * refresh timer re-sends the same request. TS 33.179 5.6.2.1 / 9.1.3.2 need a body in the
 * REGISTER that is fresh each time (a new access token after a refresh, a CSK I_MESSAGE), so
 * this client builds the REGISTER with `UserAgentCore.makeOutgoingRequestMessage` and sends
 * it with `UserAgentCore.register`, keeping RFC 3261's rules: one Call-ID for all
 * registrations of this client, CSeq incremented per request, no new REGISTER while one is
 * pending (the caller serializes), expiry taken from our Contact in the 2xx.
 */
import { Core, type UserAgent } from 'sip.js';

import { SipError } from './errors.js';

export interface RegisterBody {
  readonly contentType: string;
  readonly body: string;
}

export interface RegisterResult {
  /** Seconds the registrar granted for our binding (0 after an unregister). */
  readonly expires: number;
}

// The methods a UA built on sip.js answers (sip.js's own Registerer sends the same list).
const ALLOW = 'Allow: ACK,CANCEL,INVITE,MESSAGE,BYE,OPTIONS,INFO,NOTIFY,REFER';

export class RegisterClient {
  readonly #ua: UserAgent;
  readonly #message: Core.OutgoingRequestMessage;
  #pending: Core.OutgoingRequest | undefined;

  constructor(ua: UserAgent, aor: Core.URI, registrar: Core.URI) {
    this.#ua = ua;
    this.#message = ua.userAgentCore.makeOutgoingRequestMessage('REGISTER', registrar, aor, aor, {}, [], undefined);
  }

  /**
   * Sends one REGISTER. Resolves with the granted expiry on 2xx; rejects with
   * `ERR_SIP_REGISTRATION_REJECTED` (and the status) otherwise, 408 included for a timeout.
   * A 423 (Interval Too Brief) is retried once with the registrar's Min-Expires.
   */
  async send(expires: number, body?: RegisterBody): Promise<RegisterResult> {
    const first = await this.#sendOnce(expires, body);
    if (first.kind === 'ok') return { expires: first.expires };
    if (first.status === 423 && first.minExpires !== undefined && first.minExpires > expires) {
      const again = await this.#sendOnce(first.minExpires, body);
      if (again.kind === 'ok') return { expires: again.expires };
      throw rejected(again.status);
    }
    throw rejected(first.status);
  }

  /** Forgets a pending REGISTER (its connection is gone); its promise never settles. */
  abandon(): void {
    this.#pending?.dispose();
    this.#pending = undefined;
  }

  #sendOnce(expires: number, body: RegisterBody | undefined): Promise<{ kind: 'ok'; expires: number } | { kind: 'fail'; status: number; minExpires: number | undefined }> {
    const m = this.#message;
    m.cseq++;
    m.setHeader('cseq', `${m.cseq} REGISTER`);
    const contact = this.#ua.contact.toString({ register: true });
    m.extraHeaders = [`Contact: ${contact};expires=${expires}`, ALLOW];
    m.body = body === undefined ? undefined : { body: body.body, contentType: body.contentType };
    return new Promise((resolve) => {
      const done = (): void => {
        this.#pending = undefined;
      };
      this.#pending = this.#ua.userAgentCore.register(m, {
        onAccept: (response) => {
          done();
          resolve({ kind: 'ok', expires: expires === 0 ? 0 : this.#grantedExpires(response.message, expires) });
        },
        onRedirect: (response) => {
          done();
          resolve({ kind: 'fail', status: response.message.statusCode ?? 0, minExpires: undefined });
        },
        onReject: (response) => {
          done();
          const min = Number(response.message.getHeader('min-expires'));
          resolve({ kind: 'fail', status: response.message.statusCode ?? 0, minExpires: Number.isSafeInteger(min) && min > 0 ? min : undefined });
        },
      });
    });
  }

  // RFC 3261 §10.2.4: the expires parameter of the Contact that is ours, else the Expires header.
  #grantedExpires(response: Core.IncomingResponseMessage, requested: number): number {
    const ours = this.#ua.contact.uri;
    const n = response.getHeaders('contact').length;
    for (let i = 0; i < n; i++) {
      const c = response.parseHeader('contact', i) as Core.NameAddrHeader | undefined;
      if (c === undefined || c.uri.user !== ours.user) continue;
      const e = Number(c.getParam('expires'));
      if (Number.isSafeInteger(e) && e >= 0) return e;
    }
    const h = Number(response.getHeader('expires'));
    return Number.isSafeInteger(h) && h > 0 ? h : requested;
  }
}

function rejected(status: number): SipError {
  return new SipError('ERR_SIP_REGISTRATION_REJECTED', `REGISTER refused with status ${status}`, { statusCode: status });
}
