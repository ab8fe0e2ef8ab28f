"""The worker's side of the fleet: one ``hark worker`` process running Procrastinate jobs.

Each job is one attempt at an operation (``_attempt``):

1. ``begin``: the operation becomes ``running`` with ``attempt + 1``; if it is not open any
   more (done, cancelled, deleted: a duplicate delivery) the job ends at once.
2. A job delivered again after its workers died ``max_attempts`` times (Procrastinate's
   ``attempts``, counted by the reaper's retries) fails with a clear error instead of
   killing one more worker: a poison job.
3. The work runs through ``runner_for(fenced store)``, the service's own ``run``: every write
   it makes (progress, output error) and the completion are fenced by the attempt, so a
   zombie (a worker paused past its heartbeat whose job went elsewhere) changes nothing.
4. Cancel/delete on any replica aborts the Procrastinate job: the worker cancels the task
   (NOTIFY, or abort polling), and the progress write after the next window also finds the
   operation closed, whichever comes first.

Around the jobs: a heartbeat row in ``hark_workers`` (models, slots: routing and
``hark jobs``), a reaper that re-queues the jobs of workers without a heartbeat (one
reaper at a time, by advisory lock), and a watchdog thread that exits the process when an
engine call hangs (no progress for ``hang_seconds``), so the reaper gives its jobs to
another worker. SIGTERM stops taking jobs and lets running ones finish for ``grace_seconds``;
what is still running then is put back in the queue. A database restart is ridden out:
progress writes are best effort, and beginning and completing an attempt are tried again
for twice ``stalled_seconds``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import procrastinate
import psycopg
from procrastinate.job_context import AbortReason, JobContext
from psycopg import AsyncConnection
from psycopg_pool import PoolTimeout

from hark.errors import INTERNAL_MESSAGE, Code, SpeechError
from hark.jobs import Job, JobError, JobState, Runner
from hark.jobs.fleet import TASK, queue_for
from hark.jobs.postgres import PostgresJobStore

log = logging.getLogger(__name__)
T = TypeVar("T")

HUNG_EXIT = 70
"""The exit status of a worker whose engine call hung (EX_SOFTWARE)."""
_REAPER_LOCK = 7_245_310_015
POISONED = "The operation failed: the worker running it was lost {} times."


@dataclass(frozen=True)
class WorkerPolicy:
    """How one worker runs: what it serves, and its clocks."""

    models: tuple[str, ...]
    slots: int = 1
    heartbeat_seconds: float = 10.0
    stalled_seconds: float = 30.0
    """No heartbeat for this long: the worker is dead and its jobs go elsewhere."""
    max_attempts: int = 3
    """Worker deaths one job may cause before it fails."""
    hang_seconds: float = 600.0
    """An attempt with no progress for this long means a hung engine: the process exits."""
    grace_seconds: float = 30.0
    """After SIGTERM, how long running jobs may take to finish before they are re-queued."""
    name: str = ""


class FleetWorker:
    """Runs the operations queued for ``policy.models`` until SIGTERM/SIGINT."""

    def __init__(
        self,
        store: PostgresJobStore,
        app: procrastinate.App,
        runner_for: Callable[[PostgresJobStore], Runner],
        policy: WorkerPolicy,
    ) -> None:
        self._store = store
        self._app = app
        self._runner_for = runner_for
        self._policy = policy
        self.name = policy.name or f"{socket.gethostname()}:{os.getpid()}"
        self._beats: dict[str, tuple[int, float]] = {}
        """Running operations -> their progress, and when it last moved (monotonic)."""
        app.task(name=TASK, pass_context=True)(self._attempt)

    async def run(self) -> None:
        """Serve until stopped by a signal; the heartbeat row goes with the worker."""
        await self._heartbeat()  # from now on, API replicas route this worker's models here
        log.info(
            "Hark worker %s: %s, %d slot(s)",
            self.name,
            ", ".join(self._policy.models),
            self._policy.slots,
        )
        threading.Thread(target=self._watch, name="hark-watchdog", daemon=True).start()
        side = [asyncio.create_task(self._beat_forever()), asyncio.create_task(self._reap())]
        try:
            while not await self._serve_queues():
                await asyncio.sleep(1.0)
        finally:
            for task in side:
                task.cancel()
            await asyncio.gather(*side, return_exceptions=True)
            async with self._store.pool.connection() as db:
                await db.execute("DELETE FROM hark_workers WHERE name = %s", (self.name,))

    async def _serve_queues(self) -> bool:
        """Run Procrastinate's worker: True once a signal stopped it, False when it failed
        (after a database outage longer than ``stalled_seconds`` another worker may have
        pruned its registration, and Procrastinate then stops; it starts again here)."""
        try:
            await self._app.run_worker_async(
                queues=[queue_for(model) for model in self._policy.models],
                concurrency=self._policy.slots,
                name=self.name,
                update_heartbeat_interval=self._policy.heartbeat_seconds,
                stalled_worker_timeout=self._policy.stalled_seconds,
                fetch_job_polling_interval=1.0,
                abort_job_polling_interval=0.5,
                shutdown_graceful_timeout=self._policy.grace_seconds,
            )
        except procrastinate.exceptions.ConnectorException as error:
            # Only an outage, or the registration pruned meanwhile; anything else (a failure
            # while a signal stops the worker, say) ends the process as it is.
            if not isinstance(error.__cause__, psycopg.OperationalError | psycopg.IntegrityError):
                raise
            log.warning("the job loop stopped (%r); starting it again", error.__cause__)
            return False
        return True

    async def _attempt(self, context: JobContext, name: str) -> None:
        begin = functools.partial(self._store.begin, name, self.name, time.time())
        begun = await _persistently(begin, self._policy.stalled_seconds * 2)
        if begun is None:
            log.info("operation %s: not open any more; job %s ends", name, context.job.id)
            return
        job, attempt = begun
        fenced = self._store.fenced(attempt, lambda percent: self._beat(name, percent))
        if context.job.attempts >= self._policy.max_attempts:
            error = JobError(Code.INTERNAL, POISONED.format(context.job.attempts))
            log.error("operation %s: %s", name, error.message)
            await fenced.finish(name, JobState.FAILED, time.time(), error=error)
            return
        log.info("operation %s: attempt %d on %s", name, attempt, self.name)
        self._beat(name, -1)
        try:
            await self._work(job, attempt, fenced)
        except asyncio.CancelledError:
            if context.abort_reason() is AbortReason.SHUTDOWN:
                await self._requeue(name, fenced, context)
            raise
        finally:
            self._beats.pop(name, None)

    async def _work(self, job: Job, attempt: int, fenced: PostgresJobStore) -> None:
        state, result, error = JobState.DONE, None, None
        try:
            result = await self._runner_for(fenced)(job)
        except SpeechError as failure:
            state, error = JobState.FAILED, JobError(failure.code, failure.message)
        except Exception:
            log.exception("operation %s failed", job.name)
            state, error = JobState.FAILED, JobError(Code.INTERNAL, INTERNAL_MESSAGE)
        finish = functools.partial(
            fenced.finish, job.name, state, time.time(), result=result, error=error
        )
        if await _persistently(finish, self._policy.stalled_seconds * 2):
            log.info("operation %s: completed %s (attempt %d)", job.name, state.name, attempt)
        else:
            log.warning(
                "operation %s: attempt %d's %s discarded: the operation moved on"
                " (another attempt, cancel or delete)",
                job.name,
                attempt,
                state.name,
            )

    async def _requeue(self, name: str, fenced: PostgresJobStore, context: JobContext) -> None:
        """Shutting down with the work unfinished: the operation and a new job go back in
        the queue together (Procrastinate ends an aborted job for good)."""
        async with self._store.pool.connection() as db, db.transaction():
            released = await db.execute(
                "UPDATE hark_operations SET state = 'queued', worker = ''"
                " WHERE name = %s AND state = 'running' AND attempt = %s",
                (name, fenced.attempt),
            )
            if released.rowcount == 1:
                await self._app.configure_task(
                    TASK, queue=context.job.queue, lock=context.job.lock, connection=db
                ).defer_async(name=name)
                log.info("operation %s: put back in the queue (worker shutting down)", name)

    def _beat(self, name: str, percent: int) -> None:
        """Progress reports come every second while an engine call runs; only a change of
        ``percent`` shows that the engine moves."""
        if self._beats.get(name, (None, 0.0))[0] != percent:
            self._beats[name] = (percent, time.monotonic())

    def _watch(self) -> None:
        """The watchdog: exit the process when no running attempt has moved for
        ``hang_seconds`` (one that waits for the engine behind another may stand still;
        all of them standing still is the engine)."""
        while True:
            time.sleep(min(1.0, self._policy.hang_seconds / 4))
            beats = [beat for _, beat in list(self._beats.values())]
            if beats and time.monotonic() - max(beats) > self._policy.hang_seconds:
                log.critical(
                    "no progress for %.0f s on %d job(s): the engine hangs; exiting",
                    time.monotonic() - max(beats),
                    len(beats),
                )
                os._exit(HUNG_EXIT)

    async def _heartbeat(self) -> None:
        async with self._store.pool.connection() as db:
            await db.execute(
                "INSERT INTO hark_workers (name, models, slots, pid, host, running)"
                " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (name) DO UPDATE"
                " SET heartbeat = now(), running = excluded.running",
                (
                    self.name, list(self._policy.models), self._policy.slots, os.getpid(),
                    socket.gethostname(), len(self._beats),
                ),
            )  # fmt: skip

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self._policy.heartbeat_seconds)
            try:
                await self._heartbeat()
            except Exception as error:  # PostgreSQL restarting: the next beat retries
                log.warning("heartbeat failed: %r", error)

    async def _reap(self) -> None:
        while True:
            await asyncio.sleep(self._policy.heartbeat_seconds)
            try:
                await self._reap_once()
            except Exception as error:
                log.warning("reaper failed: %r", error)

    async def _abandoned(self, db: AsyncConnection, name: str) -> bool:
        """Whether a stalled Procrastinate job of operation ``name`` is to be run again: not
        while Hark's own heartbeat of the worker running it goes on (Procrastinate stops its
        heartbeat during a graceful shutdown, while jobs finish), nor once that worker has
        put the operation back in the queue with a new job (running the old one too would
        only be a duplicate). An ended or deleted operation's job is run again: it ends at
        once, and Procrastinate's row with it."""
        cursor = await db.execute(
            "SELECT o.state, w.heartbeat > now() - make_interval(secs => %s)"
            " FROM hark_operations o LEFT JOIN hark_workers w ON w.name = o.worker"
            " WHERE o.name = %s",
            (self._policy.stalled_seconds, name),
        )
        row = await cursor.fetchone()
        if row is None:
            return True
        state, beating = row
        return state != "queued" and not (state == "running" and beating)

    async def _reap_once(self) -> None:
        """Re-queue the jobs of dead workers (one reaper in the fleet at a time)."""
        manager = self._app.job_manager
        async with self._store.pool.connection() as db:
            row = await (
                await db.execute("SELECT pg_try_advisory_lock(%s)", (_REAPER_LOCK,))
            ).fetchone()
            if not row or not row[0]:
                return
            try:
                stalled = await manager.get_stalled_jobs(
                    seconds_since_heartbeat=self._policy.stalled_seconds
                )
                for job in stalled:
                    if not await self._abandoned(db, str(job.task_kwargs.get("name", ""))):
                        continue
                    await manager.retry_job(job)
                    log.warning("job %s (%s) lost its worker: re-queued", job.id, job.task_kwargs)
                await db.execute(
                    "DELETE FROM hark_workers WHERE heartbeat < now() - make_interval(secs => %s)",
                    (self._policy.stalled_seconds * 10,),
                )
            finally:
                await db.execute("SELECT pg_advisory_unlock(%s)", (_REAPER_LOCK,))


async def _persistently(call: Callable[[], Awaitable[T]], patience: float) -> T:
    """``call()``, tried again while the database is unreachable (a restart, a failover),
    for up to ``patience`` seconds; then its error."""
    deadline = time.monotonic() + patience
    while True:
        try:
            return await call()
        except (psycopg.OperationalError, PoolTimeout) as error:
            if time.monotonic() > deadline:
                raise
            log.warning("database unreachable (%s); trying again", str(error).strip())
            await asyncio.sleep(1.0)
