"""StreamingRecognize for browsers: a WebSocket at ``/ws/{version}/speech:streamingrecognize``.

Protocol (documented in the README, "Streaming from a browser"):

1. Connect, with ``?key=API_KEY`` when the server requires keys. A browser's ``Origin`` must be
   the server's own or an allowed one (``api.browser``).
2. Send one text message: ``StreamingRecognitionConfig`` as JSON (camelCase or snake_case,
   parsed like a REST body).
3. Send the audio as binary messages (each at most 25 KB), about real time. An empty binary
   message means "no more audio" (Google's half-close).
4. Receive text messages: ``StreamingRecognizeResponse`` as JSON. The server closes with
   code 1000 when done. On an error it sends ``{"error": {code, message, status}}`` (the
   REST error body) and closes with 4000 + the gRPC code (e.g. 4003 INVALID_ARGUMENT).

A text message after the config is refused as malordered, like a second config over gRPC.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from hark.api import access, convert, jsonbody
from hark.api.browser import BrowserPolicy
from hark.api.metrics import Metrics
from hark.api.status import rest_error
from hark.api.streaming import streaming_recognize
from hark.auth import ApiKeys
from hark.errors import INTERNAL_MESSAGE, Cancelled, Code, Internal, SpeechError
from hark.speech.streaming.session import StreamingRecognizer

log = logging.getLogger(__name__)

PATH = "/ws/{version:str}/speech:streamingrecognize"


class StreamingSocket:
    """The WebSocket endpoint over the core streaming recognizer."""

    def __init__(
        self,
        streaming: StreamingRecognizer,
        keys: ApiKeys,
        browser: BrowserPolicy | None = None,
        *,
        metrics: Metrics | None = None,
    ) -> None:
        self.streaming = streaming
        self.keys = keys
        self.browser = browser or BrowserPolicy()
        self.metrics = metrics or Metrics()

    def routes(self) -> list[WebSocketRoute]:
        return [WebSocketRoute(PATH, self.serve)]

    async def serve(self, socket: WebSocket) -> None:
        """One stream, and its one access log line (path only: the key is in the query)."""
        call = access.Call("WebSocket", socket.url.path, self.metrics, method=PATH, stream=True)
        try:
            await self._serve(socket, call)
        except BaseException as error:
            call.failed(error)
            raise
        finally:
            call.done()

    async def _serve(self, socket: WebSocket, call: access.Call) -> None:
        origin, host = socket.headers.get("origin"), socket.headers.get("host", "")
        if not self.browser.origin_allowed(origin, host):
            call.status = Code.PERMISSION_DENIED.name
            await socket.close(1008)  # before accepting: the browser sees the handshake fail
            return
        await socket.accept()
        try:
            version = convert.version_named(socket.path_params["version"], socket.url.path)
            self.keys.check(socket.query_params.get("key"))
            requests = _requests(socket, version)
            # Closed at once when sending fails too: the stream's slot is freed then.
            responses = streaming_recognize(self.streaming, requests, version)
            async with contextlib.aclosing(responses):
                async for response in responses:
                    call.answered(response)
                    await socket.send_json(jsonbody.render(response))
        except WebSocketDisconnect:
            call.status = Code.CANCELLED.name
            return  # the client went away; the session is already torn down
        except SpeechError as error:
            call.failed(error)
            await _close_with(socket, error)
            return
        except Exception as error:
            log.exception("internal error in a streaming WebSocket")
            call.failed(error)
            await _close_with(socket, Internal(INTERNAL_MESSAGE))
            return
        await socket.close(1000)


async def _requests(socket: WebSocket, version: convert.ApiVersion) -> AsyncIterator[Any]:
    """Socket messages as ``StreamingRecognizeRequest``s; ends at an empty binary message."""
    request_class = version.message("StreamingRecognizeRequest")
    config_class = version.message("StreamingRecognitionConfig")
    while True:
        message = await socket.receive()
        if message["type"] == "websocket.disconnect":
            raise Cancelled("The client closed the stream.")
        if message.get("bytes") is not None:
            if not message["bytes"]:
                return
            yield request_class(audio_content=message["bytes"])
        else:
            document = jsonbody.parse_object(message.get("text", "").encode())
            config = jsonbody.parse_dict(document, config_class)
            yield request_class(streaming_config=config)


async def _close_with(socket: WebSocket, error: SpeechError) -> None:
    if isinstance(error, Cancelled):
        return
    _, body = rest_error(error)
    try:
        await socket.send_json(body)
        await socket.close(4000 + int(error.code))
    except (WebSocketDisconnect, RuntimeError):
        pass  # already closed by the client
