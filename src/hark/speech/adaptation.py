"""Phrase hints (``speechContexts``, inline ``adaptation``) turned into a decoding bias.

Two biases: Whisper's prompt ("hotwords"), where the phrases are written into the decoder's
context, highest boost first, so when the prompt budget runs out it is the weakest hints
that are dropped; and, for boosted phrases, n-best rescoring (``boost.py``). Google ignores
negative boosts in v1 and caps boost at 20; Hark does the same, and in v1p1beta1
(``RecognitionConfig.anti_biasing``) a negative boost, down to -20, penalises its phrase
(never prompted). ``adaptation``, when present, overrides ``speechContexts`` (Google's
rule). Inline custom classes are expanded into their items; Google's built-in classes
(``$MONTH``, ``$OOV_CLASS_DIGIT_SEQUENCE``...) are kept for rescoring, which matches what
Whisper writes for them, and left out of the prompt; stored PhraseSet references and ABNF
grammars are refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from hark.errors import InvalidArgument, invalid_config
from hark.settings import Limits
from hark.speech.types import Adaptation, Phrase, RecognitionConfig

MAX_BOOST = 20.0
_CUSTOM_CLASS = re.compile(r"\$\{([^}]*)\}")
_BUILTIN_CLASS = re.compile(r"\$[A-Z][A-Z0-9_]*")


def phrase_hints(config: RecognitionConfig, limits: Limits) -> tuple[Phrase, ...]:
    """The request's phrase hints, validated against ``limits``, custom classes expanded."""
    phrases = (
        _adaptation_phrases(config.adaptation) if config.adaptation else config.speech_contexts
    )
    _check_limits(phrases, limits)
    kept = (
        Phrase(phrase.value.strip(), max(-MAX_BOOST, min(phrase.boost, MAX_BOOST)))
        for phrase in phrases
        if phrase.boost >= 0 or config.anti_biasing
    )
    return tuple(phrase for phrase in kept if phrase.value)


def prompt_for(phrases: Iterable[Phrase]) -> str | None:
    """The hotword prompt: distinct phrases, highest boost first, without built-in class
    tokens and without penalised phrases; None when there are none."""
    ordered = sorted(phrases, key=lambda phrase: -phrase.boost)
    seen: set[str] = set()
    distinct = []
    for phrase in ordered:
        value = " ".join(_BUILTIN_CLASS.sub(" ", phrase.value).split())
        if phrase.boost >= 0 and value and value.lower() not in seen:
            seen.add(value.lower())
            distinct.append(value)
    return ", ".join(distinct) or None


def _adaptation_phrases(adaptation: Adaptation) -> tuple[Phrase, ...]:
    if adaptation.phrase_set_references:
        raise invalid_config(
            "Hark keeps no stored PhraseSets; define phrase sets inline in 'adaptation.phraseSets'",
            field="adaptation.phraseSetReferences",
        )
    if adaptation.abnf_grammar:
        raise invalid_config(
            "ABNF grammars are not supported by Hark", field="adaptation.abnfGrammar"
        )
    classes = {cls.custom_class_id: cls.items for cls in adaptation.custom_classes}
    phrases: list[Phrase] = []
    for phrase_set in adaptation.phrase_sets:
        for phrase in phrase_set:
            phrases.extend(Phrase(value, phrase.boost) for value in _expand(phrase.value, classes))
    return tuple(phrases)


def _expand(value: str, classes: dict[str, tuple[str, ...]]) -> list[str]:
    """Every phrase ``value`` stands for, with ``${id}`` replaced by each class item."""
    match = _CUSTOM_CLASS.search(value)
    if not match:
        return [" ".join(value.split())]
    class_id = match.group(1)
    if class_id not in classes:
        raise invalid_config(
            f"phrase '{value}' refers to custom class '{class_id}', which is not defined inline",
            field="adaptation.customClasses",
        )
    expanded = []
    for item in classes[class_id]:
        expanded.extend(_expand(value[: match.start()] + item + value[match.end() :], classes))
    return expanded


def _check_limits(phrases: tuple[Phrase, ...], limits: Limits) -> None:
    if len(phrases) > limits.max_phrases:
        raise _limit(f"too many phrases: {len(phrases)} (limit {limits.max_phrases})")
    total = 0
    for phrase in phrases:
        total += len(phrase.value)
        if len(phrase.value) > limits.max_phrase_characters:
            raise _limit(
                f"phrase is longer than {limits.max_phrase_characters} characters:"
                f" '{phrase.value[:40]}...'"
            )
    if total > limits.max_total_phrase_characters:
        raise _limit(
            f"phrases total {total} characters (limit {limits.max_total_phrase_characters})"
        )


def _limit(reason: str) -> InvalidArgument:
    return invalid_config(reason, field="speechContexts")
