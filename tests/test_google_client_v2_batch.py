"""v2 BatchRecognize with Google's own ``speech_v2`` client (gRPC and REST) against a live
Hark: several files from a local bucket, bucket and inline output, SRT/VTT captions, a
missing file's error in the response while the others succeed."""

from __future__ import annotations

import json
import shutil
from typing import Any

import grpc
import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import speech_v2
from google.cloud.speech_v2.services.speech.transports import SpeechGrpcTransport
from google.longrunning.operations_pb2 import WaitOperationRequest
from google.longrunning.operations_pb2_grpc import OperationsStub

from conftest import Server, corpus_file, reference
from wer import wer

pytestmark = pytest.mark.slow

FILES = ["en_ljspeech_LJ001-0002.wav", "en_ljspeech_LJ001-0008.wav"]
RECOGNIZER = "projects/hark-tests/locations/global/recognizers/_"
CONFIG = speech_v2.RecognitionConfig(
    auto_decoding_config={},
    language_codes=["en-US"],
    model="long",
    features=speech_v2.RecognitionFeatures(enable_word_time_offsets=True),
)
CAPTIONS = speech_v2.OutputFormatConfig(
    native=speech_v2.NativeOutputFileFormatConfig(),
    srt=speech_v2.SrtOutputFileFormatConfig(),
    vtt=speech_v2.VttOutputFileFormatConfig(),
)


def client(server: Server, transport: str) -> Any:
    if transport == "grpc":
        channel = grpc.insecure_channel(server.grpc_target)
        return speech_v2.SpeechClient(transport=SpeechGrpcTransport(channel=channel))
    return speech_v2.SpeechClient(
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        transport="rest",
        client_options={"api_endpoint": server.url},
    )


def bucket(server: Server, name: str) -> Any:
    path = server.data_dir / "buckets" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def uris(server: Server) -> list[str]:
    for name in FILES:
        shutil.copy(corpus_file(name), bucket(server, "batch-in") / name)
    return [f"gs://batch-in/{name}" for name in FILES]


def test_batch_to_a_bucket_with_captions_and_a_missing_file(server: Server) -> None:
    files = [*uris(server), "gs://batch-in/missing.wav"]
    bucket(server, "batch-out")
    operation = client(server, "grpc").batch_recognize(
        request=speech_v2.BatchRecognizeRequest(
            recognizer=RECOGNIZER,
            config=CONFIG,
            files=[speech_v2.BatchRecognizeFileMetadata(uri=uri) for uri in files],
            recognition_output_config=speech_v2.RecognitionOutputConfig(
                gcs_output_config=speech_v2.GcsOutputConfig(uri="gs://batch-out/results"),
                output_format_config=CAPTIONS,
            ),
        )
    )
    waited = OperationsStub(grpc.insecure_channel(server.grpc_target)).WaitOperation(
        WaitOperationRequest(name=operation.operation.name, timeout={"seconds": 300})
    )
    assert waited.done  # WaitOperation waits for the batch's files
    response = operation.result(timeout=300)
    assert operation.metadata.progress_percent == 100
    for uri, name in zip(files, FILES, strict=False):
        stored = response.results[uri].cloud_storage_result
        assert stored.uri == f"gs://batch-out/results/{name[:-4]}_transcript.json"
        out = bucket(server, "batch-out") / "results"
        native = json.loads((out / f"{name[:-4]}_transcript.json").read_text())
        text = " ".join(r["alternatives"][0]["transcript"] for r in native["results"])
        assert wer(reference(name), text) <= 0.34
        assert (out / f"{name[:-4]}_transcript.srt").read_text().startswith("1\n00:00:")
        assert (out / f"{name[:-4]}_transcript.vtt").read_text().startswith("WEBVTT")
        assert stored.srt_format_uri.endswith(".srt") and stored.vtt_format_uri.endswith(".vtt")
    missing = response.results["gs://batch-in/missing.wav"]
    assert missing.error.code == grpc.StatusCode.NOT_FOUND.value[0]
    assert response.total_billed_duration.total_seconds() >= 2


def test_batch_inline_over_rest(server: Server) -> None:
    files = uris(server)
    operation = client(server, "rest").batch_recognize(
        request=speech_v2.BatchRecognizeRequest(
            recognizer=RECOGNIZER,
            config=CONFIG,
            files=[speech_v2.BatchRecognizeFileMetadata(uri=uri) for uri in files],
            recognition_output_config=speech_v2.RecognitionOutputConfig(
                inline_response_config=speech_v2.InlineOutputConfig(),
                output_format_config=CAPTIONS,
            ),
        )
    )
    response = operation.result(timeout=300)
    for uri, name in zip(files, FILES, strict=True):
        inline = response.results[uri].inline_result
        text = " ".join(r.alternatives[0].transcript for r in inline.transcript.results)
        assert wer(reference(name), text) <= 0.34
        assert inline.vtt_captions.startswith("WEBVTT") and "-->" in inline.srt_captions
