"""How many engine calls run at once, and on how many threads each: ``split``.

Measured on 2 cores with tiny.en (int8, beam 5, word timestamps, four 2-minute files):
one call at a time took 15.7 s on 1 thread, 15.8 s with CTranslate2's default and 18.0 s
on 2 threads, while two calls at once on 1 thread each took 7.6 s. A small Whisper's
matrices are too small for threads inside one call to pay; separate calls (CTranslate2's
``inter_threads``, which share the weights) use every core. So on a CPU the default is one
engine call per core, up to ``MAX_AUTO_WORKERS`` (beyond that each call's threads share
the remaining cores). A GPU runs one call at a time: it is filled by batches instead, and a
second call would load a second copy of the weights onto it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

MAX_AUTO_WORKERS = 4
"""Automatic engine calls at once on a CPU, at most: more would mean smaller batches and one
more decoder state in memory each, for cores that threads inside the calls use as well."""


@dataclass(frozen=True)
class Parallelism:
    workers: int
    """Engine calls that run at once."""
    cpu_threads: int
    """Threads inside each call (0: CTranslate2's default, used on a GPU)."""


ONE_CALL = Parallelism(workers=1, cpu_threads=0)
"""One engine call at a time, on CTranslate2's default threads."""


def split(
    device: str, workers: int = 0, cpu_threads: int = 0, cores: int | None = None
) -> Parallelism:
    """The engine's parallelism on ``device`` ("cpu" or "cuda"); 0 means automatic.

    An explicit ``workers`` or ``cpu_threads`` is kept as given; on a CPU the automatic
    values share ``cores`` (those this process may run on) between them.
    """
    if workers < 0 or cpu_threads < 0:
        raise ValueError("workers and cpu_threads must not be negative")
    if device != "cpu":
        return Parallelism(workers or 1, cpu_threads)
    cores = cores or available_cores()
    workers = workers or min(cores, MAX_AUTO_WORKERS)
    return Parallelism(workers, cpu_threads or max(1, cores // workers))


def available_cores() -> int:
    """CPUs this process may run on (its affinity, as a container's cpuset sets it)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
