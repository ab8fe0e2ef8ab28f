"""``GET /readyz``: whether this server can take work now (``/healthz`` says only that it lives).

Ready means the model is loaded (and not shutting down) and the operations store answers a
query. 200 ``{"status": "READY"}``, else 503 with the failing checks named; no API key, like
``/healthz``, so a load balancer or Kubernetes probe can call it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

log = logging.getLogger(__name__)

PATH = "/readyz"


class Readiness:
    """The readiness probe over two checks: ``model_loaded()`` and ``await store_reachable()``
    (which raises when the store cannot be queried)."""

    def __init__(
        self, model_loaded: Callable[[], bool], store_reachable: Callable[[], Awaitable[object]]
    ) -> None:
        self.model_loaded = model_loaded
        self.store_reachable = store_reachable

    def routes(self) -> list[Route]:
        return [Route(PATH, self.probe, methods=["GET"])]

    async def probe(self, request: Request) -> Response:
        checks = {"model": self.model_loaded(), "store": await self._store_ok()}
        ready = all(checks.values())
        body = {"status": "READY" if ready else "NOT_READY", "checks": checks}
        return JSONResponse(body, status_code=200 if ready else 503)

    async def _store_ok(self) -> bool:
        try:
            await self.store_reachable()
        except Exception:
            log.warning("readiness: the operations store cannot be queried", exc_info=True)
            return False
        return True
