"""``google.cloud.speech.v2.Speech`` over gRPC: generic handlers on Google's message classes,
every method through the v1 transport's ``Guard`` (API key, error status, access log)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.cloud.location import locations_pb2
from google.protobuf.message import Message

from hark.api.rpc import Context, Guard, _serialize, _unary
from hark.api.v2.convert import PACKAGE, message
from hark.api.v2.locations import Locations
from hark.api.v2.resource_methods import Method
from hark.api.v2.service import SpeechV2
from hark.api.v2.streaming import streaming_recognize
from hark.auth import Caller
from hark.speech.streaming.session import StreamingRecognizer

SERVICE = f"{PACKAGE}.Speech"
LOCATIONS_SERVICE = "google.cloud.location.Locations"


class SpeechV2Servicer:
    """The v2 Speech service over ``SpeechV2``."""

    service = SERVICE

    def __init__(self, speech: SpeechV2, streaming: StreamingRecognizer) -> None:
        self.speech = speech
        self.streaming = streaming

    async def streaming_recognize(
        self, requests: AsyncIterator[Any], context: Context
    ) -> AsyncIterator[Message]:
        async for response in streaming_recognize(self.speech, self.streaming, requests):
            yield response

    def methods(self) -> dict[str, tuple[Callable[[Any], Awaitable[Message]], str]]:
        """gRPC method name -> (the ``SpeechV2`` method, its request message)."""
        s = self.speech
        methods: dict[str, tuple[Method, str]] = {
            "Recognize": (s.recognize, "RecognizeRequest"),
            "BatchRecognize": (s.batch_recognize, "BatchRecognizeRequest"),
            "GetConfig": (s.get_config, "GetConfigRequest"),
            "UpdateConfig": (s.update_config, "UpdateConfigRequest"),
        }
        for resources in (s.recognizers, s.phrase_sets, s.custom_classes):
            methods.update(resources.standard_methods())
        return methods

    def handler(self, guard: Guard) -> grpc.GenericRpcHandler:
        handlers = {
            name: _unary(
                guard.unary(request_only(method), f"/{SERVICE}/{name}", message(type_name))
            )
            for name, (method, type_name) in self.methods().items()
        }
        handlers["StreamingRecognize"] = grpc.stream_stream_rpc_method_handler(
            guard.stream(
                self.streaming_recognize,
                f"/{SERVICE}/StreamingRecognize",
                message("StreamingRecognizeRequest"),
            ),
            response_serializer=_serialize,
        )
        return grpc.method_handlers_generic_handler(SERVICE, handlers)


def request_only(
    method: Callable[[Any], Awaitable[Message]],
) -> Callable[[Any, Context, Caller], Awaitable[Message]]:
    async def call(request: Any, context: Context, caller: Caller) -> Message:
        return await method(request)

    return call


class LocationsServicer:
    """``google.cloud.location.Locations``: ``ListLocations`` and ``GetLocation``."""

    service = LOCATIONS_SERVICE

    def __init__(self) -> None:
        self.locations = Locations()

    def handler(self, guard: Guard) -> grpc.GenericRpcHandler:
        methods = {
            "ListLocations": (self.locations.list_locations, locations_pb2.ListLocationsRequest),
            "GetLocation": (self.locations.get_location, locations_pb2.GetLocationRequest),
        }
        handlers = {
            name: _unary(
                guard.unary(request_only(method), f"/{LOCATIONS_SERVICE}/{name}", request_class)
            )
            for name, (method, request_class) in methods.items()
        }
        return grpc.method_handlers_generic_handler(LOCATIONS_SERVICE, handlers)
