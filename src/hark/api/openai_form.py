"""The form of OpenAI's ``/v1/audio`` requests: read within the upload limit, then checked.

Fields are refused in OpenAI's words (``param`` and ``code`` set as OpenAI sets them), never
ignored: an unknown field is an error, as it is at OpenAI.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.types import Message, Receive

from hark.api.openai_errors import OpenAIError, invalid
from hark.api.openai_models import OPENAI_MODELS, choose
from hark.api.openai_render import RESPONSE_FORMATS
from hark.engine import ModelInfo
from hark.errors import SpeechError
from hark.speech.models import whisper_language
from hark.speech.plan import WhisperKnobs

_FORM_SLACK = 1 << 20
"""Bytes a form may hold beyond its file: multipart headers and the other fields."""
_FIELD_BYTES = 64 << 10
"""Largest field other than the file (a prompt: Whisper reads only its last 224 tokens)."""
_GRANULARITIES = frozenset({"word", "segment"})
_ISO_639 = re.compile(r"[A-Za-z]{2,3}")
_COMMON_FIELDS = frozenset({"file", "model", "prompt", "response_format", "temperature"})
_FIELDS = {
    "translate": _COMMON_FIELDS,
    "transcribe": _COMMON_FIELDS
    | {"language", "timestamp_granularities[]", "timestamp_granularities", "stream"}
    | {"chunking_strategy"},
}


@dataclass(frozen=True)
class AudioRequest:
    """A transcription or translation request, its fields checked."""

    upload: UploadFile
    response_format: str
    granularities: tuple[str, ...]
    stream: bool
    knobs: WhisperKnobs
    language: str
    """The Whisper language code to decode, or "" to detect it."""
    served_by: int = 0
    """Which of the loaded models decodes it (``openai_models.choose``)."""


async def read_form(request: Request, limit: int) -> FormData:
    """The multipart form, its file at most ``limit`` bytes (refused unread if the declared
    length says more, else as soon as the bytes do). The caller closes the form."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise invalid("The request body must be multipart/form-data with a 'file' part.")
    cap = limit + _FORM_SLACK
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise _too_large(limit)
    capped = Request(request.scope, _capped_receive(request.receive, cap, limit))
    form = await capped.form(max_files=1, max_fields=32, max_part_size=_FIELD_BYTES)
    upload = form.get("file")
    if isinstance(upload, UploadFile) and (upload.size or 0) > limit:
        await form.close()
        raise _too_large(limit)
    return form


def parse(form: FormData, task: str, models: Sequence[ModelInfo]) -> AudioRequest:
    """The fields of a ``task`` ("transcribe" or "translate") request, each checked in OpenAI's
    words (unknown fields are refused), and the one of the loaded ``models`` that serves it."""
    for name in form:
        if name not in _FIELDS[task]:
            raise invalid(
                f"Unrecognized request argument supplied: {name}",
                param=name,
                code="unknown_parameter",
            )
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise (
            _missing("file")
            if upload is None
            else invalid("'file' must be a file upload.", param="file")
        )
    model = _field(form, "model")
    if not model:
        raise _missing("model")
    asked_language = _field(form, "language")
    served_by = choose(model, asked_language, task, models)
    response_format, granularities, stream = _output(form)
    chunking = _field(form, "chunking_strategy")
    if chunking not in ("", "auto"):
        raise _invalid_value("chunking_strategy", chunking, ("auto",))
    named = model not in OPENAI_MODELS  # Hark's own name: that model, not any
    language = _language(asked_language, models[served_by], () if named else models)
    knobs = WhisperKnobs(
        initial_prompt=_field(form, "prompt") or None,
        temperature=_temperature(_field(form, "temperature")),
        task=task,
        detect_language=not language,
    )
    return AudioRequest(upload, response_format, granularities, stream, knobs, language, served_by)


def _output(form: FormData) -> tuple[str, tuple[str, ...], bool]:
    """The response format, the timestamp granularities and whether to stream."""
    response_format = _field(form, "response_format") or "json"
    if response_format not in RESPONSE_FORMATS:
        raise _invalid_value("response_format", response_format, RESPONSE_FORMATS)
    granularities = tuple(
        str(g)
        for name in ("timestamp_granularities[]", "timestamp_granularities")
        for g in form.getlist(name)
    )
    _check_granularities(granularities, response_format)
    stream = _boolean(form, "stream")
    if stream and response_format not in ("json", "text"):
        raise invalid(
            "Streaming sends text events: response_format must be json or text.",
            param="stream",
        )
    return response_format, granularities, stream


def _language(language: str, info: ModelInfo, others: Sequence[ModelInfo] = ()) -> str:
    """The Whisper code of ``language`` on ``info``, "" to detect (a multilingual model, none
    given); refused in words that name ``others`` when several models could have served."""
    if not language:
        return "" if info.multilingual else "en"
    if not _ISO_639.fullmatch(language):
        raise invalid(
            f"Invalid language '{language}'. Language parameter must be specified in"
            " ISO-639-1 format.",
            param="language",
            code="invalid_language_format",
        )
    try:
        return whisper_language(language, info)
    except SpeechError:
        only = "" if info.multilingual else ", which is English-only"
        which = f"the loaded model {info.name}{only}"
        if len(others) > 1:
            which = "any loaded model (" + ", ".join(other.name for other in others) + ")"
        raise invalid(
            f"Language '{language}' is not supported by {which}.",
            param="language",
            code="unsupported_language",
        ) from None


def _capped_receive(receive: Receive, cap: int, limit: int) -> Receive:
    """``receive`` that fails with OpenAI's 413 once the body passes ``cap`` bytes."""
    size = 0

    async def capped() -> Message:
        nonlocal size
        message = await receive()
        size += len(message.get("body", b""))
        if size > cap:
            raise _too_large(limit)
        return message

    return capped


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    if isinstance(value, UploadFile):
        raise invalid(f"'{name}' must be a plain form field, not a file.", param=name)
    return (value or "").strip()


def _boolean(form: FormData, name: str) -> bool:
    value = _field(form, name).lower()
    if value not in ("", "true", "false"):
        raise _invalid_value(name, value, ("true", "false"))
    return value == "true"


def _temperature(value: str) -> float:
    try:
        temperature = float(value or 0)
    except ValueError:
        temperature = -1.0
    if not 0.0 <= temperature <= 1.0:
        raise invalid(
            f"Invalid 'temperature': {value!r}. Expected a number from 0 to 1.",
            param="temperature",
            code="invalid_value",
        )
    return temperature


def _check_granularities(granularities: tuple[str, ...], response_format: str) -> None:
    for granularity in granularities:
        if granularity not in _GRANULARITIES:
            raise _invalid_value("timestamp_granularities[]", granularity, sorted(_GRANULARITIES))
    if granularities and response_format != "verbose_json":
        raise invalid(
            "timestamp_granularities needs response_format=verbose_json.",
            param="timestamp_granularities[]",
        )


def _invalid_value(param: str, value: str, supported: tuple[str, ...] | list[str]) -> OpenAIError:
    listed = ", ".join(f"'{s}'" for s in supported)
    return invalid(
        f"Invalid value: '{value}'. Supported values are: {listed}.",
        param=param,
        code="invalid_value",
    )


def _missing(param: str) -> OpenAIError:
    return invalid(
        f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter"
    )


def _too_large(limit: int) -> OpenAIError:
    return OpenAIError(
        413,
        f"Maximum content size limit ({limit}) exceeded.",
        param="file",
        code="file_too_large",
    )
