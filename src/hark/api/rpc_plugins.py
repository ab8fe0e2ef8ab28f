"""gRPC faces of long-running and streaming recognition: thin adapters over their cores.

``rpc.SpeechServicer`` and ``rpc.OperationsServicer`` call these; each method converts the
request, calls the core, and converts the answer back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from google.longrunning import operations_pb2
from google.protobuf.message import Message

from hark.api import convert, operations, streaming
from hark.api.convert import ApiVersion
from hark.jobs.service import Operations
from hark.speech.streaming.session import StreamingRecognizer

WAIT_DEFAULT_SECONDS = 60.0
"""``WaitOperation`` without a timeout waits this long, then answers the operation as it is."""


class GrpcOperations:
    """``LongRunningRecognize`` and ``google.longrunning.Operations`` over the jobs core."""

    def __init__(self, core: Operations) -> None:
        self.core = core

    async def long_running_recognize(
        self, request: Any, version: ApiVersion
    ) -> operations_pb2.Operation:
        config, audio = convert.recognize_args(request)
        output_uri = getattr(request.output_config, "gcs_uri", "")
        return operations.operation(await self.core.submit(version.name, config, audio, output_uri))

    async def get_operation(
        self, request: operations_pb2.GetOperationRequest
    ) -> operations_pb2.Operation:
        return operations.operation(await self.core.get(request.name))

    async def list_operations(
        self, request: operations_pb2.ListOperationsRequest
    ) -> operations_pb2.ListOperationsResponse:
        # One Operations service serves both versions: gRPC clients decode by @type.
        page = await self.core.list(
            filter_text=request.filter, page_size=request.page_size, page_token=request.page_token
        )
        return operations.list_response(page)

    async def delete_operation(self, request: operations_pb2.DeleteOperationRequest) -> None:
        await self.core.delete(request.name)

    async def cancel_operation(self, request: operations_pb2.CancelOperationRequest) -> None:
        await self.core.cancel(request.name)

    async def wait_operation(
        self, request: operations_pb2.WaitOperationRequest
    ) -> operations_pb2.Operation:
        timeout = (
            request.timeout.ToTimedelta().total_seconds()
            if request.HasField("timeout")
            else WAIT_DEFAULT_SECONDS
        )
        return operations.operation(await self.core.wait(request.name, timeout))


class GrpcStreaming:
    """``StreamingRecognize`` over the streaming core."""

    def __init__(self, core: StreamingRecognizer) -> None:
        self.core = core

    def streaming_recognize(
        self, requests: AsyncIterator[Any], version: ApiVersion
    ) -> AsyncIterator[Message]:
        return streaming.streaming_recognize(self.core, requests, version)
