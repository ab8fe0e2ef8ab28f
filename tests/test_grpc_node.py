"""Google's Node.js client (@google-cloud/speech from npm), unmodified, against a live Hark.

``make test`` installs tests/node's packages with the machine's npm (``npm ci``); without
node or those packages this test fails and says what is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import Server, corpus_file, manifest
from wer import wer

pytestmark = pytest.mark.slow

NODE_DIR = Path(__file__).resolve().parent / "node"
NAME = "en_librispeech_1089-134686-0000.flac"


def run_node(endpoint: str, transport: str, version: str) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: the Node.js conformance test needs Node 18+ on PATH")
    if not (NODE_DIR / "node_modules" / "@google-cloud" / "speech").is_dir():
        pytest.fail(f"run `npm ci --prefix {NODE_DIR}` (make test does it) to install the client")
    done = subprocess.run(
        [node, "recognize.mjs", endpoint, str(corpus_file(NAME)), transport, version],
        check=False,
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        # No Google Cloud metadata server here: do not let google-auth probe for one.
        env={**os.environ, "METADATA_SERVER_DETECTION": "none"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    response: dict[str, Any] = json.loads(done.stdout)
    return response


@pytest.mark.parametrize(
    ("transport", "version"),
    [("grpc", "v1"), ("grpc", "v1p1beta1"), ("rest", "v1")],
)
def test_node_client_recognizes(server: Server, transport: str, version: str) -> None:
    endpoint = server.grpc_target if transport == "grpc" else f"127.0.0.1:{server.port}"
    response = run_node(endpoint, transport, version)
    results = response["results"]
    text = " ".join(result["alternatives"][0]["transcript"] for result in results)
    assert wer(manifest()[NAME]["transcript_normalized"], text) <= 0.2
    words = [word for result in results for word in result["alternatives"][0]["words"]]
    assert words and all(0 < word["confidence"] <= 1 for word in words)
    assert int(response["totalBilledTime"]["seconds"]) == 11


def test_node_v2_client_recognizes_with_implicit_and_stored_recognizers(server: Server) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: the Node.js conformance test needs Node 18+ on PATH")
    done = subprocess.run(
        [node, "recognize_v2.mjs", server.grpc_target, str(corpus_file(NAME)), "node-defaults"],
        check=False,
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "METADATA_SERVER_DETECTION": "none"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    answer = json.loads(done.stdout)
    reference = manifest()[NAME]["transcript_normalized"]
    for key in ("implicit", "stored"):
        results = answer[key]["results"]
        text = " ".join(result["alternatives"][0]["transcript"] for result in results)
        assert wer(reference, text) <= 0.2
        assert all(result["languageCode"] == "en-us" for result in results)
        assert int(answer[key]["metadata"]["totalBilledDuration"]["seconds"]) == 11
    # The stored recognizer's defaults gave the word times the request did not ask for.
    assert answer["stored"]["results"][0]["alternatives"][0]["words"][0]["endOffset"]
    assert answer["recognizer"]["state"] == "ACTIVE"
