/**
 * Typed shapes of the KMS messages: TS 33.179 Annex D (Table D.3.1.2-1 KmsCertificate, Table
 * D.3.2.2-1 KmsKeySet, schema D.3.4.1) and the change request's security extension (Table
 * D.2.2-1 KMS request, Table D.3.1-1 KmsResponse with TrK-ID and Signature-ID).
 *
 * Values are surfaced as the message states them; policy (is ParameterSet 1, is UserIdFormat
 * '2', is the certificate valid now, does KmsUri match) is the validator's job, not the codec's.
 */
import type { KmsDateTime } from './encoding.js';

export type { KmsDateTime };

export type KmsCertificateRole = 'Root' | 'External';

/** Present when the certificate came inside a SignedKmsCertificate (D.3.4.1). */
export interface KmsCertificateWrapper {
  /** `Id` of the SignedKmsCertificate element (the CR examples put it there). */
  readonly id?: string;
  /** SignatureMethod of the embedded ds:Signature, if any. NOT verified by this codec. */
  readonly signatureAlgorithm?: string;
  readonly signatureKeyName?: string;
}

export interface KmsCertificate {
  /** `Version` attribute (schema-fixed 1.1.0). */
  readonly version?: string;
  readonly role?: KmsCertificateRole;
  /** `Id` attribute of KmsCertificate itself (v13 examples put it there). */
  readonly id?: string;
  readonly certUri?: string;
  readonly kmsUri: string;
  readonly issuer?: string;
  readonly validFrom?: KmsDateTime;
  readonly validTo?: KmsDateTime;
  readonly revoked?: boolean;
  /** 'UserIdFormat' (the table spells it UserIDFormat, the schema UserIdFormat); '2' = F.2.1. */
  readonly userIdFormat: string;
  /** Seconds per user key period. */
  readonly userKeyPeriod: number;
  /** Seconds from 0h 1 Jan 1900 where the key periods start. */
  readonly userKeyOffset: number;
  /** SAKKE public key Z_T (RFC 6508), hexBinary in the XML. */
  readonly pubEncKey: Uint8Array;
  /** ECCSI KPAK (RFC 6507), hexBinary in the XML. */
  readonly pubAuthKey: Uint8Array;
  readonly parameterSet?: number;
  readonly kmsDomainList?: readonly string[];
  readonly wrapper?: KmsCertificateWrapper;
}

export interface KmsKeySet {
  readonly version?: string;
  readonly id?: string;
  readonly kmsUri: string;
  readonly certUri?: string;
  readonly issuer?: string;
  readonly userUri: string;
  /** `UserID`: the UID as the KMS writes it (hex in the examples), verbatim. */
  readonly userId: string;
  readonly validFrom?: KmsDateTime;
  readonly validTo?: KmsDateTime;
  readonly keyPeriodNo: number;
  readonly revoked?: boolean;
  /** SAKKE RSK (RFC 6508). */
  readonly userDecryptKey: Uint8Array;
  /** ECCSI SSK (RFC 6507). */
  readonly userSigningKeySSK: Uint8Array;
  /** ECCSI PVT (RFC 6507). */
  readonly userPubTokenPVT: Uint8Array;
  /** True when the three keys arrived AES-256-wrapped under a TrK (security extension). */
  readonly keysWrapped: boolean;
}

export interface KmsInitMessage {
  readonly kind: 'init';
  readonly version?: string;
  /** The KMS root certificate. */
  readonly certificate: KmsCertificate;
}

export interface KmsKeyProvMessage {
  readonly kind: 'keyprov';
  readonly version?: string;
  readonly keySets: readonly KmsKeySet[];
}

export interface KmsCertCacheMessage {
  readonly kind: 'certcache';
  readonly version?: string;
  /** `CacheNum` attribute: the cache version, for `certcache/{n}` requests. */
  readonly cacheNum?: number;
  readonly certificates: readonly KmsCertificate[];
}

export type KmsMessage = KmsInitMessage | KmsKeyProvMessage | KmsCertCacheMessage;

/** A transport key delivered in NewTransportKey, already unwrapped: store it under `id`. */
export interface KmsTransportKey {
  /** The `CarriedKeyName` (e.g. `tk.12.user@example.org`). */
  readonly id: string;
  /** 32 octets (AES-256). */
  readonly key: Uint8Array;
}

/** How the response was authenticated (present only after the HMAC verified). */
export interface KmsSignatureInfo {
  /** The InK/TrK that signed (Signature-ID, or ds:KeyName). */
  readonly keyId: string;
  /** Bits of HMAC-SHA-256 compared (HMACOutputLength, default 256). */
  readonly hmacOutputBits: number;
  /** 'message': the reference names KmsResponse/KmsRequest; 'document': the signed wrapper. */
  readonly reference: 'message' | 'document';
}

export interface KmsResponse {
  readonly version?: string;
  readonly id?: string;
  readonly kmsUri: string;
  readonly userUri: string;
  readonly time: KmsDateTime;
  readonly kmsId?: string;
  readonly clientReqUrl: string;
  /** TrK-ID (CR Table D.3.1-1): the TrK that protects the key material. */
  readonly trkId?: string;
  /** Signature-ID (CR Table D.3.1-1): the InK or TrK that signed. */
  readonly signatureId?: string;
  /** Absent when KmsMessage is absent or holds only foreign-namespace content. */
  readonly message?: KmsMessage;
  /** New TrKs to store (KmsInit, KmsKeyProv under the security extension); often empty. */
  readonly newTransportKeys: readonly KmsTransportKey[];
  /** Present when the response was a verified SignedKmsResponse. */
  readonly signature?: KmsSignatureInfo;
  /** Deviations from the schema that were tolerated (see docs/kms-xml.md), for logging. */
  readonly quirks: readonly string[];
}

/** ClientError of a KMS request (ikms:ErrorType). */
export interface KmsClientError {
  readonly errorCode: number;
  readonly errorMsg: string;
}

/** A SignedKmsRequest's KmsRequest (CR Table D.2.2-1), after verification. */
export interface KmsRequest {
  readonly version?: string;
  readonly id?: string;
  readonly userUri: string;
  readonly kmsUri: string;
  readonly time: KmsDateTime;
  readonly clientId?: string;
  readonly deviceId?: string;
  readonly clientReqUrl: string;
  readonly clientError?: KmsClientError;
  readonly trkId?: string;
  readonly signatureId?: string;
  readonly signature: KmsSignatureInfo;
  readonly quirks: readonly string[];
}

/** The resource a KMS request is POSTed to (D.2). */
export type KmsRequestTarget =
  | { readonly kind: 'init' }
  /** `identity`: a user or group URI (percent-encoded in the path); `time`: NTP-UTC 64-bit. */
  | { readonly kind: 'keyprov'; readonly identity?: string; readonly time?: bigint }
  /** `cacheNum`: the client's latest cache version. */
  | { readonly kind: 'certcache'; readonly cacheNum?: number };
