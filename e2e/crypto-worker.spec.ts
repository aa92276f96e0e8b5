/**
 * The crypto core in a real browser: every shared vector relation holds inside a dedicated
 * worker of Debian's chromium (BigInt pairing, noble P-256, Web Crypto AES).
 */
import { test, expect } from '@playwright/test';

interface SelfTest {
  passed: number;
  failed: number;
  failures: string[];
}

test('shared vectors pass in a dedicated worker of chromium', async ({ page }) => {
  await page.goto('/e2e/pages/crypto.html');
  const result = await page.evaluate(() => (window as unknown as { selftest: Promise<SelfTest> }).selftest);
  expect(result.failures).toEqual([]);
  expect(result.passed).toBeGreaterThan(40);
  await expect(page.getByRole('status')).toHaveText(`${result.passed} passed, 0 failed`);
});
