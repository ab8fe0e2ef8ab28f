"""``ResourceStore`` on SQLite: ``resources.sqlite3`` beside the jobs in ``--data-dir``.

As the job store: one connection on one dedicated thread, WAL, ``synchronous=FULL``. A
replace is one ``UPDATE ... WHERE etag = ?``, so two writers racing on one resource cannot
both win.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from hark.resources import StoredResource

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    collection TEXT NOT NULL,
    parent TEXT NOT NULL,
    payload BLOB NOT NULL,
    etag TEXT NOT NULL,
    create_time REAL NOT NULL,
    update_time REAL NOT NULL,
    delete_time REAL NOT NULL DEFAULT 0,
    expire_time REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS resources_by_parent ON resources (parent, collection, seq);
"""
_COLUMNS = (
    "name, collection, parent, payload, etag, create_time, update_time, delete_time, expire_time"
)


class SqliteResourceStore:
    """Resources in ``<path>`` (created with its directory if missing)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hark-resources")
        self._db = self._executor.submit(_connect, path).result()

    async def _run(self, call: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, call, self._db)

    async def get(self, name: str) -> StoredResource | None:
        def read(db: sqlite3.Connection) -> StoredResource | None:
            row = db.execute(f"SELECT {_COLUMNS} FROM resources WHERE name = ?", (name,))
            found = row.fetchone()
            return _resource(found) if found else None

        return await self._run(read)

    async def insert(self, resource: StoredResource) -> bool:
        def write(db: sqlite3.Connection) -> bool:
            with db:
                cursor = db.execute(
                    f"INSERT OR IGNORE INTO resources ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)",
                    _row(resource),
                )
            return cursor.rowcount == 1

        return await self._run(write)

    async def replace(self, resource: StoredResource, etag: str) -> bool:
        def write(db: sqlite3.Connection) -> bool:
            with db:
                cursor = db.execute(
                    "UPDATE resources SET payload = ?, etag = ?, update_time = ?,"
                    " delete_time = ?, expire_time = ? WHERE name = ? AND etag = ?",
                    (
                        resource.payload,
                        resource.etag,
                        resource.update_time,
                        resource.delete_time,
                        resource.expire_time,
                        resource.name,
                        etag,
                    ),
                )
            return cursor.rowcount == 1

        return await self._run(write)

    async def remove(self, name: str) -> None:
        def write(db: sqlite3.Connection) -> None:
            with db:
                db.execute("DELETE FROM resources WHERE name = ?", (name,))

        await self._run(write)

    async def list(
        self, parent: str, collection: str, *, after: int, limit: int, deleted: bool
    ) -> list[tuple[int, StoredResource]]:
        def read(db: sqlite3.Connection) -> list[tuple[int, StoredResource]]:
            shown = "" if deleted else " AND delete_time = 0"
            rows = db.execute(
                f"SELECT {_COLUMNS}, seq FROM resources WHERE parent = ? AND collection = ?"
                f" AND seq > ?{shown} ORDER BY seq LIMIT ?",
                (parent, collection, after, limit),
            ).fetchall()
            return [(int(row[-1]), _resource(row[:-1])) for row in rows]

        return await self._run(read)

    async def close(self) -> None:
        await self._run(lambda db: db.close())
        self._executor.shutdown(wait=True)


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("PRAGMA busy_timeout = 10000")
    db.executescript(_SCHEMA)
    return db


def _row(resource: StoredResource) -> tuple[object, ...]:
    return (
        resource.name,
        resource.collection,
        resource.parent,
        resource.payload,
        resource.etag,
        resource.create_time,
        resource.update_time,
        resource.delete_time,
        resource.expire_time,
    )


def _resource(row: tuple[object, ...] | sqlite3.Row) -> StoredResource:
    name, collection, parent, payload, etag, created, updated, deleted, expires = row
    return StoredResource(
        name=str(name),
        collection=str(collection),
        parent=str(parent),
        payload=bytes(payload),  # type: ignore[arg-type]
        etag=str(etag),
        create_time=float(created),  # type: ignore[arg-type]
        update_time=float(updated),  # type: ignore[arg-type]
        delete_time=float(deleted),  # type: ignore[arg-type]
        expire_time=float(expires),  # type: ignore[arg-type]
    )
