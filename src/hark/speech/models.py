"""Google's model names and language codes, mapped onto what the loaded Whisper model can do.

Every Google ``model`` value maps to a decoding profile of the one loaded Whisper model;
Whisper has no separate telephony or enhanced variants, so ``useEnhanced`` changes nothing
(Google documents the same fallback when no enhanced variant exists). The medical models
promise specialised vocabulary that a general Whisper model does not have, so they are
refused rather than silently served by the general model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hark.engine import ModelInfo
from hark.errors import invalid_config


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

# BCP-47: a 2-3 letter language, then subtags (script, region, variants) of 2-8 alphanumerics.
_BCP47 = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
# Google language tags whose primary subtag is not Whisper's code for the language.
_ALIASES = {"iw": "he", "fil": "tl", "cmn": "zh", "nb": "no", "nn": "nn", "jv": "jw"}


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
    """Map a BCP-47 tag to the loaded model's language code, Google's errors otherwise."""
    if not _BCP47.match(language_code):
        raise invalid_config("bad language code", field="languageCode")
    primary = language_code.split("-", maxsplit=1)[0].lower()
    language = _ALIASES.get(primary, primary)
    if language not in info.languages:
        raise unsupported_language(language_code)
    return language
