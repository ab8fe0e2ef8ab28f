"""The access log: one line per REST call, gRPC call and WebSocket stream, on ``hark.access``.

``REST POST /v1/speech:recognize 200 0.84s audio=11s request_id=42``: the transport, the
method and path (never the query string, which may hold ``key=``), the status (HTTP for REST,
the gRPC code name otherwise), the duration, and what the response says about the work: its
billed audio time (``totalBilledTime``: whole seconds, per channel recognised), its
``requestId``, or the operation's name; an OpenAI-style transcription, its audio length. A
failure adds the client's error message (Google's, or OpenAI's on ``/v1/audio`` and
``/v1/models``) as ``error="..."``; those messages never hold keys. Nothing else of a request
is read: no key, no audio.

Lines are at info level (``/healthz`` at debug, so health probes do not drown the log).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import MutableMapping
from typing import Any

from google.protobuf.message import Message
from starlette.types import ASGIApp, Receive, Scope, Send

from hark.api.status import HTTP_STATUS
from hark.errors import INTERNAL_MESSAGE, Code, SpeechError

log = logging.getLogger("hark.access")

_NOTES = "hark.access"
"""The ASGI scope key of a REST call's details, filled by the routes and error handlers."""
_QUIET_PATHS = frozenset({"/healthz"})


class Call:
    """One call being served: its status and details, logged once by ``done``."""

    def __init__(self, transport: str, target: str) -> None:
        self.transport = transport
        self.target = target
        self.status: str | int = Code.OK.name
        self.details: dict[str, str] = {}
        self.level = logging.INFO
        self._started = time.monotonic()

    def answered(self, message: Message) -> None:
        """Keep what ``message`` (a response) says about the work; later answers overwrite."""
        self.details.update(response_facts(message))

    def failed(self, error: BaseException) -> None:
        """The call ends with ``error``: its gRPC code name and Google's message."""
        if not isinstance(error, Exception):  # CancelledError, GeneratorExit: the client left
            self.status = Code.CANCELLED.name
            return
        speech_error = error if isinstance(error, SpeechError) else None
        self.status = speech_error.code.name if speech_error else Code.INTERNAL.name
        self.details["error"] = json.dumps(
            speech_error.message if speech_error else INTERNAL_MESSAGE
        )

    def done(self) -> None:
        seconds = time.monotonic() - self._started
        details = "".join(f" {key}={value}" for key, value in self.details.items())
        log.log(
            self.level,
            "%s %s %s %.2fs%s",
            self.transport,
            self.target,
            self.status,
            seconds,
            details,
        )


def response_facts(message: Message) -> dict[str, str]:
    """The billed audio time and request id of a Recognize-type response; an operation's name."""
    fields = message.DESCRIPTOR.fields_by_name
    facts: dict[str, str] = {}
    if "total_billed_time" in fields and message.HasField("total_billed_time"):
        billed = getattr(message, "total_billed_time")  # noqa: B009 - generated field
        facts["audio"] = f"{billed.seconds + billed.nanos / 1e9:g}s"
    request_id = getattr(message, "request_id") if "request_id" in fields else 0  # noqa: B009
    if request_id:
        facts["request_id"] = str(request_id)
    if message.DESCRIPTOR.full_name == "google.longrunning.Operation":
        facts["operation"] = str(getattr(message, "name"))  # noqa: B009
    return facts


def note(scope: MutableMapping[str, Any], **details: str) -> None:
    """Add ``details`` to the access line of the REST call of ``scope`` (if it is logged)."""
    notes = scope.get(_NOTES)
    if isinstance(notes, dict):
        notes.update(details)


def note_response(scope: MutableMapping[str, Any], message: Message) -> None:
    note(scope, **response_facts(message))


def note_error(scope: MutableMapping[str, Any], error: SpeechError) -> None:
    note(scope, error=json.dumps(error.message))


class AccessLog:
    """ASGI middleware: one line per HTTP request (WebSockets log their own, per stream)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        call = Call("REST", f"{scope['method']} {scope['path']}")
        call.status = HTTP_STATUS[Code.INTERNAL]  # unless a response starts
        call.details = scope[_NOTES] = {}
        if scope["path"] in _QUIET_PATHS:
            call.level = logging.DEBUG

        async def sending(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                call.status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception:
            # Answered by the outermost handler (``Internal``), after this line is written.
            call.details.setdefault("error", json.dumps(INTERNAL_MESSAGE))
            raise
        finally:
            call.done()
