"""OpenAI's error body for the ``/v1/audio`` and ``/v1/models`` routes.

OpenAI answers ``{"error": {"message", "type", "param", "code"}}`` with the HTTP status its SDK
turns into an exception class (400 BadRequestError, 401 AuthenticationError, 404
NotFoundError, 413, 429 RateLimitError, 5xx InternalServerError). Errors raised by the core
(``SpeechError``, Google-worded) are translated here, once, by their gRPC code.
"""

from __future__ import annotations

from typing import Any

from hark.api.status import HTTP_STATUS
from hark.errors import Code, SpeechError

INTERNAL_MESSAGE = "The server had an error while processing your request. Sorry about that!"
"""OpenAI's text for an unexpected error; the details go to the log, never to the client."""


_HIDDEN = frozenset({Code.UNKNOWN, Code.INTERNAL, Code.DATA_LOSS})
"""Codes of bugs: their messages stay in the log."""


class OpenAIError(Exception):
    """An error as OpenAI's API reports it: an HTTP status and the four fields of its body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.type = _type_of(status)
        """``invalid_request_error``, ``requests`` (429) or ``server_error``, by status."""

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


def invalid(message: str, *, param: str | None = None, code: str | None = None) -> OpenAIError:
    """A 400 ``invalid_request_error`` about one request parameter."""
    return OpenAIError(400, message, param=param, code=code)


def from_speech_error(error: SpeechError) -> OpenAIError:
    """The core's error with OpenAI's status and type; its message is kept (it names no key)."""
    status = HTTP_STATUS.get(error.code, 500)
    if error.code in {Code.PERMISSION_DENIED, Code.UNAUTHENTICATED}:
        status = 401
    if error.code in _HIDDEN:
        return internal()
    code = "rate_limit_exceeded" if error.code is Code.RESOURCE_EXHAUSTED else None
    return OpenAIError(status, error.message, code=code)


def internal() -> OpenAIError:
    return OpenAIError(500, INTERNAL_MESSAGE)


def _type_of(status: int) -> str:
    if status == 429:
        return "requests"
    return "server_error" if status >= 500 else "invalid_request_error"
