/**
 * One Vite config for the demo, the browser tests and the browser benchmarks. The root is
 * the repository so that `demo/`, `e2e/pages/` and `bench/browser/` share the source tree;
 * `../shared` is readable for vectors. COOP/COEP make the pages cross-origin isolated,
 * which gives workers a 5 µs `performance.now()` instead of 100 µs (benchmarks need it).
 */
import { defineConfig } from 'vite';

const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  root: '.',
  clearScreen: false,
  server: {
    host: '127.0.0.1',
    port: 5173,
    strictPort: true,
    headers: isolation,
    fs: { allow: ['.', '../shared'] },
  },
  preview: { host: '127.0.0.1', headers: isolation },
  worker: { format: 'es' },
  build: {
    outDir: 'dist/demo',
    target: 'es2022',
    rollupOptions: { input: { demo: 'demo/index.html' } },
  },
});
