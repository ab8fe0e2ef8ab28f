"""v2's REST routes: ``/v2/projects/{project}/locations/{location}/...``.

Google's paths put resource names in the URL and a verb after a colon
(``.../recognizers/_:recognize``); one route per HTTP method takes the whole path and
``_route`` picks the method by its shape, so a path v2 does not have is Google's NOT_FOUND.
Query parameters (``recognizerId``, ``validateOnly``, ``updateMask``, ``etag``...) join the
body into the request message, as Google's transcoding does.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from google.cloud.location import locations_pb2
from google.longrunning import operations_pb2
from google.protobuf import empty_pb2
from google.protobuf.message import Message
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hark.api import convert, jsonbody
from hark.api.rest import RestApi, reply
from hark.api.v2.convert import message
from hark.api.v2.locations import Locations
from hark.api.v2.operations import V2Operations
from hark.api.v2.resource_methods import ResourceMethods, plural_type
from hark.api.v2.service import SpeechV2

Method = Callable[[Any], Awaitable[Message]]
_PROJECT = r"projects/[^/:]+"
_PARENT = _PROJECT + r"/locations/[^/:]+"
_RECOGNIZER = _PARENT + r"/recognizers/[^/:]+"
_BOOLEANS = {"validateOnly", "allowMissing", "showDeleted"}
_LISTS_BY_NAME = {"ListOperationsRequest", "ListLocationsRequest"}
_RESOURCE_BODIES = {
    "Recognizer": "recognizer",
    "PhraseSet": "phraseSet",
    "CustomClass": "customClass",
}
"""Each resource's request field, which its Create and Update bodies fill."""
_QUERY_FIELDS = {
    "recognizerId", "phraseSetId", "customClassId", "updateMask", "etag", "pageSize",
    "pageToken", "filter", *_BOOLEANS,
}  # fmt: skip
"""Request fields a client sends as query parameters (camelCase, as Google's transcoding)."""


@dataclass(frozen=True)
class V2Route:
    """One v2 method's HTTP shape: method, path pattern, verb after the colon, the request
    message, and the request field the path fills."""

    http_method: str
    pattern: str
    verb: str
    method: Method
    request_type: str
    path_field: str = "name"

    def path_value(self, path: str) -> str:
        """The value of ``path_field``: a collection's path less its last segment is the parent
        (``name`` of ListOperations/ListLocations too)."""
        collection = self.path_field == "parent" or self.request_type in _LISTS_BY_NAME
        return path.rpartition("/")[0] if collection else path

    def matches(self, http_method: str, path: str, verb: str) -> bool:
        return (
            http_method == self.http_method
            and verb == self.verb
            and re.fullmatch(self.pattern, path) is not None
        )


class RestV2:
    """The v2 routes, over one ``RestApi`` (keys, body limits, JSON) and ``SpeechV2``."""

    def __init__(self, rest: RestApi, speech: SpeechV2) -> None:
        self.rest = rest
        self.speech = speech
        s, ops, places = speech, speech.operations, Locations()
        recognizer = _RECOGNIZER
        operations, operation = _PARENT + "/operations", _PARENT + "/operations/[^/:]+"
        self.table = [
            V2Route("POST", recognizer, "recognize", s.recognize, "RecognizeRequest", "recognizer"),
            V2Route("POST", recognizer, "batchRecognize", s.batch_recognize,
                    "BatchRecognizeRequest", "recognizer"),
            V2Route("GET", _PARENT + "/config", "", s.get_config, "GetConfigRequest"),
            V2Route("PATCH", _PARENT + "/config", "", s.update_config, "UpdateConfigRequest",
                    "config.name"),
            V2Route("GET", operation, "", _get_operation(ops), "GetOperationRequest"),
            V2Route("GET", operations, "", _list_operations(ops), "ListOperationsRequest"),
            V2Route("DELETE", operation, "", _delete_operation(ops), "DeleteOperationRequest"),
            V2Route("POST", operation, "cancel", _cancel_operation(ops), "CancelOperationRequest"),
            V2Route("GET", _PROJECT + "/locations", "", places.list_locations,
                    "ListLocationsRequest"),
            V2Route("GET", _PARENT, "", places.get_location, "GetLocationRequest"),
        ]  # fmt: skip
        for resources in (s.recognizers, s.phrase_sets, s.custom_classes):
            self.table += _standard_routes(resources)

    def routes(self) -> list[Route]:
        return [Route("/v2/{path:path}", self.dispatch, methods=["GET", "POST", "PATCH", "DELETE"])]

    async def dispatch(self, request: Request) -> Response:
        path, _, verb = request.path_params["path"].partition(":")
        for route in self.table:
            if route.matches(request.method, path, verb):
                parsed = await self._request(
                    request, route.request_type, route.path_field, route.path_value(path)
                )
                return reply(request, await route.method(parsed))
        self.rest.authorize(request)
        raise convert.not_found(request.url.path)

    async def _request(self, request: Request, type_name: str, path_field: str, path: str) -> Any:
        """The request message: the body (or, for a resource body, the resource), the path
        field and the query parameters."""
        if request.method in ("POST", "PATCH"):
            body = await self.rest.parse_json(request)
        else:
            self.rest.authorize(request)
            body = {}
        document = _with_body(type_name, body)
        _set_path(document, path_field, path)
        for key, value in request.query_params.items():
            if key in _QUERY_FIELDS:
                document[key] = value.lower() == "true" if key in _BOOLEANS else value
        parsed = jsonbody.parse_dict(document, _message_class(type_name))
        self.rest.check_size(parsed)
        return parsed


def _standard_routes(resources: ResourceMethods) -> list[V2Route]:
    """Google's HTTP shapes of the six standard methods of one resource type."""
    kind = resources.kind
    collection = f"{_PARENT}/{kind.collection}"
    one = collection + "/[^/:]+"
    methods = resources.standard_methods()
    singular, plural = kind.type_name, plural_type(kind)

    def route(http_method: str, path: str, verb: str, method: str, field: str) -> V2Route:
        call, request_type = methods[method]
        return V2Route(http_method, path, verb, call, request_type, field)

    return [
        route("POST", collection, "", f"Create{singular}", "parent"),
        route("GET", collection, "", f"List{plural}", "parent"),
        route("GET", one, "", f"Get{singular}", "name"),
        route("PATCH", one, "", f"Update{singular}", f"{kind.field}.name"),
        route("DELETE", one, "", f"Delete{singular}", "name"),
        route("POST", one, "undelete", f"Undelete{singular}", "name"),
    ]


def _message_class(type_name: str) -> type[Message]:
    """v2's request classes, and the Operations and Locations ones from googleapis."""
    for module in (operations_pb2, locations_pb2):
        if hasattr(module, type_name):
            cls: type[Message] = getattr(module, type_name)
            return cls
    return message(type_name)


def _get_operation(ops: V2Operations) -> Method:
    return lambda request: ops.get(request.name)


def _list_operations(ops: V2Operations) -> Method:
    return lambda request: ops.list(request.name, request.page_size, request.page_token)


def _delete_operation(ops: V2Operations) -> Method:
    async def delete(request: Any) -> Message:
        await ops.delete(request.name)
        return empty_pb2.Empty()

    return delete


def _cancel_operation(ops: V2Operations) -> Method:
    async def cancel(request: Any) -> Message:
        await ops.cancel(request.name)
        return empty_pb2.Empty()

    return cancel


def _with_body(type_name: str, body: dict[str, Any]) -> dict[str, Any]:
    """Create and Update send the resource itself as the body (``body: "recognizer"``)."""
    for resource, field in _RESOURCE_BODIES.items():
        if type_name in (f"Create{resource}Request", f"Update{resource}Request"):
            return {field: body}
    if type_name == "UpdateConfigRequest":
        return {"config": body}
    return dict(body)


def _set_path(document: dict[str, Any], field: str, value: str) -> None:
    head, _, rest = field.partition(".")
    first, *others = head.split("_")  # JSON's name: phrase_set -> phraseSet
    head = first + "".join(other.title() for other in others)
    if rest:
        inner = document.setdefault(head, {})
        if isinstance(inner, dict):
            inner[rest] = value
        return
    document[head] = value
