"""LocalAgreement over word hypotheses: which words of a new reading are new, and how many
two consecutive readings agree on."""

from __future__ import annotations

from collections.abc import Sequence

from hark.engine import Word, comparable


def _key(word: Word) -> str:
    return comparable(word.text)


def new_words(hypothesis: Sequence[Word], committed: Sequence[Word]) -> list[Word]:
    """The words of ``hypothesis`` after what is already ``committed``.

    Words starting before the last committed word ended (less 0.1 s of timing slack) are
    old; then up to five leading words repeating the committed tail are dropped too.
    """
    last_end = committed[-1].end - 0.1 if committed else float("-inf")
    fresh = [word for word in hypothesis if word.start > last_end]
    for n in range(1, min(len(committed), len(fresh), 5) + 1):
        if [_key(w) for w in committed[-n:]] == [_key(w) for w in fresh[:n]]:
            return fresh[n:]
    return fresh


def agreed(previous: Sequence[Word], latest: Sequence[Word]) -> int:
    """How many leading words two consecutive hypotheses share (LocalAgreement-2)."""
    count = 0
    for old, new in zip(previous, latest, strict=False):
        if _key(old) != _key(new):
            break
        count += 1
    return count
