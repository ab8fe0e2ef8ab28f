"""Continuous batching of long audio (issue 13): throughput, one long file, WER, memory.

All in one process on the embedded tiny.en, measured against the raw engine in the same run
(compare ratios: the machine may be shared):

1. Throughput: 8 concurrent 2-minute files (slices of the long corpus speech) recognised at once
   through the core (``long_audio.recognize_windows`` over an ``EnginePool``, as 8 job workers
   would), against faster-whisper transcribing them one after another (beam 5, word timestamps).
2. One long file (``--minutes``, corpus speech tiled), through the core with
   ``--cursors`` windows in flight, against faster-whisper on the whole file.
3. WER on every long corpus file: today's path (one window at a time, one engine call per
   window, as before batching) against the batched path, against the references.
4. Peak RSS of a fresh process recognising a 2-minute and a ``--minutes`` file (batched).

Also printed: how many cursors each engine step advanced, and where the engine's time went.

    .venv/bin/python bench/batching.py [--minutes 10] [--max-batch 8] [--cursors 4]
        [--device cuda] [--skip-rss] [--skip-wer] [--only-steps | --only-rss | --only-wer]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
from baseline import peak_rss_mb, raw_model, raw_transcribe, wav_bytes  # noqa: E402
from hark.audio import iter_file  # noqa: E402
from hark.engine import (  # noqa: E402
    DecodeOptions,
    Hypothesis,
    Progress,
    Samples,
    Stop,
    Transcript,
    stepping,
)
from hark.engine.pool import EnginePool  # noqa: E402
from hark.engine.whisper import WhisperEngine  # noqa: E402
from hark.settings import Limits  # noqa: E402
from hark.speech import long_audio  # noqa: E402
from hark.speech.recognizer import EngineCalls, Recognizer  # noqa: E402
from hark.speech.types import RecognitionConfig  # noqa: E402
from longrunning import SOURCES, slices, speech  # noqa: E402

from conftest import CORPUS, manifest  # noqa: E402
from cores import Unclosable  # noqa: E402
from wer import wer  # noqa: E402

SPENT: defaultdict[str, float] = defaultdict(float)
"""Engine seconds by phase, summed over the run's batched steps."""


def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            SPENT[name] += time.perf_counter() - started

    return wrapper


def instrument() -> None:
    """Time the phases of ``stepping.step`` (the encoder is what the others leave)."""
    stepping.step = timed("step (all)", stepping.step)
    stepping._generate = timed("generate (batched)", stepping._generate)
    stepping._fallback = timed("fallback (alone)", stepping._fallback)
    stepping._advance = timed("split + align words", stepping._advance)
    stepping.start = timed("start (mel)", stepping.start)


class Direct:
    """Today's path before batching: each window one ``Engine.transcribe`` call, in turn."""

    def __init__(self, engine: WhisperEngine) -> None:
        self._engine = engine
        self._lock = asyncio.Lock()

    async def transcribe(
        self,
        samples: Samples,
        options: DecodeOptions,
        progress: Progress | None = None,
        stop: Stop | None = None,
    ) -> Transcript:
        async with self._lock:
            return await asyncio.to_thread(self._engine.transcribe, samples, options)

    async def n_best(
        self, samples: Samples, options: DecodeOptions, count: int
    ) -> list[Hypothesis]:
        return await asyncio.to_thread(self._engine.n_best, samples, options, count)

    def check_capacity(self) -> None:
        pass


def load(args: argparse.Namespace) -> WhisperEngine:
    return WhisperEngine.load(
        "tiny.en", device=args.device, cpu_threads=args.cpu_threads, num_workers=args.workers
    )


async def recognize(
    engine: EngineCalls, info: Any, samples: np.ndarray | Path, cursors: int
) -> str:
    """The transcript of ``samples`` (or a WAV file, read 10 s at a time) through the core's
    long-audio path."""
    recognizer = Recognizer(engine, info, Limits(cursors_per_file=cursors))
    plan = recognizer.validate(RecognitionConfig(language_code="en-US"))
    chunks: Iterable[np.ndarray] = (
        iter_file(samples, plan.audio, chunk_seconds=10)
        if isinstance(samples, Path)
        else (samples[None, i : i + 160_000] for i in range(0, len(samples), 160_000))
    )
    recognition = await long_audio.recognize_windows(recognizer, long_audio.windows(chunks), plan)
    return " ".join(r.alternatives[0].transcript for r in recognition.results if r.alternatives)


def raw_sequential(args: argparse.Namespace, files: list[np.ndarray]) -> tuple[float, list[str]]:
    model = raw_model(args.device)
    started = time.perf_counter()
    texts = [raw_transcribe(model, samples) for samples in files]
    return time.perf_counter() - started, texts


def raw_side_by_side(
    args: argparse.Namespace, engine: WhisperEngine, files: list[np.ndarray]
) -> float:
    """The raw engine given Hark's parallelism: as many files at once as Hark's engine calls, each call on
    Hark's threads per call. What parallel calls alone give, without batching."""
    from concurrent.futures import ThreadPoolExecutor

    workers, threads = engine.parallelism.workers, engine.parallelism.cpu_threads
    model = raw_model(args.device, workers, threads)
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as executor:
        list(executor.map(lambda samples: raw_transcribe(model, samples), files))
    return time.perf_counter() - started


async def batched(
    args: argparse.Namespace, engine: WhisperEngine, files: list[np.ndarray]
) -> tuple[float, Counter[int]]:
    pool = EnginePool(
        Unclosable(engine),
        workers=engine.parallelism.workers,
        max_queue=1000,
        max_batch=args.max_batch,
    )
    started = time.perf_counter()
    await asyncio.gather(*(recognize(pool, engine.info, f, args.cursors) for f in files))
    wall = time.perf_counter() - started
    sizes = Counter(pool.scheduler.batch_sizes)
    await pool.close()
    return wall, sizes


def report(  # noqa: PLR0917
    label: str,
    audio: float,
    raw_wall: float,
    wall: float,
    sizes: Counter[int],
    side_by_side: float | None = None,
) -> None:
    steps = sum(sizes.values())
    mean = sum(size * count for size, count in sizes.items()) / max(1, steps)
    print(f"{label}: {audio:.0f} s of audio")
    print(f"  raw engine, sequential   wall {raw_wall:7.1f} s  {audio / raw_wall:6.1f} audio s/s")
    if side_by_side is not None:
        print(
            f"  raw engine, side by side wall {side_by_side:7.1f} s  {audio / side_by_side:6.1f}"
            f" audio s/s  throughput x{raw_wall / side_by_side:.2f} (Hark's calls at once)"
        )
    print(
        f"  hark, batched            wall {wall:7.1f} s  {audio / wall:6.1f} audio s/s"
        f"  throughput x{raw_wall / wall:.2f}  wall/raw {wall / raw_wall:.2f}"
    )
    print(f"  steps {steps}, cursors per step mean {mean:.1f}: {dict(sorted(sizes.items()))}")


def where_time_goes(wall: float) -> None:
    step = SPENT.pop("step (all)", 0.0)
    inner = sum(v for k, v in SPENT.items() if k != "start (mel)")
    print(f"  engine time (summed over the calls at once) over {wall:.1f} s of batched wall time:")
    print(f"    encoder + window prep ~{step - inner:7.1f} s")
    for name, seconds in sorted(SPENT.items()):
        print(f"    {name:24} {seconds:7.1f} s")
    SPENT.clear()


def wer_table(args: argparse.Namespace, engine: WhisperEngine) -> None:
    from faster_whisper import decode_audio

    references = manifest()
    print("WER on the long corpus files (today's path: one window per engine call, in turn):")
    for name in SOURCES:
        samples = decode_audio(str(CORPUS / name))
        reference = references[name]["transcript_normalized"]
        today = asyncio.run(recognize(Direct(engine), engine.info, samples, 1))
        pool = EnginePool(Unclosable(engine), max_batch=args.max_batch)
        now = asyncio.run(_with_pool(pool, engine, samples, args.cursors))
        print(f"  {name:44} today {wer(reference, today):.3f}  batched {wer(reference, now):.3f}")


async def _with_pool(
    pool: EnginePool, engine: WhisperEngine, samples: np.ndarray | Path, k: int
) -> str:
    try:
        return await recognize(pool, engine.info, samples, k)
    finally:
        await pool.close()


def step_ratio(engine: WhisperEngine, all_speech: np.ndarray, size: int, rounds: int) -> None:
    """``size`` windows (different stretches of speech) stepped one call each, then in one
    batched call, alternating ``rounds`` times: the engine-level gain, robust to a machine
    whose load drifts (both halves of a round see about the same load)."""
    options = DecodeOptions(language="en")
    windows = [all_speech[i * 400_000 : i * 400_000 + 480_000] for i in range(size)]
    for turn in range(rounds):
        singles = [engine.start(w, options) for w in windows]
        started = time.perf_counter()
        for decode in singles:
            engine.step([decode])
        alone = time.perf_counter() - started
        together = [engine.start(w, options) for w in windows]
        started = time.perf_counter()
        engine.step(together)
        shared = time.perf_counter() - started
        print(
            f"  round {turn + 1}: {size} single steps {alone:5.1f} s, one step of {size}"
            f" {shared:5.1f} s: x{alone / shared:.2f}"
        )


def tiled(all_speech: np.ndarray, minutes: float) -> np.ndarray:
    size = int(minutes * 60 * 16000)
    return np.tile(all_speech, int(np.ceil(size / len(all_speech))))[:size]


def rss_child(args: argparse.Namespace) -> None:
    """Recognise the WAV file ``--rss-child`` (batched, read as it goes) and print this
    process's peak RSS in MB."""
    engine = load(args)
    pool = EnginePool(engine, workers=engine.parallelism.workers, max_batch=args.max_batch)
    asyncio.run(_with_pool(pool, engine, Path(args.rss_child), args.cursors))
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec.
    print(peak_rss_mb(os.getpid()))


def rss(args: argparse.Namespace, all_speech: np.ndarray) -> None:
    print("Peak RSS of a fresh process recognising one WAV file (batched, read as it goes):")
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in sorted({2, 10, args.minutes}):
            path = Path(tmp) / f"m{minutes}.wav"
            path.write_bytes(wav_bytes(tiled(all_speech, minutes)))
            command = [sys.executable, __file__, "--rss-child", str(path)]
            command += ["--device", args.device, "--cursors", str(args.cursors)]
            command += ["--max-batch", str(args.max_batch)]
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            print(f"  {minutes:5.1f} minutes: {float(out.split()[-1]):6.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="the long file's length")
    parser.add_argument("--max-batch", type=int, default=8)
    parser.add_argument("--cursors", type=int, default=4, help="windows of one file in flight")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--workers", type=int, default=0, help="engine calls at once (0 = auto)")
    parser.add_argument("--cpu-threads", type=int, default=0, help="threads per call (0 = auto)")
    parser.add_argument("--skip-rss", action="store_true")
    parser.add_argument("--skip-wer", action="store_true")
    parser.add_argument(
        "--only-steps", action="store_true", help="only the engine-level step comparison"
    )
    parser.add_argument("--only-rss", action="store_true", help="only the peak RSS")
    parser.add_argument("--only-wer", action="store_true", help="only the WER table")
    parser.add_argument("--rss-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args)
        return
    all_speech = speech()
    if args.only_rss:
        rss(args, all_speech)
        return
    engine = load(args)
    parallel = engine.parallelism
    print(f"Hark: {parallel.workers} engine calls at once, {parallel.cpu_threads} threads each")
    if args.only_wer:
        wer_table(args, engine)
        return
    print(f"Engine steps, {args.max_batch} windows alone vs batched:")
    step_ratio(engine, all_speech, args.max_batch, rounds=3)
    if args.only_steps:
        return
    instrument()
    jobs = slices(all_speech)
    raw_wall, _ = raw_sequential(args, jobs)
    side_by_side = raw_side_by_side(args, engine, jobs)
    wall, sizes = asyncio.run(batched(args, engine, jobs))
    report(f"{len(jobs)} concurrent 2-minute files", 960.0, raw_wall, wall, sizes, side_by_side)
    where_time_goes(wall)
    long_file = tiled(all_speech, args.minutes)
    raw_wall, _ = raw_sequential(args, [long_file])
    wall, sizes = asyncio.run(batched(args, engine, [long_file]))
    report(f"one {args.minutes:g}-minute file", len(long_file) / 16000, raw_wall, wall, sizes)
    where_time_goes(wall)
    if not args.skip_wer:
        wer_table(args, engine)
    if not args.skip_rss:
        rss(args, all_speech)
    print(
        "reproduce: .venv/bin/python bench/batching.py"
        f" --minutes {args.minutes:g} --max-batch {args.max_batch} --cursors {args.cursors}"
        f" --device {args.device} --workers {args.workers} --cpu-threads {args.cpu_threads}"
    )


if __name__ == "__main__":
    main()
