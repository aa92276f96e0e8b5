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
} from '../src/crypto/index.js';
import { hexToBytes } from '../src/util/bytes.js';
import type { BenchCase } from './measure.js';

// Fixed, non-secret benchmark material (never used outside benchmarks).
const Z_S = hexToBytes('1b2e6d0c5f4a39281716a5b4c3d2e1f00112233445566778899aabbccddeeff');
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
      name: 'eccsi.verify',
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

export function allCases(): BenchCase[] {
  return [...cryptoCases()];
}
