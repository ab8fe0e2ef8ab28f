"""``/readyz`` in-process: 200 only when the model is loaded and the store answers."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.testclient import TestClient

from hark.api.ready import Readiness


async def answers() -> dict[str, int]:
    return {}


async def unreachable() -> dict[str, int]:
    raise OSError("disk I/O error")


def readyz(model_loaded: bool, store_ok: bool) -> tuple[int, object]:
    readiness = Readiness(lambda: model_loaded, answers if store_ok else unreachable)
    with TestClient(Starlette(routes=readiness.routes())) as client:
        reply = client.get("/readyz")
    return reply.status_code, reply.json()


def test_ready_when_the_model_is_loaded_and_the_store_answers() -> None:
    assert readyz(True, True) == (
        200,
        {"status": "READY", "checks": {"model": True, "store": True}},
    )


def test_not_ready_names_what_failed() -> None:
    assert readyz(False, True) == (
        503,
        {"status": "NOT_READY", "checks": {"model": False, "store": True}},
    )
    assert readyz(True, False) == (
        503,
        {"status": "NOT_READY", "checks": {"model": True, "store": False}},
    )
