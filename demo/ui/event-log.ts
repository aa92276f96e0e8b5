/**
 * The event log: what happened, newest first, as a polite live region (role=log), bounded so
 * a long shift does not grow the page. Callers pass display text only: display names, key
 * IDs and codes, never a key, a token or an MCPTT ID.
 */
import { byId, el, time } from './dom.js';

export interface EventLog {
  add(text: string): void;
  entries(): string[];
}

export function createEventLog(id = 'event-log', limit = 50): EventLog {
  const list = byId<HTMLOListElement>(id);
  const lines: string[] = [];
  return {
    add(text) {
      lines.unshift(text);
      lines.length = Math.min(lines.length, limit);
      list.prepend(el('li', {}, el('time', { textContent: time(Date.now()) }), ' ', text));
      while (list.children.length > limit) list.lastElementChild?.remove();
    },
    entries: () => [...lines],
  };
}
