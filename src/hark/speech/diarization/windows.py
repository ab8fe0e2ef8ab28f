"""Where speaker embeddings are taken: overlapping windows over the speech of a recording.

``SpeechEmbeddings`` is what a stretch of audio contributes to diarization: a vector per
window and the span it covers, in absolute seconds. Stretches (the windows of long audio)
are embedded one by one and joined, so a whole file is clustered once and its speakers keep
one identity from start to end, while only these small vectors are kept (1 KB a window).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hark.engine import SAMPLE_RATE, Samples
from hark.speech.diarization.encoder import Embeddings, SpeakerEncoder, window_samples

STEP_SECONDS = 0.75
"""Between the starts of two windows in a stretch of speech (windows are 1.6 s)."""
BATCH = 64
"""Windows embedded at once: the LSTM's work arrays stay near 50 MB."""

Seconds = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SpeechEmbeddings:
    """Embedding rows with the (start, end) seconds of audio each describes."""

    starts: Seconds
    ends: Seconds
    vectors: Embeddings

    @staticmethod
    def join(parts: Sequence[SpeechEmbeddings], dimension: int = 256) -> SpeechEmbeddings:
        if not parts:
            empty = np.zeros(0, dtype=np.float64)
            return SpeechEmbeddings(empty, empty, np.zeros((0, dimension), dtype=np.float32))
        return SpeechEmbeddings(
            np.concatenate([part.starts for part in parts]),
            np.concatenate([part.ends for part in parts]),
            np.concatenate([part.vectors for part in parts]),
        )

    def __len__(self) -> int:
        return int(self.starts.shape[0])


def window_starts(regions: Sequence[tuple[float, float]], width: float, total: float) -> Seconds:
    """Start times of windows covering each speech region: every ``STEP_SECONDS`` and one
    ending at the region's end; a region shorter than a window gets one centred on it."""
    starts: list[float] = []
    latest = max(0.0, total - width)
    for begin, end in regions:
        if end - begin <= width:
            starts.append(min(max(0.0, (begin + end - width) / 2), latest))
            continue
        count = int((end - width - begin) // STEP_SECONDS) + 1
        starts += [begin + k * STEP_SECONDS for k in range(count)]
        if starts[-1] < end - width - 1e-6:
            starts.append(end - width)
    return np.asarray(starts, dtype=np.float64)


def embed_windows(
    encoder: SpeakerEncoder,
    samples: Samples,
    regions: Sequence[tuple[float, float]],
    offset: float = 0.0,
) -> SpeechEmbeddings:
    """Embeddings of windows over ``regions`` (seconds within ``samples``), in absolute time
    (``offset`` is where ``samples`` start)."""
    size = window_samples(encoder)
    padded = np.pad(samples, (0, max(0, size - samples.shape[0])))
    starts = window_starts(regions, encoder.window_seconds, samples.shape[0] / SAMPLE_RATE)
    first = np.round(starts * SAMPLE_RATE).astype(np.int64)
    vectors = [
        encoder.embed(np.stack([padded[i : i + size] for i in first[at : at + BATCH]]))
        for at in range(0, len(first), BATCH)
    ]
    return SpeechEmbeddings(
        starts + offset,
        starts + offset + encoder.window_seconds,
        np.concatenate(vectors) if vectors else np.zeros((0, 256), dtype=np.float32),
    )
