"""Google's model names and language codes, mapped onto what the loaded Whisper models can do.

With several models loaded, ``route`` picks the one a request goes to: first by language (a
model that lacks the language never gets the request; one that has the alternatives too is
preferred), then by Google's ``model`` field, which names a use rather than a size: the short
ones (``latest_short``, ``command_and_search``, ``telephony_short``) go to the smallest model
that speaks the language, for latency; the long ones (``latest_long``, ``video``,
``phone_call``, ``telephony``) to the largest, for accuracy; ``default`` (or none) to the first
model given on the command line. So ``--model tiny.en --model base`` answers English on the fast
tiny.en and every other language on base. The language ``auto`` (v2's ``language_codes:
["auto"]``) asks the model to detect the language among all it has: only multilingual models
can, so it routes to those.

Every Google ``model`` value maps to a decoding profile of the Whisper model it is routed to;
Whisper has no separate telephony or enhanced variants, so ``useEnhanced`` changes nothing
(Google documents the same fallback when no enhanced variant exists). The medical models
promise specialised vocabulary that a general Whisper model does not have, so they are
refused rather than silently served by the general model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from hark.engine import ModelInfo
from hark.errors import InvalidArgument, invalid_config
from hark.speech.types import RecognitionConfig


@dataclass(frozen=True)
class ModelProfile:
    """How a Google model name decodes on Whisper."""

    beam_size: int = 5
    condition_on_previous_text: bool = True
    spoken_punctuation: bool = False
    """Default of ``enableSpokenPunctuation`` (Google: on for command_and_search)."""


_FULL = ModelProfile()
# Short utterances gain nothing from conditioning on earlier text and risk repetition loops.
_SHORT = ModelProfile(condition_on_previous_text=False)

PROFILES: dict[str, ModelProfile] = {
    **dict.fromkeys(["", "default", "latest_long", "video", "phone_call", "telephony"], _FULL),
    **dict.fromkeys(["latest_short", "telephony_short"], _SHORT),
    "command_and_search": ModelProfile(condition_on_previous_text=False, spoken_punctuation=True),
}
REFUSED_MODELS = frozenset({"medical_dictation", "medical_conversation"})
FAST_MODELS = frozenset({"latest_short", "command_and_search", "telephony_short"})
"""Google models routed to the smallest loaded model that speaks the language."""
ACCURATE_MODELS = frozenset({"latest_long", "video", "phone_call", "telephony"})
"""Google models routed to the largest loaded model that speaks the language."""

AUTO_LANGUAGE = "auto"
"""The language code that asks a multilingual model to detect the spoken language (Google v2)."""

# BCP-47: a 2-3 letter language, then subtags (script, region, variants) of 2-8 alphanumerics.
_BCP47 = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
# Google language tags whose primary subtag is not Whisper's code for the language.
_ALIASES = {"iw": "he", "fil": "tl", "cmn": "zh", "nb": "no", "nn": "nn", "jv": "jw"}
# Languages a model may lack while knowing their written standard: Cantonese (only large-v3 has
# "yue") is written in Chinese characters, so a model without it transcribes it as "zh".
_FALLBACKS = {"yue": "zh"}


def profile_for(model: str, language_code: str) -> ModelProfile:
    """The decoding profile for a Google model name, or INVALID_ARGUMENT."""
    if model in REFUSED_MODELS:
        raise unsupported_language(language_code)
    try:
        return PROFILES[model]
    except KeyError:
        raise invalid_config(f"unknown model '{model}'", field="model") from None


def unsupported_language(language_code: str) -> Exception:
    return invalid_config(
        f"The requested model is currently not supported for language : {language_code}"
    )


def whisper_language(language_code: str, info: ModelInfo) -> str:
    """Map a BCP-47 tag to the model's language code, Google's errors otherwise.

    Regional variants map to their language (``pt-BR`` and ``pt-PT`` to ``pt``); a language
    the model lacks gets Google's "not supported" error."""
    language = _language(language_code)
    if language not in info.languages:
        language = _FALLBACKS.get(language, language)
    if language not in info.languages:
        raise unsupported_language(language_code)
    return language


def route(config: RecognitionConfig, models: Sequence[ModelInfo]) -> int:
    """The index in ``models`` (in the operator's order) of the one that serves ``config``.

    See the module's docstring. When none speaks the language, the first is returned and its
    validation gives Google's error.
    """
    if len(models) == 1 or not config.language_code:
        return 0
    if config.language_code == AUTO_LANGUAGE:
        detecting = [i for i, info in enumerate(models) if info.multilingual]
        return _by_use(config.model, detecting, models) if detecting else 0
    wanted = [config.language_code, *config.alternative_language_codes]

    def speaks(info: ModelInfo, code: str) -> bool:
        try:
            whisper_language(code, info)
        except InvalidArgument:  # the error itself comes from validation
            return False
        return True

    serving = [i for i, info in enumerate(models) if speaks(info, wanted[0])]
    every = [i for i in serving if all(speaks(models[i], code) for code in wanted[1:])]
    candidates = every or serving
    return _by_use(config.model, candidates, models) if candidates else 0


def _by_use(model: str, candidates: list[int], models: Sequence[ModelInfo]) -> int:
    """Among ``candidates`` (indexes, non-empty), the one Google's ``model`` name asks for."""
    if model in FAST_MODELS:
        return min(candidates, key=lambda i: models[i].weight_bytes)
    if model in ACCURATE_MODELS:
        return max(candidates, key=lambda i: models[i].weight_bytes)
    return candidates[0]


def _language(language_code: str) -> str:
    if not _BCP47.match(language_code):
        raise invalid_config("bad language code", field="languageCode")
    primary = language_code.split("-", maxsplit=1)[0].lower()
    return _ALIASES.get(primary, primary)
