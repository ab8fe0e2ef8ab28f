"""The ``grpc.aio`` server: Speech (v1, v1p1beta1), Operations, health and reflection.

Runs in the same event loop as REST, over the same cores. Its receive cap is above
Google's request limit so that an over-limit request reaches ``check_request_size`` and gets
Google's INVALID_ARGUMENT text; only a message past the cap itself is refused by gRPC
(RESOURCE_EXHAUSTED, "Received message larger than max").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from hark.api import convert
from hark.api.metrics import Metrics
from hark.api.rpc import (
    OPERATIONS_SERVICE,
    Guard,
    OperationsServicer,
    ProjectOperations,
    SpeechServicer,
)
from hark.auth import ApiKeys
from hark.jobs.service import LongRunningRecognizer
from hark.settings import Limits
from hark.speech.recognizer import Recognizer
from hark.speech.streaming.session import StreamingRecognizer

TRANSPORT_SLACK_BYTES = 1 << 20
"""Room above ``max_request_bytes`` for the config and framing of a request at the limit."""


@dataclass(frozen=True)
class Tls:
    """A PEM certificate chain and its private key."""

    cert: Path
    key: Path

    def server_credentials(self) -> grpc.ServerCredentials:
        return grpc.ssl_server_credentials([(self.key.read_bytes(), self.cert.read_bytes())])


class Service(Protocol):
    """A further gRPC service (v2's Speech): its full name and its handler under a Guard."""

    service: str

    def handler(self, guard: Guard) -> grpc.GenericRpcHandler: ...


def receive_cap(limits: Limits) -> int:
    """gRPC's receive limit: twice Google's request limit, so over-limit requests get
    Google's INVALID_ARGUMENT rather than a transport error up to that size."""
    return 2 * limits.max_request_bytes + TRANSPORT_SLACK_BYTES


class RpcServer:
    """Hark's gRPC face; ``start`` binds and serves, ``stop`` drains in-flight calls."""

    def __init__(
        self,
        recognizer: Recognizer,
        long_running: LongRunningRecognizer,
        streaming: StreamingRecognizer,
        keys: ApiKeys,
        limits: Limits,
        *,
        metrics: Metrics | None = None,
        max_calls: int | None = None,
        more: Sequence[Service] = (),
        projects: ProjectOperations | None = None,
    ) -> None:
        self.health = health.aio.HealthServicer()
        self.server = grpc.aio.server(
            # The guard caps the calls with Google's shape and lets operation polls through
            # (see ``Guard``); gRPC's own cap, twice as high, stays as the backstop that
            # refuses a flood of calls before their request messages are read.
            maximum_concurrent_rpcs=2 * max_calls if max_calls else None,
            options=[
                ("grpc.max_receive_message_length", receive_cap(limits)),
                ("grpc.max_concurrent_streams", 100),  # per connection
                ("grpc.max_connection_idle_ms", 300_000),  # idle connections are closed
                # gRPC sets SO_REUSEPORT by default: a second server on the same port would
                # start and take a random share of the calls. A port in use is an error.
                ("grpc.so_reuseport", 0),
            ],
        )
        # Calls past ``max_calls`` at once are RESOURCE_EXHAUSTED, not queued without bound.
        self.guard = guard = Guard(keys, metrics or Metrics(), max_calls)
        services = [
            SpeechServicer(version, limits, recognizer, long_running, streaming)
            for version in (convert.V1, convert.V1P1BETA1)
        ]
        operations = OperationsServicer(long_running, projects)
        self.server.add_generic_rpc_handlers(
            [service.handler(guard) for service in services]
            + [operations.handler(guard)]
            + [service.handler(guard) for service in more]
        )
        self.service_names = (
            *(service.service for service in services),
            *(service.service for service in more),
            OPERATIONS_SERVICE,
            health.SERVICE_NAME,
            reflection.SERVICE_NAME,
        )
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(self.service_names, self.server)

    async def start(self, host: str, port: int, tls: Tls | None = None) -> int:
        """Bind ``host:port`` (TLS when given) and serve; returns the bound port.

        Raises ``OSError`` when the port cannot be bound. Every service reports SERVING.
        """
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        try:
            if tls is None:
                bound = self.server.add_insecure_port(address)
            else:
                bound = self.server.add_secure_port(address, tls.server_credentials())
        except RuntimeError as error:
            raise OSError(f"gRPC port {address}: cannot bind ({error})") from None
        if not bound:
            raise OSError(f"gRPC port {address}: cannot bind (in use?)")
        await self.server.start()
        for name in ("", *self.service_names):
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        return int(bound)

    async def stop(self, grace: float) -> None:
        """Report NOT_SERVING, refuse new calls, let running ones finish within ``grace`` s."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
