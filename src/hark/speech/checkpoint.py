"""Checkpoints of long audio: how a retried job resumes instead of starting over.

As each window's results become final (in order, ``long_audio.recognize_windows``), the job
may record a ``Checkpoint``: every result so far and the audio offset they reach, which is
always a window's cut. A retried attempt decodes the audio again but drops the samples before
that offset (``skip``) without recognising them, and cuts the rest into windows from there
(``long_audio.windows(start=...)``). Cuts depend only on the audio after the previous cut, so
the windows after the offset are the very ones an uninterrupted run makes: the final result
is the same, each window's results once, offsets absolute.

Diarized jobs are not checkpointed: speakers are clustered once over every window's
embeddings, which a checkpoint does not keep, so such a job restarts from zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hark.engine import SAMPLE_RATE
from hark.speech.types import Result

Channels = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Checkpoint:
    """Results final up to ``offset`` seconds (absolute times), in the order recognised."""

    offset: float
    results: tuple[Result, ...] = ()

    @property
    def samples(self) -> int:
        """``offset`` in whole samples, as ``long_audio.Window`` counts them."""
        return round(self.offset * SAMPLE_RATE)


def skip(chunks: Iterable[Channels], samples: int) -> Iterator[Channels]:
    """``chunks`` without their first ``samples`` samples (decoded, never recognised)."""
    left = samples
    for chunk in chunks:
        if left >= chunk.shape[1]:
            left -= chunk.shape[1]
            continue
        yield chunk[:, left:] if left else chunk
        left = 0
