"""The gRPC transport: Google's Speech and Operations services over the core, nothing more.

Services are generic handlers over the raw protobuf classes that ``google-cloud-speech`` and
``googleapis-common-protos`` ship, so no .proto file is copied. Every method goes through one
``Guard``: it caps the calls served at once, checks the API key, turns a ``SpeechError`` into
its gRPC status (with the ``google.rpc.Status`` in ``grpc-status-details-bin``) and anything
else into INTERNAL, and writes the call's access log line (``api.access``). The servicers take
the three cores directly, as the REST routes do.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, Protocol

import grpc
from google.longrunning import operations_pb2
from google.protobuf import empty_pb2
from google.protobuf.message import DecodeError, Message

from hark.api import access, convert, operations, streaming
from hark.api.convert import ApiVersion
from hark.api.metrics import Metrics
from hark.api.status import grpc_status
from hark.auth import ApiKeys, Caller
from hark.errors import (
    INTERNAL_MESSAGE,
    Internal,
    InvalidArgument,
    ResourceExhausted,
    SpeechError,
)
from hark.jobs.service import LongRunningRecognizer
from hark.settings import Limits
from hark.speech.recognizer import Recognizer
from hark.speech.streaming.session import StreamingRecognizer

log = logging.getLogger(__name__)

Context = Any
"""A ``grpc.aio.ServicerContext`` (grpc ships no type hints)."""
Unary = Callable[[Any, Context, Caller], Awaitable[Message]]
"""A method: the request, the call's context and the caller the API key names."""
Handler = Callable[[Any, Context], Awaitable[Message]]
StreamStream = Callable[[AsyncIterator[Any], Context], AsyncIterator[Message]]

OPERATIONS_SERVICE = "google.longrunning.Operations"
WAIT_DEFAULT_SECONDS = 60.0
"""``WaitOperation`` without a timeout waits this long, then answers the operation as it is."""
WAIT_MAX_SECONDS = 600.0
"""The longest one ``WaitOperation`` waits whatever it asks (the proto lets a server return
earlier); clients poll again."""
UNPARSABLE = "Request contains an invalid argument."
"""A request message whose bytes are not the method's protobuf message."""
UNCAPPED = frozenset(
    f"/{OPERATIONS_SERVICE}/{method}"
    for method in ("GetOperation", "ListOperations", "CancelOperation", "DeleteOperation")
)
"""Calls never refused for capacity: each is one store query, and a client polling its
operation must not be turned away because other clients hold streams or long waits."""


class Guard:
    """The one wrapper around every Speech/Operations method: capacity, API key, error
    mapping, access log.

    ``name`` is the method's full gRPC name (``/google.cloud.speech.v1.Speech/Recognize``).
    ``max_calls``: calls served at once (None: any number); one more is refused
    RESOURCE_EXHAUSTED with Hark's message, as Google's errors carry one, unless it is in
    ``UNCAPPED``. (grpc.aio's own ``maximum_concurrent_rpcs`` refuses every method alike, an
    operation poll too, with no Google-shaped status: it is not used.)
    """

    def __init__(self, keys: ApiKeys, metrics: Metrics, max_calls: int | None = None) -> None:
        self.keys = keys
        self.metrics = metrics
        self.max_calls = max_calls
        self.serving = 0
        """Capped calls being served now (all on the server's one event loop)."""

    @contextlib.contextmanager
    def slot(self, name: str) -> Iterator[None]:
        """Hold one of the ``max_calls`` places while call ``name`` is served."""
        if self.max_calls is None or name in UNCAPPED:
            yield
            return
        if self.serving >= self.max_calls:
            raise ResourceExhausted(
                f"Hark is at capacity: it serves at most {self.max_calls} calls at once;"
                " retry later."
            )
        self.serving += 1
        try:
            yield
        finally:
            self.serving -= 1

    def authorize(self, context: Context) -> Caller:
        metadata = dict(context.invocation_metadata() or ())
        key = metadata.get("x-goog-api-key")
        return self.keys.check(key if isinstance(key, str) else None)

    def unary(self, method: Unary, name: str, request_class: type[Message]) -> Handler:
        """``method`` taking the request's raw bytes, parsed only after the key check."""

        async def guarded(request: Any, context: Context) -> Message:
            call = access.Call("gRPC", name, self.metrics)
            try:
                with self.slot(name):
                    caller = self.authorize(context)
                    response = await method(_parse(request_class, request), context, caller)
                call.answered(response)
                return response
            except BaseException as error:  # mapped to a status, never dropped
                call.failed(error)
                if not isinstance(error, Exception):
                    raise  # cancelled: the client is gone
                await self.abort(context, error)
                raise  # abort always raises; this keeps type checkers informed
            finally:
                call.done()

        return guarded

    def stream(self, method: StreamStream, name: str, request_class: type[Message]) -> StreamStream:
        """``method`` taking raw messages, each parsed as it is read (after the key check)."""

        async def guarded(requests: AsyncIterator[Any], context: Context) -> AsyncIterator[Message]:
            call = access.Call("gRPC", name, self.metrics, stream=True)
            try:
                with self.slot(name):  # held for the stream's life
                    self.authorize(context)
                    parsed = (_parse(request_class, raw) async for raw in requests)
                    async for response in method(parsed, context):
                        call.answered(response)
                        yield response
            except BaseException as error:  # mapped to a status, never dropped
                call.failed(error)
                if not isinstance(error, Exception):
                    raise  # cancelled, or the generator closed: the client is gone
                await self.abort(context, error)
                raise
            finally:
                call.done()

        return guarded

    @staticmethod
    async def abort(context: Context, error: Exception) -> None:
        """End the call with ``error``'s status; unexpected errors are logged and hidden."""
        if isinstance(error, grpc.aio.AbortError):
            raise error
        if not isinstance(error, SpeechError):
            log.exception("internal error serving gRPC call", exc_info=error)
            error = Internal(INTERNAL_MESSAGE)
        await context.abort_with_status(grpc_status(error))


class SpeechServicer:
    """``google.cloud.speech.<version>.Speech``: the same core calls as the REST routes."""

    def __init__(
        self,
        version: ApiVersion,
        limits: Limits,
        recognizer: Recognizer,
        long_running: LongRunningRecognizer,
        streaming: StreamingRecognizer,
    ) -> None:
        self.version = version
        self.limits = limits
        self.recognizer = recognizer
        self.long_running = long_running
        self.streaming = streaming

    @property
    def service(self) -> str:
        return f"{self.version.package}.Speech"

    async def recognize(self, request: Any, context: Context, caller: Caller) -> Message:
        convert.check_request_size(request, self.limits)
        recognition = await self.recognizer.recognize(*convert.recognize_args(request))
        return convert.recognize_response(recognition, self.version)

    async def long_running_recognize(
        self, request: Any, context: Context, caller: Caller
    ) -> Message:
        convert.check_request_size(request, self.limits)
        config, audio = convert.recognize_args(request)
        output_uri = getattr(request.output_config, "gcs_uri", "")
        job = await self.long_running.submit(
            self.version.name, config, audio, output_uri, owner=caller.owner
        )
        return operations.operation(job)

    async def streaming_recognize(
        self, requests: AsyncIterator[Any], context: Context
    ) -> AsyncIterator[Message]:
        async for response in streaming.streaming_recognize(self.streaming, requests, self.version):
            yield response

    def handler(self, guard: Guard) -> grpc.GenericRpcHandler:
        message = self.version.message
        path = f"/{self.service}/"
        return grpc.method_handlers_generic_handler(
            self.service,
            {
                "Recognize": _unary(
                    guard.unary(self.recognize, path + "Recognize", message("RecognizeRequest"))
                ),
                "LongRunningRecognize": _unary(
                    guard.unary(
                        self.long_running_recognize,
                        path + "LongRunningRecognize",
                        message("LongRunningRecognizeRequest"),
                    )
                ),
                "StreamingRecognize": grpc.stream_stream_rpc_method_handler(
                    guard.stream(
                        self.streaming_recognize,
                        path + "StreamingRecognize",
                        message("StreamingRecognizeRequest"),
                    ),
                    response_serializer=_serialize,
                ),
            },
        )


class ProjectOperations(Protocol):
    """v2's operations, named ``projects/*/locations/*/operations/*`` (``api.v2.operations``)."""

    async def get(self, name: str) -> operations_pb2.Operation: ...

    async def list(
        self, parent: str, page_size: int, page_token: str
    ) -> operations_pb2.ListOperationsResponse: ...

    async def wait(self, name: str, timeout: float) -> operations_pb2.Operation: ...

    async def delete(self, name: str) -> None: ...

    async def cancel(self, name: str) -> None: ...


def _in_project(name: str) -> bool:
    return name.startswith("projects/")


class OperationsServicer:
    """``google.longrunning.Operations``, one for every API version: v1's by number, v2's
    (``projects/...``) through ``projects``."""

    def __init__(
        self, long_running: LongRunningRecognizer, projects: ProjectOperations | None = None
    ) -> None:
        self.long_running = long_running
        self.projects = projects

    async def get_operation(self, request: Any, context: Context, caller: Caller) -> Message:
        if self.projects and _in_project(request.name):
            return await self.projects.get(request.name)
        return operations.operation(await self.long_running.get(request.name, caller.sees))

    async def list_operations(self, request: Any, context: Context, caller: Caller) -> Message:
        if self.projects and _in_project(request.name):
            return await self.projects.list(request.name, request.page_size, request.page_token)
        # One Operations service serves both versions: gRPC clients decode by @type.
        page = await self.long_running.list(
            filter_text=request.filter,
            page_size=request.page_size,
            page_token=request.page_token,
            owner=caller.sees,
        )
        return operations.list_response(page)

    async def delete_operation(self, request: Any, context: Context, caller: Caller) -> Message:
        if self.projects and _in_project(request.name):
            await self.projects.delete(request.name)
        else:
            await self.long_running.delete(request.name, caller.sees)
        return empty_pb2.Empty()

    async def cancel_operation(self, request: Any, context: Context, caller: Caller) -> Message:
        if self.projects and _in_project(request.name):
            await self.projects.cancel(request.name)
        else:
            await self.long_running.cancel(request.name, caller.sees)
        return empty_pb2.Empty()

    async def wait_operation(self, request: Any, context: Context, caller: Caller) -> Message:
        timeout = WAIT_DEFAULT_SECONDS
        if request.HasField("timeout"):  # any Duration, even 2**62 s or negative: clamped
            asked = request.timeout.seconds + request.timeout.nanos / 1e9
            timeout = min(max(asked, 0.0), WAIT_MAX_SECONDS)
        if self.projects and _in_project(request.name):
            return await self.projects.wait(request.name, timeout)
        job = await self.long_running.wait(request.name, timeout, caller.sees)
        return operations.operation(job)

    def handler(self, guard: Guard) -> grpc.GenericRpcHandler:
        methods = {
            "GetOperation": (self.get_operation, operations_pb2.GetOperationRequest),
            "ListOperations": (self.list_operations, operations_pb2.ListOperationsRequest),
            "DeleteOperation": (self.delete_operation, operations_pb2.DeleteOperationRequest),
            "CancelOperation": (self.cancel_operation, operations_pb2.CancelOperationRequest),
            "WaitOperation": (self.wait_operation, operations_pb2.WaitOperationRequest),
        }
        return grpc.method_handlers_generic_handler(
            OPERATIONS_SERVICE,
            {
                name: _unary(guard.unary(method, f"/{OPERATIONS_SERVICE}/{name}", request_class))
                for name, (method, request_class) in methods.items()
            },
        )


def _unary(method: Handler) -> grpc.RpcMethodHandler:
    # No request_deserializer: gRPC's own would answer bad bytes with INTERNAL/UNKNOWN before
    # the key check; the guard parses them instead.
    return grpc.unary_unary_rpc_method_handler(method, response_serializer=_serialize)


def _parse(request_class: type[Message], raw: bytes) -> Any:
    """``raw`` as ``request_class``; INVALID_ARGUMENT for bytes that are not one."""
    try:
        return request_class.FromString(raw)
    except (DecodeError, RecursionError):
        raise InvalidArgument(UNPARSABLE) from None


def _serialize(message: Message) -> bytes:
    data: bytes = message.SerializeToString()
    return data
