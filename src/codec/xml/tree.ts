/**
 * The element tree produced by the strict parser (XML 1.0 fifth edition, Namespaces in XML
 * 1.0 third edition), kept small but complete enough for Canonical XML 1.0: ordered mixed
 * content, namespace declarations per element, prefixes, and a parent link for the
 * in-scope namespaces of a document subset (XML-DSig same-document references).
 */

/** The namespace bound to the `xml` prefix by definition (Namespaces in XML, section 3). */
export const XML_NS = 'http://www.w3.org/XML/1998/namespace';
/** The namespace of `xmlns` attributes; no element or prefix may be bound to it. */
export const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

/** Offsets into the parsed string (UTF-16 code units), end exclusive. */
export interface XmlSpan {
  readonly start: number;
  readonly end: number;
}

export interface XmlAttribute {
  /** Namespace URI; '' for an unprefixed attribute (attributes never take the default). */
  readonly ns: string;
  readonly local: string;
  readonly prefix: string;
  readonly qname: string;
  /** Value after entity/character references and attribute-value normalization (XML 3.3.3). */
  readonly value: string;
}

/** One `xmlns` / `xmlns:p` attribute as written on the element; prefix '' is the default. */
export interface XmlNsDecl {
  readonly prefix: string;
  readonly uri: string;
}

export interface XmlText {
  readonly kind: 'text';
  /** Character data after reference expansion and line-end normalization; CDATA merged in. */
  readonly value: string;
}

export interface XmlPi {
  readonly kind: 'pi';
  readonly target: string;
  readonly data: string;
}

export interface XmlElement {
  readonly kind: 'element';
  /** Namespace URI exactly as declared ('' when none); compare with `ns` + `local`. */
  readonly ns: string;
  readonly local: string;
  readonly prefix: string;
  readonly qname: string;
  /** Ordinary attributes in document order (namespace declarations are in `nsDecls`). */
  readonly attrs: readonly XmlAttribute[];
  readonly nsDecls: readonly XmlNsDecl[];
  /** Element children only, in document order. */
  readonly children: readonly XmlElement[];
  /** All content in document order: elements, text, processing instructions (comments dropped). */
  readonly nodes: readonly XmlNode[];
  /** The direct character data of this element (its text nodes joined). */
  readonly text: string;
  readonly parent: XmlElement | undefined;
  /** From '<' of the start tag to after '>' of the end tag, in the parsed string. */
  readonly span: XmlSpan;
}

export type XmlNode = XmlElement | XmlText | XmlPi;

export interface XmlDocument {
  readonly root: XmlElement;
  /** The parsed string (after UTF-8 decoding when bytes were given); spans index into it. */
  readonly source: string;
  readonly elementCount: number;
}

/** Value of the attribute `{ns}local`, or undefined. */
export function getAttr(el: XmlElement, local: string, ns = ''): string | undefined {
  for (const a of el.attrs) if (a.local === local && a.ns === ns) return a.value;
  return undefined;
}

/** Element children matching a predicate on namespace and local name. */
export function childElements(el: XmlElement, match: (ns: string, local: string) => boolean): XmlElement[] {
  return el.children.filter((c) => match(c.ns, c.local));
}

/** Depth-first walk over an element and its descendants without recursion. */
export function* walkElements(root: XmlElement): Generator<XmlElement> {
  const stack: XmlElement[] = [root];
  while (stack.length > 0) {
    const e = stack.pop()!;
    yield e;
    for (let i = e.children.length - 1; i >= 0; i--) stack.push(e.children[i]!);
  }
}

/** Whether the text is only XML white space (S production: space, tab, CR, LF). */
export function isXmlWhitespace(s: string): boolean {
  return /^[ \t\r\n]*$/.test(s);
}

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/**
 * Strip leading and trailing XML white space (not the wider JS `\s` class). A loop, not a
 * regex: `/[ws]+$/` backtracks quadratically on a long white-space run followed by text.
 */
export function trimXmlWhitespace(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isWs(s.charCodeAt(a))) a++;
  while (b > a && isWs(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}
