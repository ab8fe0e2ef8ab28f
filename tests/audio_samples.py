"""Test helper: any corpus file (or audio bytes) → bytes in a chosen Google encoding, made with
PyAV at test time; ``tone`` makes audio for the tests that need no corpus.

    from audio_samples import encode
    data = encode(corpus_file("en_cmu_cards_001.wav"), "OGG_OPUS", 48000, 1)
    flac = encode(wav_bytes(tone(1.0)), "FLAC", 16000)

Encodings: LINEAR16 (headerless s16le), WAV (LINEAR16 in RIFF), MULAW, ALAW (headerless G.711),
MULAW_WAV, FLAC, OGG_OPUS, WEBM_OPUS, MP3, AMR (AMR-NB "#!AMR\\n" storage format, 8 kHz mono).
AMR_WB and SPEEX_WITH_HEADER_BYTE cannot be encoded by PyAV: see tests/fixtures/.
"""

from __future__ import annotations

import io
import os
import wave
from pathlib import Path
from typing import Any

import av
import numpy as np

from conftest import manifest

LAYOUTS = ("mono", "stereo", "3.0", "4.0", "5.0", "5.1", "6.1", "7.1")  # by channel count
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# encoding -> (muxer format, codec, sample format the codec takes)
_CONTAINER = {
    "WAV": ("wav", "pcm_s16le", "s16"),
    "MULAW_WAV": ("wav", "pcm_mulaw", "s16"),
    "FLAC": ("flac", "flac", "s16"),
    "OGG_OPUS": ("ogg", "libopus", "s16"),
    "WEBM_OPUS": ("webm", "libopus", "s16"),
    "MP3": ("mp3", "libmp3lame", "s16p"),
    "AMR": ("amr", "libopencore_amrnb", "s16"),
    "AAC_M4A": ("mp4", "aac", "fltp"),  # not a Google encoding: what a phone records
}
_RAW = {"LINEAR16": "pcm_s16le", "MULAW": "pcm_mulaw", "ALAW": "pcm_alaw"}


Source = str | os.PathLike[str] | bytes
"""A file path, or the bytes of an audio file (a WAV from ``wav_bytes``, say)."""


def _open_source(source: Source) -> Any:  # an av InputContainer
    if isinstance(source, bytes):
        return av.open(io.BytesIO(source))
    path = Path(source)
    if path.suffix in (".raw", ".ulaw"):
        row = manifest()[path.name]
        fmt = "mulaw" if path.suffix == ".ulaw" else "s16le"
        options = {
            "sample_rate": str(row["sample_rate"]),
            "ch_layout": LAYOUTS[int(str(row["channels"])) - 1],
        }
        return av.open(str(path), format=fmt, options=options)
    return av.open(str(path))


def frames(source: Source, rate: int, channels: int, fmt: str = "s16") -> list[av.AudioFrame]:
    """The file decoded and resampled to ``rate`` Hz, ``channels`` channels, sample format ``fmt``."""
    resampler = av.AudioResampler(format=fmt, layout=LAYOUTS[channels - 1], rate=rate)
    out: list[av.AudioFrame] = []
    with _open_source(source) as container:
        for frame in container.decode(audio=0):
            frame.pts = None
            out += resampler.resample(frame)
    out += resampler.resample(None)
    return out


def wav_bytes(samples: np.ndarray, rate: int = 16000) -> bytes:
    """Float samples (one row per channel, or a 1-D mono array) as a 16-bit WAV file."""
    channels = samples.reshape(1, -1) if samples.ndim == 1 else samples
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels.shape[0])
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(channels.T, -1, 1) * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


def tone(seconds: float, rate: int = 16000, channels: int = 1) -> np.ndarray:
    """A 440 Hz tone at half scale, ``channels`` rows of ``seconds`` at ``rate`` Hz."""
    times = np.arange(round(seconds * rate)) / rate
    wave_ = (0.5 * np.sin(2 * np.pi * 440 * times)).astype(np.float32)
    return np.tile(wave_, (channels, 1)) if channels > 1 else wave_


def encode(path: Source, encoding: str, rate: int, channels: int = 1) -> bytes:
    """Bytes of ``path``'s audio in ``encoding`` at ``rate`` Hz with ``channels`` channels."""
    if encoding in _RAW:
        pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in frames(path, rate, channels)])
        data = pcm.astype("<i2").tobytes()
        if encoding == "LINEAR16":
            return data
        ctx: Any = av.CodecContext.create(_RAW[encoding], "w")  # an AudioCodecContext
        ctx.sample_rate, ctx.layout, ctx.format = rate, LAYOUTS[channels - 1], "s16"
        frame = av.AudioFrame.from_ndarray(
            pcm.reshape(1, -1), format="s16", layout=LAYOUTS[channels - 1]
        )
        frame.sample_rate = rate
        return b"".join(bytes(p) for p in [*ctx.encode(frame), *ctx.encode(None)])
    fmt, codec, sample_fmt = _CONTAINER[encoding]
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as out:
        stream: Any = out.add_stream(codec, rate=rate, layout=LAYOUTS[channels - 1])  # audio
        if codec == "libopencore_amrnb":
            stream.bit_rate = 12200
        frame_size = 0
        pending = [f.to_ndarray() for f in frames(path, rate, channels, sample_fmt)]
        planar = sample_fmt.endswith("p")
        samples = np.concatenate(pending, axis=1)
        frame_size = stream.codec_context.frame_size or 1024
        if not planar:
            samples = samples.reshape(-1, channels).T
        pts = 0
        for start in range(0, samples.shape[1], frame_size):
            block = samples[:, start : start + frame_size]
            if codec == "libopencore_amrnb" and block.shape[1] < frame_size:
                block = np.pad(block, ((0, 0), (0, frame_size - block.shape[1])))
            array = block if planar else block.T.reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(array), format=sample_fmt, layout=LAYOUTS[channels - 1]
            )
            frame.sample_rate, frame.pts = rate, pts
            pts += block.shape[1]
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return buf.getvalue()
