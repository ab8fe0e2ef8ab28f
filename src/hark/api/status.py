"""The error hierarchy translated, once, into Google's wire shapes.

REST: ``{"error": {"code": <HTTP>, "message", "status": "<CODE NAME>", "details": [...]}}``.
gRPC: the status code, plus a ``google.rpc.Status`` in ``grpc-status-details-bin``.
"""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import any_pb2, json_format
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status as grpc_rpc_status

from hark.errors import Code, SpeechError

HTTP_STATUS: dict[Code, int] = {
    Code.OK: 200,
    Code.CANCELLED: 499,
    Code.UNKNOWN: 500,
    Code.INVALID_ARGUMENT: 400,
    Code.DEADLINE_EXCEEDED: 504,
    Code.NOT_FOUND: 404,
    Code.ALREADY_EXISTS: 409,
    Code.PERMISSION_DENIED: 403,
    Code.RESOURCE_EXHAUSTED: 429,
    Code.FAILED_PRECONDITION: 400,
    Code.ABORTED: 409,
    Code.OUT_OF_RANGE: 400,
    Code.UNIMPLEMENTED: 501,
    Code.INTERNAL: 500,
    Code.UNAVAILABLE: 503,
    Code.DATA_LOSS: 500,
    Code.UNAUTHENTICATED: 401,
}


def rpc_status(error: SpeechError) -> status_pb2.Status:
    """``google.rpc.Status`` for ``error``, with BadRequest / ErrorInfo details when known."""
    status = status_pb2.Status(code=int(error.code), message=error.message)
    if error.field_violations:
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=violation.field, description=violation.description
                )
                for violation in error.field_violations
            ]
        )
        status.details.append(_pack(bad_request))
    if error.error_info:
        info = error_details_pb2.ErrorInfo(
            reason=error.error_info.reason,
            domain=error.error_info.domain,
            metadata=dict(error.error_info.metadata),
        )
        status.details.append(_pack(info))
    return status


def _pack(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def rest_error(error: SpeechError) -> tuple[int, dict[str, Any]]:
    """HTTP status and JSON body of ``error``, as Google's REST front end writes them."""
    http_status = HTTP_STATUS.get(error.code, 500)
    body: dict[str, Any] = {
        "code": http_status,
        "message": error.message,
        "status": error.code.name,
    }
    details = json_format.MessageToDict(rpc_status(error)).get("details")
    if details:
        body["details"] = details
    return http_status, {"error": body}


def grpc_status(error: SpeechError) -> grpc.Status:
    """The gRPC status for ``error``: its code and message, and the full ``google.rpc.Status``
    (with details) in the ``grpc-status-details-bin`` trailer."""
    status: grpc.Status = grpc_rpc_status.to_status(rpc_status(error))
    return status
