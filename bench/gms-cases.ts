/**
 * Benchmarks of the dev GMS (TS 33.179 7.3.1 GMK creation, 7.3.2 GMK provisioning; the
 * RFC 5275 rekey of a whole group list):
 *
 * - `gms.rekey.100`: in process, SIP sending EXCLUDED. One rekey of a 100-member group: a
 *   new GMK, GMK-ID and RAND, and the 100 members' I_MESSAGEs (SAKKE to each member's UID,
 *   key parameters sealed under the GMK, ECCSI signature as the GMS) — the CPU work a rekey
 *   costs the GMS. Pure code, so it runs in Node and in the browser worker alike.
 * - `gms.rekey.100.sip` (Node only): the same rekey through a running dev MCPTT server,
 *   SIP sending INCLUDED: the server creates the I_MESSAGEs and sends 100 MESSAGE requests
 *   through a real Kamailio to 100 registered members, and the sample ends when all 100
 *   final responses (200) are back. The members are one raw SIP endpoint that registers the
 *   100 AORs and answers 200 at once, so the member side's MIKEY processing is not counted.
 *   Kamailio, the server and the member endpoint are closed after the last sample (a BenchCase
 *   has no teardown; `disposeGmsBench()` does it early, and Kamailio also dies with the process).
 *
 * Keys come from the tests' in-process KMS (fixed seeds), as in bench/cases.ts.
 */
import { createGroupKeyManager } from '../demo/server/mcptt-server/gms.js';
import type { RunningKamailio } from '../demo/server/kamailio.js';
import type { RunningMcpttServer, SipEndpoint } from '../demo/server/mcptt-server/index.js';
import { createTestKms } from '../test/helpers/test-kms.js';
import type { BenchCase } from './measure.js';

const DOMAIN = 'mcptt.example';
const GMS_URI = 'sip:gms@mcptt.example';
const SERVER_URI = 'sip:mcptt-server@mcptt.example';
const GROUP = 'sip:bench-ops@mcptt.example';
const MEMBERS = Array.from({ length: 100 }, (_, i) => `sip:member-${String(i).padStart(3, '0')}@${DOMAIN}`);

const SIP_SAMPLES = 10;
const SIP_WARMUP = 2;

function groupKeys() {
  const kms = createTestKms('kms.mcptt.example');
  const p = kms.periodAt(Date.now());
  // This period and the next: a run that crosses a period boundary still signs.
  return { kms, gms: kms.identity(GMS_URI, [p, p + 1]) };
}

const isNode = (): boolean => typeof process !== 'undefined' && typeof process.versions?.node === 'string';

// Node-only modules are loaded through a computed specifier so that Vite, which bundles
// these cases for the browser worker, never follows them.
async function nodeOnly<T>(specifier: string): Promise<T> {
  return (await import(/* @vite-ignore */ specifier)) as T;
}

let disposers: (() => Promise<void>)[] = [];

/** Stops what `gms.rekey.100.sip` started (Kamailio, server, member endpoint); idempotent. */
export async function disposeGmsBench(): Promise<void> {
  const d = disposers;
  disposers = [];
  for (const f of d.reverse()) await f().catch(() => {});
}

function inProcessCase(): BenchCase {
  return {
    name: 'gms.rekey.100',
    samples: 10,
    warmup: 1,
    setup: () => {
      const { kms, gms: identity } = groupKeys();
      const gms = createGroupKeyManager({ gms: identity, memberKms: kms.params, groups: [{ groupId: GROUP, members: MEMBERS }] });
      return async () => {
        const k = gms.rekey(GROUP);
        const messages = await gms.iMessages(k, MEMBERS);
        if (messages.length !== MEMBERS.length) throw new Error('benchmark rekey made too few I_MESSAGEs');
      };
    },
  };
}

function sipCase(): BenchCase {
  return {
    name: 'gms.rekey.100.sip',
    samples: SIP_SAMPLES,
    warmup: SIP_WARMUP,
    setup: async () => {
      const { startKamailio } = await nodeOnly<typeof import('../demo/server/kamailio.js')>('../demo/server/kamailio.js');
      const { startMcpttServer, createSipEndpoint } = await nodeOnly<typeof import('../demo/server/mcptt-server/index.js')>('../demo/server/mcptt-server/index.js');
      const { kms } = groupKeys();
      const kam: RunningKamailio = await startKamailio({ domain: DOMAIN, appServer: { uri: SERVER_URI, routePsis: [SERVER_URI, GROUP] } });
      disposers.push(() => kam.close());
      const members: SipEndpoint = createSipEndpoint({ url: kam.wsUrl, domain: DOMAIN, aors: MEMBERS, contactUser: 'bench-members', onRequest: () => ({ status: 200 }) });
      await members.start();
      disposers.push(() => members.close());
      const server: RunningMcpttServer = await startMcpttServer({
        sipWsUrl: kam.wsUrl,
        domain: DOMAIN,
        serverUri: SERVER_URI,
        gmsUri: GMS_URI,
        kmsParams: kms.params,
        keysFor: (id, n) => kms.issue(id, n),
        verifyToken: async () => {
          throw new Error('no service authorization in this benchmark');
        },
        groups: [{ groupId: GROUP, members: MEMBERS }],
        deliverTo: 'all-members',
      });
      disposers.push(() => server.close());
      let calls = 0;
      return async () => {
        const before = server.sent().length;
        await server.rekey(GROUP);
        const sent = server.sent().slice(before);
        if (sent.length !== MEMBERS.length || sent.some((s) => s.status !== 200)) throw new Error('benchmark rekey: not every member answered 200');
        // After the last sample (measure() has stopped its clock by the time the timer fires).
        if (++calls === SIP_WARMUP + SIP_SAMPLES) setTimeout(() => void disposeGmsBench(), 0);
      };
    },
  };
}

/** The GMS cases; the SIP variant only where Node runs them. */
export function gmsCases(): BenchCase[] {
  return isNode() ? [inProcessCase(), sipCase()] : [inProcessCase()];
}
