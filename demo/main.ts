/**
 * The demo page: signs in at the dev identity server, provisions identity keys from the dev
 * KMS into IndexedDB, and shows their state. It renders no key, token or MCPTT ID.
 * (The push-to-talk UI arrives with the group call issue.)
 */
import { createMcpttClient, type McpttClient } from '../src/client.js';
import type { ProvisioningStatus } from '../src/platform/provisioning.js';
import { hexToBytes } from '../src/util/bytes.js';
import { loadDemoConfig, type DemoConfig } from './config.js';

const $ = (id: string): HTMLElement => document.getElementById(id)!;

function showKeys(s: ProvisioningStatus): void {
  const state = $('key-state');
  state.className = s.state === 'ready' ? 'ok' : s.state === 'failed' || s.state === 'offline' ? 'bad' : '';
  if (s.state === 'ready' || s.state === 'offline') {
    state.textContent = s.state === 'ready' ? 'ready (from the KMS)' : `offline: using stored keys (${s.error ?? 'KMS unreachable'}); retrying at ${new Date(s.retryAt ?? 0).toLocaleTimeString()}`;
    $('key-kms').textContent = s.kmsUri;
    $('key-period').textContent = `no. ${s.currentPeriod}, ends ${new Date(s.periodEndsAt).toISOString()}`;
    $('key-next').textContent = s.nextPeriodReady ? 'held' : 'not yet fetched';
  } else if (s.state === 'failed') {
    state.textContent = `failed: ${s.error}; no usable keys`;
  } else {
    state.textContent = s.state;
  }
}

function clientFor(config: DemoConfig): McpttClient {
  const here = new URL('./', location.href).toString();
  return createMcpttClient({
    idms: { authority: config.idms, clientId: config.clientId, redirectUri: here, postLogoutRedirectUri: here },
    kms: {
      baseUrl: config.kms,
      kmsUri: config.kmsUri,
      security: config.kmsSecurity === 'on',
      bootstrapTransportKey: (mcpttId) => {
        const t = config.users.find((u) => u.mcpttId === mcpttId)?.transportKey;
        return t === undefined ? undefined : { id: t.id, key: hexToBytes(t.keyHex) };
      },
    },
  });
}

async function main(): Promise<void> {
  const config = await loadDemoConfig();
  const client = clientFor(config);
  client.on('keys', showKeys);
  client.on('state', (s) => {
    $('session').textContent = s === 'signed-in' ? 'Signed in.' : 'Not signed in.';
    $('login').hidden = s === 'signed-in';
    $('logout').hidden = s !== 'signed-in';
  });
  $('login').addEventListener('click', () => void client.login('redirect'));
  $('logout').addEventListener('click', () => void client.logout({ clearKeys: true }).then(() => showKeys({ state: 'idle' })));

  // Test hooks: states and counts only, never key material, tokens or identities.
  Object.assign(window, {
    mcpttDemo: {
      keyStatus: () => client.keyStatus(),
      heldPeriods: () => {
        const id = client.identity();
        const s = client.keyStatus();
        if (id === undefined || !('currentPeriod' in s)) return [];
        return [s.currentPeriod - 1, s.currentPeriod, s.currentPeriod + 1].filter((n) => id.keysForPeriod(n) !== undefined);
      },
      /** Key sets held in IndexedDB for an identity the test names (the page shows none). */
      storedKeySetCount: async (mcpttId: string) => {
        const store = client.keyStore();
        return store ? (await store.keySets(mcpttId)).length : 0;
      },
    },
  });

  const url = new URL(location.href);
  if (url.searchParams.has('code') && url.searchParams.has('state')) {
    await client.completeLogin(location.href);
    history.replaceState(null, '', url.pathname);
  } else {
    await client.restore();
  }
}

$('selftest').addEventListener('click', () => {
  const out = $('selftest-result');
  out.textContent = 'Checking…';
  const worker = new Worker(new URL('./selftest.worker.ts', import.meta.url), { type: 'module' });
  const started = performance.now();
  worker.onmessage = (e: MessageEvent<{ passed: number; failed: number }>) => {
    out.textContent = `${e.data.passed} vector checks passed, ${e.data.failed} failed (${Math.round(performance.now() - started)} ms)`;
    out.className = e.data.failed === 0 ? 'ok' : 'bad';
    worker.terminate();
  };
});

main().catch((e: unknown) => {
  $('session').textContent = `The demo could not start: ${e instanceof Error ? e.message : String(e)}`;
});
