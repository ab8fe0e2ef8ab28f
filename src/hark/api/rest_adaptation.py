"""v1's Adaptation over REST: ``/{v1|v1p1beta1}/projects/*/locations/*/{phraseSets|customClasses}``.

Create's body is the whole request (``phraseSetId`` and ``phraseSet``), Update's the resource
itself with ``updateMask`` in the query, as Google's HTTP rules have it.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hark.api import convert, jsonbody
from hark.api.adaptation import AdaptationV1, V1Resources
from hark.api.rest import RestApi, reply

_PARENT = r"projects/[^/:]+/locations/[^/:]+"
_COLLECTION = re.compile(rf"({_PARENT})/(phraseSets|customClasses)")
_RESOURCE = re.compile(rf"{_PARENT}/(phraseSets|customClasses)/[^/:]+")


class AdaptationRoutes:
    """The routes of both versions' Adaptation services over one ``RestApi``."""

    def __init__(self, rest: RestApi, services: list[AdaptationV1]) -> None:
        self.rest = rest
        self.services = {service.version.name: service for service in services}

    def routes(self) -> list[Route]:
        methods = ["GET", "POST", "PATCH", "DELETE"]
        return [Route("/{version:str}/projects/{path:path}", self.dispatch, methods=methods)]

    async def dispatch(self, request: Request) -> Response:
        service = self.services.get(request.path_params["version"])
        path = "projects/" + request.path_params["path"]
        if service is not None:
            if match := _COLLECTION.fullmatch(path):
                return await self._collection(request, service, match)
            if match := _RESOURCE.fullmatch(path):
                return await self._resource(request, service, match.group(1), path)
        self.rest.authorize(request)
        raise convert.not_found(request.url.path)

    async def _collection(
        self, request: Request, service: AdaptationV1, match: re.Match[str]
    ) -> Response:
        kind = _kind(service, match.group(2))
        if request.method == "POST":
            document = await self.rest.parse_json(request)
            return await self._call(request, kind, "Create", {**document, "parent": match[1]})
        if request.method == "GET":
            self.rest.authorize(request)
            query = {
                key: request.query_params[key]
                for key in ("pageSize", "pageToken")
                if key in request.query_params
            }
            return await self._call(request, kind, "List", {**query, "parent": match[1]})
        raise convert.not_found(request.url.path)

    async def _resource(
        self, request: Request, service: AdaptationV1, collection: str, path: str
    ) -> Response:
        kind = _kind(service, collection)
        if request.method == "PATCH":
            body = {**await self.rest.parse_json(request), "name": path}
            document: dict[str, Any] = {_json_field(kind): body}
            if "updateMask" in request.query_params:
                document["updateMask"] = request.query_params["updateMask"]
            return await self._call(request, kind, "Update", document)
        self.rest.authorize(request)
        verb = {"GET": "Get", "DELETE": "Delete"}.get(request.method)
        if verb is None:
            raise convert.not_found(request.url.path)
        return await self._call(request, kind, verb, {"name": path})

    async def _call(
        self, request: Request, kind: V1Resources, verb: str, document: dict[str, Any]
    ) -> Response:
        name = kind.kind.list_type if verb == "List" else f"{verb}{kind.kind.type_name}"
        method, type_name = kind.methods()[name]
        parsed = jsonbody.parse_dict(document, kind.version.message(type_name))
        self.rest.check_size(parsed)
        return reply(request, await method(parsed))


def _kind(service: AdaptationV1, collection: str) -> V1Resources:
    return service.phrase_sets if collection == "phraseSets" else service.custom_classes


def _json_field(kind: V1Resources) -> str:
    return "phraseSet" if kind.kind.collection == "phraseSets" else "customClass"
