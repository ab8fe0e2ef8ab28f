"""The fleet's commands: ``hark worker``, ``hark db migrate`` and ``hark jobs``.

Kept apart from ``cli`` because they need the ``hark[fleet]`` extra (Procrastinate,
psycopg), which the embedded server does not.
"""

from __future__ import annotations

import asyncio
import sys

from hark.jobs import pg_schema
from hark.jobs.fleet import open_fleet
from hark.jobs.fleet_status import FleetStatus, fleet_status
from hark.settings import Settings


def run(command: str, settings: Settings) -> int:
    """Run ``command`` (``worker``, ``db``, ``jobs``); the process's exit status."""
    if not settings.database:
        print(f"hark {command}: give --database URL (or HARK_DATABASE)", file=sys.stderr)
        return 2
    try:
        if command == "worker":
            from hark.worker import work  # noqa: PLC0415 - loads the engine's libraries

            asyncio.run(work(settings))
        elif command == "db":
            asyncio.run(_migrate(settings.database))
        else:
            print(_render(asyncio.run(_status(settings))), end="")
    except (OSError, ValueError) as error:
        print(f"hark {command}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


async def _migrate(database: str) -> None:
    try:
        applied, procrastinate_applied = await pg_schema.migrate(database)
    except Exception as error:  # psycopg's errors: unreachable, refused, permissions
        raise ValueError(f"cannot migrate: {str(error).strip().splitlines()[0]}") from None
    print(
        f"hark db migrate: {applied} Hark migration(s) applied;"
        f" Procrastinate schema {'applied' if procrastinate_applied else 'already present'};"
        f" the database is at version {len(pg_schema.MIGRATIONS)}"
    )


async def _status(settings: Settings) -> FleetStatus:
    fleet = await open_fleet(settings.database, pool_size=1)
    try:
        return await fleet_status(fleet.store.pool, settings.jobs.stalled_seconds)
    finally:
        await fleet.close()


def _render(status: FleetStatus) -> str:
    lines = ["WORKER  MODELS  SLOTS  RUNNING  HEARTBEAT  HEALTH"]
    for w in status.workers:
        health = "alive" if w.alive else "dead"
        lines.append(
            f"{w.name}  {','.join(w.models)}  {w.slots}  {w.running}"
            f"  {w.seconds_since_heartbeat:.0f}s ago  {health}"
        )
    lines += ["", "MODEL  WAITING  RUNNING  OLDEST-WAITING"]
    lines += [
        f"{q.model}  {q.waiting}  {q.running}  {q.oldest_waiting_seconds:.0f}s"
        for q in status.queues
    ]
    return "\n".join(lines) + "\n"
