"""Transcript text rules: Google's punctuation switches and transcript normalization.

Whisper always writes punctuation and casing. Google's default is no automatic punctuation,
so unless ``enableAutomaticPunctuation`` is on, punctuation marks are removed while casing,
apostrophes, in-word hyphens and decimal points stay ("flower-fattened", "don't", "3.5").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from hark.speech.types import Replacement

# Marks removed from the edges of a word when punctuation is off.
_EDGE_MARKS = '.,?!;:"“”‘’«»…()[]{}¿¡、。，．？！'
_DASHES = {"-", "--", "—", "–", "..."}

_SPOKEN_MARKS = (
    ("question mark", "?"),
    ("exclamation mark", "!"),
    ("exclamation point", "!"),
    ("full stop", "."),
    ("period", "."),
    ("comma", ","),
    ("semicolon", ";"),
    ("colon", ":"),
)
_SPOKEN = re.compile(
    r"\s*\b(" + "|".join(re.escape(spoken) for spoken, _ in _SPOKEN_MARKS) + r")\b",
    re.IGNORECASE,
)
_SPOKEN_TO_MARK = dict(_SPOKEN_MARKS)


def strip_punctuation_word(word: str) -> str:
    """One word without the punctuation around it ("" if it was only punctuation)."""
    stripped = word.strip().strip(_EDGE_MARKS)
    return "" if stripped in _DASHES else stripped


def strip_punctuation(text: str) -> str:
    """``text`` without punctuation marks, words separated by single spaces."""
    words = (strip_punctuation_word(word) for word in text.split())
    return " ".join(word for word in words if word)


def spoken_punctuation(text: str) -> str:
    """Turn spoken marks into symbols: "is it ready question mark" -> "is it ready?"."""
    return _SPOKEN.sub(lambda match: _SPOKEN_TO_MARK[match.group(1).lower()], text)


def transcript_normalization(text: str, entries: Sequence[Replacement]) -> str:
    """Google's TranscriptNormalization: each entry replaces in order, one after another."""
    for entry in entries:
        flags = 0 if entry.case_sensitive else re.IGNORECASE
        text = re.sub(re.escape(entry.search), lambda _m, e=entry: e.replace, text, flags=flags)
    return text
