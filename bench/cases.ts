/**
 * Benchmark cases (issue: crypto core). Keys are made with the SDK's own KMS-side
 * functions from fixed seeds, so every run measures the same work in Node and Chromium.
 */
import {
  createSakkeReceiver,
  eccsiDeriveKpak,
  eccsiIssueSigningKey,
  eccsiSign,
  eccsiVerify,
  sakkeDerivePublicKey,
  sakkeEncapsulate,
  sakkeIssueReceiverKey,
  sakkeValidateReceiverKey,
} from '../src/crypto/index.js';
import { createKeyDistribution, createMikeyKeyReceiver } from '../src/keys/index.js';
import { hexToBytes } from '../src/util/bytes.js';
import { createTestKms } from '../test/helpers/test-kms.js';
import type { BenchCase } from './measure.js';
import { disposeGmsBench, gmsCases } from './gms-cases.js';
import { disposeSipBench, sipCases } from './sip-cases.js';
import { mediaCases } from './media-cases.js';
import { xmlProtectCases } from './xml-protect-cases.js';

// Fixed, non-secret benchmark material (never used outside benchmarks).
const Z_S = hexToBytes('1b2e6d0c5f4a39281716a5b4c3d2e1f0');
const KSAK = hexToBytes('5e0c1d2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6');
const ID = hexToBytes('b5c452309219da6a3d805615548d6c1b0f4de45a6b48fb13d9a24d857fc03dc4');
const SSV = hexToBytes('00112233445566778899aabbccddeeff');
const MESSAGE = new Uint8Array(420).map((_, i) => (i * 7) & 0xff); // about a GMK I_MESSAGE

function sakkeKeys() {
  const z = sakkeDerivePublicKey(Z_S);
  const rsk = sakkeIssueReceiverKey({ zS: Z_S, id: ID });
  return { id: ID, z, rsk };
}

function eccsiKeys() {
  const kpak = eccsiDeriveKpak(KSAK);
  const { ssk, pvt } = eccsiIssueSigningKey({ ksak: KSAK, id: ID, v: hexToBytes('0badc0de') });
  return { id: ID, kpak, ssk, pvt };
}

export function cryptoCases(): BenchCase[] {
  return [
    {
      name: 'sakke.decapsulate',
      setup: () => {
        const keys = sakkeKeys();
        const receiver = createSakkeReceiver(keys);
        const enc = sakkeEncapsulate(SSV, keys);
        return () => receiver.decapsulate(enc);
      },
    },
    {
      name: 'sakke.decapsulate.cold',
      samples: 10,
      warmup: 1,
      setup: () => {
        const keys = sakkeKeys();
        const enc = sakkeEncapsulate(SSV, keys);
        return () => createSakkeReceiver(keys).decapsulate(enc);
      },
    },
    {
      // Once per key period: validate the RSK and precompute the Miller lines and tables.
      name: 'sakke.create_receiver',
      samples: 10,
      warmup: 1,
      setup: () => {
        const keys = sakkeKeys();
        return () => createSakkeReceiver(keys);
      },
    },
    {
      // What the KMS client runs on every key set it fetches (RFC 6508 6.1.2).
      name: 'sakke.validate_receiver_key',
      samples: 20,
      setup: () => {
        const keys = sakkeKeys();
        return () => {
          if (!sakkeValidateReceiverKey(keys)) throw new Error('benchmark RSK did not validate');
        };
      },
    },
    {
      name: 'sakke.encapsulate',
      setup: () => {
        const keys = sakkeKeys();
        let i = 0;
        return () => {
          const ssv = SSV.slice();
          ssv[0] = i++ & 0xff;
          return sakkeEncapsulate(ssv, keys);
        };
      },
    },
    {
      name: 'eccsi.sign',
      samples: 50,
      setup: () => {
        const keys = eccsiKeys();
        return () => eccsiSign(MESSAGE, keys);
      },
    },
    {
      // A signer not seen before: the verifier's per-signer cache (16 entries) never hits,
      // because 64 signers take turns.
      name: 'eccsi.verify',
      samples: 64,
      setup: () => {
        const kpak = eccsiDeriveKpak(KSAK);
        const signers = Array.from({ length: 64 }, (_, i) => {
          const id = ID.slice();
          id[0] = i;
          const { ssk, pvt } = eccsiIssueSigningKey({ ksak: KSAK, id, v: hexToBytes('0badc0de') });
          const keys = { id, kpak, ssk, pvt };
          return { keys, sig: eccsiSign(MESSAGE, keys) };
        });
        let i = 0;
        return () => {
          const { keys, sig } = signers[i++ % signers.length]!;
          if (!eccsiVerify(MESSAGE, sig, keys)) throw new Error('benchmark signature did not verify');
        };
      },
    },
    {
      // The same signer again (a GMS sending many GMKs): served by the per-signer cache.
      name: 'eccsi.verify.repeat-signer',
      samples: 50,
      setup: () => {
        const keys = eccsiKeys();
        const sig = eccsiSign(MESSAGE, keys);
        return () => {
          if (!eccsiVerify(MESSAGE, sig, keys)) throw new Error('benchmark signature did not verify');
        };
      },
    },
  ];
}

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);

export function mikeyCases(): BenchCase[] {
  const kms = createTestKms('kms.bench.example', 5);
  const period = kms.periodAt(NOW);
  const gms = kms.identity('sip:gms@bench.example', [period]);
  const alice = kms.identity('sip:alice@bench.example', [period]);
  const bob = kms.identity('sip:bob@bench.example', [period]);
  const GMK = hexToBytes('00112233445566778899aabbccddeeff');
  const RAND = hexToBytes('0f0e0d0c0b0a09080706050403020100');
  return [
    {
      // Parse, freshness, ECCSI verify, authorization, SAKKE decapsulation (receiver warm:
      // created at the first message of the key period), GMK-ID, parameters (AES-GCM).
      name: 'mikey.receive.gmk',
      setup: async () => {
        const message = await createKeyDistribution({
          kind: 'GMK', key: GMK, keyId: hexToBytes('0a0b0c0d'), rand: RAND, from: gms,
          to: { uri: alice.uri, kms: kms.params }, time: NOW, parameters: { groupIds: ['sip:group@bench.example'] },
        });
        const receiver = createMikeyKeyReceiver({ self: alice, now: () => NOW, gmsUris: [gms.uri] });
        return () => receiver.receive(message, 'GMK', { groupId: 'sip:group@bench.example' });
      },
    },
    {
      // SAKKE encapsulation to the callee, ECCSI signature, encoding.
      name: 'mikey.create.pck',
      setup: () => {
        let n = 0;
        return () =>
          createKeyDistribution({
            kind: 'PCK', key: GMK, keyId: hexToBytes('1a0b0c0d'), rand: RAND, from: alice,
            to: { uri: bob.uri, kms: kms.params }, time: NOW + n++,
          });
      },
    },
  ];
}

export function allCases(): BenchCase[] {
  return [...cryptoCases(), ...mikeyCases(), ...xmlProtectCases(), ...mediaCases(), ...gmsCases(), ...sipCases()];
}

/** Stops the servers that Node-only cases started. */
export async function disposeNodeBenches(): Promise<void> {
  await Promise.all([disposeGmsBench(), disposeSipBench()]);
}
