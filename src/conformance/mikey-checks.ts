/**
 * Conformance checks for I_MESSAGE files in the shape of the shared interop vectors
 * (`i_message_sets[*].messages[*]`, TS 33.179 Annex E): every message is processed by the
 * SDK's receive path with the keys of its set and must give the published key, key ID,
 * RAND and GUK-ID; a single flipped octet must be refused; and a message the SDK creates
 * with the same keys must be accepted again.
 */
import { srtpMasterKeys } from '../crypto/index.js';
import { decodeIMessage } from '../codec/mikey/index.js';
import { createKeyDistribution } from '../keys/create.js';
import { unixMsOfNtpSeconds } from '../keys/identity.js';
import { keyProfile, purposeTag } from '../keys/purpose.js';
import { createMikeyKeyReceiver, type DistributedKeyKind } from '../keys/receive.js';
import { equalBytes, hexToBytes } from '../util/bytes.js';
import type { CheckContext, Json, JsonObject, VectorCheck } from './checks.js';
import { identityOfKeySet, isKeySet, kmsOfKeySet } from './key-sets.js';

const PROFILE = keyProfile('ts33180');

function setOf(ctx: CheckContext): JsonObject {
  for (let i = ctx.ancestors.length - 1; i >= 0; i--) if (isKeySet(ctx.ancestors[i])) return ctx.ancestors[i]!;
  throw new RangeError('the message is not inside a set with kms and users');
}

function messageBytes(o: JsonObject): Uint8Array {
  return hexToBytes((o.i_message_hex as string).replace(/\s+/g, ''));
}

function kindOf(o: JsonObject): DistributedKeyKind {
  const kind = PROFILE.purposes[purposeTag(hexToBytes(o.key_id as string))]?.kind;
  if (kind !== 'GMK' && kind !== 'PCK' && kind !== 'CSK') throw new RangeError('the key ID is not a GMK, PCK or CSK');
  return kind;
}

async function receiveWithSet(o: JsonObject, ctx: CheckContext, bytes: Uint8Array) {
  const set = setOf(ctx);
  const self = identityOfKeySet(set, o.responder_uri as string);
  if (self === undefined) throw new RangeError('the responder has no keys in the set');
  const sentAt = unixMsOfNtpSeconds(decodeIMessage(messageBytes(o)).ntpSeconds!);
  const receiver = createMikeyKeyReceiver({ self, now: () => sentAt, gmsUris: [o.initiator_uri as string] });
  return receiver.receive(bytes, kindOf(o));
}

const hx = (v: Json | undefined): Uint8Array => hexToBytes(v as string);

export const MIKEY_VECTOR_CHECKS: readonly VectorCheck[] = [
  {
    name: 'mikey: I_MESSAGE processed with the keys given (key, key ID, RAND, GUK-ID)',
    needs: ['i_message_hex', 'initiator_uri', 'responder_uri', 'key', 'key_id', 'rand'],
    run: async (o, ctx) => {
      const r = await receiveWithSet(o, ctx, messageBytes(o));
      let ok = equalBytes(r.key, hx(o.key)) && equalBytes(r.keyId, hx(o.key_id)) && equalBytes(r.rand, hx(o.rand));
      if (o.guk_id !== undefined && r.kind === 'GMK') ok &&= r.gukId !== undefined && equalBytes(r.gukId, hx(o.guk_id));
      if (o.srtp_master_key !== undefined) {
        const m = srtpMasterKeys({ tgk: r.key, csId: PROFILE.csId.group, csbId: r.csbId, rand: r.rand });
        ok &&= equalBytes(m.masterKey, hx(o.srtp_master_key));
      }
      return ok;
    },
  },
  {
    name: 'mikey: I_MESSAGE with one flipped octet is refused',
    needs: ['i_message_hex', 'initiator_uri', 'responder_uri', 'key', 'key_id'],
    run: async (o, ctx) => {
      const bytes = messageBytes(o);
      // A few positions across the message: header, RAND, SAKKE data, signature.
      for (const at of [9, 30, Math.floor(bytes.length / 2), bytes.length - 140, bytes.length - 1]) {
        const t = bytes.slice();
        t[at]! ^= 0x01;
        const accepted = await receiveWithSet(o, ctx, t).then(
          () => true,
          () => false,
        );
        if (accepted) return false;
      }
      return true;
    },
  },
  {
    name: 'mikey: our own I_MESSAGE with the same keys is accepted',
    needs: ['i_message_hex', 'initiator_uri', 'responder_uri', 'key', 'key_id', 'rand'],
    run: async (o, ctx) => {
      const set = setOf(ctx);
      const from = identityOfKeySet(set, o.initiator_uri as string);
      const to = identityOfKeySet(set, o.responder_uri as string);
      if (from === undefined || to === undefined) throw new RangeError('initiator or responder has no keys in the set');
      const kind = kindOf(o);
      const time = unixMsOfNtpSeconds(decodeIMessage(messageBytes(o)).ntpSeconds!);
      const created = await createKeyDistribution({
        kind,
        key: hx(o.key),
        keyId: hx(o.key_id),
        rand: hx(o.rand),
        from,
        to: { uri: to.uri, kms: kmsOfKeySet(set) },
        time,
        hideIdentities: true,
        parameters: kind === 'GMK' ? { groupIds: ['sip:conformance-group@example.org'] } : undefined,
      });
      const r = await createMikeyKeyReceiver({ self: to, now: () => time, gmsUris: [from.uri] }).receive(created, kind, kind === 'GMK' ? { groupId: 'sip:conformance-group@example.org' } : {});
      return equalBytes(r.key, hx(o.key)) && equalBytes(r.keyId, hx(o.key_id)) && r.status === 'active';
    },
  },
];
