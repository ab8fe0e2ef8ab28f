"""OpenAI's audio API over the core: ``/v1/audio/transcriptions``, ``/v1/audio/translations``
and ``/v1/models``, so OpenAI's SDK and the tools built on it work against Hark.

Each route checks the key (``Authorization: Bearer``, or Google's ``x-goog-api-key``/``?key=``),
reads the multipart form within the upload limit, turns its fields into a validated ``Plan``,
decodes the file as ``hark transcribe`` does (any container PyAV opens, cut into windows at
pauses by ``speech.long_audio``) and writes the results in the asked format
(``openai_render``). Every error leaves as OpenAI's error body (``openai_errors``).

Each request goes to one of the loaded models, chosen by its ``model`` and ``language`` fields
with the router of Google's API (``openai_models``). Cost is bounded by the file size
(``openai_max_file_bytes``) and the audio length (``openai_max_seconds``), checked from the
container's header before decoding and again while decoding.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from hark import media
from hark.api import access
from hark.api.browser import BrowserPolicy
from hark.api.openai_errors import OpenAIError, from_speech_error, internal, invalid
from hark.api.openai_form import AudioRequest, parse, read_form
from hark.api.openai_models import check_model, model_names, refuse_translation
from hark.api.openai_render import Transcription, event, response, transcript
from hark.auth import ApiKeys
from hark.engine import SAMPLE_RATE, ModelInfo
from hark.errors import InvalidArgument, PermissionDenied, SpeechError
from hark.samples import Array
from hark.settings import Limits
from hark.speech import scripts
from hark.speech.long_audio import recognized_windows, windows
from hark.speech.plan import Plan, with_knobs
from hark.speech.recognizer import Recognizer
from hark.speech.types import RecognitionConfig, Result

log = logging.getLogger(__name__)

_CHUNK_SECONDS = 30.0
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
Endpoint = Callable[[Request], Awaitable[Response]]


class OpenAIApi:
    """OpenAI's ``/v1/audio`` and ``/v1/models`` routes over the recognition core."""

    def __init__(
        self,
        recognizer: Recognizer,
        keys: ApiKeys,
        limits: Limits,
        browser: BrowserPolicy | None = None,
    ) -> None:
        self.recognizer = recognizer
        self.keys = keys
        self.limits = limits
        self.browser = browser or BrowserPolicy()
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
        self.check_origin(request)
        self.authorize(request)
        return await self._audio(request, "transcribe")

    async def translations(self, request: Request) -> Response:
        self.check_origin(request)
        self.authorize(request)
        refuse_translation(self.loaded)  # before the upload is read
        return await self._audio(request, "translate")

    async def models(self, request: Request) -> Response:
        self.authorize(request)
        names = model_names(self.loaded)
        return JSONResponse({"object": "list", "data": [self._model(name) for name in names]})

    async def model(self, request: Request) -> Response:
        self.authorize(request)
        return JSONResponse(self._model(check_model(request.path_params["model"], self.loaded)))

    @property
    def loaded(self) -> list[ModelInfo]:
        """What each loaded model can do, in the operator's order."""
        return [served.info for served in self.recognizer.served]

    def _model(self, name: str) -> dict[str, Any]:
        return {"id": name, "object": "model", "created": self.started, "owned_by": "hark"}

    def check_origin(self, request: Request) -> None:
        """OpenAI's 403 for a form a page on another site posts (a multipart form is a "simple"
        request: the browser sends it, and its cookies-free credentials, unasked), before the
        key or the body is read. No ``Origin`` (a script, the SDK, curl) passes."""
        origin = request.headers.get("origin")
        if not self.browser.origin_allowed(origin, request.headers.get("host", "")):
            raise OpenAIError(
                403,
                f"Requests from the web origin {origin} are not allowed; start Hark with"
                f" --allowed-origin {origin} to let its pages use this server.",
                code="origin_not_allowed",
            )

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
        reading = read_form(request, self.limits.openai_max_file_bytes)
        try:  # a slow or stalled upload must not hold the server (as RestApi's bodies)
            form = await asyncio.wait_for(reading, self.limits.request_timeout_seconds)
        except TimeoutError:
            raise OpenAIError(408, "The request body did not arrive in time.") from None
        try:
            asked = parse(form, task, self.loaded)
            plan = with_knobs(self._validate(asked), asked.knobs)
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

    def _validate(self, asked: AudioRequest) -> Plan:
        """The core's plan on the chosen model: Whisper's punctuation and casing kept, words
        timed. (No language: "en" validates; ``with_knobs`` then lets the engine detect.)"""
        config = RecognitionConfig(
            language_code=asked.language or "en",
            enable_word_time_offsets=True,
            enable_word_confidence=True,
            enable_automatic_punctuation=True,
        )
        return self.recognizer.validate(config, served_by=asked.served_by)

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
            found += results
            duration = end
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
                        spaced = found and not scripts.unspaced(result.language_code)
                        delta = f" {text}" if spaced else text
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


def _cap_length(chunks: Iterator[Array], max_seconds: float) -> Iterator[Array]:
    """``chunks`` until they pass ``max_seconds`` of audio: then the request fails."""
    samples = 0
    for chunk in chunks:
        samples += chunk.shape[1]
        if samples > max_seconds * SAMPLE_RATE:
            raise _too_long(max_seconds)
        yield chunk


def _too_long(max_seconds: float) -> OpenAIError:
    return invalid(
        f"The audio is longer than {max_seconds:g} seconds, the most this server transcribes"
        " in one request.",
        param="file",
        code="audio_too_long",
    )
