"""Headerless PCM (LINEAR16, MULAW, ALAW, optionally behind a WAV header) and
SPEEX_WITH_HEADER_BYTE, split into frames here with numpy (PyAV supplies the G.711 tables and
the Speex decoder).

Both hold only a partial frame between calls (and ``WavHeader`` at most a fmt chunk), and PCM
is converted ``BLOCK_BYTES`` at a time, each block metered before the next is touched.
"""

from __future__ import annotations

import functools
from typing import Any

import av
import numpy as np

from hark.audio.checks import AudioSpec, WavHeader, bad_encoding, check_wav
from hark.audio.meter import Meter
from hark.engine import SAMPLE_RATE
from hark.samples import Array, Resampler, frame_array

BLOCK_BYTES = 1 << 16
"""PCM bytes converted at once: at most 8 s of audio at 8 kHz, 512 KB as 16 kHz float32."""


@functools.cache
def _g711_table(encoding: str) -> Array:
    """µ-law / A-law byte → float, taken from FFmpeg's decoder so it is the standard table."""
    ctx = av.CodecContext.create("pcm_mulaw" if encoding == "MULAW" else "pcm_alaw", "r")
    ctx.sample_rate, ctx.layout = 8000, "mono"
    frames = ctx.decode(av.Packet(bytes(range(256))))
    table = np.concatenate([f.to_ndarray().reshape(-1) for f in frames])
    return (table.astype(np.float32) / 32768.0).astype(np.float32)


class Pcm:
    """Headerless LINEAR16/MULAW/ALAW, optionally behind a WAV header (parsed as bytes arrive)."""

    def __init__(self, spec: AudioSpec, wav: bool, meter: Meter) -> None:
        self._spec, self._buf, self._meter = spec, bytearray(), meter
        self._header = WavHeader() if wav else None
        self._left: int | None = None
        self._resampler = Resampler()
        self.setup(spec.encoding, spec.sample_rate_hertz, max(spec.audio_channel_count, 1))

    def setup(self, encoding: str, rate: int, channels: int) -> None:
        self.encoding, self.rate, self.channels = encoding, rate, channels
        self.frame_bytes = channels * (2 if encoding == "LINEAR16" else 1)

    @property
    def buffered(self) -> int:
        """Undecoded bytes held: a partial frame, or the part of a WAV header being read."""
        return len(self._buf) + (self._header.buffered if self._header else 0)

    def feed(self, data: bytes, final: bool = False) -> list[Array]:
        if self._header is not None:
            found = self._header.feed(data)
            if found is None:
                if final:
                    raise bad_encoding()
                return []
            wav, data = found
            check_wav(self._spec, wav)
            self.setup(wav.encoding, wav.rate, wav.channels)
            self._header, self._left = None, wav.data_len
        self._buf += data
        out: list[Array] = []
        while block := self._next_block():
            out += self._meter.take(self._convert(block))
        if self._left == 0:
            self._buf.clear()  # bytes after the data chunk (trailing chunks) are not audio
        return out

    def _next_block(self) -> bytes:
        n = min(len(self._buf), BLOCK_BYTES, len(self._buf) if self._left is None else self._left)
        n -= n % self.frame_bytes
        if self._left is not None:
            self._left -= n
        block = bytes(self._buf[:n])
        del self._buf[:n]
        return block

    def _convert(self, block: bytes) -> list[Array]:
        if self.encoding == "LINEAR16":
            flat = np.frombuffer(block, dtype="<i2").astype(np.float32) / np.float32(32768.0)
        else:
            flat = _g711_table(self.encoding)[np.frombuffer(block, dtype=np.uint8)]
        samples = np.ascontiguousarray(flat.reshape(-1, self.channels).T)
        return self._resampler.array(samples, self.rate)

    def close(self) -> list[Array]:
        return self.feed(b"", final=True) + self._meter.take(self._resampler.flush())


class Speex:
    """SPEEX_WITH_HEADER_BYTE: frames each preceded by a one-byte length, wideband, mono."""

    encoding, rate, channels = "SPEEX_WITH_HEADER_BYTE", SAMPLE_RATE, 1

    def __init__(self, meter: Meter) -> None:
        self._buf, self._meter = bytearray(), meter
        self._ctx = av.CodecContext.create("speex", "r")
        self._ctx.sample_rate, self._ctx.layout = SAMPLE_RATE, "mono"

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> list[Array]:
        self._buf += data
        out: list[Array] = []
        pos = 0
        while pos < len(self._buf) and pos + 1 + self._buf[pos] <= len(self._buf):
            size = self._buf[pos]
            packet = bytes(self._buf[pos + 1 : pos + 1 + size])
            pos += 1 + size
            if packet:
                frames = decode_packet(self._ctx, av.Packet(packet))
                out += self._meter.take([frame_array(f) for f in frames])
        del self._buf[:pos]
        return out

    def close(self) -> list[Array]:
        return []


def decode_packet(ctx: Any, packet: Any) -> list[av.AudioFrame]:
    """Decode one packet; a corrupt packet is dropped (FFmpeg's own policy), not fatal."""
    try:
        return list(ctx.decode(packet))
    except av.error.InvalidDataError:
        return []
