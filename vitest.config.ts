import { defineConfig } from 'vitest/config';

// Unit tests run in Node. Slow property tests are tagged in their file names (*.slow.test.ts)
// and still run in `npm test`; browser tests live in e2e/ and run under Playwright.
export const config = defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    pool: 'forks',
  },
});

// vitest needs a default export for its config file; this is tooling, not library code.
export default config;
