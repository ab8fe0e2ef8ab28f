"""Every shell command in the README runs as written, from the folder it implies.

Each ```sh block runs with bash in a copy of the repository that has ``../shared/corpus``
beside it, against a real server on the port the README names (rewritten to a free one).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import CORPUS, REPO, Server, start_server

pytestmark = pytest.mark.slow

BLOCKS = re.findall(r"^```sh\n(.*?)^```", (REPO / "README.md").read_text(), re.S | re.M)
LEFT_OUT = ("node_modules", ".venv", ".git", "data", "*_cache", "__pycache__")


def block(starting: str) -> str:
    """The README's one shell block that starts with ``starting``."""
    found = [text for text in BLOCKS if text.startswith(starting)]
    assert len(found) == 1, f"one README block starts with {starting!r}"
    return str(found[0])


def checkout(tmp: Path) -> Path:
    """A copy of the repository with the corpus at ``../shared/corpus``, as the README has it."""
    copy = tmp / "hark"
    shutil.copytree(REPO, copy, ignore=shutil.ignore_patterns(*LEFT_OUT))
    (tmp / "shared").mkdir()
    (tmp / "shared" / "corpus").symlink_to(CORPUS)
    return copy


def run(commands: str, folder: Path, port: int | None = None) -> subprocess.CompletedProcess[str]:
    if port is not None:
        commands = re.sub(r"(localhost|127\.0\.0\.1):8080", rf"\1:{port}", commands)
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", commands],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Server]]:
    """A repository copy using this test run's environment as its ``.venv``, and its server
    (on the copy's ``./data`` and both models, as ``make serve`` runs it)."""
    copy = checkout(tmp_path_factory.mktemp("readme"))
    (copy / ".venv").symlink_to(Path(sys.executable).parent.parent)
    server = start_server(copy, env={"HARK_MODEL": "tiny.en,base"})
    yield copy, server
    server.stop()


def test_every_block_is_checked() -> None:
    setup, *checked = BLOCKS
    assert setup.startswith("make serve") and "make test" in setup  # CI runs these itself
    assert len(checked) == 6, "a new README shell block needs a test here"


def test_try_it(served: tuple[Path, Server]) -> None:
    copy, server = served
    result = run(block("printf"), copy, server.port)
    assert result.returncode == 0, result.stderr
    assert '"transcript"' in result.stdout and '"words"' in result.stdout, result.stdout


def test_transcribe_commands(served: tuple[Path, Server]) -> None:
    copy, server = served
    result = run(block(".venv/bin/hark transcribe"), copy, server.port)
    assert result.returncode == 0, result.stderr
    assert (copy / "talk.srt").read_text().startswith("1\n")
    assert {path.suffix for path in (copy / "subtitles").iterdir()} == {".vtt"}
    assert '"results"' in result.stdout


def test_long_running_example(served: tuple[Path, Server]) -> None:
    copy, server = served
    result = run(block("mkdir -p data/buckets"), copy, server.port)
    assert result.returncode == 0, result.stderr
    assert '"name"' in result.stdout and '"error"' not in result.stdout, result.stdout


def test_openai_curl_example(served: tuple[Path, Server]) -> None:
    copy, server = served
    result = run(block("curl -s localhost:8080/v1/audio"), copy, server.port)
    assert result.returncode == 0, result.stderr
    body, end = json.JSONDecoder().raw_decode(result.stdout)  # curl adds no newline
    assert body["text"], result.stdout
    subtitles = result.stdout[end:]
    assert subtitles.startswith("1\n00:00:0") and " --> " in subtitles, subtitles


def test_probes_and_metrics(served: tuple[Path, Server]) -> None:
    copy, server = served
    result = run(block("curl -sf localhost:8080/readyz"), copy, server.port)
    assert result.returncode == 0, result.stderr
    assert '"READY"' in result.stdout and "hark_model_loaded{" in result.stdout, result.stdout


def test_install_with_pip_alone(tmp_path: Path) -> None:
    copy = checkout(tmp_path)
    result = run(block("python3 -m venv"), copy)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("hark ")
