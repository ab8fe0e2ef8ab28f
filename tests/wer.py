"""Word error rate against the corpus references, shared by tests and benchmarks.

``normalize`` mirrors the manifest's ``transcript_normalized``: lower-case, punctuation
replaced by spaces, whitespace collapsed. No number or abbreviation normalisation ("10" and
"ten" differ), exactly like the references. It is not ``engine.comparable`` (which keeps
apostrophes, as word comparison needs): it must match how the corpus was normalised.
"""

from __future__ import annotations

import re

_PUNCTUATION = re.compile(r"[^\w\s]|_")


def normalize(text: str) -> str:
    """Lower-case ``text``, turn punctuation into spaces, collapse whitespace."""
    return " ".join(_PUNCTUATION.sub(" ", text.lower()).split())


def wer(reference: str, hypothesis: str) -> float:
    """Word-level edit distance / number of reference words, after ``normalize``.

    An empty reference gives 0.0 for an empty hypothesis and 1.0 otherwise.
    """
    ref = normalize(reference).split()
    hyp = normalize(hypothesis).split()
    if not ref:
        return 0.0 if not hyp else 1.0
    # One row of the Levenshtein table at a time: previous[j] = distance(ref[:i-1], hyp[:j]).
    previous = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, start=1):
        current = [i]
        for j, hyp_word in enumerate(hyp, start=1):
            substitution = previous[j - 1] + (ref_word != hyp_word)
            current.append(min(previous[j] + 1, current[j - 1] + 1, substitution))
        previous = current
    return previous[-1] / len(ref)


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate, for scripts written without spaces (Japanese, Chinese; Korean's
    spacing varies): the edit distance over characters, after ``normalize`` drops punctuation
    and every space."""
    spaced = [normalize(text).replace(" ", "") for text in (reference, hypothesis)]
    return wer(" ".join(spaced[0]), " ".join(spaced[1]))
