/**
 * Typed failures of XML content protection, TS 33.179 clause 9.3 (9.3.4 xmlenc, 9.3.5
 * xmldsig): the `XmlProtectError` family of src/errors.ts, a narrowing guard, and the
 * translation of the XML parser's and signature core's KMS codes into this family.
 */
import { KmsError, XmlProtectError, type XmlProtectErrorCode } from '../../errors.js';

export { XmlProtectError };
export type { XmlProtectErrorCode };

/** True when `e` is an `XmlProtectError`, optionally with the given code. */
export function isXmlProtectError(e: unknown, code?: XmlProtectErrorCode): e is XmlProtectError {
  return e instanceof XmlProtectError && (code === undefined || e.code === code);
}

/**
 * The shared XML parser and the KMS signature core report in KmsError codes; callers of this
 * module should only ever have to catch XmlProtectError, so translate at the boundary.
 */
export function fromKmsError(e: unknown): unknown {
  if (!(e instanceof KmsError)) return e;
  switch (e.code) {
    case 'ERR_KMS_BAD_SIGNATURE':
    case 'ERR_KMS_UNSUPPORTED':
      // A signature made with an algorithm or form outside the profile is not a valid one.
      return new XmlProtectError('ERR_XML_PROTECT_BAD_SIGNATURE', e.message, { cause: e });
    case 'ERR_KMS_UNKNOWN_TRANSPORT_KEY':
      return new XmlProtectError('ERR_XML_PROTECT_UNKNOWN_KEY', 'the XPK named by ds:KeyName is not known', { cause: e });
    default:
      return new XmlProtectError('ERR_XML_PROTECT_MALFORMED', e.message, { cause: e });
  }
}
