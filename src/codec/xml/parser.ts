/**
 * A strict, bounded XML 1.0 + Namespaces parser for the KMS messages of TS 33.179 Annex D.
 *
 * Why our own: the SDK must behave identically in browsers and Node, and the Annex D threat
 * model (a KMS response carries private key material) rules out what general parsers allow.
 * So, by construction:
 * - no DTD: any `<!DOCTYPE` (or other DTD markup) is refused with ERR_KMS_DOCTYPE_REFUSED,
 *   hence no entity declarations, no external entities, no billion-laughs expansion;
 * - only the five predefined entities and numeric character references are expanded;
 * - input size, nesting depth, element count and attributes per element are bounded;
 * - one left-to-right pass with an explicit stack (no recursion), sticky regexes without
 *   nested quantifiers, so time is linear in the input (prefix lookups add a factor bounded by
 *   the depth limit);
 * - namespaces are resolved; unbound prefixes and illegal bindings are errors.
 * Comments are dropped; processing instructions are kept in the tree (Canonical XML renders
 * them, and a signature over them must verify) but carry no meaning for the KMS codec.
 */
import { KmsError } from '../kms/errors.js';
import { XML_NS, XMLNS_NS } from './tree.js';
import type { XmlAttribute, XmlDocument, XmlElement, XmlNsDecl, XmlPi } from './tree.js';

export interface XmlLimits {
  /** Largest input in UTF-8 bytes (default 256 KiB). */
  readonly maxBytes?: number;
  /** Deepest element nesting; the root is depth 1 (default 64). */
  readonly maxDepth?: number;
  /** Most elements in the document (default 10 000). */
  readonly maxElements?: number;
  /** Most attributes on one element, namespace declarations included (default 64). */
  readonly maxAttributes?: number;
}

export interface XmlParseOptions extends XmlLimits {
  /**
   * Accept an end tag whose prefix differs from its start tag when the local names agree
   * (`<ds:KeyName>…</KeyName>`, a typo of the TS 33.179 CR examples). Not XML: off by default.
   * The structure stays unambiguous because the end tag must still close the innermost element.
   */
  readonly allowEndTagPrefixMismatch?: boolean;
  /** Told about every tolerated deviation (today only the end-tag typo above). */
  readonly onQuirk?: (what: string) => void;
}

export const DEFAULT_XML_LIMITS: Readonly<Required<XmlLimits>> = Object.freeze({
  maxBytes: 256 * 1024,
  maxDepth: 64,
  maxElements: 10_000,
  maxAttributes: 64,
});

// XML 1.0 (fifth edition) 2.3: NameStartChar and NameChar. The `u` flag makes the astral
// range match whole code points; `y` anchors each match at `lastIndex`.
const NAME_START = ':A-Z_a-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C-\\u200D\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD\\u{10000}-\\u{EFFFF}';
const NAME_REST = NAME_START + '\\-.0-9\\u00B7\\u0300-\\u036F\\u203F-\\u2040';
const NAME_RE = new RegExp(`[${NAME_START}][${NAME_REST}]*`, 'uy');
/** Full-string Name test, shared with the serializer. */
export const XML_NAME_RE = new RegExp(`^[${NAME_START}][${NAME_REST}]*$`, 'u');
/** XML 1.0 2.2 Char: anything outside is refused wherever it appears (lone surrogates too). */
export const XML_INVALID_CHAR_RE = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const XML_DECL_RE =
  /<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(["'])1\.[0-9]+\1(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*(["'])([A-Za-z][A-Za-z0-9._-]*)\2)?(?:[ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*(["'])(?:yes|no)\4)?[ \t\r\n]*\?>/y;

const PREDEFINED: ReadonlyMap<string, string> = new Map([
  ['lt', '<'],
  ['gt', '>'],
  ['amp', '&'],
  ['apos', "'"],
  ['quot', '"'],
]);

interface MutableText {
  kind: 'text';
  value: string;
}

interface MutableElement {
  kind: 'element';
  ns: string;
  local: string;
  prefix: string;
  qname: string;
  attrs: XmlAttribute[];
  nsDecls: XmlNsDecl[];
  children: MutableElement[];
  nodes: (MutableElement | MutableText | XmlPi)[];
  text: string;
  parent: MutableElement | undefined;
  span: { start: number; end: number };
}

interface Frame {
  readonly el: MutableElement;
  /** Declarations made on this element, for prefix lookup; undefined when none. */
  readonly scope: ReadonlyMap<string, string> | undefined;
}

function isWsCode(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

/** UTF-8 length of a well-formed string, stopping early once `limit` is passed. */
function utf8LengthUpTo(s: string, limit: number): number {
  let n = 0;
  for (let i = 0; i < s.length && n <= limit; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4; // a pair; a lone surrogate is refused later as an invalid Char
      i++;
    } else n += 3;
  }
  return n;
}

function limitsOf(o: XmlParseOptions | undefined): Required<XmlLimits> {
  const pick = (v: number | undefined, d: number, what: string): number => {
    if (v === undefined) return d;
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`${what} must be a positive integer`);
    return v;
  };
  return {
    maxBytes: pick(o?.maxBytes, DEFAULT_XML_LIMITS.maxBytes, 'maxBytes'),
    maxDepth: pick(o?.maxDepth, DEFAULT_XML_LIMITS.maxDepth, 'maxDepth'),
    maxElements: pick(o?.maxElements, DEFAULT_XML_LIMITS.maxElements, 'maxElements'),
    maxAttributes: pick(o?.maxAttributes, DEFAULT_XML_LIMITS.maxAttributes, 'maxAttributes'),
  };
}

/**
 * Parse `input` (a string, or UTF-8 bytes that are decoded strictly) into an element tree.
 * Throws `KmsError` with ERR_KMS_MALFORMED, ERR_KMS_DOCTYPE_REFUSED, ERR_KMS_TOO_LARGE or
 * ERR_KMS_UNSUPPORTED (a non-UTF-8 encoding declaration); `TypeError` for a wrong input type.
 */
export function parseXml(input: string | Uint8Array, options?: XmlParseOptions): XmlDocument {
  const limits = limitsOf(options);
  let s: string;
  if (typeof input === 'string') {
    // A string has at most as many code units as UTF-8 bytes, so this rejects early and cheaply.
    if (input.length > limits.maxBytes || utf8LengthUpTo(input, limits.maxBytes) > limits.maxBytes) {
      throw new KmsError('ERR_KMS_TOO_LARGE', `XML input exceeds ${limits.maxBytes} bytes`);
    }
    s = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  } else if (input instanceof Uint8Array) {
    if (input.length > limits.maxBytes) throw new KmsError('ERR_KMS_TOO_LARGE', `XML input exceeds ${limits.maxBytes} bytes`);
    try {
      s = new TextDecoder('utf-8', { fatal: true }).decode(input); // drops a leading BOM
    } catch (cause) {
      throw new KmsError('ERR_KMS_MALFORMED', 'XML input is not valid UTF-8', { cause });
    }
  } else {
    throw new TypeError('XML input must be a string or a Uint8Array');
  }
  const bad = s.search(XML_INVALID_CHAR_RE);
  if (bad >= 0) throw new KmsError('ERR_KMS_MALFORMED', `XML not well-formed at offset ${bad}: character not allowed in XML`);
  return new Parser(s, limits, options).parse();
}

class Parser {
  readonly #s: string;
  readonly #limits: Required<XmlLimits>;
  readonly #lenientEnd: boolean;
  readonly #onQuirk: ((what: string) => void) | undefined;
  #pos = 0;
  #elements = 0;

  constructor(s: string, limits: Required<XmlLimits>, options: XmlParseOptions | undefined) {
    this.#s = s;
    this.#limits = limits;
    this.#lenientEnd = options?.allowEndTagPrefixMismatch === true;
    this.#onQuirk = options?.onQuirk;
  }

  #fail(msg: string, at = this.#pos): never {
    throw new KmsError('ERR_KMS_MALFORMED', `XML not well-formed at offset ${at}: ${msg}`);
  }

  parse(): XmlDocument {
    const s = this.#s;
    if (s.startsWith('<?xml') && isWsCode(s.charCodeAt(5))) this.#xmlDecl();
    this.#misc();
    if (s.charCodeAt(this.#pos) !== 0x3c /* < */ || this.#pos >= s.length) this.#fail('no root element');
    const root = this.#content();
    this.#misc();
    if (this.#pos !== s.length) this.#fail('content after the root element');
    return { root: root as XmlElement, source: s, elementCount: this.#elements };
  }

  #xmlDecl(): void {
    XML_DECL_RE.lastIndex = 0;
    const m = XML_DECL_RE.exec(this.#s);
    if (!m) this.#fail('malformed XML declaration');
    const enc = m[3];
    if (enc !== undefined && enc.toLowerCase() !== 'utf-8' && enc.toLowerCase() !== 'utf8') {
      throw new KmsError('ERR_KMS_UNSUPPORTED', `XML encoding ${enc} is not supported (UTF-8 only)`);
    }
    this.#pos = XML_DECL_RE.lastIndex;
  }

  /** Misc* outside the root: white space, comments, PIs (dropped there). DTDs are refused. */
  #misc(): void {
    const s = this.#s;
    for (;;) {
      while (this.#pos < s.length && isWsCode(s.charCodeAt(this.#pos))) this.#pos++;
      if (s.startsWith('<!--', this.#pos)) this.#comment();
      else if (s.startsWith('<?', this.#pos)) this.#pi();
      else if (s.startsWith('<!', this.#pos) && !s.startsWith('<![CDATA[', this.#pos)) this.#refuseDeclaration();
      else return;
    }
  }

  #refuseDeclaration(): never {
    // `<!DOCTYPE`, `<!ENTITY`, `<!ELEMENT`… are DTD markup: refused before anything is read
    // from them, so no entity can ever be declared or expanded.
    const word = /^<!([A-Za-z]*)/.exec(this.#s.slice(this.#pos, this.#pos + 12))?.[1]?.toUpperCase() ?? '';
    if (['DOCTYPE', 'ENTITY', 'ELEMENT', 'ATTLIST', 'NOTATION'].includes(word)) {
      throw new KmsError('ERR_KMS_DOCTYPE_REFUSED', `XML DTD markup <!${word} refused at offset ${this.#pos}`);
    }
    this.#fail('unexpected markup declaration');
  }

  #comment(): void {
    const s = this.#s;
    const start = this.#pos;
    const dd = s.indexOf('--', start + 4);
    if (dd < 0) this.#fail('unterminated comment', start);
    if (s.charCodeAt(dd + 2) !== 0x3e /* > */) this.#fail("'--' inside a comment", dd);
    this.#pos = dd + 3;
  }

  #pi(): XmlPi {
    const s = this.#s;
    const start = this.#pos;
    this.#pos += 2;
    const target = this.#name();
    if (target.includes(':')) this.#fail('colon in a processing instruction target');
    if (target.toLowerCase() === 'xml') this.#fail('XML declaration not at the start of the document', start);
    const end = s.indexOf('?>', this.#pos);
    if (end < 0) this.#fail('unterminated processing instruction', start);
    let data = '';
    if (end > this.#pos) {
      if (!isWsCode(s.charCodeAt(this.#pos))) this.#fail('white space required after the PI target');
      let a = this.#pos;
      while (a < end && isWsCode(s.charCodeAt(a))) a++;
      data = normalizeLineEnds(s.slice(a, end));
    }
    this.#pos = end + 2;
    return { kind: 'pi', target, data };
  }

  #name(): string {
    NAME_RE.lastIndex = this.#pos;
    const m = NAME_RE.exec(this.#s);
    if (!m) this.#fail('name expected');
    this.#pos = NAME_RE.lastIndex;
    return m[0];
  }

  #skipWs(): boolean {
    const s = this.#s;
    const p = this.#pos;
    while (this.#pos < s.length && isWsCode(s.charCodeAt(this.#pos))) this.#pos++;
    return this.#pos > p;
  }

  /** The root element and everything inside it, with an explicit stack. */
  #content(): MutableElement {
    const s = this.#s;
    const stack: Frame[] = [];
    const root = this.#startTag(stack);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!.el;
      const lt = s.indexOf('<', this.#pos);
      if (lt < 0) this.#fail(`element <${top.qname}> is not closed`, s.length);
      if (lt > this.#pos) {
        this.#addText(top, this.#decodeText(this.#pos, lt));
        this.#pos = lt;
      }
      const c = s.charCodeAt(lt + 1);
      if (c === 0x2f /* / */) this.#endTag(stack);
      else if (c === 0x21 /* ! */) {
        if (s.startsWith('<!--', lt)) this.#comment();
        else if (s.startsWith('<![CDATA[', lt)) this.#cdata(top);
        else this.#refuseDeclaration();
      } else if (c === 0x3f /* ? */) top.nodes.push(this.#pi());
      else this.#startTag(stack);
    }
    return root;
  }

  #addText(el: MutableElement, value: string): void {
    if (value.length === 0) return;
    const last = el.nodes[el.nodes.length - 1];
    if (last !== undefined && last.kind === 'text') last.value += value;
    else el.nodes.push({ kind: 'text', value });
  }

  #cdata(el: MutableElement): void {
    const start = this.#pos;
    const end = this.#s.indexOf(']]>', start + 9);
    if (end < 0) this.#fail('unterminated CDATA section', start);
    this.#addText(el, normalizeLineEnds(this.#s.slice(start + 9, end)));
    this.#pos = end + 3;
  }

  #startTag(stack: Frame[]): MutableElement {
    const s = this.#s;
    const start = this.#pos;
    this.#pos++; // '<'
    const qname = this.#name();
    const raw: { qname: string; value: string }[] = [];
    const seen = new Set<string>();
    let empty = false;
    for (;;) {
      const ws = this.#skipWs();
      const c = s.charCodeAt(this.#pos);
      if (c === 0x3e /* > */) {
        this.#pos++;
        break;
      }
      if (c === 0x2f /* / */ && s.charCodeAt(this.#pos + 1) === 0x3e) {
        this.#pos += 2;
        empty = true;
        break;
      }
      if (this.#pos >= s.length) this.#fail(`start tag <${qname}> is not closed`, start);
      if (!ws) this.#fail('white space required before an attribute');
      const aname = this.#name();
      this.#skipWs();
      if (s.charCodeAt(this.#pos) !== 0x3d /* = */) this.#fail(`'=' expected after attribute ${aname}`);
      this.#pos++;
      this.#skipWs();
      const q = s.charCodeAt(this.#pos);
      if (q !== 0x22 && q !== 0x27) this.#fail(`quoted value expected for attribute ${aname}`);
      const end = s.indexOf(q === 0x22 ? '"' : "'", this.#pos + 1);
      if (end < 0) this.#fail(`unterminated value of attribute ${aname}`);
      const value = this.#decodeAttr(this.#pos + 1, end);
      this.#pos = end + 1;
      if (seen.has(aname)) this.#fail(`duplicate attribute ${aname}`);
      seen.add(aname);
      if (raw.length >= this.#limits.maxAttributes) {
        throw new KmsError('ERR_KMS_TOO_LARGE', `element <${qname}> has more than ${this.#limits.maxAttributes} attributes`);
      }
      raw.push({ qname: aname, value });
    }
    if (++this.#elements > this.#limits.maxElements) {
      throw new KmsError('ERR_KMS_TOO_LARGE', `XML has more than ${this.#limits.maxElements} elements`);
    }
    if (stack.length + 1 > this.#limits.maxDepth) {
      throw new KmsError('ERR_KMS_TOO_LARGE', `XML nesting deeper than ${this.#limits.maxDepth}`);
    }

    // Namespaces in XML 1.0, sections 3 and 6: collect declarations first, then resolve.
    const nsDecls: XmlNsDecl[] = [];
    let scope: Map<string, string> | undefined;
    const plain: { qname: string; value: string }[] = [];
    for (const a of raw) {
      let prefix: string | undefined;
      if (a.qname === 'xmlns') prefix = '';
      else if (a.qname.startsWith('xmlns:')) prefix = a.qname.slice(6);
      if (prefix === undefined) {
        plain.push(a);
        continue;
      }
      if (a.qname !== 'xmlns' && !isNcName(prefix)) this.#fail(`bad namespace prefix in ${a.qname}`, start);
      if (prefix === 'xmlns') this.#fail('the xmlns prefix must not be declared', start);
      if (prefix === 'xml') {
        if (a.value !== XML_NS) this.#fail('the xml prefix must not be rebound', start);
      } else if (a.value === XML_NS || a.value === XMLNS_NS) {
        this.#fail(`namespace ${a.value} must not be bound to another prefix`, start);
      } else if (prefix !== '' && a.value === '') {
        this.#fail(`prefix ${prefix} must not be undeclared (Namespaces in XML 1.0)`, start);
      }
      nsDecls.push({ prefix, uri: a.value });
      (scope ??= new Map()).set(prefix, a.value);
    }
    const lookup = (prefix: string): string | undefined => {
      if (prefix === 'xml') return XML_NS;
      const own = scope?.get(prefix);
      if (own !== undefined) return own;
      for (let i = stack.length - 1; i >= 0; i--) {
        const v = stack[i]!.scope?.get(prefix);
        if (v !== undefined) return v;
      }
      return undefined;
    };
    const [prefix, local] = this.#splitQName(qname, start);
    let ns: string;
    if (prefix === '') ns = lookup('') ?? '';
    else {
      if (prefix === 'xmlns') this.#fail('element names must not use the xmlns prefix', start);
      const u = lookup(prefix);
      if (u === undefined || u === '') this.#fail(`unbound namespace prefix ${prefix}`, start);
      ns = u;
    }
    const attrs: XmlAttribute[] = [];
    const expanded = new Set<string>();
    for (const a of plain) {
      const [ap, al] = this.#splitQName(a.qname, start);
      let ans = '';
      if (ap !== '') {
        const u = lookup(ap);
        if (u === undefined || u === '') this.#fail(`unbound namespace prefix ${ap}`, start);
        ans = u;
      }
      const key = `${ans}\u0000${al}`; // NUL cannot occur in XML, so the key is unambiguous
      if (expanded.has(key)) this.#fail(`duplicate attribute {${ans}}${al}`, start);
      expanded.add(key);
      attrs.push({ ns: ans, local: al, prefix: ap, qname: a.qname, value: a.value });
    }

    const parent = stack[stack.length - 1]?.el;
    const el: MutableElement = {
      kind: 'element',
      ns,
      local,
      prefix,
      qname,
      attrs,
      nsDecls,
      children: [],
      nodes: [],
      text: '',
      parent,
      span: { start, end: this.#pos },
    };
    if (parent) {
      parent.children.push(el);
      parent.nodes.push(el);
    }
    if (!empty) stack.push({ el, scope });
    return el;
  }

  #splitQName(qname: string, at: number): [string, string] {
    const i = qname.indexOf(':');
    if (i < 0) return ['', qname];
    const prefix = qname.slice(0, i);
    const local = qname.slice(i + 1);
    if (!isNcName(prefix) || !isNcName(local)) this.#fail(`${qname} is not a qualified name`, at);
    return [prefix, local];
  }

  #endTag(stack: Frame[]): void {
    const s = this.#s;
    const at = this.#pos;
    this.#pos += 2;
    const name = this.#name();
    this.#skipWs();
    if (s.charCodeAt(this.#pos) !== 0x3e) this.#fail(`'>' expected to close </${name}`);
    this.#pos++;
    const frame = stack.pop()!;
    const el = frame.el;
    if (name !== el.qname) {
      const local = name.slice(name.indexOf(':') + 1);
      if (!this.#lenientEnd || local !== el.local || !isNcName(local)) {
        this.#fail(`end tag </${name}> does not match <${el.qname}>`, at);
      }
      this.#onQuirk?.(`end tag </${name}> closes <${el.qname}> (prefix mismatch tolerated)`);
    }
    el.span.end = this.#pos;
    let text = '';
    for (const n of el.nodes) if (n.kind === 'text') text += n.value;
    el.text = text;
  }

  /** Character data: references expanded, CR LF / CR → LF (XML 2.11), `]]>` refused (2.4). */
  #decodeText(start: number, end: number): string {
    const raw = this.#s.slice(start, end);
    if (raw.includes(']]>')) this.#fail("']]>' in character data", start + raw.indexOf(']]>'));
    if (!raw.includes('&')) return normalizeLineEnds(raw);
    return this.#expand(raw, start, false);
  }

  /** Attribute values: `<` refused, references expanded, white space normalized (XML 3.3.3). */
  #decodeAttr(start: number, end: number): string {
    const raw = this.#s.slice(start, end);
    const lt = raw.indexOf('<');
    if (lt >= 0) this.#fail("'<' in an attribute value", start + lt);
    return this.#expand(raw, start, true);
  }

  #expand(raw: string, base: number, attr: boolean): string {
    let out = '';
    let i = 0;
    while (i < raw.length) {
      const c = raw.charCodeAt(i);
      if (c === 0x26 /* & */) {
        const semi = raw.indexOf(';', i + 1);
        // A reference is short; refusing long ones bounds the work (leading zeros of a
        // character reference beyond this are not worth supporting).
        if (semi < 0 || semi - i > 40) this.#fail("unterminated reference or bare '&'", base + i);
        const ref = raw.slice(i + 1, semi);
        if (ref.startsWith('#')) {
          const hex = ref.startsWith('#x');
          const digits = ref.slice(hex ? 2 : 1).replace(/^0+(?=.)/, '');
          if (!(hex ? /^[0-9A-Fa-f]{1,6}$/ : /^[0-9]{1,7}$/).test(digits)) this.#fail(`bad character reference &${ref};`, base + i);
          const cp = parseInt(digits, hex ? 16 : 10);
          if (!isXmlChar(cp)) this.#fail(`character reference &${ref}; is not an XML character`, base + i);
          out += String.fromCodePoint(cp); // kept as is: not subject to normalization
        } else {
          const v = PREDEFINED.get(ref);
          if (v === undefined) this.#fail(`undeclared entity &${ref}; (no DTD is processed)`, base + i);
          out += v;
        }
        i = semi + 1;
      } else if (c === 0x0d /* CR */) {
        out += attr ? ' ' : '\n';
        i += raw.charCodeAt(i + 1) === 0x0a ? 2 : 1;
      } else if (attr && (c === 0x0a || c === 0x09)) {
        out += ' ';
        i++;
      } else {
        // Copy the run up to the next character that needs attention.
        let j = i + 1;
        while (j < raw.length) {
          const d = raw.charCodeAt(j);
          if (d === 0x26 || d === 0x0d || (attr && (d === 0x0a || d === 0x09))) break;
          j++;
        }
        out += raw.slice(i, j);
        i = j;
      }
    }
    return out;
  }
}

function normalizeLineEnds(s: string): string {
  return s.includes('\r') ? s.replace(/\r\n?/g, '\n') : s;
}

function isNcName(s: string): boolean {
  return s.length > 0 && !s.includes(':') && XML_NAME_RE.test(s);
}
