"""Prometheus metrics: what ``GET /metrics`` shows (names documented in the README).

``Metrics`` owns its own ``CollectorRegistry`` (never the process-global default one), so two
servers or two tests in one process count apart. The access log reports every call to it
(``call_started`` / ``call_done``), the engine pool every engine call and refusal (it is the
pool's ``PoolObserver``), and the ``/metrics`` route refreshes what is cheaper to read at
scrape time than to track (queue depth, operations by state).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

PATH = "/metrics"

_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
_RTF_BUCKETS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)

CountByState = Callable[[], Awaitable[dict[str, int]]]
FleetCounts = Callable[[], Awaitable[tuple[dict[str, tuple[int, int]], int, int]]]
"""A fleet's ({model: (waiting, running)}, live workers, dead workers)."""
"""Operations in the store, by state name (``queued``, ``running``, ``done``, ...)."""


class Metrics:
    """Hark's metrics in one registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.requests = Counter(
            "hark_requests",
            "Calls served: REST requests, gRPC calls, WebSocket streams.",
            ["transport", "method", "code"],
            registry=registry,
        )
        self.request_seconds = Histogram(
            "hark_request_duration_seconds",
            "How long calls took, streams included.",
            ["transport"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.audio_seconds = Counter(
            "hark_audio_seconds",
            "Audio recognised, as billed to the caller (totalBilledTime).",
            ["transport"],
            registry=registry,
        )
        self.active_streams = Gauge(
            "hark_active_streams",
            "Streaming recognitions open now.",
            ["transport"],
            registry=registry,
        )
        self.engine_seconds = Histogram(
            "hark_engine_call_seconds",
            "Time of one engine call (a batch counts once).",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.real_time_factor = Histogram(
            "hark_engine_real_time_factor",
            "Engine time divided by the audio time of the call (below 1: faster than real time).",
            buckets=_RTF_BUCKETS,
            registry=registry,
        )
        self.queue_depth = Gauge(
            "hark_engine_queue_depth", "Engine calls waiting for a worker.", registry=registry
        )
        self.rejections = Counter(
            "hark_engine_rejections",
            "Engine calls refused because the queue was full (RESOURCE_EXHAUSTED).",
            registry=registry,
        )
        self.operations = Gauge(
            "hark_operations",
            "Long-running operations in the store, by state.",
            ["state"],
            registry=registry,
        )
        self.model_loaded = Gauge(
            "hark_model_loaded",
            "1 while the model is loaded and serving.",
            ["model"],
            registry=registry,
        )
        self.fleet_jobs = Gauge(
            "hark_fleet_jobs",
            "A fleet's operations per model: waiting in its queue or running on a worker.",
            ["model", "state"],
            registry=registry,
        )
        self.fleet_workers = Gauge(
            "hark_fleet_workers",
            "A fleet's workers: alive (a recent heartbeat) or dead (none for --stalled-seconds).",
            ["health"],
            registry=registry,
        )
        self._refreshers: list[Callable[[], Awaitable[None]]] = []

    # -- the access log's calls

    def call_started(self, transport: str, stream: bool) -> None:
        if stream:
            self.active_streams.labels(transport).inc()

    def call_done(
        self,
        transport: str,
        method: str,
        code: str,
        *,
        seconds: float,
        audio_seconds: float,
        stream: bool,
    ) -> None:
        self.requests.labels(transport, method, code).inc()
        self.request_seconds.labels(transport).observe(seconds)
        if audio_seconds:
            self.audio_seconds.labels(transport).inc(audio_seconds)
        if stream:
            self.active_streams.labels(transport).dec()

    # -- the engine pool's (``hark.engine.pool.PoolObserver``)

    def engine_call(self, seconds: float, audio_seconds: float) -> None:
        self.engine_seconds.observe(seconds)
        if audio_seconds > 0:
            self.real_time_factor.observe(seconds / audio_seconds)

    def rejected(self) -> None:
        self.rejections.inc()

    # -- read at scrape time

    def watch_queue(self, depth: Callable[[], int]) -> None:
        self.queue_depth.set_function(lambda: float(depth()))

    def watch_operations(self, count_by_state: CountByState, states: list[str]) -> None:
        """Refresh ``hark_operations`` from the store at each scrape (every state, 0 too)."""

        async def refresh() -> None:
            counts = await count_by_state()
            for state in states:
                self.operations.labels(state).set(counts.get(state, 0))

        self._refreshers.append(refresh)

    def watch_fleet(self, counts: FleetCounts) -> None:
        """Refresh the ``hark_fleet_*`` gauges from the fleet's database at each scrape."""

        async def refresh() -> None:
            queues, alive, dead = await counts()
            for model, (waiting, running) in queues.items():
                self.fleet_jobs.labels(model, "waiting").set(waiting)
                self.fleet_jobs.labels(model, "running").set(running)
            self.fleet_workers.labels("alive").set(alive)
            self.fleet_workers.labels("dead").set(dead)

        self._refreshers.append(refresh)

    def routes(self) -> list[Route]:
        return [Route(PATH, self.scrape, methods=["GET"])]

    async def scrape(self, request: Request) -> Response:
        """The Prometheus text exposition of this registry (no API key: like ``/healthz``)."""
        for refresh in self._refreshers:
            await refresh()
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)
