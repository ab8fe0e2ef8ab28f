"""Google's own ``speech_v2`` Python client, unmodified, over gRPC and REST against a live
Hark: recognition with the implicit recognizer and with a stored one whose defaults are
merged, the Recognizer resources' life cycle (undelete, etag conflicts), Google's errors.

Over REST, api_core raises by HTTP status (409 Conflict, 400 BadRequest, 403 Forbidden), the
parents of the gRPC classes; the messages tell the cases apart."""

from __future__ import annotations

import uuid
from typing import Any

import grpc
import pytest
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import speech_v2
from google.cloud.location.locations_pb2 import ListLocationsRequest
from google.cloud.speech_v2.services.speech.transports import SpeechGrpcTransport
from google.longrunning.operations_pb2 import GetOperationRequest

from conftest import Server, corpus_file, reference
from wer import wer

pytestmark = pytest.mark.slow

NAME = "en_librispeech_1089-134686-0000.flac"
SHORT = "en_ljspeech_LJ001-0002.wav"
"""A 2 s sentence, for the tests whose point is not the transcript's accuracy."""
PARENT = "projects/hark-tests/locations/global"
TRANSPORTS = pytest.mark.parametrize("transport", ["grpc", "rest"])


def client(server: Server, transport: str, api_key: str | None = None) -> Any:
    if transport == "grpc":
        channel = grpc.insecure_channel(server.grpc_target)
        if api_key:
            channel = grpc.intercept_channel(channel, _KeyInterceptor(api_key))
        return speech_v2.SpeechClient(transport=SpeechGrpcTransport(channel=channel))
    options: dict[str, str] = {"api_endpoint": server.url}
    if api_key:
        return speech_v2.SpeechClient(
            transport="rest", client_options={**options, "api_key": api_key}
        )
    return speech_v2.SpeechClient(
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        transport="rest",
        client_options=options,
    )


class _KeyInterceptor(grpc.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """``x-goog-api-key`` on every call, as ``client_options.api_key`` sends it."""

    def __init__(self, key: str) -> None:
        self.key = key

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        metadata = [*(details.metadata or ()), ("x-goog-api-key", self.key)]
        return continuation(details._replace(metadata=metadata), request)


def words_config(**fields: Any) -> speech_v2.RecognitionConfig:
    return speech_v2.RecognitionConfig(
        features=speech_v2.RecognitionFeatures(
            enable_word_time_offsets=True, enable_word_confidence=True
        ),
        **fields,
    )


@TRANSPORTS
def test_recognize_with_the_implicit_recognizer(server: Server, transport: str) -> None:
    config = words_config(auto_decoding_config={}, language_codes=["en-US"], model="long")
    response = client(server, transport).recognize(
        recognizer=f"{PARENT}/recognizers/_", config=config, content=corpus_file(NAME).read_bytes()
    )
    text = " ".join(result.alternatives[0].transcript for result in response.results)
    assert wer(reference(NAME), text) <= 0.2
    assert all(result.language_code == "en-us" for result in response.results)
    assert response.metadata.total_billed_duration.total_seconds() == 11
    assert uuid.UUID(response.metadata.request_id)
    words = [word for result in response.results for word in result.alternatives[0].words]
    assert words and all(0 < word.confidence <= 1 for word in words)
    assert 0 < words[-1].end_offset.total_seconds() <= 10.5
    assert response.results[-1].result_end_offset.total_seconds() > 5


@TRANSPORTS
def test_a_stored_recognizers_defaults_are_merged(server: Server, transport: str) -> None:
    speech = client(server, transport)
    recognizer_id = f"defaults-{transport}"
    defaults = words_config(auto_decoding_config={}, language_codes=["en-US"], model="short")
    created = speech.create_recognizer(
        parent=PARENT,
        recognizer_id=recognizer_id,
        recognizer=speech_v2.Recognizer(default_recognition_config=defaults),
    ).result()
    assert created.state == speech_v2.Recognizer.State.ACTIVE
    # The request sets one feature; the language, decoding and word times come from the defaults.
    request_config = speech_v2.RecognitionConfig(
        features=speech_v2.RecognitionFeatures(max_alternatives=2)
    )
    response = speech.recognize(
        recognizer=created.name, config=request_config, content=corpus_file(SHORT).read_bytes()
    )
    words = [word for result in response.results for word in result.alternatives[0].words]
    assert words and words[-1].end_offset.total_seconds() > 1
    text = " ".join(result.alternatives[0].transcript for result in response.results)
    assert wer(reference(SHORT), text) <= 0.34
    # A mask naming a field the request leaves unset clears the default's value.
    masked = speech.recognize(
        recognizer=created.name,
        config=request_config,
        config_mask={"paths": ["features"]},
        content=corpus_file(SHORT).read_bytes(),
    )
    assert not any(result.alternatives[0].words for result in masked.results)


@TRANSPORTS
def test_recognizer_life_cycle(server: Server, transport: str) -> None:
    speech = client(server, transport)
    name = f"{PARENT}/recognizers/cycle-{transport}"
    creating = speech.create_recognizer(
        parent=PARENT,
        recognizer_id=f"cycle-{transport}",
        recognizer=speech_v2.Recognizer(display_name="first"),
    )
    created = creating.result()
    polled = speech.get_operation(GetOperationRequest(name=creating.operation.name))
    assert polled.done and polled.name.startswith(f"{PARENT}/operations/")
    with pytest.raises(exceptions.Conflict, match="already exists"):
        speech.create_recognizer(
            parent=PARENT, recognizer_id=f"cycle-{transport}", recognizer=speech_v2.Recognizer()
        ).result()
    assert speech.get_recognizer(name=name).etag == created.etag
    with pytest.raises(exceptions.Conflict, match="etag"):
        speech.update_recognizer(
            recognizer=speech_v2.Recognizer(name=name, display_name="x", etag="stale")
        ).result()
    updated = speech.update_recognizer(
        recognizer=speech_v2.Recognizer(name=name, display_name="second", etag=created.etag),
        update_mask={"paths": ["display_name"]},
    ).result()
    assert updated.display_name == "second" and updated.etag != created.etag
    deleted = speech.delete_recognizer(name=name).result()
    assert deleted.state == speech_v2.Recognizer.State.DELETED
    assert deleted.expire_time.timestamp() > deleted.delete_time.timestamp()
    assert name not in [r.name for r in speech.list_recognizers(parent=PARENT)]
    listed = speech.list_recognizers(request={"parent": PARENT, "show_deleted": True})
    assert name in [r.name for r in listed]
    with pytest.raises(exceptions.BadRequest, match="is deleted"):
        speech.recognize(recognizer=name, content=b"\0" * 100)
    restored = speech.undelete_recognizer(name=name).result()
    assert restored.state == speech_v2.Recognizer.State.ACTIVE
    with pytest.raises(exceptions.NotFound):
        speech.get_recognizer(name=name.replace("hark-tests", "someone-else"))


@TRANSPORTS
def test_errors_in_googles_words(server: Server, transport: str) -> None:
    speech = client(server, transport)
    audio = corpus_file(SHORT).read_bytes()
    config = speech_v2.RecognitionConfig(
        auto_decoding_config={}, language_codes=["en-US"], model="chirp_9"
    )
    with pytest.raises(exceptions.BadRequest, match='The model "chirp_9" does not exist'):
        speech.recognize(recognizer=f"{PARENT}/recognizers/_", config=config, content=audio)
    with pytest.raises(exceptions.NotFound, match="Requested entity was not found"):
        speech.recognize(recognizer=f"{PARENT}/recognizers/never-made", content=audio)


@TRANSPORTS
def test_api_keys_as_v1(keyed_server: Server, transport: str) -> None:
    config = speech_v2.RecognitionConfig(auto_decoding_config={}, language_codes=["en-US"])
    audio = corpus_file(SHORT).read_bytes()
    recognizer = f"{PARENT}/recognizers/_"
    keyed = client(keyed_server, transport, api_key="test-key")
    assert keyed.recognize(recognizer=recognizer, config=config, content=audio).results
    with pytest.raises(exceptions.Forbidden, match="API key"):
        client(keyed_server, transport).recognize(
            recognizer=recognizer, config=config, content=audio
        )


@TRANSPORTS
def test_locations_and_config(server: Server, transport: str) -> None:
    speech = client(server, transport)
    listed = speech.list_locations(ListLocationsRequest(name="projects/hark-tests"))
    assert [location.location_id for location in listed.locations] == ["global"]
    config = speech.get_config(name=f"{PARENT}/config")
    assert config.name == f"{PARENT}/config" and not config.kms_key_name
