/**
 * The demo page (TS 33.179 5.6.1 login and key provisioning, 7.3 group keys, 7.4 private
 * calls, 7.5 media protection; TS 24.380 floor control): signs in at the dev identity server,
 * provisions identity keys from the dev KMS into IndexedDB, registers with the SIP core
 * (access token + CSK), receives the group keys, monitors groups and talks on one with the
 * push-to-talk button, and places and answers private calls. It renders no key, token or
 * MCPTT ID: people and groups appear by display name.
 *
 * This file only wires the panels in demo/ui/ (one job each) to one McpttClient.
 */
import { loadDemoConfig } from './config.js';
import { byId } from './ui/dom.js';
import { createEventLog } from './ui/event-log.js';
import { createGroupCalls } from './ui/group-calls.js';
import { createGroupsPanel } from './ui/groups-panel.js';
import { showKeys } from './ui/keys-panel.js';
import { createPrivateCallPanel } from './ui/private-call.js';
import { createPushToTalk } from './ui/ptt.js';
import { createSecurityPanel } from './ui/security-panel.js';
import { wireSelftest } from './ui/selftest.js';
import { clientFor, connectToService, resumeSession } from './ui/session.js';
import { installTestHooks, type MediaEventRecord } from './ui/test-hooks.js';

async function main(): Promise<void> {
  const config = await loadDemoConfig();
  const client = clientFor(config);
  const log = createEventLog();
  const nameOf = (mcpttId: string | undefined): string => config.users.find((u) => u.mcpttId === mcpttId)?.displayName ?? 'an unknown member';
  const groupName = (groupId: string): string => config.groups?.find((g) => g.groupId === groupId)?.displayName ?? 'a group';
  const groupKeys = new Map<string, { gmkId: string; status: string }>();
  const refusals: string[] = [];
  const mediaEvents: MediaEventRecord[] = [];
  const privateMki: { send?: string; receive?: string } = {};
  let registration = 'idle';

  const calls = createGroupCalls(client);
  const groups = createGroupsPanel(calls, () => client.keyStore(), nameOf, log.add);
  const ptt = createPushToTalk(calls, nameOf, log.add);
  const privateCall = createPrivateCallPanel(client, config, nameOf, log.add);
  const security = createSecurityPanel(client, calls, () => privateMki);

  client.on('keys', (s) => {
    showKeys(s, client.keyStore());
    if (s.state === 'ready' || s.state === 'offline' || s.state === 'failed') log.add(`Identity keys: ${s.state}${'error' in s && s.error ? ` (${s.error})` : ''}.`);
  });
  client.on('state', (s) => {
    byId('session').textContent = s === 'signed-in' ? 'Signed in.' : 'Not signed in.';
    byId('login').hidden = s === 'signed-in';
    byId('logout').hidden = s !== 'signed-in';
    log.add(s === 'signed-in' ? 'Signed in.' : 'Signed out.');
  });
  client.on('registration', (state) => {
    registration = state;
    byId('registration').textContent = state === 'registered' ? 'Registered with the MCPTT service.' : `Registration: ${state}`;
    log.add(`Registration: ${state}.`);
  });
  client.on('group-pull', (summary) => {
    if (!summary.ok) return log.add(`Group configuration pull failed (${summary.code}).`);
    for (const g of summary.groups) calls.ensure(g.groupId, g.displayName);
  });
  client.on('group-key', (k) => {
    groupKeys.set(k.groupId, { gmkId: k.gmkId, status: k.status });
    calls.ensure(k.groupId, calls.get(k.groupId)?.displayName ?? groupName(k.groupId));
    void groups.refreshKeys(k.groupId);
    log.add(`${calls.get(k.groupId)?.displayName ?? 'A group'}: GMK ${k.gmkId} ${k.status}.`);
  });
  client.on('group-key-refused', (f) => {
    refusals.push(f.code);
    log.add(`A group key was refused (${f.code}).`);
  });

  byId('login').addEventListener('click', () => void client.login('redirect'));
  byId('logout').addEventListener('click', () => {
    void calls
      .leaveAll()
      .then(() => client.logout({ clearKeys: true }))
      .then(() => showKeys({ state: 'idle' }));
  });

  installTestHooks({ client, registration: () => registration, groupKeys, refusals, mediaEvents, calls, privateCall, ptt, log });
  void import('./test-hooks-group.js').then((m) => m.installGroupCallHooks(client, nameOf)); // group call hooks for the browser tests

  // Meters at 10 Hz, counters once a second: cheap reads, no work on the media path.
  setInterval(() => {
    groups.tickLevels();
    ptt.tickLevel();
  }, 100);
  setInterval(() => void security.refresh().catch(() => undefined), 1000);

  if (!(await resumeSession(client))) return;
  byId('registration').textContent = 'Connecting…';
  if (!(await connectToService(client, config))) {
    byId('registration').textContent = 'This dev system runs without the MCPTT service.';
    return;
  }
  const media = client.media();
  for (const t of ['encrypting', 'missing-key', 'decrypt-failed', 'unencrypted-frame-received', 'worker-error', 'transform-bypassed'] as const) {
    media?.on(t, (e) => {
      const { direction, mki, reason } = e as { direction?: string; mki?: string; reason?: string };
      mediaEvents.push({ type: e.type, ...(direction ? { direction } : {}), ...(mki ? { mki } : {}), ...(reason ? { reason } : {}) });
      if (t === 'encrypting' && mki !== undefined) privateMki[direction === 'send' ? 'send' : 'receive'] = mki;
      if (t !== 'encrypting') log.add(`Media protection: ${t}${reason ? ` (${reason})` : ''}.`);
    });
  }
  await security.refresh();
}

wireSelftest();
main().catch((e: unknown) => {
  byId('session').textContent = `The demo could not start: ${e instanceof Error ? e.message : String(e)}`;
});
