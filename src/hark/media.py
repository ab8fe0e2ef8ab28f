"""Any audio or video file PyAV can open → 16 kHz samples, and 16 kHz mono → FLAC or Ogg Opus.

``audio.py`` decodes what Google's API accepts, with Google's checks (an m4a is refused
there). A person at the command line just has files: wav, flac, mp3, m4a/aac, ogg, opus,
webm, an mp4 video with a sound track, at any rate and channel count. This module reads
whatever FFmpeg's demuxers recognise, taking the first audio stream, and encodes audio for
sending to a server. Errors are ``InvalidArgument`` with a message meant for a person.

Used by ``hark transcribe`` and by the server's OpenAI-compatible routes (an uploaded file is
a seekable binary file object, read in place without a copy).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator
from typing import BinaryIO

import av
import numpy as np

from hark.engine import SAMPLE_RATE
from hark.errors import InvalidArgument
from hark.samples import Array, Resampler, mixdown, rechunk

Source = str | os.PathLike[str] | BinaryIO
"""A file's path, or a seekable binary file object (read from its start)."""

_OPUS_BITRATE = 24_000
"""Bits per second for long audio sent inline: speech stays intelligible to Whisper and an
hour fits in about 11 MB."""


def _open(source: Source) -> av.container.InputContainer:
    if isinstance(source, str | os.PathLike):
        if not os.path.exists(source):
            raise InvalidArgument("no such file")
        if os.path.isdir(source):
            raise InvalidArgument("is a directory, not an audio file")
        opened: str | BinaryIO = os.fspath(source)
    else:
        source.seek(0)
        opened = source
    try:
        container = av.open(opened, "r")
    except av.error.FFmpegError:
        raise InvalidArgument("not an audio or video file this tool can read") from None
    if not container.streams.audio:
        container.close()
        raise InvalidArgument("the file has no audio track")
    return container


def duration(source: Source) -> float | None:
    """The length of the first audio track in seconds, or None if the container does not say."""
    with _open(source) as container:
        stream = container.streams.audio[0]
        if stream.duration and stream.time_base:
            return float(stream.duration * stream.time_base)
        if container.duration:
            return float(container.duration / av.time_base)
    return None


def iter_any(source: Source, chunk_seconds: float = 30.0) -> Iterator[Array]:
    """The first audio track as (n_channels, n) float32 chunks at 16 kHz; memory stays flat.

    Raises InvalidArgument if the file cannot be opened or holds no decodable audio.
    """
    decoded = False
    with _open(source) as container:
        for chunk in rechunk(_resampled(container), chunk_seconds):
            decoded = True
            yield chunk
    if not decoded:
        raise InvalidArgument("no audio could be decoded from the file")


def _resampled(container: av.container.InputContainer) -> Iterator[Array]:
    resampler = Resampler()
    for frame in _frames(container):
        yield from resampler.frame(frame)
    yield from resampler.flush()


def _frames(container: av.container.InputContainer) -> Iterator[av.AudioFrame]:
    """Decoded frames of the first audio stream; a broken file is one clear error."""
    stream = container.streams.audio[0]
    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.error.InvalidDataError:
                continue  # a corrupt packet is dropped, as FFmpeg's own tools do
            for frame in frames:
                frame.pts = None  # the resampler must not insert silence for timestamp gaps
                yield frame
    except av.error.FFmpegError as error:
        raise InvalidArgument(f"cannot decode the audio: {error.strerror}") from None


def mono(chunks: Iterable[Array]) -> Iterator[Array]:
    """Each (n_channels, n) chunk mixed down to one channel, shape (1, n)."""
    for chunk in chunks:
        yield mixdown(chunk)[None, :]


def encode(chunks: Iterable[Array], codec: str) -> bytes:
    """16 kHz mono chunks as a FLAC file (``codec="flac"``) or an Ogg Opus file (``"opus"``)."""
    buffer = io.BytesIO()
    container_format, codec_name = ("flac", "flac") if codec == "flac" else ("ogg", "libopus")
    with av.open(buffer, "w", format=container_format) as container:
        stream: av.AudioStream = container.add_stream(  # type: ignore[assignment]
            codec_name, rate=SAMPLE_RATE, layout="mono"
        )
        if codec != "flac":
            stream.bit_rate = _OPUS_BITRATE
        for chunk in chunks:
            pcm = (np.clip(chunk[:1], -1.0, 1.0) * 32767).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
            frame.sample_rate = SAMPLE_RATE
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()
