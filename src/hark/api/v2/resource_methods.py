"""v2's six standard methods (Create, Get, List, Update, Delete, Undelete), once for the three
stored resource types: Recognizer, PhraseSet and CustomClass.

A ``Kind`` names what differs between them (the collection, the message, the request's
fields, the checks on what a client stores); ``ResourceMethods`` is the rest. Writes answer
finished Operations, kept in ``V2Operations`` for clients that poll them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from google.longrunning import operations_pb2
from google.protobuf import field_mask_pb2
from google.protobuf.message import Message

from hark.api.v2 import config as config_mask
from hark.api.v2.convert import message
from hark.api.v2.operations import V2Operations
from hark.api.v2.recognizers import operation, render, stored_payload
from hark.errors import InvalidArgument, NotFound
from hark.resources.lifecycle import Resources
from hark.resources.names import ResourceName, new_name, parse_name, parse_parent

Method = Callable[[Any], Awaitable[Message]]
Check = Callable[[Any, ResourceName], None]
"""Raises INVALID_ARGUMENT for a resource message a client may not store."""


@dataclass(frozen=True)
class Kind:
    """One resource type: ``collection`` in names, ``type_name`` its message, ``field`` the
    request field holding it (``recognizer``), ``plural`` the List response's field."""

    collection: str
    type_name: str
    field: str
    plural: str
    check: Check

    @property
    def id_field(self) -> str:
        return f"{self.field}_id"


class ResourceMethods:
    """The standard methods of one ``Kind`` over the resource store."""

    def __init__(self, kind: Kind, resources: Resources, operations: V2Operations) -> None:
        self.kind = kind
        self.resources = resources
        self.operations = operations

    def _method(self, verb: str) -> str:
        return f"{verb}{self.kind.type_name}"

    def name(self, text: str, field: str = "name") -> ResourceName:
        name = parse_name(text, self.kind.collection, field=field)
        if name.implicit:
            raise InvalidArgument(f"'{field}' names '_', which is not a stored resource.")
        return name

    def standard_methods(self) -> dict[str, tuple[Method, str]]:
        """gRPC method name -> (the method, its request message), e.g. ``CreatePhraseSet``."""
        singular, plural = self.kind.type_name, plural_type(self.kind)
        methods: dict[str, Method] = {
            f"Create{singular}": self.create,
            f"List{plural}": self.list,
            f"Get{singular}": self.get,
            f"Update{singular}": self.update,
            f"Delete{singular}": self.delete,
            f"Undelete{singular}": self.undelete,
        }
        return {name: (method, f"{name}Request") for name, method in methods.items()}

    async def create(self, request: Any) -> operations_pb2.Operation:
        kind = self.kind
        resource = getattr(request, kind.field)
        name = new_name(
            request.parent, kind.collection, getattr(request, kind.id_field), kind.id_field
        )
        kind.check(resource, name)
        payload = stored_payload(resource)
        if request.validate_only:
            return operation(self._method("Create"), name.parent, _preview(kind, payload, name))
        stored = await self.resources.create(name, payload)
        return await self.operations.record(
            operation(self._method("Create"), name.parent, render(stored), request)
        )

    async def get(self, request: Any) -> Message:
        return render(await self.resources.get(self.name(request.name)))

    async def list(self, request: Any) -> Message:
        page = await self.resources.list(
            parse_parent(request.parent),
            self.kind.collection,
            request.page_size,
            request.page_token,
            request.show_deleted,
        )
        response: Any = message(f"List{plural_type(self.kind)}Response")()
        getattr(response, self.kind.plural).extend(render(stored) for stored in page.resources)
        response.next_page_token = page.next_page_token
        return response

    async def update(self, request: Any) -> operations_pb2.Operation:
        kind = self.kind
        resource = getattr(request, kind.field)
        name = self.name(resource.name, f"{kind.field}.name")
        paths = list(request.update_mask.paths) if request.HasField("update_mask") else []
        if paths:
            config_mask.check_mask(paths, resource, field="update_mask")
        kind.check(resource, name)

        def change(payload: bytes) -> bytes:
            if not paths:
                return stored_payload(resource)
            current: Any = message(kind.type_name)()
            current.ParseFromString(payload)
            mask = field_mask_pb2.FieldMask(paths=paths)
            return stored_payload(config_mask.merged(current, resource, mask))

        if request.validate_only:
            current = await self.resources.active(name)
            preview = _preview(kind, change(current.payload), name)
            return operation(self._method("Update"), name.parent, preview)
        stored = await self.resources.update(name, change, resource.etag)
        return await self.operations.record(
            operation(self._method("Update"), name.parent, render(stored), request)
        )

    async def delete(self, request: Any) -> operations_pb2.Operation:
        name = self.name(request.name)
        if request.allow_missing:
            try:
                await self.resources.get(name)
            except NotFound:  # nothing to delete: the empty answer AIP-135 gives
                return operation(
                    self._method("Delete"), name.parent, message(self.kind.type_name)()
                )
        if request.validate_only:
            found = render(await self.resources.active(name))
            return operation(self._method("Delete"), name.parent, found)
        stored = await self.resources.delete(name, request.etag)
        return await self.operations.record(
            operation(self._method("Delete"), name.parent, render(stored), request)
        )

    async def undelete(self, request: Any) -> operations_pb2.Operation:
        name = self.name(request.name)
        if request.validate_only:
            found = render(await self.resources.get(name))
            return operation(self._method("Undelete"), name.parent, found)
        stored = await self.resources.undelete(name, request.etag)
        return await self.operations.record(
            operation(self._method("Undelete"), name.parent, render(stored), request)
        )


def plural_type(kind: Kind) -> str:
    """``Recognizers``, ``PhraseSets``, ``CustomClasses``: the List messages' middle."""
    return kind.type_name + ("es" if kind.type_name.endswith("s") else "s")


def _preview(kind: Kind, payload: bytes, name: ResourceName) -> Message:
    """What a ``validate_only`` write would store, named."""
    preview: Any = message(kind.type_name)()
    preview.ParseFromString(payload)
    preview.name = str(name)
    return preview
