"""Phrase boosts as a rescoring bonus: what a hypothesis earns for saying the boosted phrases.

Google's boost is log-scale: each step up makes the phrase more likely by a constant factor.
Here every occurrence of a phrase in a hypothesis adds ``BOOST_SCALE * boost`` to its
log-probability (nats, over the whole 30 s window), and the engine re-ranks the beam's
hypotheses by that (``engine/rescoring.py``). A negative boost (v1p1beta1 only; v1 drops
them before this) subtracts instead.

Phrases match on words as ``engine.comparable`` writes them (lower case, punctuation out),
whole words only, several words in a row for a multi-word phrase. Inline custom classes are
already expanded into phrases (``adaptation.py``); Google's built-in classes (``$MONTH``,
``$ADDRESSNUM``, ``$OOV_CLASS_DIGIT_SEQUENCE``...) match what Whisper writes for them: digits
or number words, month names, any single word for a class with no rule here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hark.engine import comparable
from hark.speech.types import Phrase

BOOST_SCALE = 0.5
"""Nats of log-probability per unit of boost for one occurrence: Google's sample boost of 10
is worth 5 nats, about e^5 ≈ 150 times the odds (measured in bench/boost.py)."""

_NUMBER_WORD = (
    r"(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen"
    r"|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty"
    r"|seventy|eighty|ninety|hundred|thousand|million|first|second|third|fourth|fifth|sixth"
    r"|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth|twentieth|thirtieth)"
)
_NUMBER = rf"(?:\d+(?:st|nd|rd|th)?|{_NUMBER_WORD}(?: (?:and )?{_NUMBER_WORD})*)"
_NUMBERS = rf"{_NUMBER}(?: {_NUMBER})*"  # "4 0 2", "12 30": digits read in groups
_MONTH = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november"
    r"|december)"
)
_WORD = r"[\w']+"

BUILTIN_CLASSES: dict[str, str] = {
    "$ADDRESSNUM": _NUMBER,
    "$OPERAND": _NUMBER,
    "$DAY": _NUMBER,
    "$YEAR": _NUMBERS,
    "$POSTALCODE": _NUMBERS,
    "$OOV_CLASS_DIGIT_SEQUENCE": _NUMBERS,
    "$FULLPHONENUM": _NUMBERS,
    "$OOV_CLASS_FULLPHONENUM": _NUMBERS,
    "$PERCENT": rf"{_NUMBERS}(?: percent)?",
    "$OOV_CLASS_PERCENT": rf"{_NUMBERS}(?: percent)?",
    "$MONEY": rf"{_NUMBERS}(?: dollars?| cents?| pounds?| euros?)?",
    "$TIME": rf"{_NUMBERS}(?: (?:a m|p m|am|pm|o'clock))?",
    "$MONTH": _MONTH,
    "$FULLDATE": rf"(?:{_MONTH} {_NUMBERS}|{_NUMBERS} {_MONTH}(?: {_NUMBERS})?)",
    "$OOV_CLASS_ALPHA_SEQUENCE": r"[a-z]+(?: [a-z])*",
    "$OOV_CLASS_ALPHANUMERIC_SEQUENCE": r"[a-z0-9]+(?: [a-z0-9])*",
}
"""Google's built-in classes as patterns over ``comparable`` words; others match one word."""

_CLASS_TOKEN = re.compile(r"\$[A-Z][A-Z0-9_]*")


Words = tuple[str, ...]


@dataclass(frozen=True)
class PhraseBoosts:
    """The engine's ``Rescore`` for a request: a bonus in nats for a hypothesis's text.

    ``phrases`` holds plain phrases as ``comparable`` words, looked up word by word (5000
    phrases cost a dictionary probe per word of the hypothesis, not 5000 scans); ``patterns``
    holds the phrases with built-in classes as regular expressions over ``comparable`` text.
    Each with its nats per occurrence. A frozen value, so two requests with the same boosts
    compare equal (and share a batch).
    """

    phrases: tuple[tuple[Words, float], ...]
    patterns: tuple[tuple[str, float], ...] = ()
    _by_first_word: dict[str, list[tuple[Words, float]]] = field(
        init=False, repr=False, compare=False, hash=False
    )
    _compiled: tuple[tuple[re.Pattern[str], float], ...] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        index: dict[str, list[tuple[Words, float]]] = {}
        for words, nats in self.phrases:
            index.setdefault(words[0], []).append((words, nats))
        compiled = tuple((re.compile(pattern), nats) for pattern, nats in self.patterns)
        object.__setattr__(self, "_by_first_word", index)
        object.__setattr__(self, "_compiled", compiled)

    def __call__(self, text: str) -> float:
        words = comparable(text).split()
        total = 0.0
        for at, word in enumerate(words):
            for phrase, nats in self._by_first_word.get(word, ()):
                if tuple(words[at : at + len(phrase)]) == phrase:
                    total += nats
        if self._compiled:
            joined = " ".join(words)
            total += sum(nats * len(pattern.findall(joined)) for pattern, nats in self._compiled)
        return total


def phrase_boosts(phrases: Iterable[Phrase]) -> PhraseBoosts | None:
    """The rescoring bonus for ``phrases`` (boosts already validated and capped); None when no
    phrase has a boost, so that such a request decodes exactly as one without phrases."""
    plain: dict[Words, float] = {}
    classy: dict[str, float] = {}
    for phrase in phrases:
        if not phrase.boost:
            continue
        nats = BOOST_SCALE * phrase.boost
        if _CLASS_TOKEN.search(phrase.value):
            _strongest(classy, phrase_pattern(phrase.value), nats)
        elif words := tuple(comparable(phrase.value).split()):
            _strongest(plain, words, nats)
    if not plain and not classy:
        return None
    return PhraseBoosts(tuple(sorted(plain.items())), tuple(sorted(classy.items())))


def _strongest(bonus: dict[Any, float], key: Any, nats: float) -> None:
    """One phrase listed twice is one phrase: its strongest boost counts."""
    known = bonus.get(key, 0.0)
    bonus[key] = nats if abs(nats) > abs(known) else known


def phrase_pattern(value: str) -> str:
    """A phrase as a regular expression over ``comparable`` text, whole words only; "" for a
    phrase with no words (punctuation only)."""
    parts = []
    for piece in re.split(f"({_CLASS_TOKEN.pattern})", value):
        if _CLASS_TOKEN.fullmatch(piece):
            parts.append(BUILTIN_CLASSES.get(piece, _WORD))
        else:
            parts.extend(re.escape(word) for word in comparable(piece).split())
    if not parts:
        return ""
    return r"(?<![\w'])" + " ".join(parts) + r"(?![\w'])"
