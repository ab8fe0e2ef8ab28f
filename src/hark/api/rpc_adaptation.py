"""``google.cloud.speech.{v1,v1p1beta1}.Adaptation`` over gRPC, through the one ``Guard``."""

from __future__ import annotations

import grpc

from hark.api.adaptation import AdaptationV1
from hark.api.rpc import Guard, _unary
from hark.api.v2.rpc import request_only


class AdaptationServicer:
    """One version's Adaptation service."""

    def __init__(self, adaptation: AdaptationV1) -> None:
        self.adaptation = adaptation
        self.service = adaptation.service

    def handler(self, guard: Guard) -> grpc.GenericRpcHandler:
        message = self.adaptation.version.message
        handlers = {
            name: _unary(
                guard.unary(request_only(method), f"/{self.service}/{name}", message(type_name))
            )
            for name, (method, type_name) in self.adaptation.methods().items()
        }
        return grpc.method_handlers_generic_handler(self.service, handlers)
