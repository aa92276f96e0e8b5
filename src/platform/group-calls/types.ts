/**
 * The public shape of group calls (TS 33.179 7.3 group keys, 7.5 media, 7.6 floor control
 * protection; TS 24.380 floor control): what a PTT page or a dispatcher console sees. The
 * implementation lives beside this file; the demo page and the tests code against these types.
 *
 * One `GroupCall` per group the user has joined (a dispatcher monitors several at once, each
 * with its own volume and talker indication, and talks on one of them). Media is end-to-end
 * encrypted under the group's active GMK (per-sender keys from the sender's GUK-ID); floor
 * control messages travel on a WebRTC data channel to the floor arbitrator in the MCPTT
 * server, SRTCP-protected (RFC 7714) under the floor-control key when one is configured.
 *
 * Events never carry keys or tokens. The talker's MCPTT ID is carried because the user must
 * see who is talking; the app renders it (or a display name), the SDK never logs it.
 */

/** Life of one group call. */
export type GroupCallState = 'joining' | 'joined' | 'leaving' | 'ended' | 'failed';

/**
 * The floor participant states of TS 24.380 6.2.4 (on-network), as the UI needs them:
 * - 'start-stop': not yet in the call's floor control (joining or ended);
 * - 'has-no-permission': someone else talks, or nobody (see `talker`);
 * - 'pending-request': our Floor Request is on its way;
 * - 'has-permission': granted, our microphone's frames are sent and forwarded;
 * - 'pending-release': our Floor Release is on its way;
 * - 'queued': the arbitrator queued our request (see `queuePosition`).
 */
export type FloorParticipantState = 'start-stop' | 'has-no-permission' | 'pending-request' | 'has-permission' | 'pending-release' | 'queued';

export interface Talker {
  /** MCPTT ID of the floor holder as the arbitrator announced it (Floor Taken / Granted). */
  readonly mcpttId: string | undefined;
  /** True when we hold the floor. */
  readonly self: boolean;
  /** The holder requested with emergency priority (TS 24.380 pre-emptive priority). */
  readonly emergency: boolean;
}

export interface FloorStatus {
  readonly state: FloorParticipantState;
  /** Who holds the floor; undefined when the floor is idle. */
  readonly talker: Talker | undefined;
  /** Our place in the arbitrator's queue (1 = next), when queued. */
  readonly queuePosition: number | undefined;
}

export interface FloorRequestOptions {
  /** TS 24.380 Floor Priority, 0–255 (default the user's normal priority). */
  readonly priority?: number;
  /** Emergency: pre-empts a lower-priority talker (TS 24.380 pre-emptive priority). */
  readonly emergency?: boolean;
}

/** Why the floor was refused or taken away: the TS 24.380 Reject Cause and its text. */
export interface FloorRefusal {
  readonly cause: number;
  readonly text: string | undefined;
}

/** Counters the security panel shows (sums over the call's tracks). */
export interface GroupCallMediaStats {
  readonly framesEncrypted: number;
  readonly framesDecrypted: number;
  readonly framesDropped: number;
  /** MKI (hex) of the frames we send now; undefined while we send nothing. */
  readonly sendMki: string | undefined;
  /** MKI (hex) of the last frame decrypted. */
  readonly receiveMki: string | undefined;
}

export interface GroupCallEvents {
  state: [state: GroupCallState, previous: GroupCallState];
  floor: [status: FloorStatus];
  'floor-denied': [refusal: FloorRefusal];
  'floor-revoked': [refusal: FloorRefusal];
  /** The call ended (we left, the server ended it, or it failed: then `code` says why). */
  ended: [info: { readonly code: string | undefined }];
}

export interface GroupCall {
  /** Local ID of the call (the SIP session's ID). */
  readonly id: string;
  /** MCPTT group ID (= the group's PSI). */
  readonly groupId: string;
  readonly state: GroupCallState;
  readonly floor: FloorStatus;
  /**
   * Asks for the floor. Resolves 'granted' (media flows) or 'queued'; rejects with a typed
   * error when denied (ERR_FLOOR_DENIED), unanswered (ERR_FLOOR_TIMEOUT) or the call is gone.
   */
  requestFloor(options?: FloorRequestOptions): Promise<'granted' | 'queued'>;
  /** Releases (or cancels a pending/queued request for) the floor. */
  releaseFloor(): Promise<void>;
  /** Playback volume of this call, 0–1 (per-group volume for monitoring). */
  volume: number;
  /** RMS level 0–1 of what this call plays now (meters, talker indication). */
  outputLevel(): number;
  /** RMS level 0–1 of our microphone as sent on this call (0 unless we have permission). */
  inputLevel(): number;
  /** Media counters for the security panel. */
  mediaStats(): Promise<GroupCallMediaStats>;
  /** The RTCPeerConnection to the MCPTT server (tests read its stats). */
  readonly peerConnection: RTCPeerConnection | undefined;
  /** Leaves the call (BYE); idempotent. */
  leave(): Promise<void>;
  on<E extends keyof GroupCallEvents>(event: E, listener: (...args: GroupCallEvents[E]) => void): () => void;
}

/** What `McpttClient.joinGroup` takes. */
export interface JoinGroupOptions {
  /** Start muted for playback (volume 0), e.g. a monitored group. Default false. */
  readonly muted?: boolean;
}
