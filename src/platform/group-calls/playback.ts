/**
 * Playback and level metering of a group call with Web Audio (the talker's decrypted audio,
 * TS 33.179 7.5 on the receive side): per call a source from the remote stream, an
 * AnalyserNode (output level, before the volume so a muted monitored group still shows
 * activity), a GainNode (per-group volume) into the shared AudioContext's destination; and an
 * AnalyserNode on our microphone track (input level; never connected to the speakers).
 *
 * Chromium quirk: a remote WebRTC track gives Web Audio no samples unless the track is also
 * attached to a media element (crbug 933677), so the stream is played by a muted <audio>
 * element as well. The element is muted: what is heard goes through the GainNode only.
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
 * Web Audio playback sharing one AudioContext between all calls of the page (a dispatcher
 * monitors several groups: one context mixes them). The context is created on first use and
 * resumed on each new call (browsers start it suspended without a user gesture).
 */
export function webAudioPlayback(createContext: () => AudioContext = () => new AudioContext()): CallAudioFactory {
  let ctx: AudioContext | undefined;
  let open = 0;
  return (options) => {
    const c = (ctx ??= createContext());
    open++;
    void c.resume().catch(() => undefined);
    const gain = c.createGain();
    gain.gain.value = checkVolume(options.volume);
    gain.connect(c.destination);
    const outAnalyser = c.createAnalyser();
    outAnalyser.fftSize = FFT_SIZE;
    outAnalyser.connect(gain);
    const inAnalyser = c.createAnalyser();
    inAnalyser.fftSize = FFT_SIZE;
    const buf = new Float32Array(FFT_SIZE);
    let outSource: MediaStreamAudioSourceNode | undefined;
    let inSource: MediaStreamAudioSourceNode | undefined;
    let element: HTMLAudioElement | undefined;
    let volume = options.volume;
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
        gain.gain.setValueAtTime(volume, c.currentTime);
      },
      setOutput(tracks) {
        outSource?.disconnect();
        outSource = undefined;
        if (element !== undefined) element.srcObject = null;
        if (tracks.length === 0 || closed) return;
        const stream = new MediaStream([...tracks]);
        if (typeof Audio === 'function') {
          element ??= new Audio();
          element.muted = true;
          element.srcObject = stream;
          void element.play().catch(() => undefined);
        }
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
        outAnalyser.disconnect();
        inAnalyser.disconnect();
        gain.disconnect();
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
