/**
 * The demo page: signs in at the dev identity server, provisions identity keys from the dev
 * KMS into IndexedDB, registers with the SIP core (access token + CSK), receives the group
 * keys, and places and answers private calls whose key travels in the SDP. It renders no
 * key, token or MCPTT ID (people and groups appear by display name).
 * (The push-to-talk UI arrives with the group call issue.)
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { createMcpttClient, type McpttClient } from '../src/client.js';
import { gukId, srtpMasterKeys } from '../src/crypto/index.js';
import { keyProfile } from '../src/keys/index.js';
import type { ProvisioningStatus } from '../src/platform/provisioning.js';
import type { IncomingPrivateCall, PrivateCall } from '../src/platform/signalling/index.js';
import { bytesToHex, concatBytes, hexToBytes } from '../src/util/bytes.js';
import { loadDemoConfig, type DemoConfig } from './config.js';
import type { Web } from 'sip.js';

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

const fingerprint = (...parts: Uint8Array[]): string => bytesToHex(sha256(concatBytes(...parts))).slice(0, 32);

async function main(): Promise<void> {
  const config = await loadDemoConfig();
  const client = clientFor(config);
  const nameOf = (mcpttId: string | undefined): string => config.users.find((u) => u.mcpttId === mcpttId)?.displayName ?? 'unknown caller';
  const groupName = (groupId: string): string => config.groups?.find((g) => g.groupId === groupId)?.displayName ?? 'a group';
  const groupKeys = new Map<string, { gmkId: string; status: string }>();
  let registration = 'idle';
  let currentCall: PrivateCall | undefined;
  let ringing: IncomingPrivateCall | undefined;
  const refusals: string[] = [];
  const mediaEvents: { type: string; direction?: string; mki?: string; reason?: string }[] = [];
  const peerConnection = (): RTCPeerConnection | undefined =>
    (currentCall?.sip.sessionDescriptionHandler as Web.SessionDescriptionHandler | undefined)?.peerConnection;
  const remoteAudio = new Audio();

  const renderGroups = (): void => {
    const ul = $('groups');
    ul.replaceChildren(
      ...[...groupKeys].map(([groupId, k]) => {
        const li = document.createElement('li');
        li.textContent = `${groupName(groupId)}: GMK ${k.gmkId} ${k.status}`;
        return li;
      }),
    );
  };
  const setCall = (text: string): void => void ($('call-state').textContent = text);

  client.on('keys', showKeys);
  client.on('state', (s) => {
    $('session').textContent = s === 'signed-in' ? 'Signed in.' : 'Not signed in.';
    $('login').hidden = s === 'signed-in';
    $('logout').hidden = s !== 'signed-in';
  });
  client.on('registration', (state) => {
    registration = state;
    $('registration').textContent = state === 'registered' ? 'Registered with the MCPTT service.' : `Registration: ${state}`;
    ($('call') as HTMLButtonElement).disabled = state !== 'registered';
  });
  client.on('group-key', (k) => {
    groupKeys.set(k.groupId, { gmkId: k.gmkId, status: k.status });
    renderGroups();
  });
  client.on('group-key-refused', (f) => refusals.push(f.code));
  client.on('incoming-call', (call) => {
    ringing = call;
    setCall(`Incoming call from ${call.caller.hidden ? 'a caller whose identity is hidden' : nameOf(call.caller.uri)}`);
    $('incoming').hidden = false;
  });
  client.on('call-keys', (call) => {
    currentCall = call;
    setCall(`In a call with ${call.peer.hidden ? 'a hidden caller' : nameOf(call.peer.uri)} (PCK ${call.pckId})`);
    $('hangup').hidden = false;
    $('incoming').hidden = true;
    // Play the other party (decrypted by the E2EE worker when E2EE is on).
    remoteAudio.srcObject = (call.sip.sessionDescriptionHandler as Web.SessionDescriptionHandler | undefined)?.remoteMediaStream ?? null;
    void remoteAudio.play().catch(() => undefined);
  });
  client.on('call-ended', () => {
    currentCall = undefined;
    setCall('Call ended.');
    $('hangup').hidden = true;
  });
  client.on('call-failed', (f) => setCall(`Call failed (${f.code}).`));

  const callee = $('callee') as HTMLSelectElement;
  for (const u of config.users) callee.add(new Option(u.displayName, u.username));
  $('call').addEventListener('click', () => {
    const user = config.users.find((u) => u.username === callee.value);
    if (user === undefined) return;
    setCall(`Calling ${user.displayName}…`);
    void client.call(user.mcpttId).catch((e: unknown) => setCall(`Call failed (${(e as { code?: string }).code ?? 'error'}).`));
  });
  $('answer').addEventListener('click', () => void ringing?.accept());
  $('decline').addEventListener('click', () => {
    ringing?.reject('declined');
    $('incoming').hidden = true;
    setCall('Declined.');
  });
  $('hangup').addEventListener('click', () => void currentCall?.hangup());
  $('login').addEventListener('click', () => void client.login('redirect'));
  $('logout').addEventListener('click', () => void client.logout({ clearKeys: true }).then(() => showKeys({ state: 'idle' })));

  // Test hooks: states, key IDs and one-way fingerprints; never key material, tokens or identities.
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
      registration: () => registration,
      groupKeys: () => Object.fromEntries(groupKeys),
      storedGmkIds: async (groupId: string) => {
        const store = client.keyStore();
        return store ? (await store.mediaKeys({ kind: 'GMK', groupId })).map((k) => `${bytesToHex(k.keyId)}:${k.status}`) : [];
      },
      refusals: () => [...refusals],
      /** Fingerprint of the SRTP master key/salt of `senderMcpttId`'s streams in a group. */
      senderKeyFingerprint: async (groupId: string, senderMcpttId: string) => {
        const store = client.keyStore();
        const held = groupKeys.get(groupId);
        const k = store && held ? await store.getMediaKey('GMK', hexToBytes(held.gmkId)) : undefined;
        if (k === undefined) return undefined;
        const guk = gukId({ gmk: k.key, gmkId: k.keyId, mcpttId: senderMcpttId });
        const m = srtpMasterKeys({ tgk: k.key, csId: keyProfile().csId.group, csbId: guk, rand: k.rand });
        return fingerprint(m.masterKey, m.masterSalt);
      },
      callState: () => currentCall?.state ?? (ringing ? 'ringing' : 'none'),
      /** E2EE of call media: mode, per-track counters (no keys), events seen (key IDs only). */
      mediaMode: () => client.media()?.mode ?? 'off',
      mediaCounters: async () => (await client.media()?.counters()) ?? [],
      mediaEvents: () => [...mediaEvents],
      /** Received audio of the current call (inbound-rtp stats). */
      callInbound: async () => {
        const out = { energy: 0, packets: 0 };
        (await peerConnection()?.getStats())?.forEach((r: { type: string; kind?: string; totalAudioEnergy?: number; packetsReceived?: number }) => {
          if (r.type === 'inbound-rtp' && r.kind === 'audio') Object.assign(out, { energy: r.totalAudioEnergy ?? 0, packets: r.packetsReceived ?? 0 });
        });
        return out;
      },
      callKeyFingerprint: () => {
        if (currentCall === undefined) return undefined;
        const k = currentCall.keys();
        return fingerprint(k.key, k.keyId, k.rand);
      },
    },
  });

  const url = new URL(location.href);
  if (url.searchParams.has('code') && url.searchParams.has('state')) {
    await client.completeLogin(location.href);
    history.replaceState(null, '', url.pathname);
  } else if (!(await client.restore())) {
    return;
  }
  if (config.sip !== undefined && config.mcpttServer !== undefined) {
    $('registration').textContent = 'Connecting…';
    await client.connect({
      sipServer: config.sip,
      mcpttServerUri: config.mcpttServer,
      gmsUris: [config.serverIdentities.gms],
      ...(config.gms !== undefined ? { gmsUrl: config.gms } : {}),
    });
    const media = client.media();
    for (const t of ['encrypting', 'missing-key', 'decrypt-failed', 'unencrypted-frame-received', 'worker-error', 'transform-bypassed'] as const) {
      media?.on(t, (e) => {
        const { direction, mki, reason } = e as { direction?: string; mki?: string; reason?: string };
        mediaEvents.push({ type: e.type, ...(direction ? { direction } : {}), ...(mki ? { mki } : {}), ...(reason ? { reason } : {}) });
      });
    }
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
