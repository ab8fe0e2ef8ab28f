// Audio as the API takes it. A container Google's API names (WAV and FLAC with their headers,
// Ogg Opus, WebM Opus) goes as it is, so the request shown is the file itself; anything else the
// browser can play (MP3, M4A/AAC, Ogg Vorbis, ...) is decoded here and sent as 16 kHz LINEAR16
// WAV with its channels kept, as `hark transcribe --server` re-encodes what the API lacks.

const DECODE_MAX_BYTES = 200 * 1024 * 1024; // past this, the duration comes from <audio>
const TARGET_RATE = 16000;

/** What the API needs to know about a file's container: its encoding and sample rate. */
export function sniff(bytes) {
  const text = (start, end) => String.fromCharCode(...bytes.subarray(start, end));
  if (text(0, 4) === "RIFF" && text(8, 12) === "WAVE") return { encoding: "", label: "WAV" };
  if (text(0, 4) === "fLaC") return { encoding: "", label: "FLAC" };
  if (text(0, 4) === "OggS") {
    const head = text(0, Math.min(bytes.length, 96)).indexOf("OpusHead");
    if (head >= 0) {
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      const rate = view.getUint32(head + 12, true);
      // Opus decodes at 48 kHz; the header's input rate is what Google checks against.
      return { encoding: "OGG_OPUS", sampleRateHertz: rate || 48000, label: "Ogg Opus" };
    }
  }
  if (bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3) {
    return { encoding: "WEBM_OPUS", sampleRateHertz: 48000, label: "WebM Opus" };
  }
  return null;
}

/**
 * Prepare `blob` (a File or a recording): {blob, encoding, sampleRateHertz, duration, channels,
 * label, converted}. Throws an Error with a person-readable message when nothing can read it.
 */
export async function prepare(blob) {
  const head = new Uint8Array(await blob.slice(0, 128).arrayBuffer());
  const native = sniff(head);
  let decoded = null;
  if (blob.size <= DECODE_MAX_BYTES) {
    try {
      decoded = await decode(blob);
    } catch {
      decoded = null;
    }
  }
  if (native) {
    const duration = decoded ? decoded.duration : await mediaDuration(blob);
    const channels = decoded ? decoded.numberOfChannels : 1;
    return { ...native, blob, duration, channels, converted: false };
  }
  if (!decoded) {
    throw new Error("This browser cannot read that file. Try WAV, FLAC, MP3, Ogg or WebM.");
  }
  const channels = Math.min(decoded.numberOfChannels, 8);
  const wav = await toWav(decoded, channels);
  return {
    blob: wav, encoding: "", label: "WAV (converted in the browser)", duration: decoded.duration,
    channels, converted: true,
  };
}

async function decode(blob) {
  const context = new OfflineAudioContext(1, 1, 44100);
  return context.decodeAudioData(await blob.arrayBuffer());
}

function mediaDuration(blob) {
  return new Promise((resolve) => {
    const audio = document.createElement("audio");
    const url = URL.createObjectURL(blob);
    const done = (value) => {
      URL.revokeObjectURL(url);
      resolve(Number.isFinite(value) ? value : 0);
    };
    audio.onloadedmetadata = () => done(audio.duration);
    audio.onerror = () => done(0);
    audio.src = url;
  });
}

/** `buffer` resampled to 16 kHz 16-bit PCM in a WAV container, `channels` kept. */
async function toWav(buffer, channels) {
  const frames = Math.max(1, Math.ceil(buffer.duration * TARGET_RATE));
  const context = new OfflineAudioContext(channels, frames, TARGET_RATE);
  const source = context.createBufferSource();
  source.buffer = buffer;
  source.connect(context.destination);
  source.start();
  const rendered = await context.startRendering();
  const data = new DataView(new ArrayBuffer(44 + frames * channels * 2));
  const ascii = (offset, text) => [...text].forEach((c, i) => data.setUint8(offset + i, c.charCodeAt(0)));
  ascii(0, "RIFF");
  data.setUint32(4, 36 + frames * channels * 2, true);
  ascii(8, "WAVEfmt ");
  data.setUint32(16, 16, true);
  data.setUint16(20, 1, true);
  data.setUint16(22, channels, true);
  data.setUint32(24, TARGET_RATE, true);
  data.setUint32(28, TARGET_RATE * channels * 2, true);
  data.setUint16(32, channels * 2, true);
  data.setUint16(34, 16, true);
  ascii(36, "data");
  data.setUint32(40, frames * channels * 2, true);
  const planes = Array.from({ length: channels }, (_, c) => rendered.getChannelData(c));
  let offset = 44;
  for (let i = 0; i < frames; i += 1) {
    for (const plane of planes) {
      const sample = Math.max(-1, Math.min(1, plane[i]));
      data.setInt16(offset, sample < 0 ? sample * 0x8000 : sample * 0x7fff, true);
      offset += 2;
    }
  }
  return new Blob([data.buffer], { type: "audio/wav" });
}

/** The blob's bytes as base64 (what `audio.content` carries in REST JSON). */
export function base64(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}
