/**
 * Private calls (TS 33.179 7.4): dial a person from the demo directory, answer or decline an
 * incoming call, hang up. People appear by display name; the PCK-ID (not secret) is shown.
 */
import type { McpttClient } from '../../src/client.js';
import type { IncomingPrivateCall, PrivateCall } from '../../src/platform/signalling/index.js';
import type { DemoConfig } from '../config.js';
import type { Web } from 'sip.js';
import { byId } from './dom.js';
import type { NameOf } from './floor-text.js';

export interface PrivateCallPanel {
  current(): PrivateCall | undefined;
  ringing(): IncomingPrivateCall | undefined;
  peerConnection(): RTCPeerConnection | undefined;
}

export function createPrivateCallPanel(client: McpttClient, config: DemoConfig, nameOf: NameOf, log: (text: string) => void): PrivateCallPanel {
  let currentCall: PrivateCall | undefined;
  let ringing: IncomingPrivateCall | undefined;
  const remoteAudio = new Audio();
  const setCall = (text: string): void => void (byId('call-state').textContent = text);
  const sdh = (c: PrivateCall | undefined) => c?.sip.sessionDescriptionHandler as Web.SessionDescriptionHandler | undefined;

  client.on('registration', (state) => void (byId<HTMLButtonElement>('call').disabled = state !== 'registered'));
  client.on('incoming-call', (call) => {
    ringing = call;
    const who = call.caller.hidden ? 'a caller whose identity is hidden' : nameOf(call.caller.uri);
    setCall(`Incoming call from ${who}`);
    log(`Incoming private call from ${who}.`);
    byId('incoming').hidden = false;
    byId('answer').focus();
  });
  client.on('call-keys', (call) => {
    currentCall = call;
    ringing = undefined;
    const who = call.peer.hidden ? 'a hidden caller' : nameOf(call.peer.uri);
    setCall(`In a call with ${who} (PCK ${call.pckId})`);
    log(`Private call with ${who}, end-to-end keyed.`);
    byId('hangup').hidden = false;
    byId('incoming').hidden = true;
    // Play the other party (decrypted by the E2EE worker when E2EE is on).
    remoteAudio.srcObject = sdh(call)?.remoteMediaStream ?? null;
    void remoteAudio.play().catch(() => undefined);
  });
  client.on('call-ended', () => {
    currentCall = undefined;
    ringing = undefined;
    setCall('Call ended.');
    log('Private call ended.');
    byId('hangup').hidden = true;
    byId('incoming').hidden = true;
  });
  client.on('call-failed', (f) => {
    setCall(`Call failed (${f.code}).`);
    log(`Private call failed (${f.code}).`);
  });

  const callee = byId<HTMLSelectElement>('callee');
  for (const u of config.users) callee.add(new Option(u.displayName, u.username));
  byId('call').addEventListener('click', () => {
    const user = config.users.find((u) => u.username === callee.value);
    if (user === undefined) return;
    setCall(`Calling ${user.displayName}…`);
    log(`Calling ${user.displayName}.`);
    void client.call(user.mcpttId).catch((e: unknown) => setCall(`Call failed (${(e as { code?: string }).code ?? 'error'}).`));
  });
  byId('answer').addEventListener('click', () => void ringing?.accept());
  byId('decline').addEventListener('click', () => {
    ringing?.reject('declined');
    ringing = undefined;
    byId('incoming').hidden = true;
    setCall('Declined.');
    log('Declined a private call.');
  });
  byId('hangup').addEventListener('click', () => void currentCall?.hangup());

  return {
    current: () => currentCall,
    ringing: () => ringing,
    peerConnection: () => sdh(currentCall)?.peerConnection,
  };
}
