/**
 * Structural reading helpers shared by the KMS response and request codecs (TS 33.179 D.3.4
 * schemas): namespace matching, single-occurrence fields, text-only values.
 *
 * Namespace policy: KMS elements are matched by local name within the KMS namespace family,
 * i.e. the base and security-extension URNs and the v13 placeholder `TOBEDEFINED`, after
 * trimming surrounding white space (the CR examples write `xmlns=" urn:…"`). The schemas
 * are internally inconsistent about which of the two URNs some elements use (NewTransportKey,
 * KmsRequest children), and the signature, not the namespace, is what carries trust.
 * Elements of other namespaces are ignored, as the schemas' `xsd:any ##other` allow.
 */
import { trimXmlWhitespace } from '../xml/tree.js';
import type { XmlElement } from '../xml/tree.js';
import { KMS_NS, KMS_PLACEHOLDER_NS, KMS_SECEXT_NS } from './constants.js';
import { KmsError } from './errors.js';

export function malformed(msg: string): never {
  throw new KmsError('ERR_KMS_MALFORMED', msg);
}

export class KmsReader {
  readonly #quirks = new Set<string>();

  quirk(what: string): void {
    this.#quirks.add(what);
  }

  get quirks(): string[] {
    return [...this.#quirks];
  }

  /** Whether `ns` is one of the KMS namespaces (recording the tolerated spellings). */
  isKmsNs(ns: string): boolean {
    const t = trimXmlWhitespace(ns);
    if (t !== ns && t.length > 0) this.quirk(`namespace name "${ns}" has surrounding white space; read as "${t}"`);
    if (t === KMS_PLACEHOLDER_NS) {
      this.quirk(`placeholder namespace "${KMS_PLACEHOLDER_NS}" accepted`);
      return true;
    }
    return t === KMS_NS || t === KMS_SECEXT_NS;
  }

  isKms(el: XmlElement, local: string): boolean {
    return el.local === local && this.isKmsNs(el.ns);
  }

  /**
   * Group the KMS-namespace children of `el`: names in `single` may occur once (a repeated
   * text-only field with the identical value is tolerated and recorded, as in the CR's
   * duplicated ValidTo), names in `multi` any number of times; other KMS names are recorded
   * as ignored; foreign-namespace children are skipped.
   */
  fields(el: XmlElement, single: readonly string[], multi: readonly string[] = []): Fields {
    if (!isBlank(el.text)) malformed(`<${el.local}> must not contain character data`);
    const one = new Map<string, XmlElement>();
    const many = new Map<string, XmlElement[]>();
    for (const c of el.children) {
      if (!this.isKmsNs(c.ns)) continue;
      if (single.includes(c.local)) {
        const prev = one.get(c.local);
        if (prev === undefined) one.set(c.local, c);
        else if (prev.children.length === 0 && c.children.length === 0 && trimXmlWhitespace(prev.text) === trimXmlWhitespace(c.text)) {
          this.quirk(`<${c.local}> repeated with the same value in <${el.local}>; one kept`);
        } else {
          malformed(`<${c.local}> occurs more than once in <${el.local}>`);
        }
      } else if (multi.includes(c.local)) {
        let list = many.get(c.local);
        if (!list) many.set(c.local, (list = []));
        list.push(c);
      } else {
        this.quirk(`unknown element <${c.local}> in <${el.local}> ignored`);
      }
    }
    return new Fields(el, one, many);
  }
}

function isBlank(s: string): boolean {
  return trimXmlWhitespace(s) === '';
}

export class Fields {
  readonly #parent: XmlElement;
  readonly #one: Map<string, XmlElement>;
  readonly #many: Map<string, XmlElement[]>;

  constructor(parent: XmlElement, one: Map<string, XmlElement>, many: Map<string, XmlElement[]>) {
    this.#parent = parent;
    this.#one = one;
    this.#many = many;
  }

  element(name: string): XmlElement | undefined {
    return this.#one.get(name);
  }

  requiredElement(name: string): XmlElement {
    const e = this.#one.get(name);
    if (!e) malformed(`<${this.#parent.local}> lacks <${name}>`);
    return e;
  }

  list(name: string): XmlElement[] {
    return this.#many.get(name) ?? [];
  }

  /** Text of a text-only field, trimmed of XML white space; undefined when absent. */
  text(name: string): string | undefined {
    const e = this.#one.get(name);
    return e === undefined ? undefined : textOnly(e);
  }

  requiredText(name: string): string {
    return textOnly(this.requiredElement(name));
  }
}

export function textOnly(e: XmlElement): string {
  if (e.children.length > 0) malformed(`<${e.local}> must contain text only`);
  return trimXmlWhitespace(e.text);
}
