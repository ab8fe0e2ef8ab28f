"""Operating a real server: ``/metrics`` counts real calls, ``/readyz`` and ``/healthz`` answer."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import grpc
import httpx
import pytest
from google.cloud import speech_v1
from google.cloud.speech_v1.services.speech.transports import SpeechGrpcTransport
from prometheus_client.parser import text_string_to_metric_families

from stream_client import stream

from audio_samples import encode
from conftest import Server, corpus_file, start_server

pytestmark = pytest.mark.slow

CLIP = "en_cmu_cards_002.wav"
CONFIG = {"encoding": "LINEAR16", "sampleRateHertz": 16000, "languageCode": "en-US"}
RECOGNIZE = "POST /{version:str}/speech:recognize"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(server: Server) -> Samples:
    reply = httpx.get(f"{server.url}/metrics", timeout=30)
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(reply.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def grpc_recognize(server: Server, pcm: bytes) -> float:
    """A Recognize over gRPC with Google's client; its billed seconds."""
    channel = grpc.insecure_channel(server.grpc_target)
    client = speech_v1.SpeechClient(transport=SpeechGrpcTransport(channel=channel))
    config = speech_v1.RecognitionConfig(
        encoding="LINEAR16", sample_rate_hertz=16000, language_code="en-US"
    )
    try:
        audio = speech_v1.RecognitionAudio(content=pcm)
        response = client.recognize(config=config, audio=audio, timeout=120)
    finally:
        channel.close()
    return float(response.total_billed_time.total_seconds())


def test_metrics_count_a_recognize_a_400_and_a_stream(server: Server) -> None:
    pcm = encode(corpus_file(CLIP), "LINEAR16", 16000)
    before = scrape(server)

    body = {"config": CONFIG, "audio": {"content": base64.b64encode(pcm).decode()}}
    ok = httpx.post(f"{server.url}/v1/speech:recognize", json=body, timeout=120)
    assert ok.status_code == 200
    billed = float(ok.json()["totalBilledTime"].removesuffix("s"))
    bad = httpx.post(f"{server.url}/v1/speech:recognize", json={"audio": {}}, timeout=30)
    assert bad.status_code == 400
    url = f"ws://127.0.0.1:{server.port}/ws/v1/speech:streamingrecognize"
    got = asyncio.run(stream(url, {"config": CONFIG}, pcm, pace=0.25))
    assert got.error is None and got.close_code == 1000
    grpc_billed = grpc_recognize(server, pcm)

    after = scrape(server)
    rpc = "/google.cloud.speech.v1.Speech/Recognize"
    assert moved(before, after, "hark_requests_total", transport="gRPC", method=rpc, code="OK") == 1
    assert moved(before, after, "hark_audio_seconds_total", transport="gRPC") == grpc_billed > 0
    assert (
        moved(before, after, "hark_requests_total", transport="REST", method=RECOGNIZE, code="200")
        == 1
    )
    assert (
        moved(before, after, "hark_requests_total", transport="REST", method=RECOGNIZE, code="400")
        == 1
    )
    ws = "/ws/{version:str}/speech:streamingrecognize"
    assert (
        moved(before, after, "hark_requests_total", transport="WebSocket", method=ws, code="OK")
        == 1
    )
    assert moved(before, after, "hark_audio_seconds_total", transport="REST") == billed > 0
    assert moved(before, after, "hark_audio_seconds_total", transport="WebSocket") > 0
    assert value(after, "hark_active_streams", transport="WebSocket") == 0
    # Each Recognize is one engine call; the stream's decodes add at least one more.
    assert moved(before, after, "hark_engine_call_seconds_count") >= 3
    assert moved(before, after, "hark_engine_real_time_factor_count") >= 3
    assert moved(before, after, "hark_engine_rejections_total") == 0
    assert value(after, "hark_engine_queue_depth") == 0
    assert any(name == "hark_model_loaded" and v == 1 for (name, _), v in after.items())
    assert ("hark_operations", (("state", "queued"),)) in after
    # The first scrape was itself a REST call, counted under its route.
    assert (
        moved(
            before,
            after,
            "hark_requests_total",
            transport="REST",
            method="GET /metrics",
            code="200",
        )
        == 1
    )


def test_healthz_is_liveness_readyz_is_readiness(server: Server) -> None:
    assert httpx.get(f"{server.url}/healthz", timeout=30).status_code == 200
    ready = httpx.get(f"{server.url}/readyz", timeout=30)
    assert ready.status_code == 200
    assert ready.json() == {"status": "READY", "checks": {"model": True, "store": True}}


def test_metrics_and_readiness_need_no_key(keyed_server: Server) -> None:
    assert httpx.get(f"{keyed_server.url}/metrics", timeout=30).status_code == 200
    assert httpx.get(f"{keyed_server.url}/readyz", timeout=30).status_code == 200


def test_json_logs_every_line_with_the_request_id(tmp_path: Path) -> None:
    server = start_server(tmp_path, "--log-format", "json", env={"HARK_LOG_LEVEL": "debug"})
    try:
        pcm = encode(corpus_file(CLIP), "LINEAR16", 16000)
        body = {"config": CONFIG, "audio": {"content": base64.b64encode(pcm).decode()}}
        reply = httpx.post(f"{server.url}/v1/speech:recognize?key=SECRET", json=body, timeout=120)
        assert reply.status_code == 200
        request_id = reply.json()["requestId"]
    finally:
        assert server.stop() == 0
    records = [json.loads(line) for line in server.log().splitlines() if line.strip()]
    assert all({"time", "level", "logger", "message"} <= record.keys() for record in records)
    access = [record for record in records if record.get("requestId") == request_id]
    assert len(access) == 1, records
    line = access[0]
    assert line["logger"] == "hark.access" and line["transport"] == "REST"
    assert line["method"] == "POST /v1/speech:recognize" and line["status"] == 200
    assert line["durationSeconds"] > 0 and line["audioSeconds"] == 2
    loggers = {record["logger"] for record in records}
    assert "uvicorn.error" in loggers and "hark.app" in loggers  # uvicorn's lines are JSON too
    assert "SECRET" not in server.log() and pcm[:64].hex() not in server.log()
