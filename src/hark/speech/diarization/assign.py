"""A speaker for every word, from labelled windows.

Each window votes for its speaker over the span it covers, most strongly at its centre (a
triangular weight: its edges may hold the neighbouring turn); a word takes the speaker with
the most votes at its middle. A word outside every window (speech the VAD missed) takes the
speaker of the nearest window. Turn boundaries therefore fall between words.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hark.speech.diarization.clustering import Labels
from hark.speech.diarization.windows import SpeechEmbeddings


def word_speakers(
    windows: SpeechEmbeddings, labels: Labels, words: Sequence[tuple[float, float]]
) -> list[int]:
    """The speaker (1..k) of each (start, end) word, given each window's label (0..k-1)."""
    if not len(windows):
        return [1] * len(words)
    centres = (windows.starts + windows.ends) / 2
    half = (windows.ends - windows.starts) / 2
    count = int(labels.max()) + 1
    speakers = []
    for start, end in words:
        middle = (start + end) / 2
        weight = 1.0 - np.abs(centres - middle) / half
        inside = weight > 0
        if not inside.any():
            speakers.append(int(labels[np.argmin(np.abs(centres - middle))]) + 1)
            continue
        votes = np.bincount(labels[inside], weights=weight[inside], minlength=count)
        speakers.append(int(np.argmax(votes)) + 1)
    return speakers
