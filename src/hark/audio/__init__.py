"""Audio bytes in any Google ``AudioEncoding`` → 16 kHz float32 samples, with Google's checks.

Why PyAV: it bundles FFmpeg's demuxers and decoders for every Google encoding (FLAC, Opus in Ogg
and WebM, MP3, AMR-NB/WB, Speex, G.711) in one pip wheel with no system packages, and its
``AudioResampler`` (libswresample) does the rate conversion. Headerless PCM, µ-law and A-law and
the WAV header are handled with numpy (``pcm``); the WAV header is parsed by hand (``checks``)
so its errors can carry Google's exact texts. Containers are demuxed by PyAV (``demux``).

Bounded work: every decode takes an optional ``Limit`` (seconds of decoded audio) enforced
while decoding (``meter``); header rates outside 8000-48000 Hz are refused; a decoder holds at
most a partial frame or a small header of undecoded bytes (``MAX_UNDECODED`` for what FFmpeg
may hold inside); ``StreamDecoder.abort`` releases a container's worker thread at once.
"""

from __future__ import annotations

import io
import os
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import av

from hark.audio.checks import (
    CONTAINERS,
    ENCODINGS,
    HEAD,
    AudioSpec,
    WavHeader,
    bad_encoding,
    check_spec,
    check_stream,
    check_wav,
    resolve,
    wrap_av_error,
)
from hark.audio.demux import Demux, decode_container
from hark.audio.meter import Limit, Meter
from hark.audio.pcm import BLOCK_BYTES, Pcm, Speex
from hark.engine import SAMPLE_RATE, Samples
from hark.errors import InvalidArgument
from hark.samples import Array, concat, empty, mixdown, rechunk

__all__ = [
    "ENCODINGS",
    "MAX_UNDECODED",
    "AudioSpec",
    "DecodedAudio",
    "Limit",
    "StreamDecoder",
    "decode",
    "iter_file",
    "probe",
]

MAX_UNDECODED = 8 << 20
"""Bytes a stream may be fed without yielding one sample before it is refused as bad encoding:
what FFmpeg's parsers may buffer inside while they look for a frame (real headers, cover art
included, are far smaller)."""
_SPEEX_FRAME = 320  # samples per wideband Speex frame (20 ms at 16 kHz)


@dataclass(frozen=True)
class DecodedAudio:
    """Decoded audio: ``channels`` is (n_channels, n_samples) float32 at 16 kHz."""

    channels: Array
    encoding: str
    source_sample_rate: int

    @property
    def duration(self) -> float:
        return float(self.channels.shape[1]) / SAMPLE_RATE

    def mono(self) -> Samples:
        return mixdown(self.channels)


_Decoder = Pcm | Speex | Demux


class StreamDecoder:
    """Incremental decoder: bytes in arbitrary chunks → (n_channels, n) 16 kHz float32.

    ``limit`` caps the decoded audio (its error is raised as soon as it is passed); with
    ``mono`` the output is mixed down as it is decoded. The owner must call ``close`` or
    ``abort`` when the stream ends (a container's decoder holds a thread until then).
    """

    def __init__(self, spec: AudioSpec, limit: Limit | None = None, mono: bool = False) -> None:
        check_spec(spec)
        self._spec = spec
        self._meter = Meter(limit, mono)
        self._mono = mono
        self._head = bytearray()
        self._decoder: _Decoder | None = None
        self._closed = False
        self._channels = 1 if mono else max(spec.audio_channel_count, 1)
        self._unproductive = 0  # bytes fed since the last decoded sample
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._source = (spec.encoding, spec.sample_rate_hertz)  # what the decoder found

    @property
    def encoding(self) -> str:
        return self._decoder.encoding if self._decoder else self._source[0]

    @property
    def source_sample_rate(self) -> int:
        return self._decoder.rate if self._decoder else self._source[1]

    @property
    def buffered(self) -> int:
        """Undecoded bytes this decoder holds now."""
        return len(self._head) + (self._decoder.buffered if self._decoder else 0)

    def _start(self) -> None:
        kind = resolve(self._spec, bytes(self._head[:HEAD]))
        if kind in ("raw", "wav"):
            self._decoder = Pcm(self._spec, wav=kind == "wav", meter=self._meter)
        elif kind == "speex":
            self._decoder = Speex(self._meter)
        else:
            self._decoder = Demux(self._spec, kind, self._meter)
            # A safety net only: the owner's close()/abort() ends the thread deterministically
            # (and detaches this, whose registry would otherwise keep the pipe alive).
            self._finalizer = weakref.finalize(self, self._decoder.pipe.cancel)

    def _out(self, parts: list[Array]) -> Array:
        if self._decoder is not None and self._decoder.channels and not self._mono:
            self._channels = self._decoder.channels
        out = concat(parts, self._channels)
        self._unproductive = 0 if out.shape[1] else self._unproductive
        if self._unproductive > MAX_UNDECODED:
            raise bad_encoding()
        return out

    def _push(self, data: bytes, final: bool) -> Array:
        self._unproductive += len(data)
        try:
            if self._decoder is None:
                self._head += data
                if len(self._head) < HEAD and not (final and self._head):
                    return empty(self._channels)
                self._start()
                data, self._head = bytes(self._head), bytearray()
            assert self._decoder is not None
            parts = self._decoder.feed(data) if data else []
            return self._out(parts + self._decoder.close() if final else parts)
        except BaseException as exc:
            self.abort()
            if isinstance(exc, Exception):
                raise wrap_av_error(exc) from exc
            raise

    def feed(self, data: bytes) -> Array:
        """Newly decoded samples, possibly none (containers buffer until they can parse)."""
        if self._closed:
            raise ValueError("StreamDecoder.feed() after close()")
        return self._push(data, final=False)

    def close(self) -> Array:
        """The remaining samples; raises InvalidArgument if the stream ends badly."""
        if self._closed:
            return empty(self._channels)
        self._closed = True
        try:
            return self._push(b"", final=True)
        finally:
            self.abort()

    def abort(self) -> None:
        """End the stream without its tail: frees the decoder (its thread, its resampler)
        now rather than when the garbage collector finds it. Idempotent."""
        self._closed = True
        decoder, self._decoder = self._decoder, None  # its resampler's filter graph goes now
        if decoder is not None:
            self._source = (decoder.encoding, decoder.rate)
            if isinstance(decoder, Demux):
                decoder.abort()
        if self._finalizer is not None:
            self._finalizer.detach()


def decode(content: bytes, spec: AudioSpec, limit: Limit | None = None) -> DecodedAudio:
    """Decode a whole buffer with all of Google's checks; InvalidArgument on any bad audio,
    ``limit.error()`` as soon as the decoded audio passes ``limit``."""
    if not content:
        raise InvalidArgument("RecognitionAudio not set.")
    kind = resolve(spec, content[:HEAD])
    if kind in CONTAINERS:
        samples, enc, rate = _decode_buffer(content, kind, spec, Meter(limit))
    else:
        samples, enc, rate = _decode_stream(content, spec, limit)
    if not samples.shape[1]:
        raise bad_encoding()
    return DecodedAudio(samples, enc, rate)


def _decode_buffer(
    content: bytes, kind: str, spec: AudioSpec, meter: Meter
) -> tuple[Array, str, int]:
    parts: list[Array] = []
    info = (CONTAINERS[kind][2], 0, 1)
    try:
        with av.open(io.BytesIO(content), "r", format=CONTAINERS[kind][0]) as container:
            for step in decode_container(container, kind, spec, meter):
                info, arrays = step
                parts += arrays
    except Exception as exc:
        raise wrap_av_error(exc) from exc
    enc, rate, channels = info
    return concat([p for p in parts if p.shape[1]], channels), enc, rate


def _decode_stream(content: bytes, spec: AudioSpec, limit: Limit | None) -> tuple[Array, str, int]:
    decoder = StreamDecoder(spec, limit)
    parts = [
        decoder.feed(content[i : i + BLOCK_BYTES]) for i in range(0, len(content), BLOCK_BYTES)
    ]
    parts.append(decoder.close())
    channels = parts[0].shape[0]
    return (
        concat([p for p in parts if p.shape[1]], channels),
        decoder.encoding,
        decoder.source_sample_rate,
    )


def iter_file(
    path: str | os.PathLike[str],
    spec: AudioSpec,
    chunk_seconds: float = 30.0,
    limit: Limit | None = None,
) -> Iterator[Array]:
    """Decode a file of any length as (n_channels, n) 16 kHz chunks; memory stays flat.
    ``limit.error()`` is raised once the decoded audio passes ``limit``."""
    decoded = False
    for chunk in rechunk(_decoded_blocks(path, spec, limit), chunk_seconds):
        decoded = True
        yield chunk
    if not decoded:
        raise bad_encoding()


def _decoded_blocks(
    path: str | os.PathLike[str], spec: AudioSpec, limit: Limit | None
) -> Iterator[Array]:
    decoder = StreamDecoder(spec, limit)
    try:
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                yield decoder.feed(block)
        yield decoder.close()
    finally:
        decoder.abort()


def probe(path: str | os.PathLike[str], spec: AudioSpec) -> tuple[float, int, int]:
    """(duration_seconds, n_channels, source_rate) without decoding when the header knows.

    This is what the header claims (for progress and early refusals); limits on what is
    actually decoded are enforced by ``iter_file``'s ``limit``."""
    file_size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(HEAD)
    if not head:
        raise InvalidArgument("RecognitionAudio not set.")
    kind = resolve(spec, head)
    if kind in ("raw", "wav"):
        return _probe_pcm(path, spec, kind, file_size)
    if kind == "speex":
        return _probe_speex(path)
    try:
        with av.open(os.fspath(path), "r", format=CONTAINERS[kind][0]) as container:
            stream = check_stream(container, kind, spec)
            ctx = stream.codec_context
            if stream.duration and stream.time_base and kind not in ("amr", "amrwb"):
                duration = float(stream.duration * stream.time_base)
            elif container.duration and kind not in ("amr", "amrwb"):
                duration = container.duration / av.time_base
            else:
                ticks = sum(p.duration or 0 for p in container.demux(stream))
                duration = float(ticks * stream.time_base) if stream.time_base else 0.0
            return duration, int(ctx.channels), int(ctx.sample_rate)
    except Exception as exc:
        raise wrap_av_error(exc) from exc


def _probe_pcm(
    path: str | os.PathLike[str], spec: AudioSpec, kind: str, file_size: int
) -> tuple[float, int, int]:
    pcm = Pcm(spec, wav=False, meter=Meter(None))
    start, left = 0, None
    if kind == "wav":
        header, found = WavHeader(), None
        with open(path, "rb") as f:
            while found is None and (block := f.read(1 << 16)):
                found = header.feed(block)
        if found is None:
            raise bad_encoding()
        wav = found[0]
        check_wav(spec, wav)
        pcm.setup(wav.encoding, wav.rate, wav.channels)
        start, left = wav.data_start, wav.data_len
    n_bytes = max(0, file_size - start) if left is None else min(left, file_size - start)
    return n_bytes // pcm.frame_bytes / pcm.rate, pcm.channels, pcm.rate


def _probe_speex(path: str | os.PathLike[str]) -> tuple[float, int, int]:
    frames = 0
    with open(path, "rb") as f:
        while size := f.read(1):
            frames += 1 if size[0] else 0
            f.seek(size[0], os.SEEK_CUR)
    return frames * _SPEEX_FRAME / SAMPLE_RATE, 1, SAMPLE_RATE
