"""``JobStore`` on SQLite: the embedded default, one file under ``--data-dir``.

All statements run on one dedicated thread with one connection (SQLite serialises writers
anyway), so the event loop never blocks on the disk. WAL mode lets readers proceed while a
worker writes; ``synchronous=FULL`` makes an accepted job survive a power cut, not only a
crash. Each state change is a single ``UPDATE ... WHERE state ...`` statement: a claim
cannot hand one job to two workers, and a result cannot be written to a job that was
cancelled, deleted or already finished.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from hark.jobs import Job, JobError, JobState, Page, serial
from hark.jobs import rows as job_rows
from hark.speech.checkpoint import Checkpoint
from hark.speech.types import Recognition

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    api_version TEXT NOT NULL,
    state TEXT NOT NULL,
    config TEXT NOT NULL,
    uri TEXT NOT NULL,
    output_uri TEXT NOT NULL,
    progress INTEGER NOT NULL DEFAULT 0,
    start_time REAL NOT NULL,
    last_update_time REAL NOT NULL,
    end_time REAL NOT NULL DEFAULT 0,
    result TEXT,
    error_code INTEGER,
    error_message TEXT,
    content BLOB,
    output_error_code INTEGER,
    output_error_message TEXT,
    owner TEXT NOT NULL DEFAULT '',
    checkpoint TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, seq);
CREATE INDEX IF NOT EXISTS jobs_by_end ON jobs (end_time);
"""
_ADDED_COLUMNS = (
    ("output_error_code", "INTEGER"),
    ("output_error_message", "TEXT"),
    ("owner", "TEXT NOT NULL DEFAULT ''"),
    ("checkpoint", "TEXT"),
)
"""Columns newer than the first schema, added to older databases when they are opened."""
_COLUMNS = (
    "name, api_version, state, config, uri, output_uri, progress, start_time,"
    " last_update_time, end_time, result, error_code, error_message,"
    " output_error_code, output_error_message, owner"
)
_OPEN = "('queued', 'running')"
POLL_SECONDS = 0.25
"""How often ``WaitOperation`` looks at an operation again."""


class SqliteJobStore:
    """Jobs in ``<path>`` (created with its directory if missing)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hark-jobs-db")
        self._db = self._executor.submit(_connect, path).result()

    async def _run(self, call: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, call, self._db)

    async def create(self, job: Job, content: bytes | None) -> None:
        row = (
            job.name, job.api_version, job.state.value, serial.dumps(job.config), job.uri,
            job.output_uri, job.start_time, job.last_update_time, content, job.owner,
        )  # fmt: skip
        sql = (
            "INSERT INTO jobs (name, api_version, state, config, uri, output_uri, start_time,"
            " last_update_time, content, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        await self._run(lambda db: _write(db, sql, row))

    async def get(self, name: str) -> Job | None:
        sql = f"SELECT {_COLUMNS} FROM jobs WHERE name = ?"
        # Rows become jobs on the database thread: a stored result can be large.
        return await self._run(lambda db: _maybe_job(db.execute(sql, (name,)).fetchone()))

    async def content(self, name: str) -> bytes | None:
        sql = "SELECT content FROM jobs WHERE name = ?"
        row = await self._run(lambda db: db.execute(sql, (name,)).fetchone())
        return None if row is None else row[0]

    async def list(
        self,
        *,
        api_version: str | None,
        done: bool | None,
        page_size: int,
        page_token: str,
        owner: str | None = None,
    ) -> Page:
        after = job_rows.page_seq(page_token, "after:")
        sql = f"SELECT seq, {_COLUMNS} FROM jobs WHERE seq > ?"
        args: list[Any] = [after]
        if api_version is not None:
            sql += " AND api_version = ?"
            args.append(api_version)
        if owner is not None:
            sql += " AND owner = ?"
            args.append(owner)
        if done is not None:
            sql += f" AND state {'NOT IN' if done else 'IN'} {_OPEN}"
        sql += " ORDER BY seq LIMIT ?"
        args.append(page_size + 1)

        def page(db: sqlite3.Connection) -> Page:
            rows = db.execute(sql, args).fetchall()
            more = len(rows) > page_size
            rows = rows[:page_size]
            token = job_rows.page_token(rows[-1][0], "after:") if more else ""
            return Page(tuple(job_rows.job_from_row(row[1:]) for row in rows), token)

        return await self._run(page)

    async def count_queued(self) -> int:
        sql = "SELECT count(*) FROM jobs WHERE state = 'queued'"
        count: int = await self._run(lambda db: db.execute(sql).fetchone()[0])
        return count

    async def count_by_state(self) -> dict[str, int]:
        sql = "SELECT state, count(*) FROM jobs GROUP BY state"
        rows = await self._run(lambda db: db.execute(sql).fetchall())
        return {str(state): int(count) for state, count in rows}

    async def claim(self, now: float) -> Job | None:
        sql = (
            "UPDATE jobs SET state = 'running', last_update_time = ?"
            " WHERE seq = (SELECT seq FROM jobs WHERE state = 'queued' ORDER BY seq LIMIT 1)"
            f" AND state = 'queued' RETURNING {_COLUMNS}"
        )

        def claim(db: sqlite3.Connection) -> Job | None:
            with db:
                return _maybe_job(db.execute(sql, (now,)).fetchone())

        return await self._run(claim)

    async def progress(self, name: str, percent: int, now: float) -> bool:
        sql = (
            "UPDATE jobs SET progress = ?, last_update_time = ?"
            " WHERE name = ? AND state = 'running'"
        )
        return await self._run(lambda db: _write(db, sql, (percent, now, name)) == 1)

    async def save_checkpoint(self, name: str, checkpoint: Checkpoint) -> bool:
        sql = "UPDATE jobs SET checkpoint = ? WHERE name = ? AND state = 'running'"
        text = serial.dumps(checkpoint)
        return await self._run(lambda db: _write(db, sql, (text, name)) == 1)

    async def checkpoint(self, name: str) -> Checkpoint | None:
        sql = "SELECT checkpoint FROM jobs WHERE name = ?"
        row = await self._run(lambda db: db.execute(sql, (name,)).fetchone())
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
        sql = (
            "UPDATE jobs SET state = ?, result = ?, error_code = ?, error_message = ?,"
            " progress = CASE WHEN ? THEN 100 ELSE progress END,"
            " last_update_time = ?, end_time = ?, content = NULL, checkpoint = NULL"
            f" WHERE name = ? AND state IN {_OPEN}"
        )
        row = (
            state.value, None if result is None else serial.dumps(result),
            None if error is None else error.code, None if error is None else error.message,
            state is JobState.DONE, now, now, name,
        )  # fmt: skip
        return await self._run(lambda db: _write(db, sql, row) == 1)

    async def output_failed(self, name: str, error: JobError) -> bool:
        sql = (
            "UPDATE jobs SET output_error_code = ?, output_error_message = ?"
            " WHERE name = ? AND state = 'running'"
        )
        row = (error.code, error.message, name)
        return await self._run(lambda db: _write(db, sql, row) == 1)

    async def delete(self, name: str) -> bool:
        sql = "DELETE FROM jobs WHERE name = ?"
        return await self._run(lambda db: _write(db, sql, (name,)) == 1)

    async def requeue_running(self) -> int:
        sql = "UPDATE jobs SET state = 'queued' WHERE state = 'running'"
        return await self._run(lambda db: _write(db, sql, ()))

    async def purge(self, finished_before: float) -> int:
        sql = f"DELETE FROM jobs WHERE end_time > 0 AND end_time < ? AND state NOT IN {_OPEN}"
        return await self._run(lambda db: _write(db, sql, (finished_before,)))

    async def changed(self, name: str, timeout: float) -> None:
        """A poll interval: one process owns this store, and its jobs end within it."""
        await asyncio.sleep(min(POLL_SECONDS, max(0.0, timeout)))

    async def close(self) -> None:
        await self._run(lambda db: db.close())
        self._executor.shutdown()


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("PRAGMA busy_timeout = 10000")
    db.executescript(_SCHEMA)
    _migrate(db)
    return db


def _migrate(db: sqlite3.Connection) -> None:
    """Bring a database made by an older Hark up to ``_SCHEMA`` (columns only ever added)."""
    present = {row[1] for row in db.execute("PRAGMA table_info(jobs)")}
    with db:
        for column, declaration in _ADDED_COLUMNS:
            if column not in present:
                db.execute(f"ALTER TABLE jobs ADD COLUMN {column} {declaration}")


def _write(db: sqlite3.Connection, sql: str, args: tuple[Any, ...]) -> int:
    """Run one statement in its own transaction; the number of rows it changed."""
    with db:
        return db.execute(sql, args).rowcount


def _maybe_job(row: Any) -> Job | None:
    return None if row is None else job_rows.job_from_row(row)
