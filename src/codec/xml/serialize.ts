/**
 * XML serializer for the messages this SDK emits (TS 33.179 Annex D requests of the client,
 * responses of the dev KMS). The input is a small builder tree written by our own code, so
 * bad names or characters are misuse (TypeError/RangeError), never silently escaped away.
 * Output is UTF-8-ready text; every value is escaped so the parser reads back exactly it.
 */
import { XML_INVALID_CHAR_RE, XML_NAME_RE } from './parser.js';

export interface XmlBuildElement {
  /** Qualified name as written (`ds:Signature`, `KmsUri`). */
  readonly name: string;
  /** Attributes in output order, namespace declarations included (`['xmlns:ds', uri]`). */
  readonly attrs?: readonly (readonly [string, string])[];
  readonly children?: readonly XmlBuildNode[];
}

/** A string child is character data. */
export type XmlBuildNode = XmlBuildElement | string;

export interface XmlSerializeOptions {
  /** Emit `<?xml version="1.0" encoding="UTF-8"?>` first (default true). */
  readonly declaration?: boolean;
  /**
   * Indent unit for elements whose content is elements only (default two spaces); '' writes
   * everything on one line. Elements with character data are never re-indented inside, so the
   * values read back are exactly the ones given.
   */
  readonly indent?: string;
}

/** Shorthand constructor for builder trees. */
export function xel(name: string, attrs?: Readonly<Record<string, string | undefined>>, ...children: XmlBuildNode[]): XmlBuildElement {
  const a: (readonly [string, string])[] = [];
  if (attrs) for (const [k, v] of Object.entries(attrs)) if (v !== undefined) a.push([k, v]);
  return { name, attrs: a, children };
}

function checkName(name: string): void {
  if (typeof name !== 'string' || !XML_NAME_RE.test(name)) throw new TypeError(`invalid XML name: ${JSON.stringify(name)}`);
}

function checkChars(value: string, what: string): void {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string`);
  if (XML_INVALID_CHAR_RE.test(value)) throw new RangeError(`${what} contains a character that XML cannot carry`);
}

/** Escape character data: `&`, `<`, `>` (for `]]>`), and CR so it is not normalized away. */
export function escapeXmlText(value: string): string {
  return value.replace(/[&<>\r]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&#xD;'));
}

/** Escape an attribute value for double quotes; TAB/LF/CR as references survive normalization. */
export function escapeXmlAttr(value: string): string {
  return value.replace(/[&<"\t\n\r]/g, (c) => {
    switch (c) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '"':
        return '&quot;';
      case '\t':
        return '&#x9;';
      case '\n':
        return '&#xA;';
      default:
        return '&#xD;';
    }
  });
}

export function serializeXml(root: XmlBuildElement, options?: XmlSerializeOptions): string {
  const indent = options?.indent ?? '  ';
  const out: string[] = [];
  if (options?.declaration ?? true) out.push('<?xml version="1.0" encoding="UTF-8"?>', indent === '' ? '' : '\n');
  // Our own builder trees are shallow (< 12 levels), so recursion is bounded here.
  const write = (e: XmlBuildElement, level: number): void => {
    checkName(e.name);
    out.push('<', e.name);
    for (const [k, v] of e.attrs ?? []) {
      checkName(k);
      checkChars(v, `attribute ${k}`);
      out.push(' ', k, '="', escapeXmlAttr(v), '"');
    }
    const kids = e.children ?? [];
    if (kids.length === 0) {
      out.push('/>');
      return;
    }
    out.push('>');
    const elementOnly = indent !== '' && kids.every((k) => typeof k !== 'string');
    for (const k of kids) {
      if (typeof k === 'string') {
        checkChars(k, `text of ${e.name}`);
        out.push(escapeXmlText(k));
      } else {
        if (elementOnly) out.push('\n', indent.repeat(level + 1));
        write(k, level + 1);
      }
    }
    if (elementOnly) out.push('\n', indent.repeat(level));
    out.push('</', e.name, '>');
  };
  write(root, 0);
  return out.join('');
}
