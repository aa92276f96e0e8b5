/**
 * Playback and level metering of a group call (the talker's decrypted audio, TS 33.179 7.5 on
 * the receive side). Per call:
 *
 *   received tracks ─► <audio> element (volume = the call's volume) ─► speakers
 *                  └─► Web Audio source ─► AnalyserNode  (outputLevel, before the volume, so a
 *                                                          muted monitored group still shows activity)
 *   microphone ─► Web Audio source ─► AnalyserNode          (inputLevel; never to the speakers)
 *
 * Why the element plays and not a GainNode into the AudioContext's destination: Chromium
 * renders a remote WebRTC track through the media element it is attached to, and Web Audio
 * gets no samples from such a track unless an element plays it (crbug 933677). A muted
 * element would feed Web Audio but sets the WebRTC renderer's volume to 0 — the audio level
 * behind `inbound-rtp` totalAudioEnergy then reads 0, so nothing would show that audio plays.
 * Playing through the element (its `volume` per call) keeps the statistics true, allows a
 * per-group output device later (`setSinkId`), and Web Audio only measures.
 */

/** One call's audio path. */
export interface CallAudio {
  /** 0–1; applied at once. */
  volume: number;
  /** The call's received audio tracks (from the peer connection); replace any earlier ones. */
  setOutput(tracks: readonly MediaStreamTrack[]): void;
  /** Our microphone track as sent on this call (for the input meter only). */
  setInput(track: MediaStreamTrack | undefined): void;
  /** RMS 0–1 of the received audio now. */
  outputLevel(): number;
  /** RMS 0–1 of the microphone now. */
  inputLevel(): number;
  close(): void;
}

export type CallAudioFactory = (options: { readonly volume: number }) => CallAudio;

/** RMS of time-domain samples in [-1, 1], clamped to 0–1. */
export function rms(samples: Float32Array): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (const s of samples) sum += s * s;
  const v = Math.sqrt(sum / samples.length);
  return Number.isFinite(v) ? Math.min(1, v) : 0;
}

export function checkVolume(v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) throw new RangeError('volume must be a number from 0 to 1');
  return v;
}

const FFT_SIZE = 1024;

/**
 * The browser's playback: one media element per call, meters on one shared AudioContext (a
 * dispatcher hears several groups at once). The context is created on first use and resumed
 * on each new call (browsers start it suspended without a user gesture); it is closed when the
 * last call is gone.
 */
export function webAudioPlayback(createContext: () => AudioContext = () => new AudioContext()): CallAudioFactory {
  let ctx: AudioContext | undefined;
  let open = 0;
  return (options) => {
    const c = (ctx ??= createContext());
    open++;
    void c.resume().catch(() => undefined);
    const outAnalyser = c.createAnalyser();
    outAnalyser.fftSize = FFT_SIZE;
    const inAnalyser = c.createAnalyser();
    inAnalyser.fftSize = FFT_SIZE;
    const buf = new Float32Array(FFT_SIZE);
    let outSource: MediaStreamAudioSourceNode | undefined;
    let inSource: MediaStreamAudioSourceNode | undefined;
    let element: HTMLAudioElement | undefined;
    let volume = checkVolume(options.volume);
    let closed = false;

    const level = (a: AnalyserNode, connected: boolean): number => {
      if (!connected || closed) return 0;
      a.getFloatTimeDomainData(buf);
      return rms(buf);
    };

    return {
      get volume() {
        return volume;
      },
      set volume(v: number) {
        volume = checkVolume(v);
        if (element !== undefined) element.volume = volume;
      },
      setOutput(tracks) {
        outSource?.disconnect();
        outSource = undefined;
        if (element !== undefined) element.srcObject = null;
        if (tracks.length === 0 || closed) return;
        const stream = new MediaStream([...tracks]);
        element ??= new Audio();
        element.volume = volume;
        element.srcObject = stream;
        void element.play().catch(() => undefined);
        outSource = c.createMediaStreamSource(stream);
        outSource.connect(outAnalyser);
      },
      setInput(track) {
        inSource?.disconnect();
        inSource = undefined;
        if (track === undefined || closed) return;
        inSource = c.createMediaStreamSource(new MediaStream([track]));
        inSource.connect(inAnalyser);
      },
      outputLevel: () => level(outAnalyser, outSource !== undefined),
      inputLevel: () => level(inAnalyser, inSource !== undefined),
      close() {
        if (closed) return;
        closed = true;
        outSource?.disconnect();
        inSource?.disconnect();
        if (element !== undefined) {
          element.pause();
          element.srcObject = null;
        }
        // The last call gone: let the audio device go.
        if (--open === 0 && ctx === c) {
          ctx = undefined;
          void c.close().catch(() => undefined);
        }
      },
    };
  };
}
