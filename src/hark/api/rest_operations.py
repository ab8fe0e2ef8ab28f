"""REST routes of long-running recognition and google.longrunning.Operations.

``POST /{v1|v1p1beta1}/speech:longrunningrecognize``, legacy
``POST /v1beta1/speech:asyncrecognize``, and under ``/v1``, ``/v1p1beta1`` and ``/v1beta1``:
``GET operations/{name}``, ``GET operations``, ``POST operations/{name}:cancel``,
``DELETE operations/{name}``. Each route converts, calls ``jobs.service.LongRunningRecognizer``
and renders the job with ``api.operations``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hark.api import access, convert, jsonbody, operations
from hark.api.rest import RestApi, path_version
from hark.auth import Caller
from hark.errors import InvalidArgument
from hark.jobs import Job
from hark.jobs.service import LongRunningRecognizer

_OPERATION_VERSIONS = {*convert.VERSIONS, operations.LEGACY}


class OperationRoutes:
    """The routes, over one ``RestApi`` (parsing, keys, limits) and the long-running core."""

    def __init__(self, rest: RestApi, core: LongRunningRecognizer) -> None:
        self.rest = rest
        self.core = core

    def routes(self) -> list[Route]:
        ops = "/{version:str}/operations"
        return [
            Route("/{version:str}/speech:longrunningrecognize", self.submit, methods=["POST"]),
            Route("/v1beta1/speech:asyncrecognize", self.submit_legacy, methods=["POST"]),
            Route(ops + "/{name:str}:cancel", self.cancel, methods=["POST"]),
            Route(ops + "/{name:str}", self.get, methods=["GET"]),
            Route(ops + "/{name:str}", self.delete, methods=["DELETE"]),
            Route(ops, self.list, methods=["GET"]),
        ]

    async def submit(self, request: Request) -> Response:
        version = path_version(request)
        message: Any = await self.rest.parse(
            request, version.message("LongRunningRecognizeRequest")
        )
        output_uri = message.output_config.gcs_uri
        owner = self.rest.authorize(request).owner
        args = convert.recognize_args(message)
        job = await self.core.submit(version.name, *args, output_uri, owner=owner)
        return _reply(request, job)

    async def submit_legacy(self, request: Request) -> Response:
        message: Any = await self.rest.parse_legacy(request, "LongRunningRecognizeRequest")
        owner = self.rest.authorize(request).owner
        job = await self.core.submit(
            operations.LEGACY, *convert.recognize_args(message), owner=owner
        )
        return _reply(request, job)

    async def get(self, request: Request) -> Response:
        _, caller = self._authorize(request)
        return _reply(request, await self.core.get(request.path_params["name"], caller.sees))

    async def list(self, request: Request) -> Response:
        version, caller = self._authorize(request)
        query = request.query_params
        page = await self.core.list(
            api_version=version,
            filter_text=query.get("filter", ""),
            page_size=_integer(query.get("pageSize") or query.get("page_size") or "0"),
            page_token=query.get("pageToken") or query.get("page_token") or "",
            owner=caller.sees,
        )
        integer_enums = jsonbody.wants_integer_enums(dict(query))
        return JSONResponse(operations.list_json(page, integer_enums=integer_enums))

    async def cancel(self, request: Request) -> Response:
        _, caller = self._authorize(request)
        await self.core.cancel(request.path_params["name"], caller.sees)
        return JSONResponse({})

    async def delete(self, request: Request) -> Response:
        _, caller = self._authorize(request)
        await self.core.delete(request.path_params["name"], caller.sees)
        return JSONResponse({})

    def _authorize(self, request: Request) -> tuple[str, Caller]:
        """The path's API version and the caller, after the API key check."""
        version: str = request.path_params["version"]
        if version not in _OPERATION_VERSIONS:
            raise convert.not_found(request.url.path)
        return version, self.rest.authorize(request)


def _reply(request: Request, job: Job) -> Response:
    access.note(request.scope, operation=job.name)
    integer_enums = jsonbody.wants_integer_enums(dict(request.query_params))
    return JSONResponse(operations.operation_json(job, integer_enums=integer_enums))


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidArgument(f"Invalid value at 'page_size' (TYPE_INT32), \"{text}\"") from None
