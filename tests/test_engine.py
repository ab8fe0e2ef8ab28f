"""The engine package: model resolution, the real tiny.en engine, the fake, the pool."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from hark.engine import (
    SAMPLE_RATE,
    DecodeOptions,
    Engine,
    Samples,
    Segment,
    Stopped,
    Transcript,
)
from hark.engine.loading import ModelUnavailable, resolve_model
from hark.engine.pool import EnginePool
from hark.errors import ResourceExhausted, Unavailable

from conftest import corpus_file, reference
from cores import Unclosable
from fake_engine import FakeEngine
from wer import normalize, wer

# tiny.en misreads "ill-disposed" here as "old-sposed"; the phrase as a prompt fixes it.
HOTWORD_FILE = "en_librivox_sense_and_sensibility_0880.wav"
HOTWORD_PHRASE = "ill disposed"


@cache
def corpus_audio(name: str) -> Samples:
    """16 kHz mono float32 samples of a corpus file (decoded in place, never copied)."""
    from faster_whisper import decode_audio

    samples: Samples = decode_audio(str(corpus_file(name)), sampling_rate=SAMPLE_RATE)
    return samples


def text_of(segments: Sequence[Segment]) -> str:
    return " ".join(s.text for s in segments)


def tone(seconds: float, amplitude: float = 0.1) -> Samples:
    t = np.arange(int(seconds * SAMPLE_RATE), dtype=np.float32) / SAMPLE_RATE
    return (amplitude * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def silence(seconds: float) -> Samples:
    return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32)


# -- model resolution -------------------------------------------------------------------------


@pytest.mark.parametrize("alias", ["", "default", "embedded", "tiny.en"])
def test_embedded_aliases_resolve_to_the_bundled_model(alias: str) -> None:
    resolved = resolve_model(alias, download_root=None)
    assert resolved.name == "tiny.en"
    assert (resolved.path / "model.bin").is_file()


def test_local_directory_resolves_through_a_symlink(tmp_path: Path) -> None:
    embedded = resolve_model("", download_root=None).path
    link = tmp_path / "my-model"
    link.symlink_to(embedded, target_is_directory=True)
    resolved = resolve_model(str(link), download_root=None)
    assert resolved.name == "my-model"
    assert (resolved.path / "config.json").is_file()


def test_directory_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelUnavailable, match=r"not a CTranslate2 Whisper model.*model\.bin"):
        resolve_model(str(tmp_path), download_root=None)


def test_missing_path_and_unknown_name_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="does not exist"):
        resolve_model(str(tmp_path / "nope"), download_root=None)
    with pytest.raises(ModelUnavailable, match="unknown model 'whisper-huge'"):
        resolve_model("whisper-huge", download_root=None)


def test_uncached_name_fails_fast_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.monotonic()
    with pytest.raises(ModelUnavailable) as caught:
        resolve_model("small.en", download_root=tmp_path)
    assert time.monotonic() - started < 60  # a hang guard: offline means no network retries
    message = str(caught.value)
    assert "'small.en' is not in the local cache" in message
    assert "--model PATH" in message


def test_cached_name_resolves_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A Hugging Face cache layout whose files are symlinks to the embedded model (no copies).
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    embedded = resolve_model("", download_root=None).path
    repo = tmp_path / "models--Systran--faster-whisper-small.en"
    commit = "0" * 40
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for name in ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt"):
        (snapshot / name).symlink_to(embedded / name)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)

    resolved = resolve_model("small.en", download_root=tmp_path)
    assert resolved.name == "small.en"
    assert resolved.path == snapshot.resolve()


# -- the fake engine --------------------------------------------------------------------------


def test_fake_engine_times_words_from_energy() -> None:
    audio = np.concatenate([silence(1.0), tone(1.2), silence(1.0), tone(0.8), silence(0.5)])
    transcript = FakeEngine().transcribe(audio, DecodeOptions())
    assert [s.text for s in transcript.segments] == [" word1 word2 word3", " word4 word5"]
    first, second = transcript.segments
    assert first.start == pytest.approx(1.0, abs=0.03)
    assert first.end == pytest.approx(2.2, abs=0.03)
    assert second.start == pytest.approx(3.2, abs=0.03)
    assert transcript.duration == pytest.approx(4.5)


def test_fake_engine_scripted_and_n_best() -> None:
    engine = FakeEngine(["hello world", "again"])
    transcript = engine.transcribe(silence(4.0), DecodeOptions(language="de"))
    assert transcript.language == "de"
    assert [(s.start, s.end, s.text) for s in transcript.segments] == [
        (0.0, 2.0, " hello world"),
        (2.0, 4.0, " again"),
    ]
    hypotheses = engine.n_best(silence(4.0), DecodeOptions(), 3)
    assert [h.text for h in hypotheses][:1] == ["hello world again"]
    assert len({h.text for h in hypotheses}) == 3
    assert [h.confidence for h in hypotheses] == [0.9, 0.8, 0.7]


# -- the pool ---------------------------------------------------------------------------------


async def test_pool_runs_calls_in_parallel_off_the_loop() -> None:
    engine = FakeEngine(["hi"], delay=0.3)
    pool = EnginePool(engine, workers=2, max_queue=4)
    results = await asyncio.gather(
        *(pool.transcribe(silence(1), DecodeOptions()) for _ in range(2))
    )
    assert engine.peak_concurrency == 2  # the two calls overlapped
    assert all(r.segments[0].text == " hi" for r in results)
    await pool.close()
    assert engine.closed


class Observed:
    """A ``PoolObserver`` that keeps what it is told."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, float]] = []
        self.rejections = 0

    def engine_call(self, seconds: float, audio_seconds: float) -> None:
        self.calls.append((seconds, audio_seconds))

    def rejected(self) -> None:
        self.rejections += 1


async def test_pool_refuses_calls_beyond_its_queue() -> None:
    engine = FakeEngine(["hi"], delay=0.3)
    pool = EnginePool(engine, workers=1, max_queue=1)
    pool.observer = observed = Observed()
    running = asyncio.create_task(pool.transcribe(silence(1), DecodeOptions()))
    waiting = asyncio.create_task(pool.n_best(silence(2), DecodeOptions(), 2))
    await asyncio.sleep(0)  # both admitted: one running, one waiting
    with pytest.raises(ResourceExhausted, match="at capacity: 1 requests are queued"):
        await pool.transcribe(silence(1), DecodeOptions())
    await asyncio.sleep(0.1)  # the worker took the first; it runs for 0.3 s at least
    assert pool.waiting == 1
    assert (await running).segments
    assert len(await waiting) == 2
    await pool.close()
    assert observed.rejections == 1
    assert [audio for _, audio in observed.calls] == [1.0, 2.0]
    assert all(seconds > 0 for seconds, _ in observed.calls)


async def test_pool_is_fifo_and_skips_cancelled_waiters() -> None:
    order: list[int] = []

    class Recording(FakeEngine):
        def transcript(self, samples: Samples, options: DecodeOptions) -> Transcript:
            order.append(len(samples))
            return super().transcript(samples, options)

    engine = Recording(["x"], delay=0.05)
    pool = EnginePool(engine, workers=1, max_queue=8)
    tasks = [
        asyncio.create_task(pool.transcribe(np.zeros(n, np.float32), DecodeOptions()))
        for n in range(1, 6)
    ]
    await asyncio.sleep(0.01)
    tasks[2].cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert order == [1, 2, 4, 5]
    await pool.close()


async def test_pool_passes_errors_through_and_close_refuses_work() -> None:
    engine = FakeEngine(["x"], delay=0.2)
    pool = EnginePool(engine, workers=1, max_queue=4)
    running = asyncio.create_task(pool.transcribe(silence(1), DecodeOptions()))
    waiting = asyncio.create_task(pool.transcribe(silence(1), DecodeOptions()))
    await asyncio.sleep(0.05)
    await pool.close()
    assert (await running).segments  # the running call finished
    with pytest.raises(Unavailable):
        await waiting
    with pytest.raises(Unavailable):
        await pool.transcribe(silence(1), DecodeOptions())

    broken = FakeEngine()
    broken.close()
    pool = EnginePool(broken)
    with pytest.raises(RuntimeError, match="closed"):
        await pool.transcribe(silence(1), DecodeOptions())
    await pool.close()


# -- the real engine (tiny.en on corpus speech) -----------------------------------------------


@pytest.fixture(scope="module")
def whisper() -> Iterator[Engine]:
    from hark.engine.whisper import WhisperEngine

    engine = WhisperEngine.load("", cpu_threads=2, num_workers=2)
    yield engine
    engine.close()


@pytest.mark.slow
def test_model_info(whisper: Engine) -> None:
    assert whisper.info.name == "tiny.en"
    assert not whisper.info.multilingual
    assert whisper.info.languages == frozenset({"en"})


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    ["en_jfk_inaugural.flac", "en_librispeech_1272-128104-0000.wav", "en_ljspeech_LJ001-0001.wav"],
)
def test_transcribes_real_speech(whisper: Engine, name: str) -> None:
    audio = corpus_audio(name)
    transcript = whisper.transcribe(audio, DecodeOptions(language=None))
    assert transcript.language == "en"
    assert transcript.duration == pytest.approx(len(audio) / SAMPLE_RATE)
    assert wer(reference(name), text_of(transcript.segments)) <= 0.25

    words = [w for s in transcript.segments for w in s.words]
    assert len(words) >= len(reference(name).split()) - 3
    for word in words:
        assert 0.0 <= word.start <= word.end <= transcript.duration
        assert 0.0 <= word.probability <= 1.0
    starts = [w.start for w in words]
    assert starts == sorted(starts)


@pytest.mark.slow
def test_prompt_biases_toward_phrase(whisper: Engine) -> None:
    audio = corpus_audio(HOTWORD_FILE)
    plain = normalize(text_of(whisper.transcribe(audio, DecodeOptions()).segments))
    prompted = whisper.transcribe(audio, DecodeOptions(prompt=HOTWORD_PHRASE))
    assert "ill disposed" not in plain  # tiny.en hears "old-sposed"
    assert normalize(text_of(prompted.segments)) == reference(HOTWORD_FILE)


@pytest.mark.slow
def test_n_best_gives_distinct_alternatives_best_first(whisper: Engine) -> None:
    audio = corpus_audio(HOTWORD_FILE)
    hypotheses = whisper.n_best(audio, DecodeOptions(), 3)
    assert 2 <= len(hypotheses) <= 3
    assert len({normalize(h.text) for h in hypotheses}) == len(hypotheses)
    assert all(0.0 < h.confidence <= 1.0 for h in hypotheses)
    best = normalize(text_of(whisper.transcribe(audio, DecodeOptions()).segments))
    assert normalize(hypotheses[0].text) == best


@pytest.mark.slow
def test_edge_inputs(whisper: Engine) -> None:
    empty = np.zeros(0, np.float32)
    assert whisper.transcribe(empty, DecodeOptions()).segments == ()
    assert whisper.n_best(empty, DecodeOptions(), 2) == []
    with pytest.raises(ValueError, match="at most 30 s"):
        whisper.n_best(silence(31), DecodeOptions(), 2)
    with pytest.raises(ValueError, match="mono"):
        whisper.transcribe(np.zeros((2, 16000), np.float32), DecodeOptions())


@pytest.mark.slow
def test_stop_is_asked_after_each_encoder_pass(whisper: Engine) -> None:
    audio = corpus_audio("en_librispeech_1272-128104-0000.wav")
    asked: list[int] = []

    def stop_now() -> bool:
        asked.append(1)
        return True

    with pytest.raises(Stopped):
        whisper.transcribe(audio, DecodeOptions(), stop=stop_now)
    assert asked == [1]  # the one 30 s window was encoded, then abandoned before decoding

    asked.clear()

    def ask() -> bool:
        asked.append(1)
        return False

    kept = whisper.transcribe(audio, DecodeOptions(), stop=ask)
    assert asked == [1]
    assert wer(reference("en_librispeech_1272-128104-0000.wav"), text_of(kept.segments)) <= 0.1


@pytest.mark.slow
def test_max_new_tokens_caps_the_decoding(whisper: Engine) -> None:
    audio = corpus_audio("en_librispeech_1272-128104-0000.wav")
    capped = whisper.transcribe(audio, DecodeOptions(max_new_tokens=4))
    words = [w for s in capped.segments for w in s.words]
    assert 1 <= len(words) <= 4
    assert normalize(text_of(capped.segments)).startswith("mr")


async def test_pool_runs_a_stoppable_call_alone_and_passes_stopped_through() -> None:
    engine = FakeEngine(["x"], delay=0.05)
    pool = EnginePool(engine, workers=1, max_queue=8, max_batch=4)
    ok = DecodeOptions()
    calls = [
        pool.transcribe(silence(1), ok),
        pool.transcribe(silence(1), ok, stop=lambda: True),
        pool.transcribe(silence(1), ok),
        pool.transcribe(silence(1), ok),
    ]
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert isinstance(results[1], Stopped)
    assert all(isinstance(r, Transcript) for i, r in enumerate(results) if i != 1)
    assert engine.batch_sizes == [2]  # the first ran alone (pool idle), then the stoppable one
    await pool.close()


@pytest.mark.slow
async def test_pool_over_the_real_engine_runs_calls_concurrently(whisper: Engine) -> None:
    audio = corpus_audio("en_librispeech_1272-128104-0000.wav")
    alone = whisper.transcribe(audio, DecodeOptions())
    pool = EnginePool(Unclosable(whisper), workers=2, max_queue=2)
    together = await asyncio.gather(*(pool.transcribe(audio, DecodeOptions()) for _ in range(2)))
    assert all(text_of(t.segments) == text_of(alone.segments) for t in together)
    await pool.close()


# -- language choice (no multilingual model ships here, so a stand-in model) -----------------


class _MultilingualStandIn:
    """Just enough of faster_whisper.WhisperModel for WhisperEngine's language choice."""

    class model:  # noqa: N801 - mirrors WhisperModel.model (the CTranslate2 model)
        is_multilingual = True

    supported_languages = ("en", "de", "fr", "es")

    def detect_language(self, **_: object) -> tuple[str, float, list[tuple[str, float]]]:
        probs = [("fr", 0.6), ("de", 0.3), ("en", 0.08), ("es", 0.02)]
        return probs[0][0], probs[0][1], probs


@pytest.mark.parametrize(
    ("language", "candidates", "expected"),
    [
        ("es", (), "es"),  # given: no detection
        (None, (), "fr"),  # detected among all
        (None, ("en", "de"), "de"),  # detected among the candidates only
        (None, ("en",), "en"),  # one candidate: no detection needed
    ],
)
def test_language_is_given_or_detected_among_candidates(
    language: str | None, candidates: tuple[str, ...], expected: str
) -> None:
    from hark.engine.whisper import WhisperEngine

    engine = WhisperEngine(_MultilingualStandIn(), name="stand-in")  # type: ignore[arg-type]
    options = DecodeOptions(language=language, candidate_languages=candidates)
    assert engine.info.multilingual
    assert engine._language(tone(1.0), options) == expected


def test_temperature_ladder_is_whispers() -> None:
    """OpenAI's ``temperature`` starts Whisper's fallback ladder, as Whisper's own CLI does."""
    from hark.engine.whisper import _temperatures

    assert _temperatures(0.0) == (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    assert _temperatures(0.5) == (0.5, 0.7, 0.9)
    assert _temperatures(1.0) == (1.0,)
