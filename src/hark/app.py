"""The composition root: builds the engine, the core and the transports, and runs them.

One process serves REST (uvicorn) and gRPC in one event loop over one loaded model.
SIGTERM / SIGINT stop both gracefully: no new requests, in-flight ones finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from dataclasses import dataclass

import uvicorn

from hark.api.rest import RestApi
from hark.api.rpc_server import RpcServer, Tls
from hark.auth import ApiKeys
from hark.engine.pool import EnginePool
from hark.engine.whisper import WhisperEngine
from hark.settings import Settings
from hark.speech.recognizer import Recognizer

log = logging.getLogger(__name__)

_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass
class Services:
    """What one Hark process owns; ``close`` releases it all."""

    engine: WhisperEngine
    pool: EnginePool
    recognizer: Recognizer

    async def close(self) -> None:
        await self.pool.close()
        self.engine.close()


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: ``serve`` owns SIGTERM and SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def build_services(settings: Settings) -> Services:
    """Load the model (off the event loop) and build the core around it."""
    engine_settings = settings.engine
    engine = await asyncio.to_thread(
        WhisperEngine.load,
        engine_settings.model,
        device=engine_settings.device,
        compute_type=engine_settings.compute_type,
        cpu_threads=engine_settings.cpu_threads,
        num_workers=engine_settings.workers,
        download_root=engine_settings.download_root,
    )
    pool = EnginePool(
        engine,
        workers=engine_settings.workers,
        max_queue=engine_settings.max_queue,
        max_batch=engine_settings.max_batch,
    )
    recognizer = Recognizer(pool, engine.info, settings.limits)
    return Services(engine, pool, recognizer)


def tls_of(settings: Settings) -> Tls | None:
    """The TLS pair to serve with, or None; raises ``ValueError`` when only half is given."""
    if settings.tls_cert is None and settings.tls_key is None:
        return None
    if settings.tls_cert is None or settings.tls_key is None:
        raise ValueError("--tls-cert and --tls-key go together: give both or neither")
    return Tls(settings.tls_cert, settings.tls_key)


async def serve(settings: Settings) -> None:
    """Run Hark (REST and gRPC) until SIGTERM or SIGINT, then stop both gracefully."""
    tls = tls_of(settings)
    if settings.host not in _LOCAL_HOSTS and not settings.api_keys:
        log.warning(
            "listening on %s with no API key: anyone who can reach this port can use Hark;"
            " pass --api-key to require one",
            settings.host,
        )
    services = await build_services(settings)
    keys = ApiKeys(settings.api_keys)
    rest = RestApi(services.recognizer, keys, settings.limits)
    server = _QuietServer(
        uvicorn.Config(
            rest.app(),
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            lifespan="off",
            access_log=False,
            ssl_certfile=tls.cert if tls else None,
            ssl_keyfile=tls.key if tls else None,
            timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
        )
    )
    rpc = RpcServer(services.recognizer, keys, settings.limits)
    try:
        await rpc.start(settings.host, settings.grpc_port, tls)
    except OSError:
        await services.close()
        raise
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    rest_task = asyncio.create_task(server.serve())
    scheme = "https" if tls else "http"
    log.info(
        "Hark serving model %s: REST on %s://%s:%d, gRPC%s on %s:%d",
        services.engine.info.name,
        scheme,
        settings.host,
        settings.port,
        " (TLS)" if tls else "",
        settings.host,
        settings.grpc_port,
    )
    stop_task = asyncio.create_task(stop.wait())
    await asyncio.wait({rest_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    await rpc.stop(settings.shutdown_grace_seconds)
    with contextlib.suppress(asyncio.CancelledError):
        await rest_task
    stop_task.cancel()
    await services.close()
    log.info("Hark stopped")
