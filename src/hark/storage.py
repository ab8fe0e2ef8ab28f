"""Audio behind a ``RecognitionAudio.uri``, and where ``outputConfig.gcsUri`` writes.

- ``gs://BUCKET/OBJECT``: by default a local stand-in for Cloud Storage, the file
  ``<data-dir>/buckets/BUCKET/OBJECT``; with ``gcs = "cloud"`` the real Cloud Storage through
  ``google-cloud-storage`` (the ``hark[gcs]`` extra, imported only then).
- ``file:///PATH``: only under the configured roots; without roots, refused.
- ``http(s)://``: refused unless the operator turned it on (``http_audio``); then downloaded
  by ``fetch`` within an address policy, a deadline and a size cap.

No path escapes its root: a local path is resolved (``..`` and symlinks) and must stay
inside its bucket or file root. Anything else is INVALID_ARGUMENT with Google's generic text.
A missing object is NOT_FOUND: "Requested entity was not found." when a request names it,
"No such object: BUCKET/OBJECT" when it vanished before the job read it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from hark import fetch
from hark.errors import SYNC_TOO_LONG, InvalidArgument, NotFound, SpeechError
from hark.settings import StorageSettings

log = logging.getLogger(__name__)

INVALID = "Request contains an invalid argument."
FETCH_FAILED = "Unable to fetch audio from the URI."
"""The one text for every failed http(s) fetch: it must not tell a closed port from an open one."""
NOT_FOUND = "Requested entity was not found."
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")
_SYNC_MAX_BYTES = 64 << 20
"""Recognize reads a URI into memory; a minute of any encoding fits well within this."""
_SYNC_FETCH_SECONDS = 60.0
"""Recognize's http(s) fetch deadline (at most ``http_timeout_seconds``): a client waits."""


class StorageUnavailable(RuntimeError):
    """The configured storage cannot work (e.g. real GCS without its library)."""


class AudioStorage:
    """Reads and writes the URIs of long-running recognition (and Recognize's ``uri``)."""

    def __init__(self, settings: StorageSettings, data_dir: Path) -> None:
        self.settings = settings
        self.buckets = data_dir / "buckets"
        self.work_dir = data_dir / "tmp"
        self._roots = tuple(root.resolve() for root in settings.file_roots)
        self._policy = fetch.AddressPolicy(settings.http_allow)  # ValueError for a bad CIDR
        self._gcs: Any = None
        if settings.gcs == "cloud":
            self._gcs = _gcs_client()
        elif settings.gcs != "local":
            raise StorageUnavailable(f"unknown gcs setting {settings.gcs!r}: use local or cloud")

    def clean_work_dir(self) -> None:
        """Remove downloads a killed process left behind (call while no job runs)."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        for leftover in self.work_dir.iterdir():
            leftover.unlink(missing_ok=True)

    async def check(self, uri: str) -> None:
        """At submit time: ``uri`` is one Hark reads and, where that is cheap, it exists."""
        scheme, location = self._split(uri)
        if scheme == "gs" and self._gcs is not None:
            if not await asyncio.to_thread(self._blob(location).exists):
                raise NotFound(NOT_FOUND)
        elif scheme in ("gs", "file"):
            self._local_path(scheme, location, missing=lambda: NotFound(NOT_FOUND))

    async def check_output(self, uri: str) -> None:
        """At submit time: ``outputConfig.gcsUri`` names an object (not a directory) inside a
        bucket that exists; INVALID_ARGUMENT otherwise, NOT_FOUND for a missing bucket."""
        scheme, location = _split(uri)
        if scheme != "gs":
            raise InvalidArgument(INVALID)
        bucket, name = location
        if self._gcs is not None:
            if name.endswith("/"):
                raise InvalidArgument(INVALID)
            return
        if not (self.buckets / bucket).is_dir():
            raise NotFound(NOT_FOUND)
        self._output_path(bucket, name)

    @contextlib.asynccontextmanager
    async def open(
        self, uri: str, max_bytes: int | None = None, deadline: float | None = None
    ) -> AsyncIterator[Path]:
        """A local file holding the object for the duration of the block.

        Local objects are used in place; remote ones are downloaded to a temporary file under
        the data dir (never into memory) and removed afterwards. An http(s) download stops at
        ``max_bytes`` (default ``http_max_bytes``) with INVALID_ARGUMENT, and fails after
        ``deadline`` seconds (default ``http_timeout_seconds``).
        """
        scheme, location = self._split(uri)
        missing = _missing(location)
        if scheme in ("gs", "file") and not (scheme == "gs" and self._gcs is not None):
            yield self._local_path(scheme, location, missing=missing)
            return
        self.work_dir.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=self.work_dir, suffix=".audio")
        os.close(handle)
        path = Path(name)
        try:
            if scheme == "gs":
                await asyncio.to_thread(self._download_gcs, location, path)
            else:
                await self._download_http(
                    uri,
                    path,
                    max_bytes or self.settings.http_max_bytes,
                    deadline or self.settings.http_timeout_seconds,
                )
            yield path
        finally:
            path.unlink(missing_ok=True)

    async def read(self, uri: str) -> bytes:
        """The bytes behind ``uri`` for synchronous Recognize (NOT_FOUND as at submit)."""
        await self.check(uri)
        max_bytes = min(_SYNC_MAX_BYTES, self.settings.http_max_bytes)
        deadline = min(_SYNC_FETCH_SECONDS, self.settings.http_timeout_seconds)
        async with self.open(uri, max_bytes, deadline) as path:
            if path.stat().st_size > _SYNC_MAX_BYTES:
                raise InvalidArgument(SYNC_TOO_LONG)
            return await asyncio.to_thread(path.read_bytes)

    async def write(self, uri: str, data: bytes) -> None:
        """Store ``data`` at the ``gs://`` URI ``uri``, replacing any object there, as Cloud
        Storage does (atomically, for local buckets; checked again as at submit)."""
        scheme, location = _split(uri)
        if scheme != "gs":
            raise InvalidArgument(INVALID)
        if self._gcs is not None:
            blob = self._blob(location)
            await asyncio.to_thread(blob.upload_from_string, data, "application/json")
            return
        target = self._output_path(*location)
        await asyncio.to_thread(_write_atomically, target, data)

    def _output_path(self, bucket: str, name: str) -> Path:
        """Where a local bucket keeps object ``name``: one file, named by exactly one path.

        Empty, ``.`` and ``..`` segments are refused (two spellings must never name one file,
        nor a name leave its bucket), as are symlinks on the way, a name that is a directory
        and a name below a file.
        """
        parts = name.split("/")
        if any(part in ("", ".", "..") or len(part.encode()) > 255 for part in parts):
            raise InvalidArgument(INVALID)
        root = (self.buckets / bucket).resolve()
        target = root.joinpath(*parts)
        try:
            clash = target.resolve() != target or target.is_dir()
            clash = clash or any(
                parent.exists() and not parent.is_dir() for parent in target.parents
            )
        except OSError:  # e.g. a path too long for the file system
            clash = True
        if clash:
            raise InvalidArgument(INVALID)
        return target

    def _local_path(
        self, scheme: str, location: tuple[str, str], *, missing: Callable[[], SpeechError]
    ) -> Path:
        if scheme == "gs":
            bucket, name = location
            roots: tuple[Path, ...] = ((self.buckets / bucket).resolve(),)
            path = roots[0] / name
        else:
            roots, path = self._roots, Path(location[1])
        resolved = path.resolve()
        inside = any(resolved.is_relative_to(root) and resolved != root for root in roots)
        if scheme == "file" and not inside:
            raise InvalidArgument(INVALID)  # outside the roots: do not say whether it exists
        if not inside or not _is_file(resolved):
            _log_missing(scheme, location, resolved, inside)
            raise missing()
        return resolved

    def _blob(self, location: tuple[str, str]) -> Any:
        bucket, name = location
        return self._gcs.bucket(bucket).blob(name)

    def _download_gcs(self, location: tuple[str, str], path: Path) -> None:
        from google.api_core import exceptions  # noqa: PLC0415 - the optional gcs extra

        try:
            self._blob(location).download_to_filename(os.fspath(path))
        except exceptions.NotFound:
            raise _missing(location)() from None

    async def _download_http(self, uri: str, path: Path, max_bytes: int, deadline: float) -> None:
        try:
            with open(path, "wb") as out:
                await fetch.download(
                    uri,
                    out,
                    policy=self._policy,
                    max_bytes=max_bytes,
                    deadline=deadline,
                )
        except fetch.TooLarge:
            sync = max_bytes < self.settings.http_max_bytes  # read()'s cap for Recognize
            text = SYNC_TOO_LONG if sync else f"Audio at the URI is larger than {max_bytes} bytes."
            raise InvalidArgument(text) from None
        except fetch.FetchFailed as failure:
            log.warning("fetching %s failed: %s", fetch.redact(uri), failure.reason)
            raise InvalidArgument(FETCH_FAILED) from None

    def _split(self, uri: str) -> tuple[str, tuple[str, str]]:
        """``_split``, refusing http(s) unless the operator turned it on."""
        scheme, location = _split(uri)
        if scheme in ("http", "https") and not self.settings.http_audio:
            raise InvalidArgument(INVALID)
        return scheme, location


def _split(uri: str) -> tuple[str, tuple[str, str]]:
    """(scheme, (bucket or host, object or path)); INVALID_ARGUMENT for what Hark cannot read."""
    try:
        parts = urlsplit(uri)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        raise InvalidArgument(INVALID) from None
    scheme = parts.scheme.lower()
    if scheme == "gs":
        name = unquote(parts.path.removeprefix("/"))
        if not _BUCKET.match(parts.netloc) or not name or "\0" in name:
            raise InvalidArgument(INVALID)
        return scheme, (parts.netloc, name)
    if scheme == "file" and parts.netloc in ("", "localhost"):
        path = unquote(parts.path)
        if not path.startswith("/") or "\0" in path:
            raise InvalidArgument(INVALID)
        return scheme, ("", path)
    if scheme in ("http", "https") and parts.netloc:
        return scheme, (parts.netloc, parts.path)
    raise InvalidArgument(INVALID)


def _is_file(path: Path) -> bool:
    """``path.is_file()``, False also where the name cannot exist (a component over 255 bytes)."""
    try:
        return path.is_file()
    except OSError:
        return False


def _log_missing(scheme: str, location: tuple[str, str], resolved: Path, inside: bool) -> None:
    """Say which local path was looked at: the client hears only Google's words."""
    bucket, name = location
    uri = f"gs://{bucket}/{name}" if scheme == "gs" else f"file://{name}"
    why = "no such file" if inside else "resolves outside its bucket directory"
    log.warning("%s not found: %s %s", uri, resolved, why)


def _missing(location: tuple[str, str]) -> Callable[[], SpeechError]:
    bucket, name = location
    where = f"{bucket}/{name}" if bucket else name
    return lambda: NotFound(f"No such object: {where}")


def _write_atomically(target: Path, data: bytes) -> None:
    """Write a temporary file beside ``target``, then rename it; never leave it behind."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=".hark-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(name, target)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _gcs_client() -> Any:
    try:
        from google.cloud import storage  # type: ignore[attr-defined]  # noqa: PLC0415
    except ImportError:
        raise StorageUnavailable(
            "--gcs cloud needs google-cloud-storage: install it with pip install 'hark[gcs]'"
        ) from None
    return storage.Client()
