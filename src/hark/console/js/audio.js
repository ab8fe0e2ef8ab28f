// Audio as the API takes it. A container Google's API names (WAV and FLAC with their headers,
// Ogg Opus, WebM Opus) goes as it is, so the request shown is the file itself; anything else the
// browser can play (MP3, M4A/AAC, Ogg Vorbis, ...) is decoded here and sent as 16 kHz LINEAR16
// WAV with its channels kept, as `hark transcribe --server` re-encodes what the API lacks.

const DECODE_MAX_BYTES = 64 * 1024 * 1024; // decoded audio takes ~10x its file in memory
const TARGET_RATE = 16000;

/** What the API needs to know about a file's container: encoding, sample rate, channels. */
export function sniff(bytes) {
  const text = (start, end) => String.fromCharCode(...bytes.subarray(start, end));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (text(0, 4) === "RIFF" && text(8, 12) === "WAVE") {
    return { encoding: "", label: "WAV", channels: wavChannels(bytes, view) };
  }
  if (text(0, 4) === "fLaC" && bytes.length > 20) {
    // STREAMINFO follows the marker and its block header; channels - 1 sit in bits 3..1 of byte 20.
    return { encoding: "", label: "FLAC", channels: ((bytes[20] >> 1) & 0x7) + 1 };
  }
  if (text(0, 4) === "OggS") {
    const head = text(0, Math.min(bytes.length, 96)).indexOf("OpusHead");
    if (head >= 0 && bytes.length > head + 16) {
      // Opus decodes at 48 kHz; the header's input rate is what Google checks against.
      const rate = view.getUint32(head + 12, true) || 48000;
      return { encoding: "OGG_OPUS", sampleRateHertz: rate, label: "Ogg Opus", channels: bytes[head + 9] };
    }
  }
  if (bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3) {
    // Matroska keeps the channel count deep in its track entry: left to the server.
    return { encoding: "WEBM_OPUS", sampleRateHertz: 48000, label: "WebM Opus", channels: 0 };
  }
  return null;
}

function wavChannels(bytes, view) {
  for (let offset = 12; offset + 12 <= bytes.length; ) {
    const size = view.getUint32(offset + 4, true);
    if (String.fromCharCode(...bytes.subarray(offset, offset + 4)) === "fmt ") {
      return view.getUint16(offset + 10, true);
    }
    offset += 8 + size + (size % 2);
  }
  return 0;
}

/**
 * Prepare `blob` (a File or a recording): {blob, encoding, sampleRateHertz, duration, channels,
 * label, converted}; `channels` 0 when the container does not say where it is cheap to look.
 * A container the API takes is never decoded here unless its duration is not in its metadata
 * (MediaRecorder's WebM), so a long file costs no memory. Throws an Error with a readable
 * message when nothing can read it.
 */
export async function prepare(blob) {
  const native = sniff(new Uint8Array(await blob.slice(0, 4096).arrayBuffer()));
  if (native) {
    let duration = await mediaDuration(blob);
    if (!duration && blob.size <= DECODE_MAX_BYTES) {
      duration = (await decode(blob).catch(() => null))?.duration || 0;
    }
    return { ...native, blob, duration, converted: false };
  }
  if (blob.size > DECODE_MAX_BYTES) {
    throw new Error("This file is too large to convert in the browser: send WAV, FLAC, Ogg Opus or WebM Opus.");
  }
  const decoded = await decode(blob).catch(() => null);
  if (!decoded) {
    throw new Error("This browser cannot read that file. Try WAV, FLAC, MP3, Ogg or WebM.");
  }
  const channels = Math.min(decoded.numberOfChannels, 8);
  const wav = toWav(decoded, channels);
  return {
    blob: wav, encoding: "", label: "WAV (converted in the browser)", duration: decoded.duration,
    channels, converted: true,
  };
}

/** The blob decoded and resampled to 16 kHz by the browser, its channels kept. */
async function decode(blob) {
  const context = new OfflineAudioContext(1, 1, TARGET_RATE);
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

/** `buffer` (decoded at 16 kHz) as 16-bit PCM in a WAV container, `channels` kept. */
function toWav(buffer, channels) {
  const frames = buffer.length;
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
  const planes = Array.from({ length: channels }, (_, c) => buffer.getChannelData(c));
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
