"""``hark worker`` over a deterministic fake engine, for the fleet's failure drills: the real
worker (``hark.worker.work``: Procrastinate, fencing, reaper, watchdog, signals) in a real
process, with an engine that takes ``HARK_FAKE_DELAY`` seconds per call and answers
``word1 word2 ...`` for loud stretches (tests/fake_engine.py).

Inputs choose a failure, so a drill needs no flag on the worker: audio whose peak is above
``CRASH_PEAK`` kills the process (a poison job), above ``HANG_PEAK`` blocks the engine call
for good (a hung engine: the watchdog's case).

Run as ``python tests/fleet_worker.py [hark worker flags]``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import cast

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from hark import cli
from hark.core import Core
from hark.engine import DecodeOptions, ModelInfo, Samples, Transcript
from hark.engine.pool import EnginePool
from hark.engine.whisper import WhisperEngine
from hark.settings import Settings, build_settings
from hark.speech.recognizer import Recognizer
from hark.storage import AudioStorage

from fake_engine import FakeEngine

CRASH_PEAK = 0.9
HANG_PEAK = 0.7
MODEL = ModelInfo(name="tiny.en", multilingual=False, languages=frozenset({"en"}))
"""The fake answers as tiny.en, the model the API replicas route English to."""


class DrillEngine(FakeEngine):
    """``FakeEngine`` whose loudest inputs crash or hang the process (see the module doc)."""

    def transcript(self, samples: Samples, options: DecodeOptions) -> Transcript:
        peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
        if peak > CRASH_PEAK:
            os._exit(9)
        if peak > HANG_PEAK:
            time.sleep(3600)
        return super().transcript(samples, options)


async def fake_core(settings: Settings, storage: AudioStorage) -> Core:
    engine = DrillEngine(info=MODEL, delay=float(os.environ.get("HARK_FAKE_DELAY", "0.5")))
    pool = EnginePool(engine, workers=settings.jobs.job_workers, max_queue=64, max_batch=1)
    recognizer = Recognizer(pool, engine.info, settings.limits, fetch=storage.read)
    return Core(((cast(WhisperEngine, engine), pool),), recognizer)


def main() -> None:
    import asyncio
    import logging

    from hark.worker import work

    args = cli.parser().parse_args(["worker", *sys.argv[1:]])
    flags = {k: v for k, v in vars(args).items() if k not in {"command", "action", "config"}}
    flags["model"] = tuple(flags["model"] or ())
    settings = build_settings(flags)
    cli.setup_logging(settings.log_level, settings.log_format)
    logging.getLogger("procrastinate").setLevel(logging.WARNING)
    asyncio.run(work(settings, fake_core))


if __name__ == "__main__":
    main()
