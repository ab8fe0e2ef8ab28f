"""``JobQueue`` for a fleet: Procrastinate on the same PostgreSQL as the operations.

An API replica (``hark serve --database``) only enqueues: ``submit`` writes the operation and
its Procrastinate job in one transaction (both or neither), on the queue of the model the
request is routed to (``asr.<model>``), with a lock that works as a fairness lane (below).
``stop_work`` asks Procrastinate to abort the job, which reaches the worker running it by
NOTIFY (or its abort polling). Workers (``jobs.worker``) run the jobs.

**Fairness**, two ways. Each job's Procrastinate priority is minus its rank among its
owner's open operations (the API key's 1st waiting job 0, its 10th -9): workers take jobs
by priority, so a key that floods the queue waits behind the first jobs of every other key
instead of in front of them (the lock lanes of the research notes alone let a lone key's
backlog keep every worker, and a newcomer still waited behind it). And Procrastinate does
not start a job while another with the same lock runs, so each job is deferred with the
lock ``<owner>#<lane>``: one key occupies at most ``lanes`` workers at once, ``lanes``
being the live slots shared among the keys with open operations (at least 1), so a key
alone still uses the whole fleet.

**A model no live worker serves** (no heartbeat within ``stalled_seconds``) is refused with
FAILED_PRECONDITION, or (``unserved="queue"``) accepted and left visibly ``queued`` until a
worker for it starts.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import procrastinate
import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from hark.errors import FailedPrecondition, ResourceExhausted
from hark.jobs import Job, Runner, pg_schema, retention
from hark.jobs.postgres import PURGE_LOCK, Listener, PostgresJobStore, connection_pool, take_turn
from hark.speech.recognizer import Recognizer
from hark.speech.types import RecognitionConfig

log = logging.getLogger(__name__)

_MAX_RANK = 10_000
TASK = "hark.recognize"
"""The Procrastinate task name of one long-running recognition (kwargs: ``name``)."""


def routed_model(recognizer: Recognizer) -> Callable[[RecognitionConfig], str]:
    """The name of the model ``recognizer`` routes a config to (what names its queue)."""
    names = [served.info.name for served in recognizer.served]
    return lambda config: names[recognizer.validate(config).served_by]


def queue_for(model: str) -> str:
    """The Procrastinate queue of the jobs ``model`` decodes."""
    return f"asr.{model}"


async def open_fleet(database: str, *, pool_size: int = 4) -> FleetDatabase:
    """The store and the Procrastinate app on ``database``, sharing one pool; ``ValueError``
    (saying what to run) when the database is unreachable or not migrated."""
    pool = connection_pool(database, size=pool_size)
    try:
        await pool.open(wait=True, timeout=10.0)
        async with pool.connection() as db:
            version = await pg_schema.current_version(db)
    except (psycopg.Error, PoolTimeout) as error:
        await pool.close()
        raise ValueError(f"cannot use the database: {_first_line(error)}") from None
    if version < len(pg_schema.MIGRATIONS):
        await pool.close()
        raise ValueError("the database is not migrated: run `hark db migrate --database URL`")
    app = procrastinate.App(connector=procrastinate.PsycopgConnector())
    await app.open_async(pool)
    return FleetDatabase(PostgresJobStore(pool, Listener(database)), app)


@dataclass
class FleetDatabase:
    """What an API replica or a worker holds of the fleet's database; ``close`` it."""

    store: PostgresJobStore
    app: procrastinate.App

    async def close(self) -> None:
        await self.app.close_async()
        await self.store.close()


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


@dataclass(frozen=True)
class FleetPolicy:
    """How an API replica admits jobs."""

    max_queue: int
    """Operations queued fleet-wide before RESOURCE_EXHAUSTED."""
    stalled_seconds: float
    """A worker without a heartbeat for this long serves nothing."""
    unserved: str = "refuse"
    """``refuse`` (FAILED_PRECONDITION) or ``queue`` a request for a model no worker serves."""
    retention_seconds: float = 432_000.0
    """How long finished operations are kept."""


class FleetQueue:
    """The API replica's side of the fleet's queue; it runs no jobs, only the purge of
    finished operations (``retention``: each replica takes turns at it, one at a time)."""

    def __init__(
        self,
        store: PostgresJobStore,
        app: procrastinate.App,
        *,
        route: Callable[[RecognitionConfig], str],
        policy: FleetPolicy,
    ) -> None:
        self._store = store
        self._app = app
        self._route = route
        self._policy = policy
        self._purging: asyncio.Task[None] | None = None

    async def start(self, runner: Runner) -> None:
        """Start purging; no jobs: API replicas are stateless (``hark worker`` runs them)."""
        purge = retention.purge_forever(self.purge, self._policy.retention_seconds)
        self._purging = asyncio.create_task(purge, name="hark-job-purge")

    async def submit(self, job: Job, content: bytes | None) -> None:
        model = self._route(job.config)
        async with self._store.pool.connection() as db, db.transaction():
            # Everything on this one connection: a second one from the pool per request
            # would deadlock under a burst once every pooled connection waits for another.
            if await _queued(db) >= self._policy.max_queue:
                raise ResourceExhausted(
                    f"Too many long-running operations are waiting ({self._policy.max_queue});"
                    " retry later."
                )
            slots = await live_slots(db, model, self._policy.stalled_seconds)
            if not slots and self._policy.unserved != "queue":
                raise FailedPrecondition(
                    f"No worker serves the model {model!r} now; retry when one runs."
                )
            lane, rank = await _lane(db, job.owner, slots)
            await self._store.insert(db, job, content, model)
            await self._app.configure_task(
                TASK, queue=queue_for(model), lock=lane, priority=-rank, connection=db
            ).defer_async(name=job.name)

    async def stop_work(self, name: str) -> None:
        job_id = await job_of(self._store.pool, name)
        if job_id is not None:
            await self._app.job_manager.cancel_job_by_id_async(job_id, abort=True)

    async def purge(self, finished_before: float) -> int:
        """Delete the operations that finished before ``finished_before``, then Procrastinate's
        rows of the ended jobs whose operation is gone (purged now, or deleted by a client
        before), so neither table grows without end. One replica at a time does it."""
        purged = await self._store.purge(finished_before)
        async with self._store.pool.connection() as db:
            if await take_turn(db, PURGE_LOCK):
                # Each row's events go with it (ON DELETE CASCADE).
                await db.execute(
                    "DELETE FROM procrastinate_jobs j WHERE task_name = %s"
                    " AND status NOT IN ('todo', 'doing') AND NOT EXISTS"
                    " (SELECT 1 FROM hark_operations o WHERE o.name = j.args->>'name')",
                    (TASK,),
                )
        return purged

    async def close(self) -> None:
        """Stop purging; the pool is the store's."""
        if self._purging is not None:
            self._purging.cancel()
            await asyncio.gather(self._purging, return_exceptions=True)


async def job_of(pool: AsyncConnectionPool, name: str) -> int | None:
    """The Procrastinate job (waiting or running) of operation ``name``, if there is one."""
    async with pool.connection() as db:
        cursor = await db.execute(
            "SELECT id FROM procrastinate_jobs WHERE task_name = %s AND args->>'name' = %s"
            " AND status IN ('todo', 'doing') ORDER BY id DESC LIMIT 1",
            (TASK, name),
        )
        row = await cursor.fetchone()
    return None if row is None else int(row[0])


async def _queued(db: AsyncConnection) -> int:
    cursor = await db.execute("SELECT count(*) FROM hark_operations WHERE state = 'queued'")
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def live_slots(db: AsyncConnection, model: str, stalled_seconds: float) -> int:
    """Slots of the live workers that serve ``model`` (0: none serves it)."""
    cursor = await db.execute(
        "SELECT coalesce(sum(slots), 0) FROM hark_workers WHERE %s = ANY(models)"
        " AND heartbeat > now() - make_interval(secs => %s)",
        (model, stalled_seconds),
    )
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def _lane(db: AsyncConnection, owner: str, slots: int) -> tuple[str, int]:
    """The lock of ``owner``'s next job (its open jobs spread over its share of the slots),
    and the job's rank among them (how many it has open)."""
    cursor = await db.execute(
        "SELECT count(DISTINCT owner) FILTER (WHERE owner <> %s),"
        " count(*) FILTER (WHERE owner = %s)"
        " FROM hark_operations WHERE state IN ('queued', 'running')",
        (owner, owner),
    )
    row = await cursor.fetchone()
    others, mine = (int(row[0]), int(row[1])) if row else (0, 0)
    lanes = max(1, math.ceil(slots / (others + 1)))
    return f"{owner}#{mine % lanes}", min(mine, _MAX_RANK)
