/**
 * The push-to-talk button (TS 24.380 floor control through the GroupCall contract): press
 * and hold (pointer, or the space bar anywhere but in a control) requests the floor of the
 * talk group, release releases it; Enter on the button toggles, for users who cannot hold a
 * key. "Emergency" asks with emergency priority. The floor state and the talker are polite
 * live regions; the microphone meter shows what is sent.
 */
import { byId, isTypingTarget } from './dom.js';
import { floorText, refusalText, talkerText, type NameOf } from './floor-text.js';
import type { GroupCalls } from './group-calls.js';

export interface PushToTalk {
  /** Updates the microphone meter (called on a timer). */
  tickLevel(): void;
  /** Whether the button is held now. */
  pressed(): boolean;
}

export function createPushToTalk(calls: GroupCalls, nameOf: NameOf, log: (text: string) => void): PushToTalk {
  const button = byId<HTMLButtonElement>('ptt');
  const emergency = byId<HTMLInputElement>('emergency');
  const floor = byId('floor-state');
  const note = byId('floor-note');
  const talker = byId('talker');
  const target = byId('ptt-group');
  const mic = byId<HTMLMeterElement>('mic-level');
  let held = false;
  let lastTalker = '';

  function render(): void {
    const e = calls.talkGroup();
    const joined = e?.phase === 'joined' && e.call !== undefined;
    target.textContent = e === undefined ? 'No talk group yet.' : joined ? `Talking on ${e.displayName}.` : `Talk group ${e.displayName}: monitor it to talk.`;
    button.disabled = !joined;
    button.setAttribute('aria-pressed', String(held));
    button.classList.toggle('held', held);
    const f = joined ? e.floor : undefined;
    const text = floorText(f, nameOf);
    if (floor.textContent !== text) floor.textContent = text;
    floor.dataset['state'] = f?.state ?? 'start-stop';
    button.dataset['floor'] = f?.state ?? 'start-stop';
    note.textContent = joined && e.refusal ? refusalText(e.refusal.kind, e.refusal.refusal) : '';
    const t = joined ? talkerText(f, nameOf) : 'Nobody is talking.';
    if (t !== lastTalker) {
      talker.textContent = t;
      lastTalker = t;
    }
  }

  async function press(): Promise<void> {
    const e = calls.talkGroup();
    if (held || e?.call === undefined || e.phase !== 'joined') return;
    held = true;
    calls.markRefusal(e.groupId, undefined);
    render();
    const urgent = emergency.checked;
    log(`${urgent ? 'Emergency request' : 'Request'} for the floor of ${e.displayName}.`);
    try {
      const r = await e.call.requestFloor(urgent ? { emergency: true } : {});
      log(r === 'granted' ? `Floor granted on ${e.displayName}.` : `Queued on ${e.displayName}.`);
      // Released before the answer came: give it back at once.
      if (!held) await e.call.releaseFloor().catch(() => undefined);
    } catch (err) {
      held = false;
      const code = (err as { code?: string }).code ?? 'error';
      if (e.refusal === undefined) calls.markRefusal(e.groupId, { kind: 'denied', refusal: { cause: 0, text: code } });
      log(`Floor request on ${e.displayName} failed (${code}).`);
      render();
    }
  }

  async function release(): Promise<void> {
    if (!held) return;
    held = false;
    render();
    const e = calls.talkGroup();
    if (e?.call === undefined) return;
    log(`Released the floor of ${e.displayName}.`);
    await e.call.releaseFloor().catch((err: unknown) => log(`Release failed (${(err as { code?: string }).code ?? 'error'}).`));
  }

  button.addEventListener('pointerdown', (ev) => {
    if (ev.button !== 0) return;
    button.setPointerCapture(ev.pointerId);
    void press();
  });
  for (const t of ['pointerup', 'pointercancel', 'lostpointercapture'] as const) button.addEventListener(t, () => void release());
  // Enter / a click without a pointer (assistive technology): toggle.
  button.addEventListener('click', (ev) => {
    if (ev.detail !== 0) return;
    void (held ? release() : press());
  });
  document.addEventListener('keydown', (ev) => {
    if (ev.code !== 'Space' || ev.repeat || ev.altKey || ev.ctrlKey || ev.metaKey || isTypingTarget(ev.target, button)) return;
    ev.preventDefault();
    void press();
  });
  document.addEventListener('keyup', (ev) => {
    if (ev.code !== 'Space' || isTypingTarget(ev.target, button)) return;
    ev.preventDefault();
    void release();
  });
  // Losing the window while holding must not leave the microphone open.
  window.addEventListener('blur', () => void release());

  calls.onChange((c) => {
    const e = calls.get(c.groupId);
    if (c.what === 'floor' && e !== undefined && e.floor?.state === 'has-no-permission' && calls.talkGroup()?.groupId === c.groupId && held) {
      // The arbitrator took the floor away or refused us while held; the button lets go.
      held = false;
    }
    if (c.what === 'refusal' && e?.refusal !== undefined) log(`${e.displayName}: ${refusalText(e.refusal.kind, e.refusal.refusal)}`);
    if (c.what === 'floor' && e !== undefined && e.phase === 'joined') {
      const t = e.floor?.talker;
      if (t !== undefined && !t.self) log(`${e.displayName}: ${talkerText(e.floor, nameOf)}`);
    }
    render();
  });
  render();

  return {
    tickLevel() {
      mic.value = held ? (calls.talkGroup()?.call?.inputLevel() ?? 0) : 0;
    },
    pressed: () => held,
  };
}
