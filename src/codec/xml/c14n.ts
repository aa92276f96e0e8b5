/**
 * Canonical XML 1.0 (W3C REC-xml-c14n-20010315, "without comments") of a document subset
 * rooted at one element: the node-set that an XML-DSig same-document reference `URI="#id"`
 * selects (the element, its descendants, their attributes and namespace nodes, no comments),
 * optionally minus one descendant (the enveloped-signature transform).
 *
 * This is what the TS 33.179 KMS security extension signs: its examples name
 * `CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"` both for
 * SignedInfo and (by XML-DSig default) for the referenced element. Rules applied:
 * - the apex renders every namespace in scope (inherited from ancestors outside the subset),
 *   except an empty default; descendants render a declaration only when it changes the value
 *   that their parent has in scope (`xmlns=""` only where a non-empty default is undone);
 * - the apex also inherits `xml:*` attributes of its ancestors (C14N 1.0 section 2.4);
 * - namespace nodes sorted by prefix, then attributes by (namespace URI, local name), in
 *   code point order; empty elements as start/end pairs; CDATA as escaped text;
 * - escapes: text `&amp; &lt; &gt; &#xD;`, attributes `&amp; &lt; &quot; &#x9; &#xA; &#xD;`.
 * Deviation, on purpose: C14N 1.0 asks implementations to fail on relative namespace URIs;
 * the spec's own examples use `TOBEDEFINED` and " urn:…" (leading space), and the canonical
 * bytes are well defined anyway, so they are canonicalized as written.
 * Recursion depth equals element depth, which the parser bounds (64 by default).
 */
import { XML_NS } from './tree.js';
import type { XmlAttribute, XmlElement } from './tree.js';

export const C14N_10 = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315';

export interface CanonicalizeOptions {
  /** A descendant left out with its subtree (enveloped-signature transform). */
  readonly exclude?: XmlElement;
}

/** Code point order (C14N sorts by UCS code points; JS `<` compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate (D800–DFFF) starts a code point above FFFF: it sorts after every BMP unit,
    // including E000–FFFF, which UTF-16 order would put after it.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

function escText(v: string): string {
  return v.replace(/[&<>\r]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&#xD;'));
}

function escAttr(v: string): string {
  return v.replace(/[&<"\t\n\r]/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '"' ? '&quot;' : c === '\t' ? '&#x9;' : c === '\n' ? '&#xA;' : '&#xD;',
  );
}

/** Namespaces in scope at `el` (prefix → URI; '' is the default, '' URI means none). */
export function inScopeNamespaces(el: XmlElement): Map<string, string> {
  const chain: XmlElement[] = [];
  for (let e: XmlElement | undefined = el; e; e = e.parent) chain.push(e);
  const m = new Map<string, string>();
  for (let i = chain.length - 1; i >= 0; i--) for (const d of chain[i]!.nsDecls) if (d.prefix !== 'xml') m.set(d.prefix, d.uri);
  return m;
}

function sortAttrs(attrs: readonly XmlAttribute[]): XmlAttribute[] {
  return [...attrs].sort((a, b) => compareCodePoints(a.ns, b.ns) || compareCodePoints(a.local, b.local));
}

/** The canonical form of the subset rooted at `apex`, as a string (UTF-8 encode to digest). */
export function canonicalize(apex: XmlElement, options?: CanonicalizeOptions): string {
  const out: string[] = [];
  const exclude = options?.exclude;

  const scope = inScopeNamespaces(apex);
  const apexNs = [...scope].filter(([p, u]) => !(p === '' && u === ''));
  // xml:* attributes of ancestors, nearest first, unless the apex carries its own.
  const inherited: XmlAttribute[] = [];
  const have = new Set(apex.attrs.filter((a) => a.ns === XML_NS).map((a) => a.local));
  for (let e = apex.parent; e; e = e.parent) {
    for (const a of e.attrs) {
      if (a.ns === XML_NS && !have.has(a.local)) {
        have.add(a.local);
        inherited.push(a);
      }
    }
  }

  const writeElement = (el: XmlElement, ns: [string, string][], attrs: readonly XmlAttribute[], inScope: Map<string, string>): void => {
    out.push('<', el.qname);
    ns.sort((a, b) => compareCodePoints(a[0], b[0]));
    for (const [p, u] of ns) out.push(p === '' ? ' xmlns="' : ` xmlns:${p}="`, escAttr(u), '"');
    for (const a of sortAttrs(attrs)) out.push(' ', a.qname, '="', escAttr(a.value), '"');
    out.push('>');
    for (const n of el.nodes) {
      if (n.kind === 'text') out.push(escText(n.value));
      else if (n.kind === 'pi') out.push('<?', n.target, n.data === '' ? '' : ' ' + n.data, '?>');
      else if (n !== exclude) {
        // Inclusive C14N: the parent (an output ancestor) already renders every namespace in
        // scope, so only declarations that change a value are output here.
        const render: [string, string][] = [];
        let childScope = inScope;
        if (n.nsDecls.length > 0) {
          childScope = new Map(inScope);
          for (const d of n.nsDecls) {
            if (d.prefix === 'xml') continue;
            if ((inScope.get(d.prefix) ?? '') !== d.uri) render.push([d.prefix, d.uri]);
            childScope.set(d.prefix, d.uri);
          }
        }
        writeElement(n, render, n.attrs, childScope);
      }
    }
    out.push('</', el.qname, '>');
  };

  writeElement(apex, apexNs, [...apex.attrs, ...inherited], scope);
  return out.join('');
}
