/**
 * The microphone of the browser tests: a WAV file that Chromium plays in a loop as its fake
 * capture device (`--use-file-for-fake-audio-capture`). Written once, deterministic: 48 kHz
 * mono 16-bit, a 440 Hz tone alternating with a 660 Hz one every half second, so a
 * receiver's audio energy keeps growing while the call lasts.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

// Outside test-results/, which Playwright empties at the start of a run.
export const FAKE_AUDIO_WAV = join(tmpdir(), 'mcptt-sdk-fake-audio-48k-v1.wav');

export function ensureFakeAudioWav(path: string = FAKE_AUDIO_WAV): string {
  if (existsSync(path)) return path;
  const rate = 48_000;
  const seconds = 2;
  const n = rate * seconds;
  const data = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) {
    const f = Math.floor(i / (rate / 2)) % 2 === 0 ? 440 : 660;
    data.writeInt16LE(Math.round(0.4 * 32767 * Math.sin((2 * Math.PI * f * i) / rate)), i * 2);
  }
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16); // PCM chunk size
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28); // byte rate
  header.writeUInt16LE(2, 32); // block align
  header.writeUInt16LE(16, 34); // bits per sample
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(data.length, 40);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, Buffer.concat([header, data]));
  return path;
}
