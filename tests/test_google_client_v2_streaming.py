"""v2 StreamingRecognize with Google's own ``speech_v2`` client over gRPC, at real-time pace:
the recognizer and config in the first message, interim results, voice activity events,
v2's 15 KB message limit."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.api_core import exceptions
from google.cloud import speech_v2
from google.cloud.speech_v2.services.speech.transports import SpeechGrpcTransport

from audio_samples import encode
from conftest import Server, corpus_file, reference
from wer import wer

pytestmark = pytest.mark.slow

SPEECH = "en_librispeech_1272-128104-0000.wav"
RECOGNIZER = "projects/hark-tests/locations/global/recognizers/_"
CHUNK = 3200  # 100 ms of 16 kHz LINEAR16
Event = speech_v2.StreamingRecognizeResponse.SpeechEventType


def client(server: Server) -> Any:
    channel = grpc.insecure_channel(server.grpc_target)
    return speech_v2.SpeechClient(transport=SpeechGrpcTransport(channel=channel))


def streaming_config(**features: Any) -> speech_v2.StreamingRecognitionConfig:
    return speech_v2.StreamingRecognitionConfig(
        config=speech_v2.RecognitionConfig(
            explicit_decoding_config=speech_v2.ExplicitDecodingConfig(
                encoding=speech_v2.ExplicitDecodingConfig.AudioEncoding.LINEAR16,
                sample_rate_hertz=16000,
                audio_channel_count=1,
            ),
            language_codes=["en-US"],
            model="long",
        ),
        streaming_features=speech_v2.StreamingRecognitionFeatures(**features),
    )


class Microphone:
    """The config, then 100 ms chunks at real time; ``sent`` counts the seconds sent."""

    def __init__(self, config: speech_v2.StreamingRecognitionConfig, audio: bytes) -> None:
        self.config, self.audio, self.sent = config, audio, 0.0

    def __iter__(self) -> Iterator[Any]:
        yield speech_v2.StreamingRecognizeRequest(
            recognizer=RECOGNIZER, streaming_config=self.config
        )
        for start in range(0, len(self.audio), CHUNK):
            time.sleep(0.1)
            yield speech_v2.StreamingRecognizeRequest(audio=self.audio[start : start + CHUNK])
            self.sent = min(len(self.audio), start + CHUNK) / 32_000


def test_streaming_interims_events_and_finals(server: Server) -> None:
    speech = encode(corpus_file(SPEECH), "LINEAR16", 16000)
    silence = bytes(32_000)
    config = streaming_config(interim_results=True, enable_voice_activity_events=True)
    audio = silence + speech + silence
    microphone = Microphone(config, audio)
    # For each response, the seconds of audio sent when it came (not wall time: CI is busy).
    responses = [
        (microphone.sent, response)
        for response in client(server).streaming_recognize(requests=iter(microphone))
    ]
    interim = [sent for sent, r in responses for result in r.results if not result.is_final]
    finals = [result for _, r in responses for result in r.results if result.is_final]
    assert interim and interim[0] < len(audio) / 32_000  # before the stream ends
    text = " ".join(result.alternatives[0].transcript for result in finals)
    assert wer(reference(SPEECH), text) <= 0.15
    assert all(result.language_code == "en-us" for result in finals)
    assert finals[-1].result_end_offset.total_seconds() > 1
    events = [r.speech_event_type for _, r in responses if r.speech_event_type]
    assert events[0] == Event.SPEECH_ACTIVITY_BEGIN and Event.SPEECH_ACTIVITY_END in events
    begin = next(r for _, r in responses if r.speech_event_type == Event.SPEECH_ACTIVITY_BEGIN)
    assert 0.5 < begin.speech_event_offset.total_seconds() < 2.5  # after the leading second
    assert responses[-1][1].metadata.total_billed_duration.total_seconds() > 0


def test_streaming_order_limits_and_names(server: Server) -> None:
    speech = client(server)

    def requests(*messages: Any) -> Iterator[Any]:
        first = speech_v2.StreamingRecognizeRequest(
            recognizer=RECOGNIZER, streaming_config=streaming_config()
        )
        yield first
        yield from messages

    again = speech_v2.StreamingRecognizeRequest(streaming_config=streaming_config())
    with pytest.raises(exceptions.InvalidArgument, match="Malordered Data Received"):
        list(speech.streaming_recognize(requests=requests(again)))
    oversized = speech_v2.StreamingRecognizeRequest(audio=bytes(16_000))
    with pytest.raises(exceptions.OutOfRange, match="15360 bytes"):
        list(speech.streaming_recognize(requests=requests(oversized)))
    unnamed = speech_v2.StreamingRecognizeRequest(streaming_config=streaming_config())
    with pytest.raises(exceptions.InvalidArgument, match="Invalid resource name"):
        list(speech.streaming_recognize(requests=iter([unnamed])))
