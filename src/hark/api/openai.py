"""OpenAI's audio API over the core: ``/v1/audio/transcriptions``, ``/v1/audio/translations``
and ``/v1/models``, so OpenAI's SDK and the tools built on it work against Hark.

Each route checks the key (``Authorization: Bearer``, or Google's ``x-goog-api-key``/``?key=``),
reads the multipart form within the upload limit, turns its fields into a validated ``Plan``,
decodes the file as ``hark transcribe`` does (any container PyAV opens, cut into windows at
pauses by ``speech.long_audio``) and writes the results in the asked format
(``openai_render``). Every error leaves as OpenAI's error body (``openai_errors``).

Every model name (``whisper-1``, ``gpt-4o-transcribe``, ``gpt-4o-mini-transcribe`` and the
loaded model's own) is served by the one loaded model. Cost is bounded by the file size
(``openai_max_file_bytes``) and the audio length (``openai_max_seconds``), checked from the
container's header before decoding and again while decoding.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Message, Receive

from hark import media
from hark.api import access
from hark.api.openai_errors import OpenAIError, from_speech_error, internal, invalid
from hark.api.openai_render import RESPONSE_FORMATS, Transcription, event, response, transcript
from hark.auth import ApiKeys
from hark.engine import SAMPLE_RATE
from hark.errors import InvalidArgument, PermissionDenied, SpeechError
from hark.samples import Array
from hark.settings import Limits
from hark.speech.long_audio import recognized_windows, windows
from hark.speech.models import whisper_language
from hark.speech.plan import Plan, WhisperKnobs, with_knobs
from hark.speech.recognizer import Recognizer
from hark.speech.types import RecognitionConfig, Result

log = logging.getLogger(__name__)

MODEL_NAMES = ("whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe")
"""OpenAI's transcription models; each is served by the loaded model."""
_FORM_SLACK = 1 << 20
"""Bytes a form may hold beyond its file: multipart headers and the other fields."""
_FIELD_BYTES = 64 << 10
"""Largest field other than the file (a prompt: Whisper reads only its last 224 tokens)."""
_CHUNK_SECONDS = 30.0
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
_GRANULARITIES = frozenset({"word", "segment"})
_ISO_639 = re.compile(r"[A-Za-z]{2,3}")
_COMMON_FIELDS = frozenset({"file", "model", "prompt", "response_format", "temperature"})
_FIELDS = {
    "translate": _COMMON_FIELDS,
    "transcribe": _COMMON_FIELDS
    | {"language", "timestamp_granularities[]", "timestamp_granularities", "stream"}
    | {"chunking_strategy"},
}

Endpoint = Callable[[Request], Awaitable[Response]]


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


class OpenAIApi:
    """OpenAI's ``/v1/audio`` and ``/v1/models`` routes over the recognition core."""

    def __init__(self, recognizer: Recognizer, keys: ApiKeys, limits: Limits) -> None:
        self.recognizer = recognizer
        self.keys = keys
        self.limits = limits
        self.started = int(time.time())

    def routes(self) -> list[Route]:
        return [
            openai_route("/v1/audio/transcriptions", self.transcriptions, "POST"),
            openai_route("/v1/audio/translations", self.translations, "POST"),
            openai_route("/v1/audio/{path:path}", _invalid_url),
            openai_route("/v1/models", self.models, "GET"),
            openai_route("/v1/models/{model:path}", self.model, "GET"),
        ]

    async def transcriptions(self, request: Request) -> Response:
        self.authorize(request)
        return await self._audio(request, "transcribe")

    async def translations(self, request: Request) -> Response:
        self.authorize(request)
        info = self.recognizer.model
        if not info.multilingual:  # refused before the upload is read
            raise invalid(
                f"Translation needs a multilingual model; this server runs {info.name}, which"
                " is English-only. Start Hark with a multilingual model (e.g. --model small).",
                param="model",
                code="model_not_supported",
            )
        return await self._audio(request, "translate")

    async def models(self, request: Request) -> Response:
        self.authorize(request)
        return JSONResponse({"object": "list", "data": [self._model(n) for n in self.names()]})

    async def model(self, request: Request) -> Response:
        self.authorize(request)
        return JSONResponse(self._model(self.check_model(request.path_params["model"])))

    def names(self) -> list[str]:
        return list(dict.fromkeys([*MODEL_NAMES, self.recognizer.model.name]))

    def check_model(self, name: str) -> str:
        if name not in self.names():
            raise OpenAIError(
                404, f"The model '{name}' does not exist.", param="model", code="model_not_found"
            )
        return name

    def _model(self, name: str) -> dict[str, Any]:
        return {"id": name, "object": "model", "created": self.started, "owned_by": "hark"}

    def authorize(self, request: Request) -> None:
        """OpenAI's 401 unless the request carries an accepted key (any, if none is set)."""
        bearer = request.headers.get("authorization", "")
        scheme, _, token = bearer.partition(" ")
        presented = token.strip() if scheme.lower() == "bearer" else ""
        try:
            self.keys.check(
                presented
                or request.headers.get("x-goog-api-key")
                or request.query_params.get("key")
            )
        except PermissionDenied:
            raise OpenAIError(
                401,
                "You didn't provide an API key. You need to provide your API key in an"
                " Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            ) from None
        except InvalidArgument:
            raise OpenAIError(401, "Incorrect API key provided.", code="invalid_api_key") from None

    async def _audio(self, request: Request, task: str) -> Response:
        form = await self._form(request)
        try:
            asked = self._parse(form, task)
            plan = with_knobs(self._validate(asked.language), asked.knobs)
            await self._check_declared_length(asked.upload)
            if asked.stream:
                return StreamingResponse(
                    self._events(request, asked, plan, form), media_type="text/event-stream"
                )
            transcription = await self._recognize(asked, plan)
        except BaseException:
            await form.close()
            raise
        await form.close()
        access.note(request.scope, audio=f"{transcription.duration:.1f}s")
        return response(asked.response_format, transcription, asked.granularities)

    async def _form(self, request: Request) -> FormData:
        """The multipart form, its file at most ``openai_max_file_bytes`` (refused unread if
        the declared length says more, else as soon as the bytes do)."""
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise invalid("The request body must be multipart/form-data with a 'file' part.")
        limit = self.limits.openai_max_file_bytes
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

    def _parse(self, form: FormData, task: str) -> AudioRequest:
        """The form's fields, each checked in OpenAI's words; unknown fields are refused."""
        for name in form:
            if name not in _FIELDS[task]:
                raise invalid(
                    f"Unrecognized request argument supplied: {name}",
                    param=name,
                    code="unknown_parameter",
                )
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise _missing("file") if upload is None else invalid("'file' must be a file upload.")
        model = _field(form, "model")
        if not model:
            raise _missing("model")
        self.check_model(model)
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
        chunking = _field(form, "chunking_strategy")
        if chunking not in ("", "auto"):
            raise _invalid_value("chunking_strategy", chunking, ("auto",))
        language = self._language(_field(form, "language"), task)
        knobs = WhisperKnobs(
            initial_prompt=_field(form, "prompt") or None,
            temperature=_temperature(_field(form, "temperature")),
            task=task,
            detect_language=not language,
        )
        return AudioRequest(upload, response_format, granularities, stream, knobs, language)

    def _language(self, language: str, task: str) -> str:
        """The Whisper code of ``language``; "" to detect (a multilingual model, none given)."""
        info = self.recognizer.model
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
            raise invalid(
                f"Language '{language}' is not supported by the loaded model {info.name}{only}.",
                param="language",
                code="unsupported_language",
            ) from None

    def _validate(self, language: str) -> Plan:
        """The core's plan: Whisper's punctuation and casing kept, words timed."""
        config = RecognitionConfig(
            language_code=language or "en",
            enable_word_time_offsets=True,
            enable_word_confidence=True,
            enable_automatic_punctuation=True,
        )
        return self.recognizer.validate(config)

    async def _check_declared_length(self, upload: UploadFile) -> None:
        """Refuse, before decoding, a file whose header says it is too long or not audio."""
        try:
            declared = await asyncio.to_thread(media.duration, upload.file)
        except SpeechError as error:
            raise invalid(
                f"Invalid file format: {error.message}.", param="file", code="invalid_value"
            ) from None
        if declared is not None and declared > self.limits.openai_max_seconds:
            raise _too_long(self.limits.openai_max_seconds)

    async def _recognized(
        self, asked: AudioRequest, plan: Plan
    ) -> AsyncIterator[tuple[float, list[Result]]]:
        """(seconds decoded so far, results) window by window, in time order."""
        chunks = media.iter_any(asked.upload.file, _CHUNK_SECONDS)
        capped = _cap_length(chunks, self.limits.openai_max_seconds)
        async for window, found in recognized_windows(self.recognizer, windows(capped), plan):
            yield window.end, found

    async def _recognize(self, asked: AudioRequest, plan: Plan) -> Transcription:
        found: list[Result] = []
        duration = 0.0
        async for end, results in self._recognized(asked, plan):
            found, duration = found + results, end
        return self._transcription(asked, found, duration)

    def _transcription(
        self, asked: AudioRequest, found: list[Result], duration: float
    ) -> Transcription:
        detected = next((r.language_code for r in found if r.language_code), "en")
        language = "en" if asked.knobs.task == "translate" else asked.language or detected
        return Transcription(
            tuple(found), duration, language, asked.knobs.task, asked.knobs.temperature
        )

    async def _events(
        self, request: Request, asked: AudioRequest, plan: Plan, form: FormData
    ) -> AsyncIterator[str]:
        """OpenAI's stream: a delta per result as its window is recognised, then the text."""
        found: list[Result] = []
        duration = 0.0
        try:
            async for end, results in self._recognized(asked, plan):
                duration = end
                for result in results:
                    if text := transcript(result):
                        delta = f" {text}" if found else text
                        found.append(result)
                        yield event({"type": "transcript.text.delta", "delta": delta})
            transcription = self._transcription(asked, found, duration)
            access.note(request.scope, audio=f"{duration:.1f}s")
            yield event(
                {
                    "type": "transcript.text.done",
                    "text": transcription.text,
                    "usage": transcription.usage,
                }
            )
        except Exception as error:  # the status is sent: the error becomes the last event
            failure = _openai_error(request, error)
            access.note(request.scope, error=json.dumps(failure.message))
            yield event(failure.body())
        finally:
            await form.close()


def openai_route(path: str, endpoint: Endpoint, method: str | None = None) -> Route:
    """A route whose every failure, a wrong method included, is OpenAI's error body."""

    async def handle(request: Request) -> Response:
        try:
            if method is not None and request.method != method:
                raise OpenAIError(
                    405, f"Invalid method for URL ({request.method} {request.url.path})."
                )
            return await endpoint(request)
        except Exception as error:
            failure = _openai_error(request, error)
            access.note(request.scope, error=json.dumps(failure.message))
            return JSONResponse(failure.body(), status_code=failure.status)

    return Route(path, handle, methods=_METHODS)  # a wrong method is answered here


def _openai_error(request: Request, error: Exception) -> OpenAIError:
    if isinstance(error, OpenAIError):
        return error
    if isinstance(error, SpeechError):
        return from_speech_error(error)
    if isinstance(error, HTTPException):  # a malformed multipart body
        return invalid(f"Could not parse the multipart form: {error.detail}")
    log.exception("internal error serving %s %s", request.method, request.url.path)
    return internal()


async def _invalid_url(request: Request) -> Response:
    raise OpenAIError(404, f"Invalid URL ({request.method} {request.url.path}).")


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


def _cap_length(chunks: Iterator[Array], max_seconds: float) -> Iterator[Array]:
    """``chunks`` until they pass ``max_seconds`` of audio: then the request fails."""
    samples = 0
    for chunk in chunks:
        samples += chunk.shape[1]
        if samples > max_seconds * SAMPLE_RATE:
            raise _too_long(max_seconds)
        yield chunk


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
        type="invalid_request_error",
    )


def _too_long(max_seconds: float) -> OpenAIError:
    return invalid(
        f"The audio is longer than {max_seconds:g} seconds, the most this server transcribes"
        " in one request.",
        param="file",
        code="audio_too_long",
    )
