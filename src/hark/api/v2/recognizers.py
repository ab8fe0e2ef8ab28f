"""Stored resources as v2 messages: what a client sends is stored, what Hark tracks is added.

The payload of a stored ``Recognizer`` is the message the client gave, less its output-only
fields; ``render`` adds them back (``name``, ``uid``, ``state``, ``etag``, the times). Writes
return a finished ``google.longrunning.Operation`` as Google's do: ``metadata`` an
``OperationMetadata`` naming the method and the resource, ``response`` the resource.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from google.longrunning import operations_pb2
from google.protobuf.message import Message

from hark.api.v2.convert import PACKAGE, message
from hark.errors import InvalidArgument
from hark.resources import StoredResource
from hark.resources.names import ResourceName

ACTIVE, DELETED = 2, 4
"""``State.ACTIVE`` and ``State.DELETED`` (the same numbers in all three resource types)."""
OUTPUT_ONLY = (
    "name", "uid", "state", "create_time", "update_time", "delete_time", "expire_time", "etag",
    "reconciling", "kms_key_name", "kms_key_version_name",
)  # fmt: skip
MAX_DISPLAY_NAME = 63
MAX_ANNOTATIONS = 100


def stored_payload(resource: Message) -> bytes:
    """The bytes kept for ``resource``: what the client set, output-only fields cleared."""
    kept = type(resource)()
    kept.CopyFrom(resource)
    for field in OUTPUT_ONLY:
        if field in kept.DESCRIPTOR.fields_by_name:
            kept.ClearField(field)
    _check_user_fields(kept)
    data: bytes = kept.SerializeToString()
    return data


def render(stored: StoredResource) -> Message:
    """The stored resource as its v2 message, output-only fields filled in."""
    name = name_of(stored)
    resource: Any = message(name.kind)()
    resource.ParseFromString(stored.payload)
    resource.name = stored.name
    resource.uid = str(uuid.UUID(bytes=hashlib.sha256(stored.name.encode()).digest()[:16]))
    resource.state = DELETED if stored.deleted else ACTIVE
    resource.etag = stored.etag
    resource.create_time.FromNanoseconds(_nanos(stored.create_time))
    resource.update_time.FromNanoseconds(_nanos(stored.update_time))
    if stored.deleted:
        resource.delete_time.FromNanoseconds(_nanos(stored.delete_time))
        resource.expire_time.FromNanoseconds(_nanos(stored.expire_time))
    return resource


def operation(
    method: str, parent: str, resource: Message, request: Message | None = None
) -> operations_pb2.Operation:
    """A finished Operation of ``method`` (e.g. "CreateRecognizer") whose response is
    ``resource``; ``request`` goes into the metadata as Google's does."""
    metadata: Any = message("OperationMetadata")()
    metadata.create_time.GetCurrentTime()
    metadata.update_time.CopyFrom(metadata.create_time)
    metadata.resource = getattr(resource, "name", "")
    metadata.method = f"{PACKAGE}.Speech.{method}"
    metadata.progress_percent = 100
    if request is not None:
        field = _request_field(request)
        if field in metadata.DESCRIPTOR.fields_by_name:
            getattr(metadata, field).CopyFrom(request)
    done = operations_pb2.Operation(name=f"{parent}/operations/{uuid.uuid4()}", done=True)
    done.metadata.Pack(metadata)
    done.response.Pack(resource)
    return done


def name_of(stored: StoredResource) -> ResourceName:
    project, location = stored.parent.split("/")[1::2]
    return ResourceName(project, location, stored.collection, stored.name.rpartition("/")[2])


def _request_field(request: Message) -> str:
    """``CreateRecognizerRequest`` -> ``create_recognizer_request``."""
    name = request.DESCRIPTOR.name
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def _check_user_fields(resource: Any) -> None:
    if len(resource.display_name) > MAX_DISPLAY_NAME:
        raise InvalidArgument(f"display_name must be {MAX_DISPLAY_NAME} characters or less.")
    annotations = resource.annotations
    too_long = any(len(k) > 63 or len(v) > 63 for k, v in annotations.items())
    if len(annotations) > MAX_ANNOTATIONS or too_long:
        raise InvalidArgument(
            f"At most {MAX_ANNOTATIONS} annotations, each key and value 63 characters or less."
        )


def _nanos(seconds: float) -> int:
    return round(seconds * 1_000_000_000)
