/**
 * Entry of the E2EE worker (`mcptt-sdk/worker`): TS 33.179 7.5 media protection applied to
 * WebRTC encoded frames in a dedicated worker. Binds the worker core (./e2ee/worker-core.ts) to
 * the worker's global scope: page messages, `rtctransform` events of RTCRtpScriptTransform,
 * timers, the CSPRNG. Start it with
 *   new Worker(new URL('…/workers/e2ee-worker.ts', import.meta.url), { type: 'module' })
 * (src/platform/media/e2ee-manager.ts does). No network, no console output, no other state.
 */
import type { TransformWorkerScope } from '../src/media/encoded-frames.js';
import type { FromWorkerMessage } from '../src/media/protocol.js';
import { randomBytes } from '../src/util/webcrypto.js';
import { createE2eeWorkerCore } from './e2ee/worker-core.js';

interface WorkerScope extends TransformWorkerScope {
  postMessage(message: unknown): void;
  onmessage: ((event: MessageEvent) => void) | null;
  onmessageerror: ((event: MessageEvent) => void) | null;
}

const scope = globalThis as unknown as WorkerScope;

const core = createE2eeWorkerCore({
  post: (message: FromWorkerMessage) => scope.postMessage(message),
  now: () => Date.now(),
  randomBytes,
  setTimeout: (f, ms) => setTimeout(f, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
  setInterval: (f, ms) => setInterval(f, ms),
  clearInterval: (h) => clearInterval(h as ReturnType<typeof setInterval>),
});

scope.onmessage = (event) => core.onMessage(event.data);
// A message that could not be deserialized has no data to answer by id: still answered.
scope.onmessageerror = () =>
  scope.postMessage({ kind: 'error', id: null, code: 'ERR_MEDIA_WORKER', message: 'a message could not be deserialized', trackId: null } satisfies FromWorkerMessage);
scope.onrtctransform = (event) => core.onTransform(event.transformer);
