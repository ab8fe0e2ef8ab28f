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

from google.protobuf.message import Message
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hark.api import convert, jsonbody
from hark.api.rest import RestApi, reply
from hark.api.v2.convert import message
from hark.api.v2.service import SpeechV2

Method = Callable[[Any], Awaitable[Message]]
_PARENT = r"projects/[^/:]+/locations/[^/:]+"
_RECOGNIZER = _PARENT + r"/recognizers/[^/:]+"
_BOOLEANS = {"validateOnly", "allowMissing", "showDeleted"}
_QUERY_FIELDS = {"recognizerId", "updateMask", "etag", "pageSize", "pageToken", *_BOOLEANS}
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
    path_field: str = "parent"

    def path_value(self, path: str) -> str:
        """The value of ``path_field``: a collection's path less its last segment is the parent."""
        return path.rpartition("/")[0] if self.path_field == "parent" else path

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
        s = speech
        recognizers, recognizer = _PARENT + "/recognizers", _RECOGNIZER
        self.table = [
            V2Route("POST", recognizer, "recognize", s.recognize, "RecognizeRequest", "recognizer"),
            V2Route("POST", recognizers, "", s.create_recognizer, "CreateRecognizerRequest"),
            V2Route("GET", recognizers, "", s.list_recognizers, "ListRecognizersRequest"),
            V2Route("GET", recognizer, "", s.get_recognizer, "GetRecognizerRequest", "name"),
            V2Route(
                "PATCH", recognizer, "", s.update_recognizer, "UpdateRecognizerRequest",
                "recognizer.name",
            ),
            V2Route(
                "DELETE", recognizer, "", s.delete_recognizer, "DeleteRecognizerRequest", "name"
            ),
            V2Route(
                "POST", recognizer, "undelete", s.undelete_recognizer, "UndeleteRecognizerRequest",
                "name",
            ),
        ]  # fmt: skip

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
        parsed = jsonbody.parse_dict(document, message(type_name))
        self.rest.check_size(parsed)
        return parsed


def _with_body(type_name: str, body: dict[str, Any]) -> dict[str, Any]:
    """Create and Update send the resource itself as the body (``body: "recognizer"``)."""
    if type_name in ("CreateRecognizerRequest", "UpdateRecognizerRequest"):
        return {"recognizer": body}
    return dict(body)


def _set_path(document: dict[str, Any], field: str, value: str) -> None:
    head, _, rest = field.partition(".")
    if rest:
        inner = document.setdefault(head, {})
        if isinstance(inner, dict):
            inner[rest] = value
        return
    document[head] = value
