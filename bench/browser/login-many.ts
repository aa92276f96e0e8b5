/**
 * Benchmark `gmk.login_many` (issue 7 KPI; TS 33.179 5.6.1 login and provisioning, 5.6.2.1
 * registration, 7.3.2 GMK notifications and the C-5 group pull): a dispatcher who is a member
 * of 100+ groups logs in on this page (the page's main thread, as an app embeds the SDK) and
 * the time runs from the login redirect landing here to every group's GMK stored in
 * IndexedDB (and held by the media key ring when the client hands GMKs to it). Meanwhile the
 * longest main-thread task is recorded: PerformanceObserver 'longtask' entries (≥ 50 ms) and
 * the largest gap between animation frames (which also sees shorter tasks).
 *
 * The runner (bench/login-many.ts) calls `benchLogin(config, username)`, fills in the IdMS's
 * login form, and reads `benchResult` on the page the IdMS redirects back to.
 */
import { createMcpttClient, type McpttClient } from '../../src/client.js';
import { hexToBytes } from '../../src/util/bytes.js';

interface Config {
  readonly idms: string;
  readonly kms: string;
  readonly kmsUri: string;
  readonly clientId: string;
  readonly sip: string;
  readonly mcpttServer: string;
  readonly gms: string;
  readonly serverIdentities: { readonly gms: string };
  readonly users: readonly { readonly username: string; readonly mcpttId: string; readonly transportKey?: { readonly id: string; readonly keyHex: string } }[];
  readonly groups: readonly { readonly groupId: string; readonly members: readonly string[] }[];
}

export interface LoginManyResult {
  /** From the redirect landing (navigation start) to every GMK stored (and in the key ring). */
  readonly totalMs: number;
  /** From `completeLogin()` starting to the same point. */
  readonly fromCompleteLoginMs: number;
  /** Identity keys ready (token exchanged, keys provisioned and stored), from navigation start. */
  readonly keysReadyMs: number;
  /** Registered (REGISTER with token and CSK answered), from navigation start. */
  readonly registeredMs: number;
  readonly groups: number;
  readonly storedGroups: number;
  /** Groups the media key ring holds a key for at the end (0 while the client does not hand GMKs to it). */
  readonly ringGroups: number;
  /** Longest 'longtask' entry in [completeLogin, done] (0: none ≥ 50 ms). */
  readonly longestTaskMs: number;
  readonly longTasks: number;
  /** Largest gap between animation frames in [completeLogin, done]. */
  readonly longestFrameGapMs: number;
  /** Refusals other than duplicates. */
  readonly refused: number;
  /** GMKs that arrived twice (pull and notification) and were refused as duplicates the second time. */
  readonly duplicates: number;
}

const KEY = 'mcptt.bench.login-many';
const status = (t: string): void => void (document.getElementById('status')!.textContent = t);

// Observers first, so nothing the SDK does after the landing escapes them.
const longTasks: { start: number; duration: number }[] = [];
try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) longTasks.push({ start: e.startTime, duration: e.duration });
  }).observe({ type: 'longtask', buffered: true });
} catch {
  // No Long Tasks API: the frame gaps remain.
}
const frames: number[] = [];
let watching = true;
const frame = (t: number): void => {
  frames.push(t);
  if (watching) requestAnimationFrame(frame);
};
requestAnimationFrame(frame);

function clientFor(config: Config): McpttClient {
  const here = new URL(location.pathname, location.href).toString();
  return createMcpttClient({
    idms: { authority: config.idms, clientId: config.clientId, redirectUri: here, postLogoutRedirectUri: here },
    kms: {
      baseUrl: config.kms,
      kmsUri: config.kmsUri,
      security: true,
      bootstrapTransportKey: (mcpttId) => {
        const t = config.users.find((u) => u.mcpttId === mcpttId)?.transportKey;
        return t === undefined ? undefined : { id: t.id, key: hexToBytes(t.keyHex) };
      },
    },
    // A database per run: every login starts with an empty key store, as on a new console.
    keyStore: { name: `mcptt-bench-login-many-${Date.now()}` },
  });
}

async function measure(config: Config, mcpttId: string): Promise<LoginManyResult> {
  const client = clientFor(config);
  const expected = new Set(config.groups.filter((g) => g.members.includes(mcpttId)).map((g) => g.groupId));
  const stored = new Set<string>();
  let refused = 0;
  let keysReadyMs = 0;
  let registeredMs = 0;
  const ringGroups = (): number => new Set((client.media()?.keyRing.contexts() ?? []).filter((c) => c.kind === 'group').map((c) => (c as { groupId: string }).groupId)).size;
  const allStored = new Promise<number>((resolve) => {
    client.on('group-key', (k) => {
      if (expected.has(k.groupId)) stored.add(k.groupId);
      if (stored.size === expected.size) resolve(performance.now());
    });
  });
  // A GMK that came by the pull and again by its notification is refused as a duplicate (the GMS
  // counts that 488 as delivered): expected at login. Any other refusal is a failure.
  let duplicates = 0;
  client.on('group-key-refused', (f) => void (f.code === 'ERR_MIKEY_DUPLICATE_KEY' ? duplicates++ : refused++));
  client.on('keys', (s) => {
    if (s.state === 'ready' && keysReadyMs === 0) keysReadyMs = performance.now();
  });
  client.on('registration', (s) => {
    if (s === 'registered' && registeredMs === 0) registeredMs = performance.now();
  });

  const t0 = performance.now();
  await client.completeLogin(location.href);
  status('signed in, connecting');
  await client.connect({ sipServer: config.sip, mcpttServerUri: config.mcpttServer, gmsUris: [config.serverIdentities.gms], gmsUrl: config.gms });
  let end = await allStored;
  // Handed to the media key ring as well, when the client does that (up to 1 s more).
  for (let waited = 0; ringGroups() > 0 && ringGroups() < expected.size && waited < 1000; waited += 5) await new Promise((r) => setTimeout(r, 5));
  if (ringGroups() >= expected.size) end = performance.now();
  watching = false;
  // IndexedDB holds every group's GMK (read back, not inferred from events).
  const inStore = new Set((await client.keyStore()!.mediaKeys({ kind: 'GMK' })).flatMap((k) => k.groupIds).filter((g) => expected.has(g)));
  const inWindow = (start: number): boolean => start >= t0 && start <= end;
  let gap = 0;
  for (let i = 1; i < frames.length; i++) if (inWindow(frames[i]!)) gap = Math.max(gap, frames[i]! - frames[i - 1]!);
  const tasks = longTasks.filter((t) => inWindow(t.start) || inWindow(t.start + t.duration));
  const result: LoginManyResult = {
    totalMs: end,
    fromCompleteLoginMs: end - t0,
    keysReadyMs,
    registeredMs,
    groups: expected.size,
    storedGroups: inStore.size,
    ringGroups: ringGroups(),
    longestTaskMs: tasks.reduce((m, t) => Math.max(m, t.duration), 0),
    longTasks: tasks.length,
    longestFrameGapMs: gap,
    refused,
    duplicates,
  };
  await client.disconnect();
  status('done');
  return result;
}

const w = window as unknown as { benchLogin(config: Config, username: string): Promise<void>; benchResult?: Promise<LoginManyResult> };
w.benchLogin = async (config, username) => {
  sessionStorage.setItem(KEY, JSON.stringify({ config, username }));
  await clientFor(config).login('redirect');
};
const url = new URL(location.href);
const saved = sessionStorage.getItem(KEY);
if (saved !== null && url.searchParams.has('code')) {
  const { config, username } = JSON.parse(saved) as { config: Config; username: string };
  const mcpttId = config.users.find((u) => u.username === username)!.mcpttId;
  status('measuring');
  w.benchResult = measure(config, mcpttId);
}
