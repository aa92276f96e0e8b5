/**
 * Identity key status (TS 33.179 5.6.1 key provisioning, 7.2 key periods): state, the KMS
 * certificate, the current and the next key period. Texts stay as the browser tests read them.
 */
import type { ProvisioningStatus } from '../../src/platform/provisioning.js';
import type { KeyStore } from '../../src/platform/key-store/index.js';
import { byId } from './dom.js';

export function showKeys(s: ProvisioningStatus, store?: KeyStore): void {
  const state = byId('key-state');
  // Colour is a second signal only: the text says the same.
  state.className = s.state === 'ready' ? 'ok' : s.state === 'failed' || s.state === 'offline' ? 'bad' : '';
  if (s.state === 'ready' || s.state === 'offline') {
    state.textContent = s.state === 'ready' ? 'ready (from the KMS)' : `offline: using stored keys (${s.error ?? 'KMS unreachable'}); retrying at ${new Date(s.retryAt ?? 0).toLocaleTimeString()}`;
    byId('key-kms').textContent = s.kmsUri;
    byId('key-period').textContent = `no. ${s.currentPeriod}, ends ${new Date(s.periodEndsAt).toISOString()}`;
    byId('key-next').textContent = s.nextPeriodReady ? 'held' : 'not yet fetched';
    void store?.getCertificate(s.kmsUri).then(
      (c) => {
        byId('key-cert').textContent =
          c === undefined ? 'not stored' : c.revoked ? 'revoked' : `valid until ${c.validTo >= Number.MAX_SAFE_INTEGER ? 'further notice' : new Date(c.validTo).toISOString()}`;
      },
      () => undefined,
    );
  } else if (s.state === 'failed') {
    state.textContent = `failed: ${s.error}; no usable keys`;
    for (const id of ['key-cert', 'key-period', 'key-next']) byId(id).textContent = '–';
  } else {
    state.textContent = s.state;
    if (s.state === 'idle') for (const id of ['key-cert', 'key-kms', 'key-period', 'key-next']) byId(id).textContent = '–';
  }
}
