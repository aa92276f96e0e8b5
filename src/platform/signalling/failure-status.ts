/**
 * What a refused key distribution becomes on the wire and in events: TS 33.179 7.3.2 step 2
 * ("should any of these checks fail, an error shall be returned to the GMS") and 7.4 (a PCK
 * offer that cannot be used refuses the private call).
 *
 * The SIP answer names the failure class in its status and a short fixed reason phrase; it
 * never carries the error message, an identity or key material. The MIKEY code goes to the
 * app in an event, not to the sender: a forger learns only the class.
 *
 * | class          | notification (MESSAGE/NOTIFY) | INVITE | codes |
 * |----------------|--------------------------------|--------|-------|
 * | malformed      | 400 | 488 | ERR_SIP_BODY_MALFORMED, ERR_SIP_BODY_MISSING_PART, ERR_MIKEY_MALFORMED, ERR_MIKEY_BAD_GMK_PARAMETERS, ERR_MIKEY_DECAPSULATION_FAILED |
 * | unsupported    | 415 (body) / 488 (MIKEY) | 488 | ERR_SIP_BODY_UNSUPPORTED, ERR_SIP_BODY_TOO_LARGE (413), ERR_MIKEY_UNSUPPORTED |
 * | forbidden      | 403 | 488 | ERR_MIKEY_BAD_SIGNATURE, ERR_MIKEY_UNKNOWN_INITIATOR, ERR_MIKEY_UNAUTHORIZED_INITIATOR, ERR_MIKEY_NOT_FOR_US |
 * | not-acceptable | 488 | 488 | ERR_MIKEY_DUPLICATE_KEY, ERR_MIKEY_REPLAY, ERR_MIKEY_STALE, ERR_MIKEY_GROUP_MISMATCH, ERR_MIKEY_WRONG_PURPOSE |
 * | unavailable    | 480 | 488 | ERR_MIKEY_NO_KEY_FOR_PERIOD, ERR_SIGNALLING_NO_IDENTITY |
 * | (9.3 XML)      | 400 / 415 / 403 | 488 | ERR_XML_PROTECT_* (malformed, not allowed, the rest forbidden) |
 * | internal       | 500 | 500 | anything else (e.g. the key store failed): the sender may try again |
 */
import { McpttError } from '../../errors.js';
import type { FailureCode, KeyFailureClass } from './events.js';

export interface KeyFailure {
  readonly code: FailureCode;
  readonly failureClass: KeyFailureClass;
  /** SIP status for the answer. */
  readonly status: number;
  /** Reason phrase: short plain text, fixed per code (no secrets, no identities). */
  readonly reason: string;
}

interface Row {
  readonly failureClass: KeyFailureClass;
  readonly notification: number;
  readonly reason: string;
}

const row = (failureClass: KeyFailureClass, notification: number, reason: string): Row => Object.freeze({ failureClass, notification, reason });

/** Per code: class, status of a notification answer, reason phrase. */
export const KEY_FAILURE_TABLE: Readonly<Record<string, Row>> = Object.freeze({
  ERR_SIP_BODY_MALFORMED: row('malformed', 400, 'Malformed Body'),
  ERR_SIP_BODY_MISSING_PART: row('malformed', 400, 'Incomplete Body'),
  ERR_SIP_BODY_TOO_LARGE: row('unsupported', 413, 'Body Too Large'),
  ERR_SIP_BODY_UNSUPPORTED: row('unsupported', 415, 'Unsupported Body'),
  ERR_MIKEY_MALFORMED: row('malformed', 400, 'Malformed MIKEY'),
  ERR_MIKEY_BAD_GMK_PARAMETERS: row('malformed', 400, 'Bad Key Parameters'),
  ERR_MIKEY_DECAPSULATION_FAILED: row('malformed', 400, 'Key Not Recoverable'),
  ERR_MIKEY_UNSUPPORTED: row('unsupported', 488, 'Unsupported MIKEY'),
  ERR_MIKEY_BAD_SIGNATURE: row('forbidden', 403, 'Bad Signature'),
  ERR_MIKEY_UNKNOWN_INITIATOR: row('forbidden', 403, 'Unknown Sender'),
  ERR_MIKEY_UNAUTHORIZED_INITIATOR: row('forbidden', 403, 'Unauthorized Sender'),
  ERR_MIKEY_NOT_FOR_US: row('forbidden', 403, 'Not For This User'),
  ERR_MIKEY_DUPLICATE_KEY: row('not-acceptable', 488, 'Duplicate Key'),
  ERR_MIKEY_REPLAY: row('not-acceptable', 488, 'Replayed Key Message'),
  ERR_MIKEY_STALE: row('not-acceptable', 488, 'Stale Key Message'),
  ERR_MIKEY_GROUP_MISMATCH: row('not-acceptable', 488, 'Group Mismatch'),
  ERR_MIKEY_WRONG_PURPOSE: row('not-acceptable', 488, 'Wrong Key Purpose'),
  ERR_MIKEY_NO_KEY_FOR_PERIOD: row('unavailable', 480, 'No Key For Period'),
  ERR_SIGNALLING_NO_IDENTITY: row('unavailable', 480, 'Keys Not Ready'),
  // TS 33.179 9.3: the mcpttinfo part protected under our CSK (xmlProtection).
  ERR_XML_PROTECT_MALFORMED: row('malformed', 400, 'Malformed Protected XML'),
  ERR_XML_PROTECT_NOT_ALLOWED: row('unsupported', 415, 'Unsupported Protected XML'),
  ERR_XML_PROTECT_AUTH_FAILED: row('forbidden', 403, 'Protected XML Not Authentic'),
  ERR_XML_PROTECT_BAD_SIGNATURE: row('forbidden', 403, 'Bad XML Signature'),
  ERR_XML_PROTECT_UNKNOWN_KEY: row('forbidden', 403, 'Unknown Protection Key'),
  ERR_XML_PROTECT_REQUIRED: row('forbidden', 403, 'Protection Required'),
});

const INTERNAL: Row = row('internal', 500, 'Key Processing Failed');

/** The code of any thrown value: an McpttError's code, else `ERR_UNKNOWN`. */
export function failureCodeOf(e: unknown): FailureCode {
  return e instanceof McpttError ? (e.code as string) : 'ERR_UNKNOWN';
}

/**
 * How to answer a refused key distribution. `context` 'invite': every key failure refuses
 * the offer with 488 (RFC 3261 21.4.26: the session description is not acceptable), only an
 * internal failure stays 500.
 */
export function keyFailureOf(e: unknown, context: 'notification' | 'invite'): KeyFailure {
  const code = failureCodeOf(e);
  const r = KEY_FAILURE_TABLE[code] ?? INTERNAL;
  const status = context === 'invite' ? (r.failureClass === 'internal' ? 500 : 488) : r.notification;
  return { code, failureClass: r.failureClass, status, reason: r.reason };
}
