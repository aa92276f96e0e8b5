/**
 * Identity key provisioning as the SDK does it after login, timed in a dedicated worker:
 * KMS init + keyprov (current and next period) with the security extension, validation of
 * the certificate and both key sets, and storing them in IndexedDB.
 */
import { eccsiValidateSigningKey, sakkeValidateReceiverKey } from '../../src/crypto/index.js';
import { uidOf } from '../../src/keys/identity.js';
import { openKeyStore, type KeyStore } from '../../src/platform/key-store/index.js';
import { createKmsClient, type KmsClient } from '../../src/platform/kms/index.js';
import { hexToBytes } from '../../src/util/bytes.js';
import { measure, type BenchResult } from '../measure.js';

interface Params {
  readonly kms: string;
  readonly kmsUri: string;
  readonly token: string;
  readonly mcpttId: string;
  readonly transportKey: { readonly id: string; readonly keyHex: string };
}

function clientFor(p: Params, store: KeyStore): KmsClient {
  return createKmsClient({
    baseUrl: p.kms,
    kmsUri: p.kmsUri,
    identity: p.mcpttId,
    accessToken: async () => p.token,
    security: 'required',
    transportKeyId: p.transportKey.id,
    transportKeys: {
      get: async (id) => (await store.getTransportKey(id))?.key,
      put: (id, key, kind) => store.putTransportKey({ id, kind, key, storedAt: Date.now() }),
    },
  });
}

async function run(p: Params): Promise<BenchResult[]> {
  const store = await openKeyStore({ name: 'mcptt-bench-provision' });
  await store.clear();
  await store.putTransportKey({ id: p.transportKey.id, kind: 'TrK', key: hexToBytes(p.transportKey.keyHex), storedAt: Date.now() });
  const provision = {
    name: 'kms.provision',
    samples: 15,
    warmup: 2,
    setup: () => async () => {
      const client = clientFor(p, store);
      const { certificate } = await client.init();
      const sets = await client.keyProvision();
      if (sets.length < 2) throw new Error('expected the current and the next key period');
      const now = Date.now();
      await store.putCertificate({ kmsUri: certificate.kmsUri, params: certificate, validFrom: certificate.validFrom ?? 0, validTo: certificate.validTo ?? Number.MAX_SAFE_INTEGER, revoked: false, fetchedAt: now });
      for (const s of sets) await store.putKeySet({ identity: p.mcpttId, kmsUri: certificate.kmsUri, keys: s, validFrom: s.validFrom, validTo: s.validTo, fetchedAt: now });
    },
  };
  const validation = {
    // The cryptographic checks of one key set inside the above: UID, RSK (a pairing), SSK/PVT.
    name: 'kms.key_set_validation',
    samples: 15,
    setup: async () => {
      const client = clientFor(p, store);
      const { certificate } = await client.init();
      const [set] = await client.keyProvision();
      if (set === undefined) throw new Error('no key set');
      return () => {
        const uid = uidOf(p.mcpttId, certificate, set.keyPeriodNo);
        if (!sakkeValidateReceiverKey({ id: uid, rsk: set.rsk, z: certificate.z })) throw new Error('RSK');
        if (!eccsiValidateSigningKey({ id: uid, ssk: set.ssk, pvt: set.pvt, kpak: certificate.kpak })) throw new Error('SSK');
      };
    },
  };
  const results = [await measure(provision, 'chromium-worker'), await measure(validation, 'chromium-worker')];
  await store.clear();
  store.close();
  return results;
}

self.onmessage = (e: MessageEvent<Params>) => {
  run(e.data).then(
    (results) => postMessage({ results }),
    (err: unknown) => postMessage({ error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }),
  );
};
