"""OpenAI's model names, mapped onto the models this server loaded, by the router Google's API
uses (``speech.models.route``).

``model`` names a loaded model either by Hark's own name (``tiny.en``, ``base``: that model,
exactly) or by one of OpenAI's, which names a kind of service rather than a model, as Google's
``model`` field does: ``whisper-1`` is the default (the language's first model, in the
operator's order), ``gpt-4o-transcribe`` the most accurate (the largest that speaks the
language) and ``gpt-4o-mini-transcribe`` the fastest (the smallest). A request that names no
language, and every translation, goes to a multilingual model, since only those detect the
language and translate; with none loaded, a transcription falls back to the English-only
first model and a translation is refused.
"""

from __future__ import annotations

from collections.abc import Sequence

from hark.api.openai_errors import OpenAIError, invalid
from hark.engine import ModelInfo
from hark.speech.models import ACCURATE_MODELS, FAST_MODELS, route
from hark.speech.types import RecognitionConfig

OPENAI_MODELS = {
    "whisper-1": "default",
    "gpt-4o-transcribe": "latest_long",
    "gpt-4o-mini-transcribe": "latest_short",
}
"""OpenAI's transcription models and the Google ``model`` whose routing each one shares."""


def model_names(models: Sequence[ModelInfo]) -> list[str]:
    """OpenAI's names, then each loaded model's own, in the operator's order."""
    return list(dict.fromkeys([*OPENAI_MODELS, *(info.name for info in models)]))


def check_model(name: str, models: Sequence[ModelInfo]) -> str:
    """``name`` if it is one of ``model_names``, else OpenAI's 404."""
    if name not in model_names(models):
        raise OpenAIError(
            404, f"The model '{name}' does not exist.", param="model", code="model_not_found"
        )
    return name


def choose(name: str, language: str, task: str, models: Sequence[ModelInfo]) -> int:
    """The index in ``models`` of the model that serves a ``task`` ("transcribe" or
    "translate") request for ``model=name`` in ``language`` (a tag; "" to detect).

    The language itself is checked against the chosen model afterwards (a model that lacks it
    is chosen only when no loaded model has it, so that check gives the error)."""
    check_model(name, models)
    if name not in OPENAI_MODELS:  # Hark's own name: that model, whatever it can do
        index = next(i for i, info in enumerate(models) if info.name == name)
        if task == "translate" and not models[index].multilingual:
            raise _cannot_translate(models, asked=models[index].name)
        return index
    use = OPENAI_MODELS[name]
    if language and task == "transcribe":
        return route(RecognitionConfig(language_code=language, model=use), models)
    multilingual = [i for i, info in enumerate(models) if info.multilingual]
    if not multilingual:
        if task == "translate":
            raise _cannot_translate(models)
        return 0  # English-only: "detection" can only find English
    if use in FAST_MODELS:
        return min(multilingual, key=lambda i: models[i].weight_bytes)
    if use in ACCURATE_MODELS:
        return max(multilingual, key=lambda i: models[i].weight_bytes)
    return multilingual[0]


def can_translate(models: Sequence[ModelInfo]) -> bool:
    return any(info.multilingual for info in models)


def refuse_translation(models: Sequence[ModelInfo]) -> None:
    """OpenAI's 400 unless some loaded model can translate (checked before the upload)."""
    if not can_translate(models):
        raise _cannot_translate(models)


def _cannot_translate(models: Sequence[ModelInfo], asked: str = "") -> OpenAIError:
    loaded = ", ".join(info.name for info in models)
    which = (
        f"{asked} is English-only"
        if asked
        else f"this server runs only English-only models ({loaded})"
    )
    hint = (
        " Ask for whisper-1, or a multilingual model this server runs."
        if asked and can_translate(models)
        else " Start Hark with a multilingual model too (e.g. --model tiny.en --model base)."
    )
    return invalid(
        f"Translation needs a multilingual model; {which}.{hint}",
        param="model",
        code="model_not_supported",
    )
