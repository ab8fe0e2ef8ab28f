"""``JobStore`` on PostgreSQL: the fleet's operations, shared by every API replica and worker.

One table, ``hark_operations`` (``pg_schema``), holds what the SQLite store holds plus the
fleet's own columns: ``model`` (the queue it waits in), ``attempt`` (the fencing token) and
``worker``. Each state change is one ``UPDATE ... WHERE state ...`` statement, as in SQLite.

A worker does not write through this store directly but through ``fenced(name, attempt)``:
the same methods, each write also requiring ``attempt`` to be the operation's current one.
When a stalled worker's job is given to another, the attempt moves on, and whatever the
first worker still writes (progress, checkpoint, result, output error) changes nothing.

Connections come from a pool that checks each one before lending it, so the store recovers
by itself when PostgreSQL restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from hark.jobs import Job, JobError, JobState, Page, serial
from hark.jobs import rows as job_rows
from hark.speech.checkpoint import Checkpoint
from hark.speech.types import Recognition

if TYPE_CHECKING:
    from typing import LiteralString

log = logging.getLogger(__name__)

_COLUMNS = (
    "name, api_version, state, config, uri, output_uri, progress, start_time,"
    " last_update_time, end_time, result, error_code, error_message,"
    " output_error_code, output_error_message, owner"
)
_OPEN = "('queued', 'running')"
_TOKEN_PREFIX = "pg:"
CHANNEL = "hark_operation_ended"
"""The NOTIFY channel; the payload is the operation's name."""
POLL_SECONDS = 1.0
"""The longest a waiter goes without looking at the operation itself."""
PURGE_LOCK = 7_245_310_016
"""The advisory lock of a purge (any number, as long as it is Hark's alone)."""


def connection_pool(database: str, *, size: int = 4) -> AsyncConnectionPool:
    """A pool on ``database`` (a libpq URL or DSN), not yet opened. Each ``connection()``
    block is one transaction, committed when it ends (rolled back on an exception)."""
    return AsyncConnectionPool(
        database,
        min_size=1,
        max_size=size,
        open=False,
        check=AsyncConnectionPool.check_connection,
    )


class PostgresJobStore:
    """Operations in PostgreSQL, through ``pool`` (opened by the caller, closed by ``close``);
    ``listener`` wakes ``changed`` waiters."""

    def __init__(
        self,
        pool: AsyncConnectionPool,
        listener: Listener,
        *,
        attempt: int | None = None,
        on_progress: Callable[[int], object] | None = None,
    ) -> None:
        self.pool = pool
        self._attempt = attempt
        self._on_progress = on_progress
        self._listener = listener

    @property
    def attempt(self) -> int | None:
        """The attempt this store's writes are fenced by (None: not fenced)."""
        return self._attempt

    def fenced(self, attempt: int, on_progress: Callable[[int], object]) -> PostgresJobStore:
        """This store as one attempt of a worker sees it: its writes need ``attempt``, and
        each progress report calls ``on_progress(percent)`` first (the worker's watchdog)."""
        return PostgresJobStore(self.pool, self._listener, attempt=attempt, on_progress=on_progress)

    async def create(self, job: Job, content: bytes | None) -> None:
        async with self.pool.connection() as db:
            await self.insert(db, job, content, model="")

    async def insert(
        self, db: AsyncConnection, job: Job, content: bytes | None, model: str
    ) -> None:
        """Store a new job on ``db`` (so the caller can enqueue it in the same transaction)."""
        await db.execute(
            "INSERT INTO hark_operations (name, api_version, state, model, config, uri,"
            " output_uri, start_time, last_update_time, content, owner)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                job.name, job.api_version, job.state.value, model, serial.dumps(job.config),
                job.uri, job.output_uri, job.start_time, job.last_update_time, content, job.owner,
            ),
        )  # fmt: skip

    async def get(self, name: str) -> Job | None:
        row = await self._one(f"SELECT {_COLUMNS} FROM hark_operations WHERE name = %s", (name,))
        return None if row is None else job_rows.job_from_row(row)

    async def content(self, name: str) -> bytes | None:
        row = await self._one("SELECT content FROM hark_operations WHERE name = %s", (name,))
        return None if row is None or row[0] is None else bytes(row[0])

    async def list(
        self,
        *,
        api_version: str | None,
        done: bool | None,
        page_size: int,
        page_token: str,
        owner: str | None = None,
    ) -> Page:
        # Keyset paging on the insertion order: rows added while a client pages come after
        # its position, so a page is never shifted (no duplicates, no gaps).
        sql: LiteralString = f"SELECT seq, {_COLUMNS} FROM hark_operations WHERE seq > %s"
        args: list[Any] = [job_rows.page_seq(page_token, _TOKEN_PREFIX)]
        if api_version is not None:
            sql += " AND api_version = %s"
            args.append(api_version)
        if owner is not None:
            sql += " AND owner = %s"
            args.append(owner)
        if done is not None:
            sql += " AND state NOT IN " + _OPEN if done else " AND state IN " + _OPEN
        sql += " ORDER BY seq LIMIT %s"
        args.append(page_size + 1)
        async with self.pool.connection() as db:
            rows = await (await db.execute(sql, args)).fetchall()
        more = len(rows) > page_size
        rows = rows[:page_size]
        token = job_rows.page_token(rows[-1][0], _TOKEN_PREFIX) if more else ""
        return Page(tuple(job_rows.job_from_row(row[1:]) for row in rows), token)

    async def count_queued(self) -> int:
        row = await self._one("SELECT count(*) FROM hark_operations WHERE state = 'queued'", ())
        return int(row[0]) if row else 0

    async def count_by_state(self) -> dict[str, int]:
        async with self.pool.connection() as db:
            cursor = await db.execute("SELECT state, count(*) FROM hark_operations GROUP BY state")
            return {str(state): int(count) for state, count in await cursor.fetchall()}

    async def claim(self, now: float) -> Job | None:
        """The oldest queued job, now running (the fleet's workers use ``begin`` instead)."""
        row = await self._one(
            "UPDATE hark_operations SET state = 'running', last_update_time = %s"
            " WHERE seq = (SELECT seq FROM hark_operations WHERE state = 'queued'"
            " ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED)"
            f" RETURNING {_COLUMNS}",
            (now,),
        )
        return None if row is None else job_rows.job_from_row(row)

    async def begin(self, name: str, worker: str, now: float) -> tuple[Job, int] | None:
        """Start a new attempt at ``name``: running, ``attempt`` + 1; (job, attempt), or None
        if it is not open any more (done, cancelled, deleted: a duplicate delivery)."""
        row = await self._one(
            "UPDATE hark_operations SET state = 'running', attempt = attempt + 1,"
            " worker = %s, last_update_time = %s"
            f" WHERE name = %s AND state IN {_OPEN} RETURNING attempt, {_COLUMNS}",
            (worker, now, name),
        )
        return None if row is None else (job_rows.job_from_row(row[1:]), int(row[0]))

    async def release(self, name: str) -> bool:
        """Put this attempt's job back in the queue (its worker is shutting down)."""
        return await self._write(
            "UPDATE hark_operations SET state = 'queued', worker = ''"
            " WHERE name = %s AND state = 'running'",
            (name,),
        )

    async def progress(self, name: str, percent: int, now: float) -> bool:
        """As the Protocol says, best effort: while the database is unreachable (a restart)
        the work goes on (True) and the next report tries again."""
        if self._on_progress is not None:
            self._on_progress(percent)
        try:
            return await self._progress(name, percent, now)
        except (psycopg.OperationalError, PoolTimeout) as error:
            log.warning("operation %s: progress not stored (%s)", name, _first_line(error))
            return True

    async def _progress(self, name: str, percent: int, now: float) -> bool:
        return await self._write(
            "UPDATE hark_operations SET progress = %s, last_update_time = %s"
            " WHERE name = %s AND state = 'running'",
            (percent, now, name),
        )

    async def save_checkpoint(self, name: str, checkpoint: Checkpoint) -> bool:
        """As the Protocol says, fenced, and best effort like ``progress``: while the database
        is unreachable the work goes on (True) and a later window's checkpoint is stored."""
        try:
            return await self._write(
                "UPDATE hark_operations SET checkpoint = %s WHERE name = %s AND state = 'running'",
                (serial.dumps(checkpoint), name),
            )
        except (psycopg.OperationalError, PoolTimeout) as error:
            log.warning("operation %s: checkpoint not stored (%s)", name, _first_line(error))
            return True

    async def checkpoint(self, name: str) -> Checkpoint | None:
        row = await self._one("SELECT checkpoint FROM hark_operations WHERE name = %s", (name,))
        return None if row is None or row[0] is None else serial.loads(Checkpoint, row[0])

    async def finish(
        self,
        name: str,
        state: JobState,
        now: float,
        *,
        result: Recognition | None = None,
        error: JobError | None = None,
    ) -> bool:
        """As the Protocol says; the end is announced (NOTIFY) in the same transaction, to
        every replica waiting for it (``changed``)."""
        return await self._write(
            "UPDATE hark_operations SET state = %s, result = %s, error_code = %s,"
            " error_message = %s, progress = CASE WHEN %s THEN 100 ELSE progress END,"
            " last_update_time = %s, end_time = %s, content = NULL, checkpoint = NULL"
            f" WHERE name = %s AND state IN {_OPEN}",
            (
                state.value, None if result is None else serial.dumps(result),
                None if error is None else error.code, None if error is None else error.message,
                state is JobState.DONE, now, now, name,
            ),
            ends=name,
        )  # fmt: skip

    async def output_failed(self, name: str, error: JobError) -> bool:
        return await self._write(
            "UPDATE hark_operations SET output_error_code = %s, output_error_message = %s"
            " WHERE name = %s AND state = 'running'",
            (error.code, error.message, name),
        )

    async def delete(self, name: str) -> bool:
        return await self._write("DELETE FROM hark_operations WHERE name = %s", (name,))

    async def requeue_running(self) -> int:
        """0: in a fleet, a dead worker's jobs are found by the reaper (heartbeats), not at
        a start, since other workers may be running them right now."""
        return 0

    async def purge(self, finished_before: float) -> int:
        """As the Protocol says, by one process of the fleet at a time: while another one
        purges, this one deletes nothing (0)."""
        async with self.pool.connection() as db:
            if not await take_turn(db, PURGE_LOCK):
                return 0
            cursor = await db.execute(
                "DELETE FROM hark_operations"
                f" WHERE end_time > 0 AND end_time < %s AND state NOT IN {_OPEN}",
                (finished_before,),
            )
            return cursor.rowcount

    async def close(self) -> None:
        await self._listener.close()
        await self.pool.close()

    async def _one(self, sql: LiteralString, args: tuple[Any, ...]) -> Any:
        async with self.pool.connection() as db:
            return await (await db.execute(sql, args)).fetchone()

    async def changed(self, name: str, timeout: float) -> None:
        """When a NOTIFY says ``name`` ended, or after at most ``POLL_SECONDS`` (NOTIFY is
        not durable: a listener that reconnects may have missed one)."""
        await self._listener.wait(name, min(timeout, POLL_SECONDS))

    async def _write(self, sql: LiteralString, args: tuple[Any, ...], *, ends: str = "") -> bool:
        """Run one change of an operation; fenced by this store's attempt. A change that
        ``ends`` the named operation also NOTIFYs its name, in the same transaction."""
        if self._attempt is not None:
            sql += " AND attempt = %s"
            args = (*args, self._attempt)
        async with self.pool.connection() as db:
            changed = (await db.execute(sql, args)).rowcount == 1
            if changed and ends:
                await db.execute("SELECT pg_notify(%s, %s)", (CHANNEL, ends))
            return changed


class Listener:
    """One LISTEN connection per process, started by the first waiter, reconnecting after a
    failure (a PostgreSQL restart): it wakes the waiters of each operation that ends."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._task: asyncio.Task[None] | None = None
        self.listening = False
        """Whether notifications arrive now (False while connecting or reconnecting)."""

    async def wait(self, name: str, timeout: float) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._listen(), name="hark-operations-listener")
        event = asyncio.Event()
        self._waiters.setdefault(name, set()).add(event)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), max(0.0, timeout))
        finally:
            waiting = self._waiters.get(name, set())
            waiting.discard(event)
            if not waiting:
                self._waiters.pop(name, None)

    async def _listen(self) -> None:
        while True:
            try:
                async with await AsyncConnection.connect(self._conninfo, autocommit=True) as db:
                    await db.execute(f"LISTEN {CHANNEL}")
                    self.listening = True
                    async for notice in db.notifies():
                        for event in self._waiters.get(notice.payload, ()):
                            event.set()
            except psycopg.Error as error:
                log.info("operations listener: %s; reconnecting", str(error).strip())
            self.listening = False
            await asyncio.sleep(1.0)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


async def take_turn(db: AsyncConnection, lock: int) -> bool:
    """Take advisory ``lock`` for the rest of ``db``'s transaction; False (and nothing held)
    while another transaction holds it."""
    row = await (await db.execute("SELECT pg_try_advisory_xact_lock(%s)", (lock,))).fetchone()
    return bool(row and row[0])


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
