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
from hark.auth import ApiKeys
from hark.engine.pool import EnginePool
from hark.engine.whisper import WhisperEngine
from hark.settings import Settings
from hark.speech.recognizer import Recognizer
from hark.speech.stream_session import StreamingRecognizer
from hark.web.routes import StreamingSocket

log = logging.getLogger(__name__)

_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass
class Services:
    """What one Hark process owns; ``close`` releases it all."""

    engine: WhisperEngine
    pool: EnginePool
    recognizer: Recognizer
    streaming: StreamingRecognizer

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
    pool = EnginePool(engine, workers=engine_settings.workers, max_queue=engine_settings.max_queue)
    recognizer = Recognizer(pool, engine.info, settings.limits)
    streaming = StreamingRecognizer(recognizer, slots=engine_settings.workers)
    return Services(engine, pool, recognizer, streaming)


async def serve(settings: Settings) -> None:
    """Run Hark until SIGTERM or SIGINT."""
    if settings.host not in _LOCAL_HOSTS and not settings.api_keys:
        log.warning(
            "listening on %s with no API key: anyone who can reach this port can use Hark;"
            " pass --api-key to require one",
            settings.host,
        )
    services = await build_services(settings)
    keys = ApiKeys(settings.api_keys)
    rest = RestApi(services.recognizer, keys, settings.limits)
    socket = StreamingSocket(services.streaming, keys)
    server = _QuietServer(
        uvicorn.Config(
            rest.app(extra_routes=socket.routes()),
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            lifespan="off",
            access_log=False,
        )
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    rest_task = asyncio.create_task(server.serve())
    log.info(
        "Hark serving model %s: REST on http://%s:%d",
        services.engine.info.name,
        settings.host,
        settings.port,
    )
    stop_task = asyncio.create_task(stop.wait())
    await asyncio.wait({rest_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await rest_task
    stop_task.cancel()
    await services.close()
    log.info("Hark stopped")
