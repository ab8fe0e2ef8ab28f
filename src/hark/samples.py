"""Float32 sample tools shared by Google-encoded audio (``audio``) and any media file
(``media``): mixing down, regrouping into chunks, resampling to 16 kHz.

Arrays are (n_channels, n) planar float32 in [-1, 1]; ``mixdown`` gives the engine's (n,).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import av
import numpy as np
import numpy.typing as npt

from hark.engine import SAMPLE_RATE, Samples

Array = npt.NDArray[np.float32]
LAYOUTS = ("mono", "stereo", "3.0", "4.0", "5.0", "5.1", "6.1", "7.1")
"""FFmpeg's channel layout for 1 to 8 channels."""


def mixdown(channels: Array) -> Samples:
    """(n_channels, n) samples mixed down to one channel, shape (n,)."""
    if channels.shape[0] == 1:
        only: Samples = channels[0]
        return only
    mixed: Samples = channels.mean(axis=0, dtype=np.float32)
    return mixed


def frame_array(frame: av.AudioFrame) -> Array:
    """A planar float frame as (channels, n), clipped to [-1, 1] (lossy codecs overshoot)."""
    out: Array = np.asarray(frame.to_ndarray(), dtype=np.float32)
    return np.clip(out, -1.0, 1.0, out=out)


def empty(channels: int) -> Array:
    """No samples, in ``channels`` channels: shape (channels, 0)."""
    return np.zeros((channels, 0), dtype=np.float32)


def concat(parts: list[Array], channels: int) -> Array:
    """``parts`` joined in time (``channels`` tells the shape when there are none)."""
    if not parts:
        return empty(channels)
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)


class Resampler:
    """Frames at any rate/format in, planar float32 at 16 kHz out (channel layout kept)."""

    def __init__(self) -> None:
        self._resampler: av.AudioResampler | None = None
        self._flushed = False

    def frame(self, frame: av.AudioFrame) -> list[Array]:
        if self._resampler is None:
            self._resampler = av.AudioResampler(
                format="fltp", layout=frame.layout, rate=SAMPLE_RATE
            )
        return [frame_array(f) for f in self._resampler.resample(frame)]

    def array(self, samples: Array, rate: int) -> list[Array]:
        if rate == SAMPLE_RATE:
            return [samples]
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout=LAYOUTS[len(samples) - 1])
        frame.sample_rate = rate
        return self.frame(frame)

    def flush(self) -> list[Array]:
        if self._resampler is None or self._flushed:
            return []
        self._flushed = True
        return [frame_array(f) for f in self._resampler.resample(None)]


def rechunk(arrays: Iterable[Array], chunk_seconds: float) -> Iterator[Array]:
    """(n_channels, n) arrays of any sizes regrouped into chunks of ``chunk_seconds`` (the
    last one shorter); at most one chunk is held at a time."""
    size = max(1, int(chunk_seconds * SAMPLE_RATE))
    pending: list[Array] = []
    have = 0
    for array in arrays:
        if not array.shape[1]:
            continue
        pending.append(array)
        have += array.shape[1]
        while have >= size:
            joined = np.concatenate(pending, axis=1)
            yield joined[:, :size]
            rest = joined[:, size:]
            pending, have = ([rest] if rest.shape[1] else []), rest.shape[1]
    if have:
        yield np.concatenate(pending, axis=1)
