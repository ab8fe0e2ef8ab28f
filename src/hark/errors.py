"""Hark's one error hierarchy.

Every failure a client can see is a ``SpeechError`` carrying its ``google.rpc.Code``.
Transports translate it exactly once (REST: ``{"error": {code, message, status}}``;
gRPC: status code + ``grpc-status-details-bin``); nothing below them knows HTTP or gRPC.

    SpeechError
    ├── Cancelled            CANCELLED
    ├── InvalidArgument      INVALID_ARGUMENT   (bad config, bad audio, bad JSON)
    ├── DeadlineExceeded     DEADLINE_EXCEEDED  (rebuilt from a status by ``error_for_code``)
    ├── NotFound             NOT_FOUND          (unknown operation, missing object)
    ├── AlreadyExists        ALREADY_EXISTS     (a resource id taken)
    ├── PermissionDenied     PERMISSION_DENIED  (missing API key)
    ├── ResourceExhausted    RESOURCE_EXHAUSTED (queue full)
    ├── FailedPrecondition   FAILED_PRECONDITION
    ├── Aborted              ABORTED            (a stale etag)
    ├── OutOfRange           OUT_OF_RANGE       (stream limits)
    ├── Unimplemented        UNIMPLEMENTED
    ├── Internal             INTERNAL           (a bug: logged with its traceback, never shown)
    ├── Unavailable          UNAVAILABLE
    └── Unauthenticated      UNAUTHENTICATED    (rebuilt from a status by ``error_for_code``)
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar


class Code(enum.IntEnum):
    """``google.rpc.Code``, mirrored so the core needs no protobuf import."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


@dataclass(frozen=True)
class FieldViolation:
    """One entry of a ``google.rpc.BadRequest`` detail."""

    field: str
    description: str


@dataclass(frozen=True)
class ErrorInfo:
    """A ``google.rpc.ErrorInfo`` detail (Google sends one with API-key errors)."""

    reason: str
    domain: str = "googleapis.com"
    metadata: tuple[tuple[str, str], ...] = (("service", "speech.googleapis.com"),)


class SpeechError(Exception):
    """An error a client may see: a code, a message, optional structured details."""

    code: ClassVar[Code] = Code.UNKNOWN

    def __init__(
        self,
        message: str,
        *,
        field_violations: Sequence[FieldViolation] = (),
        error_info: ErrorInfo | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field_violations = tuple(field_violations)
        self.error_info = error_info


class Cancelled(SpeechError):
    code = Code.CANCELLED


class InvalidArgument(SpeechError):
    code = Code.INVALID_ARGUMENT


class DeadlineExceeded(SpeechError):
    code = Code.DEADLINE_EXCEEDED


class NotFound(SpeechError):
    code = Code.NOT_FOUND


class AlreadyExists(SpeechError):
    code = Code.ALREADY_EXISTS


class PermissionDenied(SpeechError):
    code = Code.PERMISSION_DENIED


class ResourceExhausted(SpeechError):
    code = Code.RESOURCE_EXHAUSTED


class FailedPrecondition(SpeechError):
    code = Code.FAILED_PRECONDITION


class Aborted(SpeechError):
    code = Code.ABORTED


class OutOfRange(SpeechError):
    code = Code.OUT_OF_RANGE


class Unimplemented(SpeechError):
    code = Code.UNIMPLEMENTED


class Internal(SpeechError):
    code = Code.INTERNAL


INTERNAL_MESSAGE = "Internal error encountered."
"""Google's text for an unexpected error; the details go to the log, never to the client."""


class Unavailable(SpeechError):
    code = Code.UNAVAILABLE


class Unauthenticated(SpeechError):
    code = Code.UNAUTHENTICATED


SYNC_TOO_LONG = (
    "Sync input too long. For audio longer than 1 min use LongRunningRecognize"
    " with a 'uri' parameter."
)
"""Google's text for Recognize audio over about a minute (by duration or by size)."""


def invalid_config(reason: str, *, field: str = "") -> InvalidArgument:
    """Google's wording for a bad RecognitionConfig: ``Invalid recognition 'config': <reason>.``"""
    violations = (FieldViolation(f"config.{field}", reason),) if field else ()
    return InvalidArgument(f"Invalid recognition 'config': {reason}.", field_violations=violations)


_BY_CODE: dict[Code, type[SpeechError]] = {cls.code: cls for cls in SpeechError.__subclasses__()}


def error_for_code(code: int, message: str) -> SpeechError:
    """Rebuild a SpeechError from a stored ``google.rpc.Code`` (e.g. a failed job's status)."""
    try:
        cls = _BY_CODE.get(Code(code), SpeechError)
    except ValueError:
        cls = SpeechError
    return cls(message)
