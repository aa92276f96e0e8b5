/**
 * The key management client of the SDK (TS 33.179 7.2, Annex D and the KMS security
 * extension): HTTP requests to the KMS, and the validated certificates and key sets it returns.
 */
export { createKmsClient } from './kms-client.js';
export type { KmsClient, KmsClientOptions, KmsKeyProvisionOptions, KmsTransportKeyStore } from './kms-client.js';
export { validateKeySet, validateKeySetAsync, validateKmsCertificate } from '../../keys/kms-validation.js';
export type {
  ValidatedKeySet,
  ValidatedKmsCertificate,
  ValidateKeySetOptions,
  ValidateKeySetAsyncOptions,
  ValidateKmsCertificateOptions,
} from '../../keys/kms-validation.js';
