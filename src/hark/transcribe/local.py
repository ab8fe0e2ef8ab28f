"""Transcribing files in this process: the engine and core of ``hark serve``, without a server.

The core comes from ``core.build_core`` (the same model loading, pool and Recognizer);
files are read by ``media.iter_any`` and recognised in windows by ``speech.long_audio``. The
JSON is Google's RecognizeResponse as the REST API writes it (``rest_json``, held equal to the
API's protobuf rendering by a test), made without protobuf: Google's message classes load grpc.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hark import media
from hark.core import Core, build_core
from hark.engine.loading import ModelUnavailable
from hark.errors import FailedPrecondition
from hark.settings import build_settings
from hark.speech.long_audio import recognize_windows, windows
from hark.speech.plan import Plan, WhisperKnobs, with_knobs
from hark.speech.types import Recognition, RecognitionConfig
from hark.transcribe import FractionDone, Transcriber, rest_json

_CHUNK_SECONDS = 30.0


@contextmanager
def local_transcriber(
    model: str, config: RecognitionConfig, *, detect: bool = False
) -> Iterator[Transcriber]:
    """Load ``model`` (the embedded one if empty) once; yield a transcriber for ``config``.

    With ``detect`` on a multilingual model, each file's language is detected (and reported
    per result) instead of taken from ``config``'s language code.

    The core is asynchronous; each file runs to completion on a private event loop.
    Raises InvalidArgument if the config does not suit the model (e.g. its language),
    FailedPrecondition if the model cannot be loaded.
    """
    loop = asyncio.new_event_loop()
    try:
        try:
            core = loop.run_until_complete(
                build_core(build_settings({"model": (model,) if model else None}))
            )
        except ModelUnavailable as error:
            raise FailedPrecondition(str(error)) from None
        try:
            plan = core.recognizer.validate(config)
            if detect and core.engine.info.multilingual:
                plan = with_knobs(plan, WhisperKnobs(detect_language=True))

            def transcribe(path: str, progress: FractionDone) -> tuple[dict[str, Any], Recognition]:
                task = loop.create_task(_transcribe(core, plan, path, progress))
                try:
                    return loop.run_until_complete(task)
                except BaseException:
                    # Ctrl-C: the file's windows in flight leave the engine's batches before
                    # the core closes, rather than failing there unseen.
                    task.cancel()
                    with contextlib.suppress(BaseException):
                        loop.run_until_complete(task)
                    raise

            yield transcribe
        finally:
            loop.run_until_complete(core.close())
    finally:
        loop.close()


async def _transcribe(
    core: Core, plan: Plan, path: str, progress: FractionDone
) -> tuple[dict[str, Any], Recognition]:
    total = await asyncio.to_thread(media.duration, path)
    chunks = media.iter_any(path, _CHUNK_SECONDS)
    recognition = await recognize_windows(
        core.recognizer,
        windows(chunks),
        plan,
        on_progress=lambda seconds: progress(seconds / total if total else 0.0),
    )
    return rest_json.recognize_response(recognition), recognition
