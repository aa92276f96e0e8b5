/**
 * Keeping a user's identity keys ready (TS 33.179 7.2, 5.6.1 step C-3; Annex D key periods).
 *
 * After login the provisioner fetches the KMS certificate and the key sets of the current
 * and the next key period, validates them (the KMS client does) and stores them; it fetches
 * the following period ahead of each period change, prunes old periods after a grace time,
 * and when the KMS cannot be reached it keeps working from the stored keys, retrying with
 * exponential backoff. The state is explicit:
 *
 *   idle ──start()──► provisioning ──► ready (source kms)
 *                          │   ▲             │ period change / refresh()
 *                          │   └─────────────┘
 *                          ├──► offline (KMS unreachable or refusing; stored keys in use; retry scheduled)
 *                          └──► failed  (no usable keys at all; retry scheduled)
 *   any ──stop()──► stopped
 *
 * Adapters are passed in (KMS client, key store, clock, timers) so it runs in unit tests.
 */
import { McpttError, KmsError } from '../errors.js';
import { ntpSecondsOfUnixMs, periodAt, periodEndUnixMs, type KmsPublicParameters, type LocalIdentity, type PeriodKeys } from '../keys/identity.js';

/** What the provisioner needs of a validated KMS certificate (validity may be open-ended). */
export interface ProvisionedCertificate extends KmsPublicParameters {
  readonly validFrom: number | undefined;
  readonly validTo: number | undefined;
}

/** What the provisioner needs of a validated key set. */
export interface ProvisionedKeySet extends PeriodKeys {
  readonly validFrom: number;
  readonly validTo: number;
}

/** Port to the KMS (src/platform/kms). */
export interface KmsPort {
  init(): Promise<{ readonly certificate: ProvisionedCertificate }>;
  keyProvision(o?: { readonly at?: number }): Promise<readonly ProvisionedKeySet[]>;
}

/** Port to the key store (src/platform/key-store). */
export interface KeyStorePort {
  putCertificate(c: { kmsUri: string; params: KmsPublicParameters; validFrom: number; validTo: number; revoked: boolean; fetchedAt: number }): Promise<void>;
  getCertificate(kmsUri: string): Promise<{ readonly params: KmsPublicParameters; readonly validFrom: number; readonly validTo: number; readonly revoked: boolean } | undefined>;
  putKeySet(s: { identity: string; kmsUri: string; keys: PeriodKeys; validFrom: number; validTo: number; fetchedAt: number }): Promise<void>;
  keySets(identity: string): Promise<readonly { readonly kmsUri: string; readonly keys: PeriodKeys; readonly validTo: number }[]>;
  prune(o: { now: number; graceMs: number }): Promise<unknown>;
}

export interface TimerPort {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export type ProvisioningStatus =
  | { readonly state: 'idle' | 'provisioning' | 'stopped' }
  | {
      readonly state: 'ready' | 'offline';
      /** Where the keys in use came from this time. */
      readonly source: 'kms' | 'store';
      readonly kmsUri: string;
      readonly currentPeriod: number;
      /** True when the next period's keys are already held. */
      readonly nextPeriodReady: boolean;
      /** Unix ms at which the current period ends. */
      readonly periodEndsAt: number;
      /** For `offline`: why the KMS was not used, and when it is tried again. */
      readonly error?: string;
      readonly retryAt?: number;
    }
  | { readonly state: 'failed'; readonly error: string; readonly retryAt?: number };

export interface KeyProvisionerOptions {
  /** Our MCPTT ID. */
  readonly identity: string;
  readonly kmsUri: string;
  readonly kms: KmsPort;
  readonly store: KeyStorePort;
  readonly now?: () => number;
  readonly timers?: TimerPort;
  /** Fetch the next period this long before the current one ends (default 1 hour, at most half a period). */
  readonly prefetchMs?: number;
  /** Keep a period's keys this long after it ended (late messages; default 1 day). */
  readonly graceMs?: number;
  /** Backoff of retries while the KMS is unreachable. */
  readonly retry?: { readonly initialMs?: number; readonly maxMs?: number };
  /** Randomness for backoff jitter (default Math.random: not a secret). */
  readonly random?: () => number;
}

export interface KeyProvisioner {
  start(): Promise<ProvisioningStatus>;
  /** Fetches again now (e.g. after a reconnect); resolves with the new status. */
  refresh(): Promise<ProvisioningStatus>;
  status(): ProvisioningStatus;
  /** The identity as the MIKEY receive path needs it; undefined until keys are held. */
  identity(): LocalIdentity | undefined;
  on(event: 'status', listener: (s: ProvisioningStatus) => void): () => void;
  stop(): void;
}

const DEFAULT_PREFETCH_MS = 3_600_000;
const DEFAULT_GRACE_MS = 86_400_000;

const errorCode = (e: unknown): string => (e instanceof McpttError ? e.code : 'ERR_KMS_UNREACHABLE');

export function createKeyProvisioner(o: KeyProvisionerOptions): KeyProvisioner {
  const now = o.now ?? Date.now;
  const timers: TimerPort = o.timers ?? { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>) };
  const graceMs = o.graceMs ?? DEFAULT_GRACE_MS;
  const initialRetry = o.retry?.initialMs ?? 2_000;
  const maxRetry = o.retry?.maxMs ?? 300_000;
  const random = o.random ?? Math.random;
  const listeners = new Set<(s: ProvisioningStatus) => void>();

  let status: ProvisioningStatus = { state: 'idle' };
  let kms: KmsPublicParameters | undefined;
  const keys = new Map<number, PeriodKeys>();
  let timer: unknown;
  let failures = 0;
  let running: Promise<ProvisioningStatus> | undefined;

  function emit(s: ProvisioningStatus): ProvisioningStatus {
    status = s;
    for (const l of [...listeners]) {
      try {
        l(s);
      } catch {
        // A listener's failure must not stop provisioning or the other listeners.
      }
    }
    return s;
  }

  function schedule(atMs: number): void {
    if (timer !== undefined) timers.clearTimeout(timer);
    timer = timers.setTimeout(() => {
      timer = undefined;
      void run();
    }, Math.max(0, atMs - now()));
  }

  function backoffMs(): number {
    const base = Math.min(maxRetry, initialRetry * 2 ** Math.min(failures - 1, 20));
    return Math.round(base * (0.8 + 0.4 * random()));
  }

  async function loadFromStore(): Promise<void> {
    const cert = await o.store.getCertificate(o.kmsUri);
    if (cert === undefined || cert.revoked || cert.validTo <= now()) return;
    kms = cert.params;
    for (const s of await o.store.keySets(o.identity)) {
      if (s.kmsUri === o.kmsUri && s.validTo > now() - graceMs) keys.set(s.keys.keyPeriodNo, s.keys);
    }
  }

  async function fetchFromKms(): Promise<void> {
    const { certificate } = await o.kms.init();
    const at = now();
    const current = periodAt(certificate, ntpSecondsOfUnixMs(at));
    const currentEnd = periodEndUnixMs(certificate, current);
    const sets = [...(await o.kms.keyProvision())];
    if (!sets.some((s) => s.keyPeriodNo === current)) sets.push(...(await o.kms.keyProvision({ at })));
    // The next period, fetched ahead so a period change needs no network.
    sets.push(...(await o.kms.keyProvision({ at: currentEnd + 1000 })));
    if (!sets.some((s) => s.keyPeriodNo === current)) {
      throw new KmsError('ERR_KMS_INVALID_KEY_SET', `the KMS returned no key set for the current key period ${current}`);
    }
    // Everything was validated by the client; store only once all of it arrived.
    const fetchedAt = now();
    await o.store.putCertificate({
      kmsUri: certificate.kmsUri,
      params: { kmsUri: certificate.kmsUri, z: certificate.z, kpak: certificate.kpak, userKeyPeriod: certificate.userKeyPeriod, userKeyOffset: certificate.userKeyOffset },
      validFrom: certificate.validFrom ?? 0,
      validTo: certificate.validTo ?? Number.MAX_SAFE_INTEGER,
      revoked: false,
      fetchedAt,
    });
    for (const s of sets) {
      await o.store.putKeySet({ identity: o.identity, kmsUri: certificate.kmsUri, keys: s, validFrom: s.validFrom, validTo: s.validTo, fetchedAt });
    }
    kms = certificate;
    for (const s of sets) keys.set(s.keyPeriodNo, s);
  }

  function readyStatus(state: 'ready' | 'offline', source: 'kms' | 'store', extra: { error?: string; retryAt?: number } = {}): ProvisioningStatus | undefined {
    if (kms === undefined) return undefined;
    const current = periodAt(kms, ntpSecondsOfUnixMs(now()));
    if (!keys.has(current)) return undefined;
    return { state, source, kmsUri: kms.kmsUri, currentPeriod: current, nextPeriodReady: keys.has(current + 1), periodEndsAt: periodEndUnixMs(kms, current), ...extra };
  }

  async function run(): Promise<ProvisioningStatus> {
    if (status.state === 'stopped') return status;
    if (running) return running;
    running = (async () => {
      if (status.state === 'idle') emit({ state: 'provisioning' });
      try {
        await fetchFromKms();
        failures = 0;
        await o.store.prune({ now: now(), graceMs }).catch(() => undefined);
        for (const n of [...keys.keys()]) if (kms && periodEndUnixMs(kms, n) + graceMs < now()) keys.delete(n);
        const s = readyStatus('ready', 'kms')!;
        if (s.state === 'ready') {
          // Next period held: come back just after the rollover to fetch the one after it.
          // Not held (the KMS had none yet): try again ahead of the rollover.
          const half = kms!.userKeyPeriod * 500;
          const prefetchAt = s.periodEndsAt - Math.min(o.prefetchMs ?? DEFAULT_PREFETCH_MS, half);
          schedule(s.nextPeriodReady ? s.periodEndsAt + 1000 : Math.max(prefetchAt, now() + initialRetry));
        }
        return status.state === 'stopped' ? status : emit(s);
      } catch (e) {
        failures++;
        if (keys.size === 0) await loadFromStore().catch(() => undefined);
        const retryAt = now() + backoffMs();
        if (status.state !== 'stopped') schedule(retryAt);
        const offline = readyStatus('offline', 'store', { error: errorCode(e), retryAt });
        if (status.state === 'stopped') return status;
        return emit(offline ?? { state: 'failed', error: errorCode(e), retryAt });
      } finally {
        running = undefined;
      }
    })();
    return running;
  }

  return {
    start: () => run(),
    refresh: () => run(),
    status: () => status,
    identity() {
      if (kms === undefined || keys.size === 0) return undefined;
      const params = kms;
      return { uri: o.identity, kms: params, keysForPeriod: (n) => keys.get(n) };
    },
    on(_event, listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stop() {
      if (timer !== undefined) timers.clearTimeout(timer);
      timer = undefined;
      keys.clear();
      kms = undefined;
      emit({ state: 'stopped' });
    },
  };
}
