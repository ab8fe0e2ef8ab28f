"""The fleet's commands: ``hark worker``, ``hark db migrate`` and ``hark jobs``.

Their libraries (``hark[fleet]``: Procrastinate, psycopg) are imported when a command runs,
not when ``hark --help`` parses: the embedded server does not need them.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hark.settings import Settings

if TYPE_CHECKING:
    from hark.jobs.fleet_status import FleetStatus


def _worker_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    worker = commands.add_parser(
        "worker",
        help="run long-running recognitions for a fleet",
        description="Run the long-running recognitions queued in a fleet's PostgreSQL by"
        " `hark serve --database`. Every flag also reads HARK_<FLAG> and --config.",
    )
    worker.add_argument("--config", type=Path, help="a TOML file of settings (or HARK_CONFIG)")
    worker.add_argument("--database", metavar="URL", help="the fleet's PostgreSQL URL")
    worker.add_argument(
        "--data-dir", type=Path, help="temporary audio and local buckets (may be shared)"
    )
    worker.add_argument("--model", action="append", help="repeat for several; as for serve")
    worker.add_argument(
        "--slots", dest="job_workers", type=int, help="operations run at once (default 1)"
    )
    worker.add_argument("--device", choices=["cpu", "cuda", "auto"], help="default auto")
    worker.add_argument("--compute-type", help="CTranslate2 compute type")
    worker.add_argument("--cpu-threads", type=int, help="threads per engine call (0 = auto)")
    worker.add_argument("--workers", type=int, help="engine calls at once (default 1)")
    worker.add_argument("--gcs", choices=["local", "cloud"], help="gs:// URIs, as for serve")
    worker.add_argument("--file-root", dest="file_roots", action="append", type=Path)
    worker.add_argument("--heartbeat-seconds", type=float, help="default 10")
    worker.add_argument("--stalled-seconds", type=float, help="default 30")
    worker.add_argument("--max-attempts", type=int, help="worker deaths per job (default 3)")
    worker.add_argument("--hang-seconds", type=float, help="watchdog (default 600)")
    worker.add_argument(
        "--shutdown-grace-seconds",
        type=float,
        help="after SIGTERM, running jobs finish within this or are re-queued (default 30)",
    )
    worker.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    worker.add_argument("--log-format", choices=["text", "json"])


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``hark worker``, ``hark db migrate`` and ``hark jobs``, with their flags."""
    _worker_parser(commands)
    database = commands.add_parser("db", help="the fleet's database")
    actions = database.add_subparsers(dest="action", required=True)
    migrate = actions.add_parser(
        "migrate", help="create or upgrade the fleet's schema (idempotent; run at each deploy)"
    )
    migrate.add_argument("--database", metavar="URL", help="PostgreSQL URL (or HARK_DATABASE)")
    jobs = commands.add_parser("jobs", help="a fleet's workers and queue depth per model")
    jobs.add_argument("--database", metavar="URL", help="PostgreSQL URL (or HARK_DATABASE)")
    jobs.add_argument("--stalled-seconds", type=float, help="silent longer: dead (default 30)")


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
    from hark.jobs import pg_schema  # noqa: PLC0415 - see the module's docstring

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
    from hark.jobs.fleet import open_fleet  # noqa: PLC0415 - see the module's docstring
    from hark.jobs.fleet_status import fleet_status  # noqa: PLC0415

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
