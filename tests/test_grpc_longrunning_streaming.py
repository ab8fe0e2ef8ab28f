"""Long-running and streaming recognition through Google's own Python client over gRPC."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import grpc
import pytest
from google.api_core import exceptions
from google.cloud import speech_v1, speech_v1p1beta1

from audio_samples import encode
from conftest import Server, corpus_file, reference
from wer import wer

pytestmark = pytest.mark.slow

VERSIONS = pytest.mark.parametrize("module", [speech_v1, speech_v1p1beta1], ids=["v1", "v1p1beta1"])
SHORT = "en_librispeech_1272-128104-0000.wav"
CHUNK = 3200  # 100 ms of 16 kHz LINEAR16


def client(module: ModuleType, server: Server) -> Any:
    transport = module.services.speech.transports.SpeechGrpcTransport
    return module.SpeechClient(
        transport=transport(channel=grpc.insecure_channel(server.grpc_target))
    )


@VERSIONS
def test_long_running_recognize_result(server: Server, module: ModuleType) -> None:
    speech = client(module, server)
    name = "en_librispeech_1089-134686-0000.flac"
    operation = speech.long_running_recognize(
        config=module.RecognitionConfig(language_code="en-US", enable_word_time_offsets=True),
        audio=module.RecognitionAudio(content=corpus_file(name).read_bytes()),
    )
    response = operation.result(timeout=120)
    text = " ".join(result.alternatives[0].transcript for result in response.results)
    assert wer(reference(name), text) <= 0.2
    assert response.total_billed_time.total_seconds() == 11
    assert operation.metadata.progress_percent == 100
    operations = speech.transport.operations_client
    fetched = operations.get_operation(operation.operation.name)
    assert fetched.done and fetched.name == operation.operation.name
    listed = operations.list_operations(name="", filter_="done=true")
    assert operation.operation.name in {op.name for op in listed}


def test_long_running_errors_and_unknown_operations(server: Server) -> None:
    speech = client(speech_v1, server)
    with pytest.raises(exceptions.InvalidArgument, match="bad language code"):
        speech.long_running_recognize(
            config=speech_v1.RecognitionConfig(language_code="??"),
            audio=speech_v1.RecognitionAudio(content=corpus_file(SHORT).read_bytes()),
        )
    with pytest.raises(exceptions.NotFound):
        speech.transport.operations_client.get_operation("123")


class Microphone:
    """100 ms chunks at real time, as a microphone sends them; ``sent`` counts the seconds."""

    def __init__(self, audio: bytes) -> None:
        self.audio, self.sent = audio, 0.0

    def __iter__(self) -> Iterator[Any]:
        for start in range(0, len(self.audio), CHUNK):
            time.sleep(0.1)
            yield speech_v1.StreamingRecognizeRequest(
                audio_content=self.audio[start : start + CHUNK]
            )
            self.sent = min(len(self.audio), start + CHUNK) / 32_000


def stream_config(**kwargs: Any) -> Any:
    config = speech_v1.RecognitionConfig(
        encoding=speech_v1.RecognitionConfig.AudioEncoding.LINEAR16,
        sample_rate_hertz=16000,
        language_code="en-US",
    )
    return speech_v1.StreamingRecognitionConfig(config=config, **kwargs)


def test_streaming_interim_then_finals(server: Server) -> None:
    speech = encode(corpus_file(SHORT), "LINEAR16", 16000)
    microphone = Microphone(speech + bytes(32_000))
    # For each response, the seconds of audio sent when it came (not wall time: CI is busy).
    responses = [
        (microphone.sent, response)
        for response in client(speech_v1, server).streaming_recognize(
            config=stream_config(interim_results=True), requests=iter(microphone)
        )
    ]
    interim = [sent for sent, r in responses for result in r.results if not result.is_final]
    finals = [result for _, r in responses for result in r.results if result.is_final]
    assert interim and interim[0] < len(speech) / 32_000  # while the person is still speaking
    text = " ".join(result.alternatives[0].transcript for result in finals)
    assert wer(reference(SHORT), text) <= 0.15
    assert finals[-1].alternatives[0].confidence > 0
    assert responses[-1][1].total_billed_time.total_seconds() == 7


def test_streaming_single_utterance(server: Server) -> None:
    first = encode(corpus_file("en_librispeech_1089-134686-0001.flac"), "LINEAR16", 16000)
    more = encode(corpus_file(SHORT), "LINEAR16", 16000)
    responses = list(
        client(speech_v1, server).streaming_recognize(
            config=stream_config(single_utterance=True),
            requests=iter(Microphone(first + bytes(32_000) + more)),
        )
    )
    events = [r.speech_event_type for r in responses if r.speech_event_type]
    assert events == [speech_v1.StreamingRecognizeResponse.SpeechEventType.END_OF_SINGLE_UTTERANCE]
    finals = [result for r in responses for result in r.results if result.is_final]
    assert len(finals) == 1
    assert (
        wer("stuff it into you his belly counselled him", finals[0].alternatives[0].transcript)
        <= 0.3
    )


def test_streaming_malordered_and_oversized(server: Server) -> None:
    speech = client(speech_v1, server)

    def config_again() -> Iterator[Any]:
        yield speech_v1.StreamingRecognizeRequest(streaming_config=stream_config())

    with pytest.raises(exceptions.InvalidArgument, match="Malordered Data Received"):
        list(speech.streaming_recognize(config=stream_config(), requests=config_again()))
    oversized = [speech_v1.StreamingRecognizeRequest(audio_content=bytes(30_000))]
    with pytest.raises(exceptions.OutOfRange):
        list(speech.streaming_recognize(config=stream_config(), requests=iter(oversized)))


def test_four_concurrent_real_time_streams(server: Server) -> None:
    names = [
        SHORT,
        "en_librispeech_1089-134686-0001.flac",
        "en_cmu_goforward_s16le_16k.raw",
        "en_librivox_sense_and_sensibility_0890.wav",
    ]
    texts: dict[str, str] = {}

    def run(name: str) -> None:
        audio = encode(corpus_file(name), "LINEAR16", 16000) + bytes(32_000)
        responses = client(speech_v1, server).streaming_recognize(
            config=stream_config(), requests=iter(Microphone(audio))
        )
        finals = [result for r in responses for result in r.results if result.is_final]
        texts[name] = " ".join(result.alternatives[0].transcript for result in finals)

    threads = [threading.Thread(target=run, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for name in names:
        assert wer(reference(name), texts.get(name, "")) <= 0.3, name
