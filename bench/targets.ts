/** Performance targets of the issues (medians, µs). Node targets are 2.5× the worker ones. */
export const TARGETS_US: Readonly<Record<string, number>> = Object.freeze({
  'chromium-worker:sakke.decapsulate': 8_000,
  'chromium-worker:sakke.encapsulate': 12_000,
  'chromium-worker:eccsi.verify': 2_000,
  'chromium-worker:mikey.receive.gmk': 12_000,
  'chromium-worker:mikey.create.pck': 15_000,
  'chromium-worker:kms.provision': 150_000,
  'node:sip.private-call.key-setup': 80_000,
  // Issue 7: a dispatcher in 100 groups logs in with no main-thread task over 50 ms (the total is reported).
  'chromium-page:gmk.login_many.longest_task': 50_000,
  // Issue 7, TS 22.179 KPIs through the dev stack (bench/kpi.ts): PTT press → granted, tone at
  // the talker → heard at a listener, joinGroup() → first decrypted frame during a talk burst.
  'chromium-page:kpi.access_time': 60_000,
  'chromium-page:kpi.mouth_to_ear': 150_000,
  'chromium-page:kpi.late_entry': 150_000,
  'chromium-worker:frame.encrypt.80.serial': 15,
  'chromium-worker:frame.decrypt.80.serial': 15,
  'chromium-worker:frame.encrypt.160': 15,
  'chromium-worker:frame.decrypt.160': 15,
  // Issue 8: a registration's mcpttinfo protected / read back under the CSK (TS 33.179 9.3).
  'chromium-worker:xml.protect': 1_000,
  'chromium-worker:xml.unprotect': 1_000,
  'node:sakke.decapsulate': 20_000,
  'node:sakke.encapsulate': 30_000,
  'node:eccsi.verify': 5_000,
});
