"""The fleet's database schema: Hark's tables and Procrastinate's, created and migrated by
``hark db migrate`` (idempotent: run it at every deploy).

Hark's migrations are numbered SQL scripts applied in order, each in its own transaction,
recorded in ``hark_schema``; an advisory lock makes two concurrent ``migrate`` runs take
turns instead of racing. Procrastinate's own schema is applied once, when its tables are
missing (its upgrades are its own numbered scripts, shipped with the package).
"""

from __future__ import annotations

import psycopg
from procrastinate.schema import SchemaManager

MIGRATIONS: tuple[str, ...] = (
    # 1: operations. ``attempt`` is the fencing token: each start of the work increments it,
    # and every later write of that attempt names it, so a zombie's writes match no row.
    # fillfactor < 100 keeps the frequent progress updates HOT (the column is not indexed).
    """
    CREATE TABLE hark_operations (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name text NOT NULL UNIQUE,
        api_version text NOT NULL,
        state text NOT NULL,
        model text NOT NULL,
        config text NOT NULL,
        uri text NOT NULL,
        output_uri text NOT NULL,
        progress integer NOT NULL DEFAULT 0,
        start_time double precision NOT NULL,
        last_update_time double precision NOT NULL,
        end_time double precision NOT NULL DEFAULT 0,
        result text,
        error_code integer,
        error_message text,
        content bytea,
        output_error_code integer,
        output_error_message text,
        owner text NOT NULL DEFAULT '',
        attempt integer NOT NULL DEFAULT 0,
        worker text NOT NULL DEFAULT '',
        checkpoint text
    ) WITH (fillfactor = 80);
    CREATE INDEX hark_operations_by_state ON hark_operations (state, seq);
    CREATE INDEX hark_operations_by_end ON hark_operations (end_time);
    CREATE INDEX hark_operations_by_owner ON hark_operations (owner, seq);
    """,
    # 2: workers, for routing (which models are served by a live worker) and `hark jobs`.
    """
    CREATE TABLE hark_workers (
        name text PRIMARY KEY,
        models text[] NOT NULL,
        slots integer NOT NULL,
        pid integer NOT NULL,
        host text NOT NULL,
        started timestamptz NOT NULL DEFAULT now(),
        heartbeat timestamptz NOT NULL DEFAULT now(),
        running integer NOT NULL DEFAULT 0
    );
    """,
)
_LOCK = 7_245_310_014
"""The advisory lock ``migrate`` holds (any number, as long as it is Hark's alone)."""


async def migrate(database: str) -> tuple[int, bool]:
    """Bring ``database`` up to date; (Hark migrations applied now, whether Procrastinate's
    schema was applied now). Safe to run any number of times, from several places at once."""
    async with await psycopg.AsyncConnection.connect(database, autocommit=True) as db:
        await db.execute("SELECT pg_advisory_lock(%s)", (_LOCK,))
        try:
            applied = await _migrate_hark(db)
            procrastinate_applied = await _apply_procrastinate(db)
        finally:
            await db.execute("SELECT pg_advisory_unlock(%s)", (_LOCK,))
    return applied, procrastinate_applied


async def current_version(db: psycopg.AsyncConnection) -> int:
    """The number of Hark migrations ``db`` has (0 for a database never migrated)."""
    row = await (await db.execute("SELECT to_regclass('hark_schema') IS NOT NULL")).fetchone()
    if not row or not row[0]:
        return 0
    row = await (await db.execute("SELECT coalesce(max(version), 0) FROM hark_schema")).fetchone()
    return int(row[0]) if row else 0


async def _migrate_hark(db: psycopg.AsyncConnection) -> int:
    await db.execute("CREATE TABLE IF NOT EXISTS hark_schema (version integer PRIMARY KEY)")
    version = await current_version(db)
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        async with db.transaction():
            await db.execute(script)
            await db.execute("INSERT INTO hark_schema (version) VALUES (%s)", (number,))
    return len(MIGRATIONS) - version


async def _apply_procrastinate(db: psycopg.AsyncConnection) -> bool:
    row = await (await db.execute("SELECT to_regclass('procrastinate_jobs')")).fetchone()
    if row and row[0] is not None:
        return False
    schema = SchemaManager.get_schema()
    await db.execute(schema)
    return True
