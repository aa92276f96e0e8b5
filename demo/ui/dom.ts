/**
 * Small DOM helpers of the demo page (no framework): find an element by its stable ID, make
 * elements with text (never innerHTML: nothing the network sends is parsed as markup).
 */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`the demo page has no #${id}`);
  return el as T;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<Record<'id' | 'className' | 'textContent' | 'htmlFor', string>> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (props.id !== undefined) e.id = props.id;
  if (props.className !== undefined) e.className = props.className;
  if (props.textContent !== undefined) e.textContent = props.textContent;
  if (props.htmlFor !== undefined) (e as HTMLLabelElement).htmlFor = props.htmlFor;
  e.append(...children);
  return e;
}

/** Stable, attribute-safe slug of a group ID for element IDs (`sip:fire-ops@x` → `fire-ops`). */
export function slugOf(groupId: string): string {
  const user = groupId.replace(/^sips?:/, '').split('@')[0] ?? groupId;
  return user.toLowerCase().replace(/[^a-z0-9-]+/g, '-');
}

/** A typing target where the space bar belongs to the control, not to push-to-talk. */
export function isTypingTarget(t: EventTarget | null, ptt: HTMLElement): boolean {
  if (!(t instanceof HTMLElement) || t === ptt) return false;
  return t.isContentEditable || ['INPUT', 'SELECT', 'TEXTAREA', 'BUTTON', 'A', 'SUMMARY'].includes(t.tagName);
}

export function time(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour12: false });
}
