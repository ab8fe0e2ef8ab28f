"""The recognition core, composed: model -> engine pool -> recogniser.

Shared by ``hark serve`` (``app``, which adds storage, streaming, jobs and the transports) and
local ``hark transcribe``; it imports no transport, so the CLI loads no server library.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from hark.engine.pool import EnginePool
from hark.engine.whisper import WhisperEngine
from hark.settings import Settings
from hark.speech.recognizer import Fetch, Recognizer


@dataclass
class Core:
    """The loaded model and the recognition core around it: all that recognising needs."""

    engine: WhisperEngine
    pool: EnginePool
    recognizer: Recognizer

    async def close(self) -> None:
        await self.pool.close()
        self.engine.close()


async def build_core(settings: Settings, fetch: Fetch | None = None) -> Core:
    """Load the model (off the event loop) and build the recognition core around it."""
    engine_settings = settings.engine
    engine = await asyncio.to_thread(
        WhisperEngine.load,
        engine_settings.model,
        device=engine_settings.device,
        compute_type=engine_settings.compute_type,
        cpu_threads=engine_settings.cpu_threads,
        num_workers=engine_settings.workers,
        download_root=engine_settings.download_root,
    )
    pool = EnginePool(
        engine,
        workers=engine_settings.workers,
        max_queue=engine_settings.max_queue,
        max_batch=engine_settings.max_batch,
    )
    return Core(engine, pool, Recognizer(pool, engine.info, settings.limits, fetch=fetch))
