"""The composition root: builds the engine, the core and the transports, and runs them.

One process serves REST (uvicorn) and gRPC in one event loop over one loaded model.
SIGTERM / SIGINT stop both gracefully: no new requests, in-flight ones finish; a
long-running operation being recognised stays ``running`` in the store and is re-run at the
next start. One process owns a data dir at a time (a lock file), so no job runs twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import logging
import os
import signal
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

import uvicorn

from hark.api import operations
from hark.api.adaptation import AdaptationV1
from hark.api.browser import BrowserPolicy
from hark.api.console import Console
from hark.api.convert import V1, V1P1BETA1
from hark.api.deadlines import header_deadline
from hark.api.metrics import FleetCounts, Metrics
from hark.api.openai import OpenAIApi
from hark.api.ready import Readiness
from hark.api.rest import RestApi
from hark.api.rest_adaptation import AdaptationRoutes
from hark.api.rest_operations import OperationRoutes
from hark.api.rpc_adaptation import AdaptationServicer
from hark.api.rpc_server import RpcServer, Tls
from hark.api.v2.adaptation import StoredAdaptation
from hark.api.v2.rest import RestV2
from hark.api.v2.rpc import LocationsServicer, SpeechV2Servicer
from hark.api.v2.service import SpeechV2
from hark.api.websocket import StreamingSocket
from hark.auth import ApiKeys
from hark.core import Core, build_core
from hark.jobs import JobQueue, JobState, JobStore
from hark.jobs.local import LocalJobQueue
from hark.jobs.service import LongRunningRecognizer
from hark.jobs.sqlite import SqliteJobStore
from hark.resources.lifecycle import Resources
from hark.resources.sqlite import SqliteResourceStore
from hark.settings import Settings
from hark.speech.diarization import Diarizer
from hark.speech.streaming.session import StreamingRecognizer
from hark.storage import AudioStorage

log = logging.getLogger(__name__)

_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass
class Services:
    """What one ``hark serve`` process owns; ``close`` releases it all."""

    core: Core
    streaming: StreamingRecognizer
    long_running: LongRunningRecognizer
    jobs: JobQueue
    store: JobStore
    lock: IO[bytes] | None
    """The data dir's lock: SQLite mode only (a fleet's processes may share a data dir)."""
    resources: Resources
    fleet_counts: FleetCounts | None = None
    """A fleet's queue depths and worker health, for the metrics (None: embedded)."""

    async def close(self) -> None:
        await self.jobs.close()
        await self.store.close()
        await self.resources.store.close()
        await self.core.close()
        if self.lock is not None:
            self.lock.close()


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: ``serve`` owns SIGTERM and SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def lock_data_dir(settings: Settings) -> IO[bytes]:
    """Hold ``<data-dir>/hark.lock`` for the life of the process; OSError if another has it."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    lock = open(settings.data_dir / "hark.lock", "wb")  # noqa: SIM115 - held until close
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise OSError(f"data dir {settings.data_dir} is in use by another Hark") from None
    return lock


async def build_services(settings: Settings) -> Services:
    """The core plus what a server adds: storage, streaming, durable jobs (workers started)."""
    if settings.database:
        return await _fleet_services(settings)
    lock = lock_data_dir(settings)
    storage = AudioStorage(settings.storage, settings.data_dir)
    storage.clean_work_dir()
    resources = Resources(SqliteResourceStore(settings.data_dir / "resources.sqlite3"))
    core = await build_core(
        settings, fetch=storage.read, resolve_adaptation=StoredAdaptation(resources)
    )
    streaming = StreamingRecognizer(core.recognizer, slots=core.pool.workers)
    store = SqliteJobStore(settings.data_dir / "jobs.sqlite3")
    jobs = LocalJobQueue(
        store,
        workers=settings.jobs.job_workers,
        max_queue=settings.jobs.job_queue,
        retention_seconds=settings.jobs.operation_retention_seconds,
    )
    long_running = LongRunningRecognizer(
        core.recognizer,
        store=store,
        queue=jobs,
        storage=storage,
        limits=settings.limits,
        render_output=operations.output_json,
    )
    await jobs.start(long_running.run)
    return Services(core, streaming, long_running, jobs, store, lock, resources)


async def _fleet_services(settings: Settings) -> Services:
    """An API replica of a fleet: operations in PostgreSQL, jobs only enqueued (``hark
    worker`` runs them), no data-dir lock; it shares the data dir's buckets with the rest."""
    # Imported here: the fleet's libraries (hark[fleet]) are not needed by the embedded server.
    from hark.jobs.fleet import FleetPolicy, FleetQueue, open_fleet, routed_model  # noqa: PLC0415
    from hark.jobs.fleet_status import fleet_status  # noqa: PLC0415

    fleet = await open_fleet(settings.database, pool_size=16)
    try:
        storage = AudioStorage(settings.storage, settings.data_dir)
        # v2 resources stay in the (shared) data dir's SQLite file; see the README's fleet notes.
        resources = Resources(SqliteResourceStore(settings.data_dir / "resources.sqlite3"))
        core = await build_core(
            settings, fetch=storage.read, resolve_adaptation=StoredAdaptation(resources)
        )
    except BaseException:
        await fleet.close()
        raise
    streaming = StreamingRecognizer(core.recognizer, slots=core.pool.workers)
    jobs_settings = settings.jobs
    policy = FleetPolicy(
        jobs_settings.job_queue,
        jobs_settings.stalled_seconds,
        jobs_settings.unserved_model,
        jobs_settings.operation_retention_seconds,
    )
    jobs = FleetQueue(fleet.store, fleet.app, route=routed_model(core.recognizer), policy=policy)
    long_running = LongRunningRecognizer(
        core.recognizer,
        store=fleet.store,
        queue=jobs,
        storage=storage,
        limits=settings.limits,
        render_output=operations.output_json,
    )
    await jobs.start(long_running.run)  # the purge of finished operations; no jobs run here
    stalled = jobs_settings.stalled_seconds

    async def counts() -> tuple[dict[str, tuple[int, int]], int, int]:
        status = await fleet_status(fleet.store.pool, stalled)
        alive = sum(worker.alive for worker in status.workers)
        queues = {queue.model: (queue.waiting, queue.running) for queue in status.queues}
        return queues, alive, len(status.workers) - alive

    return Services(core, streaming, long_running, jobs, fleet.store, None, resources, counts)


def observe(services: Services) -> Metrics:
    """The server's metrics (a registry of its own), fed by the engine pool and the store."""
    metrics = Metrics()
    pool = services.core.pool
    pool.observer = metrics
    metrics.watch_queue(lambda: pool.waiting)
    metrics.watch_operations(services.store.count_by_state, [state.value for state in JobState])
    if services.fleet_counts is not None:
        metrics.watch_fleet(services.fleet_counts)
    metrics.model_loaded.labels(services.core.engine.info.name).set_function(
        lambda: 0.0 if pool.closed else 1.0
    )
    return metrics


def tls_of(settings: Settings) -> Tls | None:
    """The TLS pair to serve with, or None; raises ``ValueError`` when only half is given."""
    if settings.tls_cert is None and settings.tls_key is None:
        return None
    if settings.tls_cert is None or settings.tls_key is None:
        raise ValueError("--tls-cert and --tls-key go together: give both or neither")
    return Tls(settings.tls_cert, settings.tls_key)


def listen(host: str, port: int, *, what: str, flag: str) -> socket.socket:
    """A socket listening on ``host:port``, or one clear ``OSError`` naming the flag to change.

    Hark binds its ports before the model loads, so a clash is reported at once and in one line
    (uvicorn binding later would exit from inside its task with a traceback).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as error:
        in_use = error.errno == errno.EADDRINUSE
        reason = "is in use" if in_use else f"cannot be bound ({os.strerror(error.errno or 0)})"
        raise OSError(f"{what} port {host}:{port} {reason}; choose another with {flag}") from None


async def serve(settings: Settings) -> None:
    """Run Hark (REST and gRPC) until SIGTERM or SIGINT, then stop both gracefully.

    The ready line is logged only once both transports listen; any start-up failure is an
    ``OSError``/``ValueError`` (or ``ModelUnavailable``) with everything opened closed again.
    """
    tls = tls_of(settings)
    if settings.host not in _LOCAL_HOSTS and not (settings.api_keys or settings.admin_keys):
        log.warning(
            "listening on %s with no API key: anyone who can reach this port can use Hark;"
            " pass --api-key to require one",
            settings.host,
        )
    async with contextlib.AsyncExitStack() as opened:
        rest_socket = opened.enter_context(
            listen(settings.host, settings.port, what="REST", flag="--port")
        )
        # A probe: gRPC binds its own socket later, without SO_REUSEPORT (see rpc_server).
        listen(settings.host, settings.grpc_port, what="gRPC", flag="--grpc-port").close()
        services = await build_services(settings)
        opened.push_async_callback(services.close)
        keys = ApiKeys(settings.api_keys, settings.admin_keys)
        browser = BrowserPolicy.for_server(
            settings.host, settings.allowed_hosts, settings.allowed_origins
        )
        metrics = observe(services)
        rest = RestApi(services.core.recognizer, keys, settings.limits, browser, metrics=metrics)
        speech_v2 = SpeechV2(
            services.core.recognizer,
            services.resources,
            settings.limits,
            long_running=services.long_running,
            storage=services.long_running.storage,
        )
        opened.push_async_callback(speech_v2.close)
        adaptation = [AdaptationV1(version, services.resources) for version in (V1, V1P1BETA1)]
        routes = [
            *RestV2(rest, speech_v2).routes(),
            *AdaptationRoutes(rest, adaptation).routes(),
            *OperationRoutes(rest, services.long_running).routes(),
            *StreamingSocket(services.streaming, keys, browser, metrics=metrics).routes(),
            *OpenAIApi(services.core.recognizer, keys, settings.limits, browser).routes(),
            *metrics.routes(),
            *Readiness(
                lambda: not services.core.pool.closed, services.store.count_by_state
            ).routes(),
            *Console(
                rest,
                settings.data_dir / "buckets",
                uploads=settings.storage.gcs == "local",
                max_bytes=settings.limits.console_upload_max_bytes,
                keep_seconds=settings.jobs.operation_retention_seconds,
            ).routes(),
        ]
        server = _QuietServer(
            uvicorn.Config(
                rest.app(routes),
                log_config=None,  # uvicorn's lines go through Hark's logging setup
                log_level=settings.log_level,
                lifespan="off",
                access_log=False,
                ssl_certfile=tls.cert if tls else None,
                ssl_keyfile=tls.key if tls else None,
                timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
                limit_concurrency=settings.max_connections,
                http=header_deadline(settings.limits.request_timeout_seconds),
            )
        )
        rpc = RpcServer(
            services.core.recognizer,
            services.long_running,
            services.streaming,
            keys,
            settings.limits,
            metrics=metrics,
            max_calls=settings.max_connections,
            more=[
                SpeechV2Servicer(speech_v2, services.streaming),
                LocationsServicer(),
                *(AdaptationServicer(service) for service in adaptation),
            ],
            projects=speech_v2.operations,
        )
        await rpc.start(settings.host, settings.grpc_port, tls)
        rest_task = asyncio.create_task(server.serve(sockets=[rest_socket]))
        opened.push_async_callback(_stop, server, rest_task, rpc, settings.shutdown_grace_seconds)
        if await _started(server, rest_task):
            log.info(
                "Hark serving %s: REST on %s://%s:%d, gRPC%s on %s:%d",
                ", ".join(served.info.name for served in services.core.recognizer.served),
                "https" if tls else "http",
                settings.host,
                settings.port,
                " (TLS)" if tls else "",
                settings.host,
                settings.grpc_port,
            )
            _log_diarization(services.core.recognizer.diarizer)
            await _until_signal(rest_task)
    log.info("Hark stopped")


async def _started(server: _QuietServer, rest_task: asyncio.Task[None]) -> bool:
    """Wait until uvicorn serves on its socket; False if it ended first (its error follows)."""
    while not server.started and not rest_task.done():
        await asyncio.sleep(0.02)
    return server.started


async def _until_signal(rest_task: asyncio.Task[None]) -> None:
    """Return on SIGTERM or SIGINT (or if REST stops by itself)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    stop_task = asyncio.create_task(stop.wait())
    await asyncio.wait({rest_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
    stop_task.cancel()


async def _stop(
    server: _QuietServer, rest_task: asyncio.Task[None], rpc: RpcServer, grace: float
) -> None:
    """Both transports refuse new calls at once, then in-flight ones get ``grace`` s."""
    server.should_exit = True
    await rpc.stop(grace)
    with contextlib.suppress(asyncio.CancelledError):
        await rest_task


def _log_diarization(diarizer: Diarizer | None) -> None:
    """Say at start whether speaker diarization can run, and what turns it on if not."""
    if diarizer is not None and diarizer.weights.is_file():
        log.info("Speaker diarization ready (%s)", diarizer.weights)
    else:
        log.info("Speaker diarization off until `hark models pull` fetches its weights")
