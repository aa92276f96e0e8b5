/**
 * Numbers of the on-network floor control protocol, TS 24.380 clause 8.2 (MBCP: RTCP APP packets
 * named "MCPT"). Where each number comes from, and which ones could not be checked against the
 * specification text itself, is recorded in docs/floor-control.md ("Numbers and their sources").
 */

/** RFC 3550 6.7: RTCP APP packet type; TS 24.380 8.1.2: version 2, padding bit 0. */
export const RTCP_APP_PT = 204;
export const RTCP_VERSION = 2;
/** TS 24.380 8.2.1: the name of the floor control message set. */
export const MBCP_NAME = 'MCPT';
/** Octets of the common header: V/P/subtype, PT, length, SSRC, name. */
export const MBCP_HEADER_LENGTH = 12;
/**
 * Largest MBCP packet accepted. RTCP's 16-bit length allows 256 KiB; a floor message holds a
 * handful of fields of at most 257 octets each, so anything beyond this is refused unread.
 */
export const MBCP_MAX_LENGTH = 4096;

/** TS 24.380 table 8.2.2-1: the 4 low bits of the 5-bit subtype. */
export const MBCP_SUBTYPE = Object.freeze({
  'floor-request': 0b0000,
  'floor-granted': 0b0001,
  'floor-taken': 0b0010,
  'floor-deny': 0b0011,
  'floor-release': 0b0100,
  'floor-idle': 0b0101,
  'floor-revoke': 0b0110,
  'floor-queue-position-request': 0b1000,
  'floor-queue-position-info': 0b1001,
  'floor-ack': 0b1010,
} as const);

export type MbcpMessageType = keyof typeof MBCP_SUBTYPE;

/**
 * Table 8.2.2-1 writes some subtypes "x0001": the top bit x is 1 when the sender wants a Floor
 * Ack back. Only these messages have the variant; the bit set on any other is refused.
 */
export const MBCP_ACK_BIT = 0b10000;
export const MBCP_ACKABLE: ReadonlySet<MbcpMessageType> = new Set<MbcpMessageType>([
  'floor-granted',
  'floor-taken',
  'floor-deny',
  'floor-release',
  'floor-idle',
  'floor-queue-position-info',
]);

/** TS 24.380 table 8.2.3.1-2: floor control specific field IDs (Rel-14 numbering onwards). */
export const MBCP_FIELD = Object.freeze({
  floorPriority: 0,
  duration: 1,
  rejectCause: 2,
  queueInfo: 3,
  grantedPartyId: 4,
  permissionToRequest: 5,
  userId: 6,
  queueSize: 7,
  messageSequenceNumber: 8,
  queuedUserId: 9,
  source: 10,
  // 11 Track Info, 14 SSRC, 15.. lists, functional alias, location: skipped when received.
  messageType: 12,
  floorIndicator: 13,
} as const);

/** TS 24.380 8.2.3.13 Floor Indicator: a 16-bit map, A = the most significant bit. */
export const FLOOR_INDICATOR = Object.freeze({
  NORMAL: 0x8000,
  BROADCAST_GROUP: 0x4000,
  SYSTEM: 0x2000,
  EMERGENCY: 0x1000,
  IMMINENT_PERIL: 0x0800,
  QUEUEING_SUPPORTED: 0x0400,
  DUAL_FLOOR: 0x0200,
  TEMPORARY_GROUP: 0x0100,
  MULTI_TALKER: 0x0080,
} as const);

/** TS 24.380 8.2.3.12 Source field. */
export const FLOOR_SOURCE = Object.freeze({
  FLOOR_PARTICIPANT: 0,
  PARTICIPATING_FUNCTION: 1,
  CONTROLLING_FUNCTION: 2,
  NON_CONTROLLING_FUNCTION: 3,
} as const);

/** TS 24.380 8.2.6.2 Floor Deny reject causes. */
export const FLOOR_DENY_CAUSE = Object.freeze({
  ANOTHER_HAS_PERMISSION: 1,
  INTERNAL_ERROR: 2,
  ONLY_ONE_PARTICIPANT: 3,
  RETRY_AFTER_NOT_EXPIRED: 4,
  RECEIVE_ONLY: 5,
  NO_RESOURCES: 6,
  QUEUE_FULL: 7,
  OTHER: 255,
} as const);

/** TS 24.380 8.2.8.2 Floor Revoke reject causes. */
export const FLOOR_REVOKE_CAUSE = Object.freeze({
  ONLY_ONE_CLIENT: 1,
  MEDIA_BURST_TOO_LONG: 2,
  NO_PERMISSION: 3,
  PREEMPTED: 4,
  NO_RESOURCES: 6,
  OTHER: 255,
} as const);
