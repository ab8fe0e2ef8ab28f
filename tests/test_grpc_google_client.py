"""Google's own Python client, gRPC transport, unmodified, against a live Hark."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import grpc
import numpy as np
import pytest
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import speech_v1, speech_v1p1beta1
from google.protobuf import json_format
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from audio_samples import encode
from conftest import Server, corpus_file, reference
from wer import wer

pytestmark = pytest.mark.slow

NAME = "en_librispeech_1089-134686-0000.flac"
VERSIONS = pytest.mark.parametrize("module", [speech_v1, speech_v1p1beta1], ids=["v1", "v1p1beta1"])


def grpc_client(module: ModuleType, server: Server) -> Any:
    transport = module.services.speech.transports.SpeechGrpcTransport
    return module.SpeechClient(
        transport=transport(channel=grpc.insecure_channel(server.grpc_target))
    )


def full_config(module: ModuleType) -> Any:
    return module.RecognitionConfig(
        encoding=module.RecognitionConfig.AudioEncoding.FLAC,
        sample_rate_hertz=16000,
        language_code="en-US",
        enable_word_time_offsets=True,
        enable_word_confidence=True,
        max_alternatives=3,
    )


def audio(module: ModuleType, content: bytes | None = None) -> Any:
    return module.RecognitionAudio(
        content=corpus_file(NAME).read_bytes() if content is None else content
    )


@VERSIONS
def test_recognize_with_words_and_alternatives(server: Server, module: ModuleType) -> None:
    response = grpc_client(module, server).recognize(
        config=full_config(module), audio=audio(module)
    )
    text = " ".join(result.alternatives[0].transcript for result in response.results)
    assert wer(reference(NAME), text) <= 0.2
    assert response.total_billed_time.total_seconds() == 11
    words = [word for result in response.results for word in result.alternatives[0].words]
    assert words and all(0 < word.confidence <= 1 for word in words)
    starts = [word.start_time.total_seconds() for word in words]
    assert starts == sorted(starts) and words[-1].end_time.total_seconds() <= 10.5
    assert all(0 < result.alternatives[0].confidence <= 1 for result in response.results)
    assert any(len(result.alternatives) > 1 for result in response.results)


@VERSIONS
def test_grpc_and_rest_give_the_same_results(server: Server, module: ModuleType) -> None:
    over_grpc = grpc_client(module, server).recognize(
        config=full_config(module), audio=audio(module)
    )
    rest = module.SpeechClient(
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        transport="rest",
        client_options={"api_endpoint": server.url},
    )
    over_rest = rest.recognize(config=full_config(module), audio=audio(module))

    def comparable(response: Any) -> dict[str, Any]:
        document: dict[str, Any] = json_format.MessageToDict(type(response).pb(response))
        document.pop("requestId")
        return document

    assert comparable(over_grpc) == comparable(over_rest)


def test_errors_are_api_core_exceptions_with_details(server: Server) -> None:
    client = grpc_client(speech_v1, server)
    with pytest.raises(exceptions.InvalidArgument, match="bad language code") as caught:
        client.recognize(
            config=speech_v1.RecognitionConfig(language_code="??"), audio=audio(speech_v1)
        )
    violations = [
        violation
        for detail in caught.value.details
        if isinstance(detail, error_details_pb2.BadRequest)
        for violation in detail.field_violations
    ]
    assert violations and violations[0].field.startswith("config.")
    assert caught.value.grpc_status_code == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(exceptions.InvalidArgument, match="match the value in the FLAC header"):
        client.recognize(
            config=speech_v1.RecognitionConfig(language_code="en-US", sample_rate_hertz=8000),
            audio=audio(speech_v1),
        )
    with pytest.raises(exceptions.InvalidArgument, match="RecognitionAudio not set"):
        client.recognize(config=speech_v1.RecognitionConfig(language_code="en-US"), audio={})


def test_api_key_in_metadata(keyed_server: Server) -> None:
    client = grpc_client(speech_v1, keyed_server)
    config = speech_v1.RecognitionConfig(language_code="en-US")
    good = client.recognize(
        config=config, audio=audio(speech_v1), metadata=[("x-goog-api-key", "test-key")]
    )
    assert good.results
    with pytest.raises(exceptions.InvalidArgument, match="API key not valid") as caught:
        client.recognize(
            config=config, audio=audio(speech_v1), metadata=[("x-goog-api-key", "wrong")]
        )
    assert caught.value.reason == "API_KEY_INVALID"
    with pytest.raises(exceptions.PermissionDenied, match="missing a valid API key"):
        client.recognize(config=config, audio=audio(speech_v1))
    # Health and reflection stay open: load balancers and grpcurl carry no key.
    with grpc.insecure_channel(keyed_server.grpc_target) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_health_reports_serving(server: Server) -> None:
    with grpc.insecure_channel(server.grpc_target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for service in (
            "",
            "google.cloud.speech.v1.Speech",
            "google.cloud.speech.v1p1beta1.Speech",
        ):
            reply = stub.Check(health_pb2.HealthCheckRequest(service=service))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.RpcError) as caught:
            stub.Check(health_pb2.HealthCheckRequest(service="no.such.Service"))
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_reflection_lists_the_services(server: Server) -> None:
    with grpc.insecure_channel(server.grpc_target) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        assert set(database.get_services()) >= {
            "google.cloud.speech.v1.Speech",
            "google.cloud.speech.v1p1beta1.Speech",
            "google.longrunning.Operations",
            "grpc.health.v1.Health",
            "grpc.reflection.v1alpha.ServerReflection",
        }
        # Full descriptors where the installed packages carry them (Operations, messages).
        operations = database.FindFileContainingSymbol("google.longrunning.Operations")
        assert any(service.name == "Operations" for service in operations.service)
        request = database.FindFileContainingSymbol("google.cloud.speech.v1.RecognizeRequest")
        assert any(message.name == "RecognizeRequest" for message in request.message_type)


def linear16(seconds_needed: float) -> bytes:
    """Corpus speech repeated to ``seconds_needed`` of headerless 16 kHz LINEAR16."""
    once = np.frombuffer(encode(corpus_file(NAME), "LINEAR16", 16000, 1), dtype="<i2")
    repeats = int(np.ceil(seconds_needed * 16000 / once.size))
    return np.tile(once, repeats)[: int(seconds_needed * 16000)].tobytes()


def test_ten_mib_requests_reach_the_core_and_larger_ones_are_refused(server: Server) -> None:
    client = grpc_client(speech_v1, server)
    config = speech_v1.RecognitionConfig(
        encoding=speech_v1.RecognitionConfig.AudioEncoding.LINEAR16,
        sample_rate_hertz=16000,
        language_code="en-US",
    )
    near_limit = linear16(9_900_000 / 32000)  # 9.9 MB: gRPC's default cap is 4 MiB
    # It passes the transport and the size check; the core refuses it for its length.
    with pytest.raises(exceptions.InvalidArgument, match="Sync input too long"):
        client.recognize(config=config, audio=speech_v1.RecognitionAudio(content=near_limit))
    over = near_limit + linear16(20)
    with pytest.raises(
        exceptions.InvalidArgument,
        match=r"Request payload size exceeds the limit: 10485760 bytes\.",
    ):
        client.recognize(config=config, audio=speech_v1.RecognitionAudio(content=over))
    # Past the transport's own cap (twice the limit) gRPC refuses it before Hark sees it.
    huge = over * 3
    with pytest.raises(exceptions.ResourceExhausted, match="larger than max"):
        client.recognize(config=config, audio=speech_v1.RecognitionAudio(content=huge))
    # The server is unharmed.
    assert client.recognize(config=full_config(speech_v1), audio=audio(speech_v1)).results
