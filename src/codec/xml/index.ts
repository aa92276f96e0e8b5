/**
 * Strict XML for the KMS interface of TS 33.179 Annex D: parser (no DTD, bounded), serializer
 * and Canonical XML 1.0 for the HMAC signatures of the KMS security extension.
 */
export { parseXml, DEFAULT_XML_LIMITS } from './parser.js';
export type { XmlLimits, XmlParseOptions } from './parser.js';
export { serializeXml, xel, escapeXmlText, escapeXmlAttr } from './serialize.js';
export type { XmlBuildElement, XmlBuildNode, XmlSerializeOptions } from './serialize.js';
export { canonicalize, inScopeNamespaces, compareCodePoints, C14N_10 } from './c14n.js';
export type { CanonicalizeOptions } from './c14n.js';
export { XML_NS, XMLNS_NS, getAttr, childElements, walkElements, isXmlWhitespace, trimXmlWhitespace } from './tree.js';
export type { XmlAttribute, XmlDocument, XmlElement, XmlNode, XmlNsDecl, XmlPi, XmlSpan, XmlText } from './tree.js';
