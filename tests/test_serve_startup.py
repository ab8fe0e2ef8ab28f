"""``hark serve`` start-up failures: one clear line and a non-zero exit, before the model loads."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import ctranslate2
import pytest

from conftest import free_port


@pytest.fixture
def occupied() -> Iterator[int]:
    """A port held the way gRPC holds its own (SO_REUSEPORT), which let a second server share it."""
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "hark", "serve", "--data-dir", str(tmp_path / "data"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_rest_port_in_use(tmp_path: Path, occupied: int) -> None:
    result = serve(tmp_path, "--port", str(occupied), "--grpc-port", str(free_port()))
    assert result.returncode == 1
    assert result.stderr == (
        f"hark: cannot start: REST port 127.0.0.1:{occupied} is in use;"
        " choose another with --port\n"
    )
    assert "Hark serving" not in result.stdout + result.stderr


def test_grpc_port_in_use(tmp_path: Path, occupied: int) -> None:
    result = serve(tmp_path, "--port", str(free_port()), "--grpc-port", str(occupied))
    assert result.returncode == 1
    assert result.stderr == (
        f"hark: cannot start: gRPC port 127.0.0.1:{occupied} is in use;"
        " choose another with --grpc-port\n"
    )


@pytest.mark.skipif(ctranslate2.get_cuda_device_count() > 0, reason="this machine has CUDA")
def test_cuda_without_a_gpu_is_one_line(tmp_path: Path) -> None:
    ports = ("--port", str(free_port()), "--grpc-port", str(free_port()))
    result = serve(tmp_path, *ports, "--device", "cuda")
    assert result.returncode == 1
    assert result.stderr.startswith("hark: --device cuda: CTranslate2 finds no usable CUDA device")
    assert result.stderr.count("\n") == 1
