"""What an operator sees of a fleet (``hark jobs``, and an API replica's metrics): the
workers with their health, and the queue depth of each model."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg_pool import AsyncConnectionPool


@dataclass(frozen=True)
class WorkerHealth:
    name: str
    models: tuple[str, ...]
    slots: int
    running: int
    seconds_since_heartbeat: float
    alive: bool


@dataclass(frozen=True)
class QueueDepth:
    model: str
    waiting: int
    """Operations queued for it, not started yet."""
    running: int
    oldest_waiting_seconds: float


@dataclass(frozen=True)
class FleetStatus:
    workers: tuple[WorkerHealth, ...]
    queues: tuple[QueueDepth, ...]


async def fleet_status(pool: AsyncConnectionPool, stalled_seconds: float) -> FleetStatus:
    """The workers (alive: a heartbeat within ``stalled_seconds``) and every queue with work
    or a live worker."""
    async with pool.connection() as db:
        workers = await (
            await db.execute(
                "SELECT name, models, slots, running,"
                " extract(epoch FROM now() - heartbeat)::float8 FROM hark_workers ORDER BY name"
            )
        ).fetchall()
        queues = await (
            await db.execute(
                "SELECT model, count(*) FILTER (WHERE state = 'queued'),"
                " count(*) FILTER (WHERE state = 'running'),"
                " coalesce(extract(epoch FROM now()) - min(start_time)"
                " FILTER (WHERE state = 'queued'), 0)::float8"
                " FROM hark_operations WHERE state IN ('queued', 'running') GROUP BY model"
            )
        ).fetchall()
    health = tuple(
        WorkerHealth(name, tuple(models), slots, running, age, age < stalled_seconds)
        for name, models, slots, running, age in workers
    )
    depths = {model: (todo, doing, oldest) for model, todo, doing, oldest in queues}
    models = sorted({m for w in health if w.alive for m in w.models} | set(depths))
    return FleetStatus(health, tuple(QueueDepth(m, *depths.get(m, (0, 0, 0.0))) for m in models))
