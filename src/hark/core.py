"""The recognition core, composed: models -> engine pools -> one recogniser that routes.

Shared by ``hark serve`` (``app``, which adds storage, streaming, jobs and the transports) and
local ``hark transcribe``; it imports no transport, so the CLI loads no server library.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from hark.engine.loading import default_cache_root
from hark.engine.pool import EnginePool
from hark.engine.whisper import WhisperEngine
from hark.settings import EngineSettings, Settings
from hark.speech.diarization import Diarizer
from hark.speech.recognizer import AdaptationResolver, Fetch, Recognizer, Served


@dataclass
class Core:
    """The loaded models and the recognition core around them: all that recognising needs.

    ``engine``/``pool`` are the first model's; ``loaded`` holds every model's, in order.
    """

    loaded: tuple[tuple[WhisperEngine, EnginePool], ...]
    recognizer: Recognizer

    @property
    def engine(self) -> WhisperEngine:
        return self.loaded[0][0]

    @property
    def pool(self) -> EnginePool:
        return self.loaded[0][1]

    async def close(self) -> None:
        for engine, pool in self.loaded:
            await pool.close()
            engine.close()


async def build_core(
    settings: Settings,
    fetch: Fetch | None = None,
    resolve_adaptation: AdaptationResolver | None = None,
) -> Core:
    """Load the models (off the event loop, one by one) and build the core around them.

    Each model gets its own pool of ``workers`` engine calls (``engine/parallelism.py`` when
    0): models share no weights.
    """
    loaded: list[tuple[WhisperEngine, EnginePool]] = []
    try:
        for name in settings.engine.model or ("tiny.en",):
            engine = await asyncio.to_thread(_load, name, settings.engine)
            loaded.append((engine, _pool(engine, settings.engine)))
    except BaseException:
        for engine, pool in loaded:
            await pool.close()
            engine.close()
        raise
    (first, first_pool), *others = loaded
    more = tuple(Served(pool, engine.info) for engine, pool in others)
    # Speaker diarization's weights come from `hark models pull`, into the same model cache.
    diarizer = Diarizer.in_cache(settings.engine.download_root or default_cache_root())
    recognizer = Recognizer(
        first_pool,
        first.info,
        settings.limits,
        fetch=fetch,
        more=more,
        resolve_adaptation=resolve_adaptation,
        diarizer=diarizer,
    )
    return Core(tuple(loaded), recognizer)


def _load(name: str, engine_settings: EngineSettings) -> WhisperEngine:
    return WhisperEngine.load(
        name,
        device=engine_settings.device,
        compute_type=engine_settings.compute_type,
        cpu_threads=engine_settings.cpu_threads,
        num_workers=engine_settings.workers,
        download_root=engine_settings.download_root,
    )


def _pool(engine: WhisperEngine, engine_settings: EngineSettings) -> EnginePool:
    return EnginePool(
        engine,
        workers=engine.parallelism.workers,  # as many as the model runs at once (chosen when 0)
        max_queue=engine_settings.max_queue,
        max_batch=engine_settings.max_batch,
    )
