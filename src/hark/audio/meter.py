"""The duration limit, enforced while audio is decoded rather than after.

Every decoder hands its output to a ``Meter`` one packet (or one bounded block of PCM) at a
time; the meter counts the samples and raises the limit's error as soon as the total passes
it, so no request ever materialises more than its limit plus one packet, whatever its header
or its compression ratio claims.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hark.engine import SAMPLE_RATE
from hark.errors import SpeechError
from hark.samples import Array, mixdown


@dataclass(frozen=True)
class Limit:
    """At most ``seconds`` of decoded audio; ``error()`` is raised past it."""

    seconds: float
    error: Callable[[], SpeechError]


class Meter:
    """Counts decoded samples against a ``Limit``; with ``mono``, mixes each part down as it
    comes (a stream's 8 channels are never held at once)."""

    def __init__(self, limit: Limit | None, mono: bool = False) -> None:
        self._limit = limit
        self._max = None if limit is None else int(limit.seconds * SAMPLE_RATE)
        self._mono = mono
        self.samples = 0

    def take(self, parts: list[Array]) -> list[Array]:
        """``parts`` counted (and mixed down when mono); raises the limit's error past it."""
        for part in parts:
            self.samples += int(part.shape[1])
        if self._max is not None and self.samples > self._max:
            assert self._limit is not None
            raise self._limit.error()
        if self._mono:
            return [mixdown(p)[np.newaxis, :] if p.shape[0] > 1 else p for p in parts]
        return parts
