/**
 * `sip.private-call.key-setup` (TS 33.179 7.4): from the caller placing a private call to the
 * PCK being ready on both sides, through the real dev stack (Kamailio, the dev MCPTT server
 * for service authorization, real tokens from the dev IdMS, keys from the dev KMS). The
 * caller creates the PCK and its I_MESSAGE inside the measured time (no pre-generated
 * offer); the callee verifies and decapsulates it before answering. Media is a stub: this
 * measures key setup, not ICE. Node only.
 */
import type { ReceivedKey } from '../src/keys/index.js';
import type { BenchCase } from './measure.js';

const isNode = (): boolean => typeof process !== 'undefined' && typeof process.versions?.node === 'string';

// Node-only modules through a computed specifier, so the browser bundle never follows them.
async function nodeOnly<T>(specifier: string): Promise<T> {
  return (await import(/* @vite-ignore */ specifier)) as T;
}

let disposers: (() => Promise<void>)[] = [];

/** Stops what the SIP benchmark started; idempotent. */
export async function disposeSipBench(): Promise<void> {
  const d = disposers;
  disposers = [];
  for (const f of d.reverse()) await f().catch(() => {});
}

/** An in-memory media key store: the benchmark measures signalling, not IndexedDB. */
function memoryStore() {
  const keys = new Map<string, ReceivedKey>();
  const id = (kind: string, keyId: Uint8Array) => `${kind}:${[...keyId].join('.')}`;
  return {
    putMediaKey: async (r: ReceivedKey) => void keys.set(id(r.kind, r.keyId), r),
    getMediaKey: async (kind: string, keyId: Uint8Array) => keys.get(id(kind, keyId)),
    mediaKeys: async (f?: { kind?: string; groupId?: string }) => [...keys.values()].filter((k) => (f?.kind === undefined || k.kind === f.kind) && (f?.groupId === undefined || k.groupIds.includes(f.groupId))),
  };
}

function privateCallCase(): BenchCase {
  return {
    name: 'sip.private-call.key-setup',
    samples: 20,
    warmup: 3,
    selfTimed: true,
    setup: async () => {
      const { WebSocket } = await nodeOnly<typeof import('ws')>('ws');
      (globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;
      const { startDevstack } = await nodeOnly<typeof import('../demo/server/devstack.js')>('../demo/server/devstack.js');
      const { devLogin } = await nodeOnly<typeof import('../demo/server/dev-login.js')>('../demo/server/dev-login.js');
      const { stubSdhFactory } = await nodeOnly<typeof import('../test/signalling/helpers.js')>('../test/signalling/helpers.js');
      const { createSignallingSession } = await import('../src/platform/signalling/index.js');
      const { staticIdentity, periodAt, ntpSecondsOfUnixMs } = await import('../src/keys/index.js');
      const web = 'http://127.0.0.1:5199';
      const stack = await startDevstack({ webOrigins: [web], sip: true, kmsSecurity: 'off' });
      disposers.push(() => stack.close());
      const period = periodAt(stack.kms.params, ntpSecondsOfUnixMs(Date.now()));
      const session = async (username: string, password: string, mcpttId: string) => {
        const { tokens } = await devLogin({ issuer: stack.config.idms, clientId: stack.config.clientId, redirectUri: `${web}/demo/`, username, password });
        const identity = staticIdentity(mcpttId, stack.kms.params, [stack.kms.issue(mcpttId, period), stack.kms.issue(mcpttId, period + 1)]);
        const s = createSignallingSession({
          sipServer: stack.config.sip!,
          mcpttServerUri: stack.config.mcpttServer!,
          gmsUris: [stack.config.serverIdentities.gms],
          identity: () => identity,
          tokens: { accessToken: async () => tokens.access_token },
          store: memoryStore(),
          sessionDescriptionHandlerFactory: stubSdhFactory(),
        });
        disposers.push(() => s.stop());
        await s.start();
        return s;
      };
      const alice = await session('alice', 'alice-pass', 'sip:alice@mcptt.example');
      const bob = await session('bob', 'bob-pass', 'sip:bob@mcptt.example');
      bob.on('incoming-call', (c) => void c.accept());
      return async () => {
        const bobHasKeys = new Promise<void>((resolve) => {
          const off = bob.on('call-keys', () => {
            off();
            resolve();
          });
        });
        const t0 = performance.now();
        const call = await alice.call('sip:bob@mcptt.example');
        await bobHasKeys;
        const us = (performance.now() - t0) * 1000;
        await call.hangup();
        return us;
      };
    },
  };
}

export function sipCases(): BenchCase[] {
  return isNode() ? [privateCallCase()] : [];
}
