/**
 * MBCP, the on-network floor control messages of TS 24.380 clause 8.2 (RTCP APP, name "MCPT").
 */
export {
  FLOOR_DENY_CAUSE,
  FLOOR_INDICATOR,
  FLOOR_REVOKE_CAUSE,
  FLOOR_SOURCE,
  MBCP_ACK_BIT,
  MBCP_ACKABLE,
  MBCP_FIELD,
  MBCP_HEADER_LENGTH,
  MBCP_MAX_LENGTH,
  MBCP_NAME,
  MBCP_SUBTYPE,
  RTCP_APP_PT,
} from './constants.js';
export type { MbcpMessageType } from './constants.js';
export { decodeMbcp, encodeMbcp, mbcpDeclaredLength } from './codec.js';
export type { MbcpFields, MbcpMessage, MbcpPacket, MbcpQueueInfo, MbcpRejectCause } from './codec.js';
