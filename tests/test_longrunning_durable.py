"""Long-running recognition that must not lose work: the official client's strict polls,
a SIGKILL in the middle of several jobs, and a long file with absolute offsets."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from types import ModuleType

import httpx
import numpy as np
import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import speech_v1, speech_v1p1beta1

from hark.audio import AudioSpec, decode

from audio_samples import wav_bytes
from conftest import Server, corpus_file, reference, start_server
from lro import poll, put, submit, transcript
from wer import wer

pytestmark = pytest.mark.slow

SHORT = "en_librispeech_1089-134686-0000.flac"


@pytest.mark.parametrize("module", [speech_v1, speech_v1p1beta1], ids=["v1", "v1p1beta1"])
def test_official_client_result_over_rest(server: Server, module: ModuleType) -> None:
    client = module.SpeechClient(
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        transport="rest",
        client_options={"api_endpoint": server.url},
    )
    uri = put(server, SHORT, bucket="client-bucket")
    output = f"gs://client-bucket/{module.__name__}.json"
    request = module.LongRunningRecognizeRequest(
        config=module.RecognitionConfig(language_code="en-US", enable_word_time_offsets=True),
        audio=module.RecognitionAudio(uri=uri),
        output_config=module.TranscriptOutputConfig(gcs_uri=output),
    )
    operation = client.long_running_recognize(request=request)
    response = operation.result(timeout=120)  # strict JSON parsing of every poll
    text = " ".join(result.alternatives[0].transcript for result in response.results)
    assert wer(reference(SHORT), text) <= 0.2
    assert response.total_billed_time.total_seconds() == 11
    assert response.output_config.gcs_uri == output
    assert operation.metadata.progress_percent == 100 and operation.metadata.uri == uri
    written = json.loads(
        (
            server.data_dir / "buckets" / "client-bucket" / output.rsplit("/", maxsplit=1)[-1]
        ).read_text()
    )
    assert written["results"][0]["alternatives"][0]["transcript"] == (
        response.results[0].alternatives[0].transcript
    )
    inline = client.long_running_recognize(
        config=module.RecognitionConfig(language_code="en-US"),
        audio=module.RecognitionAudio(content=corpus_file(SHORT).read_bytes()),
    )
    assert (
        wer(reference(SHORT), inline.result(timeout=120).results[0].alternatives[0].transcript)
        <= 0.2
    )
    listed = client.list_operations({"name": ""})
    assert operation.operation.name in {op.name for op in listed.operations}


def test_sigkill_then_restart_completes_every_job_once(tmp_path: Path) -> None:
    files = ["en_librivox_sense_and_sensibility_0870.wav", "medium_en_ljspeech_5utts_16k.wav",
             "en_librispeech_1089-134686-0001.flac", "en_librivox_sense_and_sensibility_0880.wav"]  # fmt: skip
    first = start_server(tmp_path, "--job-workers", "2")
    names = {}
    for name in files:
        reply = submit(
            first, {"config": {"languageCode": "en-US"}, "audio": {"uri": put(first, name)}}
        )
        assert reply.status_code == 200, reply.text
        names[reply.json()["name"]] = name
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ops = httpx.get(f"{first.url}/v1/operations").json()["operations"]
        if any(op["metadata"].get("progressPercent", 0) > 0 for op in ops):
            break
        time.sleep(0.1)
    ops = httpx.get(f"{first.url}/v1/operations").json()["operations"]
    assert not all(op.get("done") for op in ops), "every job finished before the kill"
    first.process.send_signal(signal.SIGKILL)
    first.process.wait()

    second = start_server(tmp_path)  # same data dir
    try:
        finished = {name: poll(second, name) for name in names}
        for name, operation in finished.items():
            assert "response" in operation, operation
            # A re-run job's transcript, not its model's accuracy: one misheard word of the
            # eight-word clip is already 0.375.
            assert wer(reference(names[name]), transcript(operation)) <= 0.5, names[name]
        assert "re-running" in second.log()
    finally:
        second.stop()


def test_ten_minute_file_with_absolute_offsets(tmp_path: Path) -> None:
    name = "long_en_ljspeech_LJ001-0001-0016_16k.flac"
    samples = decode(corpus_file(name).read_bytes(), AudioSpec()).mono()
    gap = np.zeros(16000, dtype=np.float32)
    repeats = 6  # 6 x 116.5 s = 11.6 minutes
    pcm = np.concatenate([part for _ in range(repeats) for part in (samples, gap)])
    (tmp_path / "allowed").mkdir()
    path = tmp_path / "allowed" / "ten_minutes.wav"
    path.write_bytes(wav_bytes(pcm))
    duration = len(pcm) / 16000
    server = start_server(tmp_path, "--file-root", str(tmp_path / "allowed"))
    try:
        body = {"config": {"languageCode": "en-US", "enableWordTimeOffsets": True},
                "audio": {"uri": f"file://{path}"}}  # fmt: skip
        operation = submit(server, body).json()["name"]
        seen: list[tuple[int, str]] = []
        while not (state := httpx.get(f"{server.url}/v1/operations/{operation}").json()).get(
            "done"
        ):
            metadata = state["metadata"]
            seen.append((metadata.get("progressPercent", 0), metadata["lastUpdateTime"]))
            time.sleep(1)
        done = poll(server, operation)
    finally:
        server.stop()
    progress = [percent for percent, _ in seen]
    assert progress == sorted(progress) and len({p for p in progress if 0 < p < 100}) >= 3
    assert len({update for _, update in seen}) >= 3  # lastUpdateTime moves with progress
    expected = " ".join([reference(name)] * repeats)
    assert wer(expected, transcript(done)) <= 0.12
    results = done["response"]["results"]
    words = [word for result in results for word in result["alternatives"][0]["words"]]
    starts = [float(word["startTime"].rstrip("s")) for word in words]
    assert starts == sorted(starts)
    assert duration - 5 < float(words[-1]["endTime"].rstrip("s")) <= duration + 0.1
    ends = [float(result["resultEndTime"].rstrip("s")) for result in results]
    assert ends == sorted(ends)
    assert done["response"]["totalBilledTime"] == f"{int(np.ceil(duration))}s"
