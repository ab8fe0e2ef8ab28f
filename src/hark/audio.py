"""Audio bytes in any Google ``AudioEncoding`` → 16 kHz float32 samples, with Google's checks.

Why PyAV: it bundles FFmpeg's demuxers and decoders for every Google encoding (FLAC, Opus in Ogg
and WebM, MP3, AMR-NB/WB, Speex, G.711) in one pip wheel with no system packages, and its
``AudioResampler`` (libswresample) does the rate conversion. Headerless PCM, µ-law and A-law and
the WAV header are handled here with numpy (PyAV only supplies the G.711 tables); the WAV header
is parsed by hand so its errors can carry Google's exact texts.

Streaming: raw PCM and SPEEX_WITH_HEADER_BYTE are split into frames here. Container formats run
PyAV's demuxer in a worker thread that reads from a blocking pipe; ``feed`` appends bytes and
waits until the demuxer has consumed them all, so each byte is demuxed once (no re-decoding).
"""

from __future__ import annotations

import functools
import io
import os
import struct
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import av
import numpy as np

from hark.engine import SAMPLE_RATE, Samples
from hark.errors import InvalidArgument, SpeechError, invalid_config
from hark.samples import Array, Resampler, concat, empty, frame_array, mixdown, rechunk

ENCODINGS: frozenset[str] = frozenset(
    {
        "ENCODING_UNSPECIFIED", "LINEAR16", "FLAC", "MULAW", "AMR", "AMR_WB", "OGG_OPUS",
        "SPEEX_WITH_HEADER_BYTE", "MP3", "WEBM_OPUS", "ALAW",
    }
)  # fmt: skip
_RAW = frozenset({"LINEAR16", "MULAW", "ALAW"})
_MONO_ONLY = frozenset({"MULAW", "ALAW", "AMR", "AMR_WB", "SPEEX_WITH_HEADER_BYTE"})
_OPUS_RATES = frozenset({8000, 12000, 16000, 24000, 48000})
_HEAD = 12  # bytes needed to recognise a container by its magic
# kind -> (PyAV demuxer, codec canonical name, encoding name)
_CONTAINERS = {
    "flac": ("flac", "flac", "FLAC"),
    "ogg": ("ogg", "opus", "OGG_OPUS"),
    "webm": ("matroska", "opus", "WEBM_OPUS"),
    "mp3": ("mp3", "mp3", "MP3"),
    "amr": ("amr", "amr_nb", "AMR"),
    "amrwb": ("amr", "amr_wb", "AMR_WB"),
}
_KIND_OF = {enc: kind for kind, (_, _, enc) in _CONTAINERS.items()}
_SPEEX_FRAME = 320  # samples per wideband Speex frame (20 ms at 16 kHz)
_LOW_LATENCY = {"probesize": "32", "analyzeduration": "0"}  # streaming: start decoding at once


@dataclass(frozen=True)
class AudioSpec:
    """What the RecognitionConfig says about the audio (0 = not given)."""

    encoding: str = "ENCODING_UNSPECIFIED"
    sample_rate_hertz: int = 0
    audio_channel_count: int = 0


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


def _bad_encoding() -> InvalidArgument:
    return invalid_config("bad encoding.")


def _bad_rate() -> InvalidArgument:
    return invalid_config("bad sample rate hertz")


def _channel_mismatch(given: int, label: str, found: int) -> InvalidArgument:
    return InvalidArgument(
        f"audio_channel_count `{given}` in RecognitionConfig must either be unspecified or "
        f"match the value in the {label} header `{found}`."
    )


def _check_spec(spec: AudioSpec) -> None:
    """Checks that need no audio: known encoding, channel count, the codec's rate rule."""
    enc, rate, n = spec.encoding, spec.sample_rate_hertz, spec.audio_channel_count
    if enc not in ENCODINGS:
        raise _bad_encoding()
    if n < 0 or n > 8 or (n > 1 and enc in _MONO_ONLY):
        raise InvalidArgument("Invalid audio channel count")
    if rate < 0 or (rate and not 8000 <= rate <= 48000):
        raise _bad_rate()
    if (
        (enc == "AMR" and rate not in (0, 8000))
        or (enc == "AMR_WB" and rate not in (0, 16000))
        or (enc == "SPEEX_WITH_HEADER_BYTE" and rate != 16000)
        or (enc in ("OGG_OPUS", "WEBM_OPUS") and rate and rate not in _OPUS_RATES)
    ):
        raise _bad_rate()


def _sniff(head: bytes) -> str:
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if head[:9] == b"#!AMR-WB\n":
        return "amrwb"
    if head[:6] == b"#!AMR\n":
        return "amr"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    return "unknown"


def _resolve(spec: AudioSpec, head: bytes) -> str:
    """Which decoder path the bytes take: 'raw', 'wav', 'speex' or a key of _CONTAINERS."""
    _check_spec(spec)
    enc, magic = spec.encoding, _sniff(head)
    if magic == "flac" and enc not in ("FLAC", "ENCODING_UNSPECIFIED"):
        raise InvalidArgument("Specify FLAC encoding to match file header.")
    if enc == "ENCODING_UNSPECIFIED":
        if magic in ("wav", "flac"):
            return magic
        raise _bad_encoding()
    if enc in _RAW:
        if magic == "wav":
            return "wav"
        if not spec.sample_rate_hertz:
            raise _bad_rate()
        return "raw"
    if enc == "SPEEX_WITH_HEADER_BYTE":
        return "speex"
    if magic != _KIND_OF[enc]:
        raise _bad_encoding()
    return magic


@dataclass(frozen=True)
class _Wav:
    encoding: str
    rate: int
    channels: int
    data_start: int
    data_len: int | None  # None: up to the end of the bytes


def _parse_wav(buf: bytes, final: bool) -> _Wav | None:
    """Parse a RIFF/WAVE header up to its data chunk; None if more bytes are needed."""
    pos, fmt = 12, None
    while pos + 8 <= len(buf):
        cid, size = buf[pos : pos + 4], struct.unpack_from("<I", buf, pos + 4)[0]
        if cid == b"data":
            if fmt is None:
                break
            tag, channels, rate, bits = fmt
            enc = {(1, 16): "LINEAR16", (7, 8): "MULAW", (6, 8): "ALAW"}.get((tag, bits))
            if enc is None or not channels or not rate:
                raise InvalidArgument("WAV header indicates an unsupported format.")
            data_len = None if size in (0, 0xFFFFFFFF) else size
            return _Wav(enc, rate, channels, pos + 8, data_len)
        if cid == b"fmt ":
            if size < 16 or pos + 8 + size > len(buf):
                break
            tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", buf, pos + 8)
            if tag == 0xFFFE and size >= 40:  # WAVE_FORMAT_EXTENSIBLE: tag in the sub-format
                tag = struct.unpack_from("<H", buf, pos + 32)[0]
            fmt = (tag, channels, rate, bits)
        pos += 8 + size + (size & 1)
    if final or (fmt is None and pos + 8 <= len(buf)):
        raise _bad_encoding()
    return None


def _check_wav(spec: AudioSpec, wav: _Wav) -> None:
    rate, n = spec.sample_rate_hertz, spec.audio_channel_count
    if rate and rate != wav.rate:
        raise InvalidArgument(
            f"sample_rate_hertz ({rate}) in RecognitionConfig must either be omitted or match "
            f"the value in the WAV header ( {wav.rate})."
        )
    if wav.channels > 8:
        raise InvalidArgument("Invalid audio channel count")
    if n <= 1 and wav.channels > 1:
        raise InvalidArgument(
            "Must use single channel (mono) audio, but WAV header indicates "
            f"{wav.channels} channels."
        )
    if n > 1 and n != wav.channels:
        raise _channel_mismatch(n, "WAV", wav.channels)


def _check_stream(container: av.container.InputContainer, kind: str, spec: AudioSpec) -> Any:
    """The container's audio stream, checked against the codec it must hold and the config."""
    if not container.streams.audio:
        raise _bad_encoding()
    stream = container.streams.audio[0]
    ctx = stream.codec_context
    _, codec, enc = _CONTAINERS[kind]
    if ctx.codec.canonical_name != codec or not ctx.sample_rate or not ctx.channels:
        raise _bad_encoding()
    rate, n, found = spec.sample_rate_hertz, spec.audio_channel_count, ctx.channels
    if kind == "flac":
        if rate and rate != ctx.sample_rate:
            raise InvalidArgument(
                f"sample_rate_hertz ({rate}) in RecognitionConfig must either be unspecified "
                f"or match the value in the FLAC header ({ctx.sample_rate})."
            )
        if n and n != found:
            raise _channel_mismatch(n, "FLAC", found)
    elif kind == "mp3" and rate and rate != ctx.sample_rate:
        raise _bad_rate()
    elif n > 1 and n != found:
        raise _channel_mismatch(n, enc, found)
    if found > 8:
        raise InvalidArgument("Invalid audio channel count")
    return stream


def _wrap_av_error(exc: BaseException) -> SpeechError:
    return exc if isinstance(exc, SpeechError) else _bad_encoding()


@functools.cache
def _g711_table(encoding: str) -> Array:
    """µ-law / A-law byte → float, taken from FFmpeg's decoder so it is the standard table."""
    ctx = av.CodecContext.create("pcm_mulaw" if encoding == "MULAW" else "pcm_alaw", "r")
    ctx.sample_rate, ctx.layout = 8000, "mono"
    frames = ctx.decode(av.Packet(bytes(range(256))))
    table = np.concatenate([f.to_ndarray().reshape(-1) for f in frames])
    return (table.astype(np.float32) / 32768.0).astype(np.float32)


class _Pcm:
    """Headerless LINEAR16/MULAW/ALAW, optionally behind a WAV header (parsed as bytes arrive)."""

    def __init__(self, spec: AudioSpec, wav: bool) -> None:
        self._spec, self._buf, self._wav_pending = spec, bytearray(), wav
        self._left: int | None = None
        self._resampler = Resampler()
        self._setup(spec.encoding, spec.sample_rate_hertz, max(spec.audio_channel_count, 1))

    def _setup(self, encoding: str, rate: int, channels: int) -> None:
        self.encoding, self.rate, self.channels = encoding, rate, channels
        self._frame_bytes = channels * (2 if encoding == "LINEAR16" else 1)

    def feed(self, data: bytes, final: bool = False) -> list[Array]:
        self._buf += data
        if self._wav_pending:
            wav = _parse_wav(bytes(self._buf), final)
            if wav is None:
                return []
            _check_wav(self._spec, wav)
            self._setup(wav.encoding, wav.rate, wav.channels)
            self._wav_pending, self._left = False, wav.data_len
            del self._buf[: wav.data_start]
        n = len(self._buf) if self._left is None else min(len(self._buf), self._left)
        n -= n % self._frame_bytes
        if not n:
            return []
        chunk = bytes(self._buf[:n])
        del self._buf[:n]
        if self._left is not None:
            self._left -= n
        if self.encoding == "LINEAR16":
            flat = np.frombuffer(chunk, dtype="<i2").astype(np.float32) / np.float32(32768.0)
        else:
            flat = _g711_table(self.encoding)[np.frombuffer(chunk, dtype=np.uint8)]
        samples = np.ascontiguousarray(flat.reshape(-1, self.channels).T)
        return self._resampler.array(samples, self.rate)

    def close(self) -> list[Array]:
        return self.feed(b"", final=True) + self._resampler.flush()


class _Speex:
    """SPEEX_WITH_HEADER_BYTE: frames each preceded by a one-byte length, wideband, mono."""

    encoding, rate, channels = "SPEEX_WITH_HEADER_BYTE", SAMPLE_RATE, 1

    def __init__(self) -> None:
        self._buf = bytearray()
        self._ctx = av.CodecContext.create("speex", "r")
        self._ctx.sample_rate, self._ctx.layout = SAMPLE_RATE, "mono"

    def feed(self, data: bytes) -> list[Array]:
        self._buf += data
        out, pos = [], 0
        while pos < len(self._buf) and pos + 1 + self._buf[pos] <= len(self._buf):
            size = self._buf[pos]
            packet = bytes(self._buf[pos + 1 : pos + 1 + size])
            pos += 1 + size
            if packet:
                out += _decode_packet(self._ctx, av.Packet(packet))
        del self._buf[:pos]
        return [frame_array(f) for f in out]

    def close(self) -> list[Array]:
        return []


def _decode_packet(ctx: Any, packet: Any) -> list[av.AudioFrame]:
    """Decode one packet; a corrupt packet is dropped (FFmpeg's own policy), not fatal."""
    try:
        return list(ctx.decode(packet))
    except av.error.InvalidDataError:
        return []


class _Pipe:
    """A blocking, non-seekable file for PyAV: read() waits for feed() or EOF."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.buf, self.pos = bytearray(), 0
        self.eof = self.starved = self.done = False
        self.out: list[Array] = []
        self.error: BaseException | None = None
        self.info: tuple[str, int, int] | None = None  # encoding, rate, channels

    def read(self, n: int) -> bytes:
        with self.cond:
            while self.pos >= len(self.buf) and not self.eof:
                self.starved = True
                self.cond.notify_all()
                self.cond.wait()
            self.starved = False
            chunk = bytes(self.buf[self.pos : self.pos + n])
            self.pos += len(chunk)
            if self.pos > 65536 and self.pos * 2 > len(self.buf):
                del self.buf[: self.pos]
                self.pos = 0
            return chunk

    def cancel(self) -> None:
        with self.cond:
            self.eof = True
            self.cond.notify_all()


class _Demux:
    """A container decoded by PyAV in a worker thread fed through a _Pipe."""

    def __init__(self, spec: AudioSpec, kind: str) -> None:
        self._pipe = pipe = _Pipe()
        self._thread = threading.Thread(target=_demux_worker, args=(pipe, spec, kind), daemon=True)
        self._thread.start()
        self.encoding, self.rate, self.channels = _CONTAINERS[kind][2], 0, 0

    def _sync(self, data: bytes, eof: bool) -> list[Array]:
        pipe = self._pipe
        with pipe.cond:
            pipe.buf += data
            pipe.eof = pipe.eof or eof
            pipe.cond.notify_all()
            while not (pipe.done or (pipe.starved and pipe.pos >= len(pipe.buf) and not eof)):
                pipe.cond.wait()
            out, pipe.out = pipe.out, []
            if pipe.info:
                self.encoding, self.rate, self.channels = pipe.info
            if pipe.error is not None:
                raise _wrap_av_error(pipe.error)
        return out

    def feed(self, data: bytes) -> list[Array]:
        return self._sync(data, eof=False)

    def close(self) -> list[Array]:
        out = self._sync(b"", eof=True)
        self._thread.join()
        return out


def _demux_worker(pipe: _Pipe, spec: AudioSpec, kind: str) -> None:
    try:
        with av.open(pipe, "r", format=_CONTAINERS[kind][0], options=_LOW_LATENCY) as container:
            for info, arrays in _decode_container(container, kind, spec):
                with pipe.cond:
                    pipe.info = info
                    pipe.out += arrays
    except BaseException as exc:
        with pipe.cond:
            pipe.error = exc
    finally:
        with pipe.cond:
            pipe.done = True
            pipe.cond.notify_all()


def _decode_container(
    container: av.container.InputContainer, kind: str, spec: AudioSpec
) -> Iterator[tuple[tuple[str, int, int], list[Array]]]:
    """Checked demux+decode+resample of the audio stream, one packet's samples at a time."""
    stream = _check_stream(container, kind, spec)
    ctx = stream.codec_context
    info = (_CONTAINERS[kind][2], int(ctx.sample_rate), int(ctx.channels))
    resampler = Resampler()
    for packet in container.demux(stream):
        arrays: list[Array] = []
        for frame in _decode_packet(ctx, packet):
            arrays += resampler.frame(frame)
        yield info, arrays
    yield info, resampler.flush()


_Decoder = _Pcm | _Speex | _Demux


class StreamDecoder:
    """Incremental decoder: bytes in arbitrary chunks → (n_channels, n) 16 kHz float32."""

    def __init__(self, spec: AudioSpec) -> None:
        _check_spec(spec)
        self._spec = spec
        self._head = bytearray()
        self._decoder: _Decoder | None = None
        self._closed = False
        self._channels = max(spec.audio_channel_count, 1)

    @property
    def encoding(self) -> str:
        return self._decoder.encoding if self._decoder else self._spec.encoding

    @property
    def source_sample_rate(self) -> int:
        return self._decoder.rate if self._decoder else self._spec.sample_rate_hertz

    def _start(self) -> None:
        kind = _resolve(self._spec, bytes(self._head[:_HEAD]))
        if kind in ("raw", "wav"):
            self._decoder = _Pcm(self._spec, wav=kind == "wav")
        elif kind == "speex":
            self._decoder = _Speex()
        else:
            self._decoder = _Demux(self._spec, kind)
            weakref.finalize(self, _Pipe.cancel, self._decoder._pipe)

    def _out(self, parts: list[Array]) -> Array:
        if self._decoder is not None and self._decoder.channels:
            self._channels = self._decoder.channels
        return concat(parts, self._channels)

    def _push(self, data: bytes, final: bool) -> Array:
        try:
            if self._decoder is None:
                self._head += data
                if len(self._head) < _HEAD and not (final and self._head):
                    return empty(self._channels)
                self._start()
                data, self._head = bytes(self._head), bytearray()
            assert self._decoder is not None
            parts = self._decoder.feed(data) if data else []
            return self._out(parts + self._decoder.close() if final else parts)
        except Exception as exc:
            raise _wrap_av_error(exc) from exc

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
        return self._push(b"", final=True)


def decode(content: bytes, spec: AudioSpec) -> DecodedAudio:
    """Decode a whole buffer with all of Google's checks; InvalidArgument on any bad audio."""
    if not content:
        raise InvalidArgument("RecognitionAudio not set.")
    kind = _resolve(spec, content[:_HEAD])
    try:
        if kind in _CONTAINERS:
            parts: list[Array] = []
            with av.open(io.BytesIO(content), "r", format=_CONTAINERS[kind][0]) as container:
                for info, arrays in _decode_container(container, kind, spec):
                    parts += arrays
                    enc, rate, channels = info
        else:
            dec = StreamDecoder(spec)
            first, rest = dec.feed(content), dec.close()
            enc, rate = dec.encoding, dec.source_sample_rate
            parts, channels = [first, rest], first.shape[0]
    except Exception as exc:
        raise _wrap_av_error(exc) from exc
    samples = concat([p for p in parts if p.shape[1]], channels)
    if not samples.shape[1]:
        raise _bad_encoding()
    return DecodedAudio(samples, enc, rate)


def iter_file(
    path: str | os.PathLike[str], spec: AudioSpec, chunk_seconds: float = 30.0
) -> Iterator[Array]:
    """Decode a file of any length as (n_channels, n) 16 kHz chunks; memory stays flat."""
    decoded = False
    for chunk in rechunk(_decoded_blocks(path, spec), chunk_seconds):
        decoded = True
        yield chunk
    if not decoded:
        raise _bad_encoding()


def _decoded_blocks(path: str | os.PathLike[str], spec: AudioSpec) -> Iterator[Array]:
    decoder = StreamDecoder(spec)
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            yield decoder.feed(block)
    yield decoder.close()


def probe(path: str | os.PathLike[str], spec: AudioSpec) -> tuple[float, int, int]:
    """(duration_seconds, n_channels, source_rate) without decoding when the header knows."""
    file_size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(1 << 20)
    if not head:
        raise InvalidArgument("RecognitionAudio not set.")
    kind = _resolve(spec, head[:_HEAD])
    if kind in ("raw", "wav"):
        pcm = _Pcm(spec, wav=kind == "wav")
        start, left = 0, None
        if kind == "wav":
            wav = _parse_wav(head, final=True)
            assert wav is not None
            _check_wav(spec, wav)
            pcm._setup(wav.encoding, wav.rate, wav.channels)
            start, left = wav.data_start, wav.data_len
        n_bytes = max(0, file_size - start) if left is None else min(left, file_size - start)
        return n_bytes // pcm._frame_bytes / pcm.rate, pcm.channels, pcm.rate
    if kind == "speex":
        with open(path, "rb") as f:
            data, pos, frames = f.read(), 0, 0
        while pos < len(data):
            frames += 1 if data[pos] else 0
            pos += 1 + data[pos]
        return frames * _SPEEX_FRAME / SAMPLE_RATE, 1, SAMPLE_RATE
    try:
        with av.open(os.fspath(path), "r", format=_CONTAINERS[kind][0]) as container:
            stream = _check_stream(container, kind, spec)
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
        raise _wrap_av_error(exc) from exc
