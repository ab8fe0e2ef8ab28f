"""Helpers of the long-running recognition tests: local buckets, submitting, polling."""

from __future__ import annotations

import shutil
import time
from typing import Any

import httpx
import pytest

from conftest import Server, corpus_file

BUCKET = "test-bucket"


def put(server: Server, name: str, bucket: str = BUCKET, source: str | None = None) -> str:
    """Copy a corpus file into the server's local bucket; its gs:// URI."""
    target = server.data_dir / "buckets" / bucket / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source or corpus_file(name), target)
    return f"gs://{bucket}/{name}"


def submit(server: Server, body: dict[str, Any], version: str = "v1", **params: str) -> Any:
    url = f"{server.url}/{version}/speech:longrunningrecognize"
    return httpx.post(url, json=body, params=params, timeout=30)


def poll(server: Server, name: str, timeout: float = 180, **params: str) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply = httpx.get(f"{server.url}/v1/operations/{name}", params=params, timeout=10)
        assert reply.status_code == 200, reply.text
        if reply.json().get("done"):
            return dict(reply.json())
        time.sleep(0.3)
    pytest.fail(f"operation {name} not done after {timeout} s")


def transcript(operation: dict[str, Any]) -> str:
    results = operation["response"].get("results", [])
    return " ".join(result["alternatives"][0]["transcript"] for result in results)
