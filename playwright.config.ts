/**
 * Browser tests: Debian's chromium (never a downloaded browser), served by Vite on loopback.
 * Flags: see ../shared/design/ARCHITECTURE.md (fake media devices, loopback WebRTC, no
 * background networking on a machine without internet).
 */
import { defineConfig } from '@playwright/test';
import { ensureFakeAudioWav } from './e2e/fake-audio.js';

export const CHROMIUM_ARGS = [
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  // The fake microphone plays a test-tone WAV (e2e/fake-audio.ts) instead of beeping.
  `--use-file-for-fake-audio-capture=${ensureFakeAudioWav()}`,
  '--autoplay-policy=no-user-gesture-required',
  '--allow-loopback-in-peer-connection',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

// PW_PORT lets several test runs share a machine (each its own Vite server).
const PORT = Number(process.env.PW_PORT ?? 5174);

export default defineConfig({
  testDir: 'e2e',
  timeout: 60_000,
  workers: 1,
  reporter: [['list'], ['json', { outputFile: process.env.PLAYWRIGHT_JSON_OUTPUT_NAME ?? 'test-results/playwright.json' }]],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    browserName: 'chromium',
    launchOptions: { executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS },
  },
  webServer: {
    command: `npx vite --port ${PORT} --strictPort`,
    url: `http://127.0.0.1:${PORT}/e2e/pages/crypto.html`,
    reuseExistingServer: false,
    timeout: 60_000,
  },
});
