"""``hark worker``: one process of a fleet that runs long-running recognitions.

It loads the same core ``hark serve`` loads (``core.build_core``: models, engine pools, the
recogniser) and runs each job through the same ``LongRunningRecognizer.run`` the embedded
server uses, so a job decodes exactly as it would there. It serves no API: it takes jobs
from the queues of its models (``jobs.worker``) until SIGTERM or SIGINT.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import procrastinate

from hark.api import operations
from hark.core import Core, build_core
from hark.jobs import Runner
from hark.jobs.fleet import FleetPolicy, FleetQueue, open_fleet, routed_model
from hark.jobs.postgres import PostgresJobStore
from hark.jobs.service import LongRunningRecognizer
from hark.jobs.worker import FleetWorker, WorkerPolicy
from hark.settings import Settings
from hark.storage import AudioStorage

log = logging.getLogger(__name__)

CoreBuilder = Callable[[Settings, AudioStorage], Awaitable[Core]]


async def _real_core(settings: Settings, storage: AudioStorage) -> Core:
    return await build_core(settings, fetch=storage.read)


async def work(settings: Settings, build: CoreBuilder = _real_core) -> None:
    """Run jobs until a signal stops the worker; ``ValueError`` when it cannot start."""
    if not settings.database:
        raise ValueError("hark worker needs --database (or HARK_DATABASE)")
    fleet = await open_fleet(settings.database, pool_size=settings.jobs.job_workers + 4)
    try:
        storage = AudioStorage(settings.storage, settings.data_dir)
        core = await build(settings, storage)
        try:
            await _serve_jobs(settings, fleet.store, fleet.app, core, storage)
        finally:
            await core.close()
    finally:
        await fleet.close()
    log.info("Hark worker stopped")


async def _serve_jobs(
    settings: Settings,
    store: PostgresJobStore,
    app: procrastinate.App,
    core: Core,
    storage: AudioStorage,
) -> None:
    jobs = settings.jobs
    models = tuple(served.info.name for served in core.recognizer.served)
    queue = FleetQueue(
        store,
        app,
        route=routed_model(core.recognizer),
        policy=FleetPolicy(jobs.job_queue, jobs.stalled_seconds, jobs.unserved_model),
    )

    def runner_for(fenced: PostgresJobStore) -> Runner:
        return LongRunningRecognizer(
            core.recognizer,
            store=fenced,
            queue=queue,
            storage=storage,
            limits=settings.limits,
            render_output=operations.output_json,
        ).run

    policy = WorkerPolicy(
        models=models,
        slots=jobs.job_workers,
        heartbeat_seconds=jobs.heartbeat_seconds,
        stalled_seconds=jobs.stalled_seconds,
        max_attempts=jobs.max_attempts,
        hang_seconds=jobs.hang_seconds,
        grace_seconds=settings.shutdown_grace_seconds,
    )
    worker = FleetWorker(store, app, runner_for, policy)
    await worker.run()
