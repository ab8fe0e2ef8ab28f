"""Core jobs as ``google.longrunning.Operation`` messages, for the job's own API version.

REST renders the message with ``json_format``; gRPC sends it as is. Only fields that exist
in the version's own message types are set: the official REST client parses operation
polls strictly and fails on any unknown field, e.g. ``outputConfig`` in v1
``LongRunningRecognizeMetadata``.
"""

from __future__ import annotations

import json
from typing import Any

from google.longrunning import operations_pb2
from google.protobuf.message import Message
from google.rpc import status_pb2

from hark.api import convert, jsonbody, legacy
from hark.jobs import Job, Page
from hark.speech.types import Recognition

LEGACY = "v1beta1"


def version_of(job: Job) -> convert.ApiVersion:
    """The message classes to render ``job`` with (v1beta1 jobs borrow v1's, then reshape)."""
    return convert.VERSIONS.get(job.api_version, convert.V1)


def operation(job: Job) -> operations_pb2.Operation:
    """The Operation for ``job``: metadata, done, then response or error."""
    version = version_of(job)
    message = operations_pb2.Operation(name=job.name, done=job.done)
    message.metadata.Pack(_metadata(job, version))
    if job.error is not None:
        message.error.CopyFrom(status_pb2.Status(code=job.error.code, message=job.error.message))
    elif job.result is not None:
        message.response.Pack(response(job, job.result))
    return message


def response(job: Job, recognition: Recognition) -> Message:
    """The ``LongRunningRecognizeResponse`` of a finished job."""
    message: Any = version_of(job).message("LongRunningRecognizeResponse")()
    convert.fill_recognition(message, recognition)
    if job.output_uri:
        message.output_config.gcs_uri = job.output_uri
    if job.output_error is not None:
        message.output_error.code = job.output_error.code
        message.output_error.message = job.output_error.message
    return message


def output_json(job: Job, recognition: Recognition) -> bytes:
    """What ``outputConfig.gcsUri`` receives: the response as Google's JSON."""
    return json.dumps(jsonbody.render(response(job, recognition)), indent=2).encode()


def operation_json(job: Job, *, integer_enums: bool = False) -> dict[str, Any]:
    """The Operation as REST JSON; legacy v1beta1 jobs in their own shapes."""
    rendered = jsonbody.render(operation(job), integer_enums=integer_enums)
    return legacy.legacy_operation(rendered) if job.api_version == LEGACY else rendered


def list_json(page: Page, *, integer_enums: bool = False) -> dict[str, Any]:
    """A ``ListOperationsResponse`` as REST JSON."""
    body: dict[str, Any] = {
        "operations": [operation_json(job, integer_enums=integer_enums) for job in page.jobs]
    }
    if page.next_token:
        body["nextPageToken"] = page.next_token
    return body


def list_response(page: Page) -> operations_pb2.ListOperationsResponse:
    """A ``ListOperationsResponse`` message (gRPC; v1beta1 jobs carry v1 payloads)."""
    return operations_pb2.ListOperationsResponse(
        operations=[operation(job) for job in page.jobs], next_page_token=page.next_token
    )


def _metadata(job: Job, version: convert.ApiVersion) -> Message:
    message: Any = version.message("LongRunningRecognizeMetadata")()
    message.progress_percent = job.progress_percent
    message.start_time.FromMicroseconds(round(job.start_time * 1e6))
    message.last_update_time.FromMicroseconds(round(job.last_update_time * 1e6))
    message.uri = job.uri
    if job.output_uri and "output_config" in message.DESCRIPTOR.fields_by_name:
        message.output_config.gcs_uri = job.output_uri
    return message
