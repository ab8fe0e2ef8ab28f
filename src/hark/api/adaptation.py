"""``google.cloud.speech.{v1,v1p1beta1}.Adaptation``: PhraseSet and CustomClass resources.

They are the v2 resources of the same names, stored once (``hark.resources``) as v2 messages:
a PhraseSet made through v1 is the one v2 lists, and either is what
``adaptation.phrase_set_references`` resolves. v1 speaks its own shapes (a PhraseSet's
``phrases`` and ``boost``; a CustomClass's ``custom_class_id`` and ``items``) and, unlike
v2, answers writes with the resource itself rather than an Operation. v1 has no Undelete: a
deleted resource is gone for v1 (v2 still shows it as ``DELETED`` until it expires).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf import empty_pb2, field_mask_pb2, json_format
from google.protobuf.message import Message

from hark.api.convert import ApiVersion
from hark.api.v2 import config as masks
from hark.api.v2.convert import message as v2_message
from hark.api.v2.recognizers import OUTPUT_ONLY, render, stored_payload
from hark.api.v2.service import check_custom_class, check_phrase_set
from hark.errors import NotFound
from hark.resources.lifecycle import NOT_FOUND, Resources
from hark.resources.names import ResourceName, new_name, parse_name, parse_parent

Method = Callable[[Any], Awaitable[Message]]


@dataclass(frozen=True)
class V1Kind:
    """A resource type as v1 names it."""

    collection: str
    type_name: str
    field: str
    list_type: str
    """v1's List request/response stem: ``ListPhraseSet`` (sic) or ``ListCustomClasses``."""
    plural: str
    check: Callable[[Any, ResourceName], None]


PHRASE_SET = V1Kind(
    "phraseSets", "PhraseSet", "phrase_set", "ListPhraseSet", "phrase_sets", check_phrase_set
)
CUSTOM_CLASS = V1Kind(
    "customClasses",
    "CustomClass",
    "custom_class",
    "ListCustomClasses",
    "custom_classes",
    check_custom_class,
)


class V1Resources:
    """Create/Get/List/Update/Delete of one kind, in one v1 version's messages."""

    def __init__(self, version: ApiVersion, kind: V1Kind, resources: Resources) -> None:
        self.version = version
        self.kind = kind
        self.resources = resources

    def methods(self) -> dict[str, tuple[Method, str]]:
        """gRPC method name -> (the method, its request message)."""
        name = self.kind.type_name
        return {
            f"Create{name}": (self.create, f"Create{name}Request"),
            f"Get{name}": (self.get, f"Get{name}Request"),
            self.kind.list_type: (self.list, f"{self.kind.list_type}Request"),
            f"Update{name}": (self.update, f"Update{name}Request"),
            f"Delete{name}": (self.delete, f"Delete{name}Request"),
        }

    async def create(self, request: Any) -> Message:
        resource_id = getattr(request, f"{self.kind.field}_id")
        name = new_name(request.parent, self.kind.collection, resource_id, f"{self.kind.field}_id")
        stored_message = self._to_v2(getattr(request, self.kind.field))
        self.kind.check(stored_message, name)
        return self._to_v1(
            render(await self.resources.create(name, stored_payload(stored_message)))
        )

    async def get(self, request: Any) -> Message:
        return self._to_v1(render(await self._active(self._name(request.name))))

    async def list(self, request: Any) -> Message:
        page = await self.resources.list(
            parse_parent(request.parent),
            self.kind.collection,
            request.page_size,
            request.page_token,
            False,
        )
        response: Any = self.version.message(f"{self.kind.list_type}Response")()
        getattr(response, self.kind.plural).extend(
            self._to_v1(render(stored)) for stored in page.resources
        )
        response.next_page_token = page.next_page_token
        return response

    async def update(self, request: Any) -> Message:
        given = getattr(request, self.kind.field)
        name = self._name(given.name, f"{self.kind.field}.name")
        await self._active(name)
        changed = self._to_v2(given)
        self.kind.check(changed, name)
        paths = [p for p in request.update_mask.paths if p != "custom_class_id"]
        if paths:
            masks.check_mask(paths, changed, field="update_mask")

        def change(payload: bytes) -> bytes:
            if not paths:
                return stored_payload(changed)
            current: Any = v2_message(self.kind.type_name)()
            current.ParseFromString(payload)
            mask = field_mask_pb2.FieldMask(paths=paths)
            return stored_payload(masks.merged(current, changed, mask))

        return self._to_v1(render(await self.resources.update(name, change)))

    async def delete(self, request: Any) -> Message:
        name = self._name(request.name)
        await self._active(name)
        await self.resources.delete(name)
        return empty_pb2.Empty()

    def _name(self, text: str, field: str = "name") -> ResourceName:
        return parse_name(text, self.kind.collection, field=field)

    async def _active(self, name: ResourceName) -> Any:
        found = await self.resources.get(name)
        if found.deleted:  # v1 has no soft delete: gone
            raise NotFound(NOT_FOUND)
        return found

    def _to_v2(self, resource: Message) -> Any:
        """The v2 message of a v1 resource: the fields both have, output-only ones aside."""
        target: Any = v2_message(self.kind.type_name)()
        fields = set(target.DESCRIPTOR.fields_by_name) - set(OUTPUT_ONLY)
        return _copy_fields(resource, target, fields)

    def _to_v1(self, resource: Any) -> Message:
        target: Any = self.version.message(self.kind.type_name)()
        _copy_fields(resource, target, set(target.DESCRIPTOR.fields_by_name))
        if self.kind is CUSTOM_CLASS:
            target.custom_class_id = resource.name.rpartition("/")[2]
        return target


def _copy_fields(source: Message, target: Message, fields: set[str]) -> Any:
    """``target`` with the fields named in ``fields`` copied from ``source`` (by JSON)."""
    document = json_format.MessageToDict(source, preserving_proto_field_name=True)
    kept = {key: value for key, value in document.items() if key in fields}
    return json_format.ParseDict(kept, target)


class AdaptationV1:
    """One version's Adaptation service: PhraseSets and CustomClasses."""

    def __init__(self, version: ApiVersion, resources: Resources) -> None:
        self.version = version
        self.phrase_sets = V1Resources(version, PHRASE_SET, resources)
        self.custom_classes = V1Resources(version, CUSTOM_CLASS, resources)

    @property
    def service(self) -> str:
        return f"{self.version.package}.Adaptation"

    def methods(self) -> dict[str, tuple[Method, str]]:
        return {**self.phrase_sets.methods(), **self.custom_classes.methods()}
