/**
 * Key sets in the shape of `i_message_sets[*]` of the shared interop vectors: a `kms` object
 * (kms_uri, user_key_period, user_key_offset, Z_PubEncKey, KPAK_PubAuthKey) and `users`
 * (uri, uid, key_period_no, RSK, SSK, PVT). Used by the conformance checks and by
 * `mcptt-sdk mikey create --keys`.
 */
import { staticIdentity, type KmsPublicParameters, type LocalIdentity } from '../keys/identity.js';
import { hexToBytes } from '../util/bytes.js';
import type { Json, JsonObject } from './checks.js';

const hex = (v: Json | undefined, what: string): Uint8Array => {
  if (typeof v !== 'string') throw new TypeError(`${what} must be a hex string`);
  return hexToBytes(v);
};
const num = (v: Json | undefined, what: string): number => {
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new TypeError(`${what} must be an integer`);
  return n;
};

export function isKeySet(o: Json | undefined): o is JsonObject {
  return typeof o === 'object' && o !== null && !Array.isArray(o) && typeof o.kms === 'object' && Array.isArray(o.users);
}

export function kmsOfKeySet(set: JsonObject): KmsPublicParameters {
  const k = set.kms as JsonObject;
  if (typeof k.kms_uri !== 'string') throw new TypeError('kms.kms_uri must be a string');
  return {
    kmsUri: k.kms_uri,
    z: hex(k.Z_PubEncKey, 'kms.Z_PubEncKey'),
    kpak: hex(k.KPAK_PubAuthKey, 'kms.KPAK_PubAuthKey'),
    userKeyPeriod: num(k.user_key_period, 'kms.user_key_period'),
    userKeyOffset: num(k.user_key_offset, 'kms.user_key_offset'),
  };
}

/** The identity of `uri` in the set, with its keys for the one period the set holds. */
export function identityOfKeySet(set: JsonObject, uri: string): LocalIdentity | undefined {
  const user = (set.users as JsonObject[]).find((u) => u.uri === uri);
  if (user === undefined) return undefined;
  const kms = kmsOfKeySet(set);
  return staticIdentity(uri, kms, [
    {
      keyPeriodNo: num(user.key_period_no, 'key_period_no'),
      uid: hex(user.uid, 'uid'),
      rsk: hex(user.RSK, 'RSK'),
      ssk: hex(user.SSK, 'SSK'),
      pvt: hex(user.PVT, 'PVT'),
    },
  ]);
}

/** Unix ms inside the key period the set's user keys are for (its start plus one hour). */
export function timeInPeriodOfKeySet(set: JsonObject, uri: string): number {
  const user = (set.users as JsonObject[]).find((u) => u.uri === uri);
  if (user === undefined) throw new RangeError('no such user in the key set');
  const kms = kmsOfKeySet(set);
  const start = num(user.key_period_no, 'key_period_no') * kms.userKeyPeriod + kms.userKeyOffset;
  return (start + 3600 - 2208988800) * 1000;
}
