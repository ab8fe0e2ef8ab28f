"""Long-running recognition over REST: real servers, the real model, corpus audio."""

from __future__ import annotations

import base64
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import Server, corpus_file, reference, start_server
from lro import BUCKET, poll, put, submit, transcript
from wer import wer

pytestmark = pytest.mark.slow

SHORT = "en_librispeech_1089-134686-0000.flac"
LONG = "long_en_ljspeech_LJ001-0001-0016_16k.flac"
V1 = "type.googleapis.com/google.cloud.speech.v1."


@pytest.fixture(scope="module")
def lro(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A Hark with one job worker and a file:// root, for this module's tests."""
    tmp = tmp_path_factory.mktemp("lro")
    (tmp / "allowed").mkdir()
    running = start_server(tmp, "--file-root", str(tmp / "allowed"), "--job-workers", "1")
    yield running
    running.stop()


def test_hand_written_client_flow_with_key(keyed_server: Server) -> None:
    uri = put(keyed_server, SHORT)
    body = {"config": {"language_code": "en-US", "enable_word_time_offsets": True},
            "audio": {"uri": uri}}  # fmt: skip
    assert submit(keyed_server, body).status_code == 403
    created = submit(keyed_server, body, key="test-key")
    assert created.status_code == 200, created.text
    name = created.json()["name"]
    assert name.isdigit()
    assert created.json()["metadata"]["uri"] == uri
    missing_key = httpx.get(f"{keyed_server.url}/v1/operations/{name}")
    assert missing_key.status_code == 403
    done = poll(keyed_server, name, key="test-key")
    assert set(done) == {"name", "metadata", "done", "response"}
    assert done["metadata"]["@type"] == V1 + "LongRunningRecognizeMetadata"
    assert done["metadata"]["progressPercent"] == 100
    assert done["response"]["@type"] == V1 + "LongRunningRecognizeResponse"
    assert done["response"]["totalBilledTime"] == "11s"
    assert wer(reference(SHORT), transcript(done)) <= 0.2
    words = done["response"]["results"][-1]["alternatives"][0]["words"]
    assert float(words[-1]["endTime"].rstrip("s")) <= 10.5


def test_config_errors_fail_the_post_and_audio_errors_fail_the_operation(lro: Server) -> None:
    uri = put(lro, SHORT)
    bad_language = submit(lro, {"config": {"languageCode": "??"}, "audio": {"uri": uri}})
    assert bad_language.status_code == 400 and "bad language code" in bad_language.text
    long_inline = base64.b64encode(corpus_file("medium_en_ljspeech_5utts_16k.wav").read_bytes())
    ok_inline = submit(lro, {"config": {"languageCode": "en-US"},
                             "audio": {"content": long_inline.decode()}})  # fmt: skip
    assert ok_inline.status_code == 200  # 39 s: under the one-minute inline limit
    too_long = base64.b64encode(corpus_file(LONG).read_bytes()).decode()
    refused = submit(lro, {"config": {"languageCode": "en-US"}, "audio": {"content": too_long}})
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == (
        "Inline audio exceeds duration limit. Please use a GCS URI."
    )
    garbage = base64.b64encode(b"fLaC" + bytes(4000)).decode()
    failing = submit(lro, {"config": {"languageCode": "en-US", "encoding": "FLAC"},
                           "audio": {"content": garbage}})  # fmt: skip
    assert failing.status_code == 200
    failed = poll(lro, failing.json()["name"])
    assert failed["error"]["code"] == 3 and "status" not in failed["error"]
    assert "response" not in failed
    assert wer(reference("medium_en_ljspeech_5utts_16k.wav"),
               transcript(poll(lro, ok_inline.json()["name"]))) <= 0.3  # fmt: skip


def test_paths_cannot_escape_and_missing_objects_are_not_found(lro: Server, tmp_path: Path) -> None:
    bucket = lro.data_dir / "buckets" / BUCKET
    bucket.mkdir(parents=True, exist_ok=True)
    secret = tmp_path / "secret.flac"
    shutil.copy(corpus_file(SHORT), secret)
    (bucket / "link.flac").unlink(missing_ok=True)
    (bucket / "link.flac").symlink_to(secret)
    config = {"languageCode": "en-US"}
    for uri in ("gs://test-bucket/../../../../etc/passwd", "gs://test-bucket/link.flac",
                "gs://test-bucket/missing.flac", "gs://no-such-bucket/a.flac"):  # fmt: skip
        reply = submit(lro, {"config": config, "audio": {"uri": uri}})
        assert reply.status_code == 404, uri
        assert reply.json()["error"]["message"] == "Requested entity was not found."
    for uri in (f"file://{secret}", "file:///etc/passwd", "ftp://example.com/a.flac"):
        reply = submit(lro, {"config": config, "audio": {"uri": uri}})
        assert reply.status_code == 400, uri
        assert reply.json()["error"]["message"] == "Request contains an invalid argument."
    allowed = lro.data_dir.parent / "allowed" / "speech.flac"
    shutil.copy(corpus_file(SHORT), allowed)
    from_file = submit(lro, {"config": config, "audio": {"uri": f"file://{allowed}"}})
    assert from_file.status_code == 200
    assert wer(reference(SHORT), transcript(poll(lro, from_file.json()["name"]))) <= 0.2


def test_list_cancel_delete_and_vanished_object(lro: Server) -> None:
    long_uri, short_uri = put(lro, LONG), put(lro, SHORT, source=str(corpus_file(SHORT)))
    vanishing = put(lro, "vanishing.flac", source=str(corpus_file(SHORT)))
    config = {"languageCode": "en-US"}
    running = submit(lro, {"config": config, "audio": {"uri": long_uri}}).json()["name"]
    # One worker: these wait behind the long job.
    doomed = submit(lro, {"config": config, "audio": {"uri": vanishing}}).json()["name"]
    queued = submit(lro, {"config": config, "audio": {"uri": short_uri}}).json()["name"]
    (lro.data_dir / "buckets" / BUCKET / "vanishing.flac").unlink()

    names, token = [], ""
    while True:
        page = httpx.get(f"{lro.url}/v1/operations", params={"pageSize": 2, "pageToken": token})
        assert page.status_code == 200, page.text
        assert len(page.json()["operations"]) <= 2
        names += [operation["name"] for operation in page.json()["operations"]]
        token = page.json().get("nextPageToken", "")
        if not token:
            break
    assert {running, doomed, queued} <= set(names)
    assert len(names) == len(set(names))
    open_ops = httpx.get(f"{lro.url}/v1/operations", params={"filter": "done=false"}).json()
    assert {running, doomed, queued} <= {op["name"] for op in open_ops["operations"]}

    deadline = time.monotonic() + 60
    progress = 0
    while progress == 0 and time.monotonic() < deadline:
        progress = (
            httpx.get(f"{lro.url}/v1/operations/{running}")
            .json()["metadata"]
            .get("progressPercent", 0)
        )
        time.sleep(0.2)
    assert 0 < progress < 100
    cancel = httpx.post(f"{lro.url}/v1/operations/{running}:cancel")
    assert cancel.status_code == 200 and cancel.json() == {}
    cancelled = poll(lro, running, timeout=5)
    assert cancelled["error"] == {"code": 1, "message": "Operation cancelled."}

    missing = poll(lro, doomed)
    assert missing["error"] == {"code": 5, "message": "No such object: test-bucket/vanishing.flac"}
    assert wer(reference(SHORT), transcript(poll(lro, queued))) <= 0.2

    assert httpx.delete(f"{lro.url}/v1/operations/{queued}").json() == {}
    for method, path in (("GET", queued), ("DELETE", queued), ("POST", "123:cancel"),
                         ("GET", "424242")):  # fmt: skip
        reply = httpx.request(method, f"{lro.url}/v1/operations/{path}")
        assert reply.status_code == 404 and reply.json()["error"]["status"] == "NOT_FOUND"
