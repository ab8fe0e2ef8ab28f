"""The REST/JSON transport: Google's HTTP routes over the core, nothing more.

Each route parses Google's JSON into Google's message, converts it for the core, calls the
core, and writes the reply back as Google's JSON. Errors become Google's error body here
and nowhere else.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, cast

from google.protobuf.message import Message
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from hark.api import access, convert, jsonbody, legacy
from hark.api.browser import BrowserPolicy, HostCheck, check_content_type
from hark.api.metrics import Metrics
from hark.api.status import rest_error
from hark.auth import ApiKeys, Caller
from hark.errors import (
    INTERNAL_MESSAGE,
    Cancelled,
    DeadlineExceeded,
    Internal,
    SpeechError,
    Unimplemented,
)
from hark.settings import Limits
from hark.speech.recognizer import Recognizer

log = logging.getLogger(__name__)

BODY_TOO_SLOW = "The request body did not arrive in time."
# JSON is base64 (4/3 of the audio) plus the config; refuse bodies far past that unread.
_BODY_SLACK = 1.4


class RestApi:
    """Google's Speech-to-Text REST surface (v1, v1p1beta1, legacy v1beta1)."""

    def __init__(
        self,
        recognizer: Recognizer,
        keys: ApiKeys,
        limits: Limits,
        browser: BrowserPolicy | None = None,
        *,
        metrics: Metrics | None = None,
    ) -> None:
        self.recognizer = recognizer
        self.keys = keys
        self.limits = limits
        self.metrics = metrics or Metrics()
        self.browser = browser or BrowserPolicy()

    def routes(self) -> list[Route]:
        return [
            Route("/healthz", self.health, methods=["GET"]),
            Route("/{version:str}/speech:recognize", self.recognize, methods=["POST"]),
            Route("/v1beta1/speech:syncrecognize", self.sync_recognize, methods=["POST"]),
        ]

    def app(self, extra_routes: Sequence[BaseRoute] | None = None) -> Starlette:
        return Starlette(
            routes=[*self.routes(), *(extra_routes or ())],
            middleware=[
                Middleware(access.AccessLog, metrics=self.metrics),
                Middleware(HostCheck, policy=self.browser),
            ],
            exception_handlers={
                SpeechError: _speech_error,
                HTTPException: _http_error,
                Exception: _internal_error,
            },
        )

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "SERVING", "model": self.recognizer.model.name})

    async def recognize(self, request: Request) -> Response:
        version = path_version(request)
        message: Any = await self.parse(request, version.message("RecognizeRequest"))
        recognition = await self.recognizer.recognize(*convert.recognize_args(message))
        return reply(request, convert.recognize_response(recognition, version))

    async def sync_recognize(self, request: Request) -> Response:
        message: Any = await self.parse_legacy(request, "RecognizeRequest")
        recognition = await self.recognizer.recognize(*convert.recognize_args(message))
        response = convert.recognize_response(recognition, convert.V1)
        access.note_response(request.scope, response)
        body = jsonbody.render(response)
        return JSONResponse(legacy.legacy_response(body))

    async def parse(self, request: Request, message_class: type[Message]) -> Message:
        """Authorize, read and parse a request body into ``message_class``."""
        message = jsonbody.parse_dict(await self.parse_json(request), message_class)
        self.check_size(message)
        return message

    async def parse_legacy(self, request: Request, type_name: str) -> Message:
        """A v1beta1 body, translated by ``legacy``, as the v1 message ``type_name``."""
        document = legacy.v1_request(await self.parse_json(request))
        message = jsonbody.parse_dict(document, convert.V1.message(type_name))
        self.check_size(message)
        return message

    async def parse_json(self, request: Request) -> dict[str, Any]:
        self.authorize(request)
        body = await self._read_body(request)
        return jsonbody.parse_object(body)

    def authorize(self, request: Request) -> Caller:
        """The caller; PERMISSION_DENIED / INVALID_ARGUMENT unless the request carries an
        accepted key."""
        return self.keys.check(
            request.query_params.get("key") or request.headers.get("x-goog-api-key")
        )

    def check_size(self, message: Message) -> None:
        convert.check_request_size(message, self.limits)

    async def _read_body(self, request: Request) -> bytes:
        check_content_type(request.headers.get("content-type"))
        cap = int(self.limits.max_request_bytes * _BODY_SLACK) + 65_536
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise convert.request_too_large(self.limits)
        chunks: list[bytes] = []

        async def read() -> None:
            size = 0
            async for chunk in request.stream():
                size += len(chunk)
                if size > cap:
                    raise convert.request_too_large(self.limits)
                chunks.append(chunk)

        try:
            await asyncio.wait_for(read(), self.limits.request_timeout_seconds)
        except ClientDisconnect:  # gone mid-upload: nobody to answer, nothing went wrong here
            raise Cancelled("The client closed the request.") from None
        except TimeoutError:  # a slow or stalled client must not hold the server
            raise DeadlineExceeded(BODY_TOO_SLOW) from None
        return b"".join(chunks)


def path_version(request: Request) -> convert.ApiVersion:
    """The API version named by the path (v1 or v1p1beta1); NOT_FOUND for any other."""
    return convert.version_named(request.path_params["version"], request.url.path)


def reply(request: Request, message: Message) -> Response:
    """``message`` as Google's JSON, integer enums when the caller asked for them."""
    integer_enums = jsonbody.wants_integer_enums(dict(request.query_params))
    access.note_response(request.scope, message)
    return JSONResponse(jsonbody.render(message, integer_enums=integer_enums))


def error_response(error: SpeechError) -> Response:
    status, body = rest_error(error)
    return JSONResponse(body, status_code=status)


async def _speech_error(request: Request, error: Exception) -> Response:
    return _logged_error(request, cast(SpeechError, error))


async def _http_error(request: Request, error: Exception) -> Response:
    if cast(HTTPException, error).status_code == 405:
        return _logged_error(
            request, Unimplemented(f"Method not allowed: {request.method} {request.url.path}")
        )
    return _logged_error(request, convert.not_found(request.url.path))


def _logged_error(request: Request, error: SpeechError) -> Response:
    access.note_error(request.scope, error)
    return error_response(error)


async def _internal_error(request: Request, error: Exception) -> Response:
    log.exception("internal error serving %s %s", request.method, request.url.path)
    return error_response(Internal(INTERNAL_MESSAGE))
