"""v2's operations: ``google.longrunning.Operations`` under ``projects/*/locations/*``.

A write to a resource (Create/Update/Delete/Undelete) finishes before it answers; its
Operation is kept beside the resources so that a client polling it by name (as Google's
clients may) finds it. A BatchRecognize operation is kept as a record (``batch``) and built
from its jobs when asked for. Names never cross their project and location.
"""

from __future__ import annotations

import asyncio
import time

from google.longrunning import operations_pb2

from hark.api.v2.batch import BATCH_TAG, Batches, BatchRecord
from hark.errors import NotFound
from hark.resources import StoredResource
from hark.resources.lifecycle import NOT_FOUND, Resources
from hark.resources.names import parse_name, parse_parent

OPERATIONS = "operations"


class V2Operations:
    """v2 operations, stored as resources of the ``operations`` collection: finished ones as
    they are, batches (``batches``) as records their Operation is built from."""

    def __init__(self, resources: Resources, batches: Batches | None = None) -> None:
        self.resources = resources
        self.batches = batches

    async def _operation(self, stored: StoredResource) -> operations_pb2.Operation:
        if stored.payload.startswith(BATCH_TAG) and self.batches is not None:
            return await self.batches.render(stored.name, BatchRecord.loads(stored.payload))
        return operations_pb2.Operation.FromString(stored.payload)

    async def record(self, operation: operations_pb2.Operation) -> operations_pb2.Operation:
        """Keep ``operation`` (named ``projects/*/locations/*/operations/*``) and return it."""
        name = parse_name(operation.name, OPERATIONS)
        await self.resources.create(name, operation.SerializeToString())
        return operation

    async def get(self, name: str) -> operations_pb2.Operation:
        stored = await self.resources.get(parse_name(name, OPERATIONS))
        if stored.deleted:
            raise NotFound(NOT_FOUND)
        return await self._operation(stored)

    async def list(
        self, parent: str, page_size: int, page_token: str
    ) -> operations_pb2.ListOperationsResponse:
        """``parent`` is ``projects/*/locations/*`` (the REST path, or a gRPC request's name)."""
        page = await self.resources.list(
            parse_parent(parent, "name"), OPERATIONS, page_size, page_token, False
        )
        return operations_pb2.ListOperationsResponse(
            operations=[await self._operation(stored) for stored in page.resources],
            next_page_token=page.next_page_token,
        )

    async def wait(self, name: str, timeout: float) -> operations_pb2.Operation:
        """The operation once done, or as it is after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not (operation := await self.get(name)).done and time.monotonic() < deadline:
            await asyncio.sleep(min(0.25, max(0.0, deadline - time.monotonic())))
        return operation

    async def delete(self, name: str) -> None:
        await self.resources.delete(parse_name(name, OPERATIONS))

    async def cancel(self, name: str) -> None:
        """A batch's files still running are cancelled; cancelling a finished operation
        changes nothing (AIP-151)."""
        stored = await self.resources.get(parse_name(name, OPERATIONS))
        if stored.payload.startswith(BATCH_TAG) and self.batches is not None:
            await self.batches.cancel(BatchRecord.loads(stored.payload))
