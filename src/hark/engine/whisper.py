"""The real engine: faster-whisper (CTranslate2) behind the ``Engine`` Protocol.

With ``loading.py`` and ``vad.py``, the only modules that import faster_whisper / ctranslate2.

Decisions measured on the shared corpus with tiny.en, int8, 2 CPU threads:

* Every length is decoded sequentially (30 s windows, conditioned on the previous window),
  never with ``BatchedInferencePipeline``. Batching was 1.1-2x faster on 25-196 s files but
  lost text: WER 34.4 vs 5.7 on long_en_multispeaker_16k.wav (a 25 s stretch dropped),
  13.6 vs 3.6 on long_en_ljspeech_LJ001-0001-0016_16k.flac with timestamps on.
* ``vad_filter`` stays off: Whisper's own no-speech detection handles pauses, and VAD
  chunking is what made the batched path drop speech.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.audio import pad_or_trim
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import get_ctranslate2_storage, get_suppressed_tokens
from faster_whisper.vad import VadOptions, get_speech_timestamps

from hark.engine import (
    SAMPLE_RATE,
    Decode,
    DecodeOptions,
    Hypothesis,
    ModelInfo,
    Progress,
    Samples,
    Segment,
    Stop,
    Stopped,
    Transcript,
    Word,
    comparable,
    stepping,
)
from hark.engine.loading import ModelUnavailable, resolve_model
from hark.engine.parallelism import ONE_CALL, Parallelism, split
from hark.engine.rescoring import RescoringGenerator

WINDOW_SECONDS = 30
"""Whisper's fixed input window; ``n_best`` decodes at most one."""

N_BEST_BEAMS = 16
"""Hypotheses asked of the beam search for ``n_best`` (at least ``count``). Most beams differ
only in case or punctuation: on en_jfk_inaugural.flac (tiny.en) 8 beams held 1 distinct text,
16 held 4, for 0.51 s instead of 0.38 s."""

N_BEST_MIN_RELATIVE_CONFIDENCE = 0.5
"""Alternatives below this fraction of the best one's confidence are dropped: with wide beams
they are truncations ("he was not an", 0.36 next to 0.76 for the full sentence), not readings."""

_WINDOW_SAMPLES = WINDOW_SECONDS * SAMPLE_RATE
# faster-whisper's defaults for attaching punctuation to words.
_PREPEND_PUNCTUATION = "\"'“¿([{-"
_APPEND_PUNCTUATION = "\"'.。,，!！?？:：”)]}、"


@dataclass(frozen=True)
class _Candidate:
    text: str
    confidence: float


class WhisperEngine:
    """A loaded faster-whisper model. Methods block; they may be called from several threads.

    Concurrent calls share one model; up to ``workers`` of them run the model at the same time
    (CTranslate2 ``inter_threads``), the rest wait inside CTranslate2.
    """

    def __init__(
        self,
        model: _MemoWhisperModel,
        *,
        name: str,
        weight_bytes: int = 0,
        parallelism: Parallelism = ONE_CALL,
    ) -> None:
        """Wrap an already loaded model; use ``WhisperEngine.load`` to build one."""
        self._model: _MemoWhisperModel | None = model
        self.parallelism = parallelism
        """Calls that run the model at once (give the engine's pool as many), threads each."""
        self._info = ModelInfo(
            name=name,
            multilingual=bool(model.model.is_multilingual),
            languages=frozenset(str(code) for code in model.supported_languages),
            weight_bytes=weight_bytes,
        )
        self._close_lock = threading.Lock()

    @classmethod
    def load(
        cls,
        model: str = "",
        *,
        device: str = "auto",
        compute_type: str = "default",
        cpu_threads: int = 0,
        num_workers: int = 0,
        download_root: Path | None = None,
    ) -> WhisperEngine:
        """Resolve ``model`` (see ``loading.resolve_model``) and load it.

        ``device`` is "auto", "cpu" or "cuda"; ``compute_type`` "default" means int8 on CPU
        and float16 on CUDA, anything else is passed to CTranslate2 ("int8", "float32", ...).
        ``num_workers`` (calls at once) and ``cpu_threads`` (threads per call) 0 are chosen
        for the device (``parallelism.split``). Raises ``loading.ModelUnavailable`` when
        the model cannot be found or cannot be loaded on that device (no CUDA, a compute type
        the device lacks), with a one-line reason.
        """
        resolved = resolve_model(model, download_root=download_root)
        device = _pick_device(device)
        compute_type = _pick_compute_type(device, compute_type)
        parallel = split(device, num_workers, cpu_threads)
        try:
            whisper = _MemoWhisperModel(
                str(resolved.path),
                device=device,
                compute_type=compute_type,
                cpu_threads=parallel.cpu_threads,
                num_workers=parallel.workers,
                local_files_only=True,  # resolve_model already fetched it; never the network
            )
        except (RuntimeError, ValueError) as error:
            # CTranslate2's own words name what is missing (a driver, a compute type).
            raise ModelUnavailable(
                f"cannot load {resolved.name} on {device} ({compute_type}): {error}"
            ) from error
        weights = resolved.path / "model.bin"
        return cls(
            whisper,
            name=resolved.name,
            weight_bytes=weights.stat().st_size,
            parallelism=parallel,
        )

    @property
    def info(self) -> ModelInfo:
        """Name, multilinguality and supported Whisper language codes of the loaded model."""
        return self._info

    def transcribe(
        self,
        samples: Samples,
        options: DecodeOptions,
        progress: Progress | None = None,
        stop: Stop | None = None,
    ) -> Transcript:
        """Decode all of ``samples`` into timed segments (the lazy generator is drained here).

        Times are clamped to ``[0, duration]``; words are in order. ``stop`` is asked after
        each window's encoder pass, before its (longer) decoding.
        """
        audio = _as_mono(samples)
        if not _speaks(audio):
            return _silence(audio, options)
        language = self._language(audio, options)
        return self._transcribe_speech(audio, language, options, progress, stop)

    def transcribe_batch(
        self, batch: Sequence[Samples], options: DecodeOptions
    ) -> list[Transcript]:
        """``transcribe`` of each clip, in order; clips of ≤30 s with speech share one encoder
        call and one beam search per language (requests decoded together).

        A lone clip, a longer one or a silent one is transcribed on its own. A batched clip
        is decoded in one pass at temperature 0 (no fallback) and its word timings are
        aligned on its own, so no clip's timings depend on another's.
        """
        audios = [_as_mono(samples) for samples in batch]
        transcripts: dict[int, Transcript] = {}
        by_language: dict[str, list[int]] = {}
        for index, audio in enumerate(audios):
            if not _speaks(audio):
                transcripts[index] = _silence(audio, options)
                continue
            language = self._language(audio, options)
            # The shared pass decodes at temperature 0 without fallback: sampling runs alone.
            if audio.shape[0] <= _WINDOW_SAMPLES and options.temperature == 0:
                by_language.setdefault(language, []).append(index)
            else:
                transcripts[index] = self._transcribe_speech(audio, language, options)
        for language, indices in by_language.items():
            if len(indices) == 1:
                transcripts[indices[0]] = self._transcribe_speech(
                    audios[indices[0]], language, options
                )
                continue
            together = self._decode_together([audios[i] for i in indices], language, options)
            transcripts.update(zip(indices, together, strict=True))
        return [transcripts[index] for index in range(len(audios))]

    def _transcribe_speech(
        self,
        audio: Samples,
        language: str,
        options: DecodeOptions,
        progress: Progress | None = None,
        stop: Stop | None = None,
    ) -> Transcript:
        """``transcribe`` for audio known to hold speech, in a language already chosen."""
        model = self._loaded()
        duration = audio.shape[0] / SAMPLE_RATE
        fw_segments, _ = model.transcribe(
            audio,
            language=language,
            beam_size=options.beam_size,
            condition_on_previous_text=options.condition_on_previous_text,
            # Words are aligned afterwards (_align_words): with word_timestamps on,
            # faster-whisper seeks to the last aligned word, and a word stretched over a
            # pause makes it skip speech ("fat [mutton pieces to be ladled out in] thick").
            word_timestamps=False,
            hotwords=options.prompt or None,
            initial_prompt=options.initial_prompt or None,
            max_new_tokens=options.max_new_tokens,
            task=options.task,
            temperature=_temperatures(options.temperature),
            vad_filter=False,
        )
        hotwords = _hotword_tokens(model, language, options)
        with (
            model.remembering_encoder_outputs(stop),
            model.model.rescoring(options.rescore, hotwords),
        ):
            decoded = []
            for fw in fw_segments:  # lazy: each step decodes more audio
                decoded.append(fw)
                if progress is not None:
                    progress(float(fw.end))
            words = (
                _align_words(model, audio, decoded, _tokenizer(model, language, options.task))
                if options.word_timestamps
                else {}
            )
        segments = tuple(
            _segment(fw, words.get(index), duration) for index, fw in enumerate(decoded)
        )
        return Transcript(segments=segments, language=language, duration=duration)

    def start(self, samples: Samples, options: DecodeOptions) -> stepping.WhisperDecode:
        """A decode of ``samples`` to advance with ``step`` (see ``engine.stepping``): the
        silence check and the language choice run here, the decoding in the steps."""
        audio = _as_mono(samples)
        if not _speaks(audio):
            language = options.language or "en"
            return stepping.start(self._loaded(), audio, language, options, speaks=False)
        return stepping.start(self._loaded(), audio, self._language(audio, options), options)

    def step(self, decodes: Sequence[Decode]) -> None:
        """One window more of each decode, in one encoder call and one ``generate`` call."""
        own = [decode for decode in decodes if isinstance(decode, stepping.WhisperDecode)]
        if len(own) != len(decodes):
            raise TypeError("step takes decodes started by this engine")
        stepping.step(self._loaded(), own)

    def n_best(self, samples: Samples, options: DecodeOptions, count: int) -> list[Hypothesis]:
        """Up to ``count`` distinct transcripts of ≤30 s of audio from one beam search.

        Best first in the decoder's ranking (length-normalised log-probability). Texts are
        distinct after lower-casing and dropping punctuation. ``confidence`` is
        exp(average token log-probability), in 0..1. Empty audio gives ``[]``.
        Raises ``ValueError`` for more than 30 s: callers split long audio first.
        """
        if count < 1:
            raise ValueError("count must be at least 1")
        audio = _as_mono(samples)
        if audio.shape[0] > _WINDOW_SAMPLES:
            raise ValueError(f"n_best takes at most {WINDOW_SECONDS} s of audio")
        if audio.shape[0] == 0:
            return []
        candidates = self._beam_search(audio, options, count)
        return [Hypothesis(c.text, c.confidence) for c in _distinct(candidates)[:count]]

    def close(self) -> None:
        """Unload the model; later calls raise ``RuntimeError``. Idempotent."""
        with self._close_lock:
            model, self._model = self._model, None
        if model is not None:
            model.model.unload_model()

    # -- internals ---------------------------------------------------------------------

    def _loaded(self) -> _MemoWhisperModel:
        model = self._model
        if model is None:
            raise RuntimeError("the engine is closed")
        return model

    def _language(self, audio: Samples, options: DecodeOptions) -> str:
        """The Whisper language code to decode with.

        English-only models always decode English. Otherwise ``options.language``, else
        the most probable of ``options.candidate_languages`` (any language when empty)
        judged on the first 30 s.
        """
        model = self._loaded()
        if not self._info.multilingual:
            return "en"
        if options.language:
            return options.language
        candidates = [c for c in options.candidate_languages if c in self._info.languages]
        if len(candidates) == 1:
            return candidates[0]
        best, _, all_probs = model.detect_language(
            audio=audio[:_WINDOW_SAMPLES], language_detection_segments=1
        )
        if not candidates:
            return str(best)
        probs = {str(code): float(p) for code, p in all_probs}
        return max(candidates, key=lambda code: probs.get(code, 0.0))

    def _decode_together(
        self, audios: list[Samples], language: str, options: DecodeOptions
    ) -> list[Transcript]:
        """One encoder call and one beam search for several ≤30 s clips of one language."""
        model = self._loaded()
        tokenizer = _tokenizer(model, language, options.task)
        features = np.stack([pad_or_trim(model.feature_extractor(a)[..., :-1]) for a in audios])
        encoded = model.model.encode(get_ctranslate2_storage(features), to_cpu=True)
        prompt = model.get_prompt(tokenizer, [], without_timestamps=False, hotwords=options.prompt)
        with model.model.rescoring(options.rescore, _hotword_tokens(model, language, options)):
            results = model.model.generate(
                encoded,
                [list(prompt) for _ in audios],
                beam_size=options.beam_size,
                length_penalty=1.0,
                max_length=model.max_length,
                return_scores=True,
                return_no_speech_prob=True,
                suppress_blank=True,
                suppress_tokens=list(get_suppressed_tokens(tokenizer, [-1])),
            )
        per_clip = np.asarray(encoded)
        return [
            self._clip_transcript(
                audio,
                result,
                encoded=per_clip[i : i + 1],
                tokenizer=tokenizer,
                language=language,
                options=options,
            )
            for i, (audio, result) in enumerate(zip(audios, results, strict=True))
        ]

    def _clip_transcript(
        self,
        audio: Samples,
        result: Any,
        *,
        encoded: Any,
        tokenizer: Tokenizer,
        language: str,
        options: DecodeOptions,
    ) -> Transcript:
        """Segments (split at timestamp tokens) and aligned words of one batched clip."""
        model = self._loaded()
        duration = audio.shape[0] / SAMPLE_RATE
        tokens = result.sequences_ids[0]
        avg_logprob = _avg_logprob(result.scores[0], len(tokens))
        size = int(math.ceil(duration) * model.frames_per_second)
        pieces, _, _ = model._split_segments_by_timestamps(
            tokenizer=tokenizer,
            tokens=tokens,
            time_offset=0.0,
            segment_size=size,
            segment_duration=duration,
            seek=0,
        )
        # One pass sees the whole clip, so text after the last complete segment is not
        # "continued in the next window" as faster-whisper assumes: keep it, to the clip's end.
        consumed = sum(len(piece["tokens"]) for piece in pieces)
        rest = [token for token in tokens[consumed:] if token < tokenizer.eot]
        if any(token < tokenizer.timestamp_begin for token in rest):
            start = pieces[-1]["end"] if pieces else 0.0
            pieces.append({"start": start, "end": duration, "tokens": rest})
        for piece in pieces:
            piece["seek"] = 0
        if options.word_timestamps and pieces:
            model.add_word_timestamps(
                [pieces],
                tokenizer,
                ctranslate2.StorageView.from_array(np.ascontiguousarray(encoded)),
                size,
                _PREPEND_PUNCTUATION,
                _APPEND_PUNCTUATION,
                0.0,
            )
        segments = tuple(
            Segment(
                start=_clamp(piece["start"], duration),
                end=_clamp(piece["end"], duration),
                text=str(tokenizer.decode(piece["tokens"])),
                avg_logprob=float(avg_logprob),
                no_speech_prob=float(result.no_speech_prob),
                words=_words(piece.get("words", ()), duration),
            )
            for piece in pieces
        )
        return Transcript(segments=segments, language=language, duration=duration)

    def _beam_search(self, audio: Samples, options: DecodeOptions, count: int) -> list[_Candidate]:
        """Raw beam-search hypotheses, best first, with duplicates still in."""
        model = self._loaded()
        language = self._language(audio, options)
        tokenizer = _tokenizer(model, language, options.task)
        features = model.feature_extractor(audio)
        # The extractor pads one hop; transcribe() drops that frame too before padding to 30 s.
        encoder_output = model.encode(pad_or_trim(features[..., :-1]))
        # Without timestamps: one 30 s window decoded with timestamps stops after its first
        # segment (transcribe() would seek on), truncating 7 of 33 corpus clips.
        prompt = model.get_prompt(tokenizer, [], without_timestamps=True, hotwords=options.prompt)
        asked = max(count, N_BEST_BEAMS)
        hotwords = _hotword_tokens(model, language, options)
        with model.model.rescoring(options.rescore, hotwords):  # boosted alternatives first
            result = model.model.generate(
                encoder_output,
                [prompt],
                beam_size=max(options.beam_size, asked),
                num_hypotheses=asked,
                length_penalty=1.0,
                max_length=model.max_length,
                return_scores=True,
                suppress_blank=True,
                suppress_tokens=list(get_suppressed_tokens(tokenizer, [-1])),
            )[0]
        return [
            _Candidate(str(tokenizer.decode(tokens)).strip(), _confidence(score, len(tokens)))
            for tokens, score in zip(result.sequences_ids, result.scores, strict=True)
        ]


def _confidence(score: float, n_tokens: int) -> float:
    """exp(average log-probability per token), as faster-whisper recovers it, in 0..1."""
    return min(1.0, max(0.0, math.exp(_avg_logprob(score, n_tokens))))


def _distinct(candidates: list[_Candidate]) -> list[_Candidate]:
    """First of each normalised text, in order, minus empty and far less confident ones."""
    seen: set[str] = set()
    kept: list[_Candidate] = []
    for candidate in candidates:
        key = comparable(candidate.text)
        if not key or key in seen:
            continue
        if kept and candidate.confidence < kept[0].confidence * N_BEST_MIN_RELATIVE_CONFIDENCE:
            continue
        seen.add(key)
        kept.append(candidate)
    return kept


class _MemoWhisperModel(WhisperModel):  # type: ignore[misc]
    """A WhisperModel that can keep the encoder outputs of the windows it decodes.

    Word alignment runs after decoding (see ``_align_words``) and needs each window's
    encoder output again; remembering it saves one encoder pass per 30 s window. Memory is
    bounded by the call: outputs are kept only inside ``remembering_encoder_outputs``.

    The same hook is where a decode can be abandoned: between a window's encoder pass and
    its decoding, the only point faster-whisper's generator passes through our code.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._memo = threading.local()
        # Phrase boosts re-rank each window's hypotheses (rescoring.py); inert without them.
        self.model: RescoringGenerator = RescoringGenerator(
            self.model,
            _text_of(self.hf_tokenizer),
            previous=self.hf_tokenizer.token_to_id("<|startofprev|>"),
            start=self.hf_tokenizer.token_to_id("<|startoftranscript|>"),
        )

    @contextlib.contextmanager
    def remembering_encoder_outputs(self, stop: Stop | None = None) -> Iterator[None]:
        self._memo.outputs, self._memo.stop = {}, stop
        try:
            yield
        finally:
            self._memo.outputs = self._memo.stop = None

    def encode(self, features: np.ndarray) -> Any:
        output = super().encode(features)
        stop = getattr(self._memo, "stop", None)
        if stop is not None and stop():
            raise Stopped()
        outputs = getattr(self._memo, "outputs", None)
        if outputs is not None and features.ndim == 2:
            outputs[_fingerprint(features)] = output
        return output

    def remembered(self, features: np.ndarray) -> Any:
        outputs = getattr(self._memo, "outputs", None) or {}
        return outputs.get(_fingerprint(features))


def _text_of(hf_tokenizer: Any) -> Callable[[list[int]], str]:
    """Token ids -> text, timestamps and other special tokens (ids from end-of-text up) out."""
    end_of_text = hf_tokenizer.token_to_id("<|endoftext|>")

    def text_of(tokens: list[int]) -> str:
        return str(hf_tokenizer.decode([token for token in tokens if token < end_of_text]))

    return text_of


def _hotword_tokens(model: WhisperModel, language: str, options: DecodeOptions) -> list[int]:
    """The prompt's phrase tokens exactly as faster-whisper's ``get_prompt`` writes them."""
    if not options.prompt:
        return []
    return stepping.hotword_tokens(model, _tokenizer(model, language, options.task), options.prompt)


def _fingerprint(features: np.ndarray) -> bytes:
    return hashlib.blake2b(np.ascontiguousarray(features).tobytes(), digest_size=16).digest()


def _align_words(
    model: _MemoWhisperModel, audio: Samples, decoded: list[Any], tokenizer: Tokenizer
) -> dict[int, dict[str, Any]]:
    """Word timings for decoded segments: one encoder pass and one alignment per 30 s window.

    Segments decoded from the same window share its ``seek``; they are aligned together
    against that window, exactly as faster-whisper does, but after decoding, so the
    alignment cannot move the decoder's position. Returns, by segment index, the segment
    dict faster-whisper aligned: word-based "start" and "end", and its "words".
    """
    features = model.feature_extractor(audio)
    content_frames = features.shape[-1] - 1
    windows: dict[int, list[int]] = {}
    for index, fw in enumerate(decoded):
        windows.setdefault(fw.seek, []).append(index)
    words: dict[int, dict[str, Any]] = {}
    last_speech = 0.0
    for seek, indexes in windows.items():
        size = min(model.feature_extractor.nb_max_frames, content_frames - seek)
        window = pad_or_trim(features[:, seek : seek + size])
        encoder_output = model.remembered(window) or model.encode(window)
        group = [
            {"seek": seek, "start": decoded[i].start, "end": decoded[i].end,
             "tokens": list(decoded[i].tokens)}
            for i in indexes
        ]  # fmt: skip
        last_speech = model.add_word_timestamps(
            [group], tokenizer, encoder_output, size,
            _PREPEND_PUNCTUATION, _APPEND_PUNCTUATION, last_speech,
        )  # fmt: skip
        for index, aligned in zip(indexes, group, strict=True):
            words[index] = aligned
    return words


def _words(aligned: Any, duration: float) -> tuple[Word, ...]:
    """faster-whisper's word dicts as Words, clamped to the audio."""
    return tuple(
        Word(
            start=_clamp(w["start"], duration),
            end=_clamp(w["end"], duration),
            text=str(w["word"]),
            probability=float(w["probability"]),
        )
        for w in aligned
    )


def _segment(fw: Any, aligned: dict[str, Any] | None, duration: float) -> Segment:
    """A decoded segment; with alignment, its words and the word-based bounds faster-whisper
    gives segments (as in the batched path)."""
    bounds = aligned or {"start": fw.start, "end": fw.end}
    return Segment(
        start=_clamp(bounds["start"], duration),
        end=_clamp(bounds["end"], duration),
        text=str(fw.text),
        avg_logprob=float(fw.avg_logprob),
        no_speech_prob=float(fw.no_speech_prob),
        words=_words(bounds.get("words", ()), duration),
    )


def _speaks(audio: Samples) -> bool:
    """Whether ``audio`` holds speech: Whisper invents words ("You", "Thank you.") for
    silence, so Silero VAD (shipped with faster-whisper) is the judge."""
    if audio.shape[0] == 0:
        return False
    return bool(get_speech_timestamps(audio, VadOptions(min_speech_duration_ms=150)))


def _silence(audio: Samples, options: DecodeOptions) -> Transcript:
    return Transcript(
        segments=(), language=options.language or "en", duration=audio.shape[0] / SAMPLE_RATE
    )


def _tokenizer(model: WhisperModel, language: str, task: str = "transcribe") -> Tokenizer:
    return Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task=task, language=language)


TEMPERATURE_STEP = 0.2
"""Whisper's fallback ladder: each retry of a broken window samples this much hotter."""


def _temperatures(first: float) -> tuple[float, ...]:
    """Whisper's ladder from ``first`` up to 1.0 (0 gives faster-whisper's default)."""
    steps = max(0, round((1.0 - first) / TEMPERATURE_STEP))
    return tuple(round(first + TEMPERATURE_STEP * step, 6) for step in range(steps + 1))


def _avg_logprob(score: float, n_tokens: int) -> float:
    """Average log-probability per token, end-of-text included, from CTranslate2's score:
    the cumulative log-probability divided by ``n_tokens ** length_penalty`` (1 here)."""
    return score * n_tokens / (n_tokens + 1)


def _clamp(t: float, duration: float) -> float:
    # Whisper's timestamps come from 20 ms tokens and DTW; the last one can overshoot the end.
    return min(max(float(t), 0.0), duration)


def _as_mono(samples: Samples) -> Samples:
    audio = np.asarray(samples, dtype=np.float32)
    if audio.ndim != 1:
        raise ValueError(f"expected mono samples (1-D), got shape {audio.shape}")
    return audio


def _pick_device(device: str) -> str:
    if device == "auto":
        return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', not {device!r}")
    if device == "cuda" and ctranslate2.get_cuda_device_count() == 0:
        raise ModelUnavailable(
            "--device cuda: CTranslate2 finds no usable CUDA device (no NVIDIA GPU, driver or"
            " CUDA runtime); use --device cpu, or auto to take a GPU only when there is one"
        )
    return device


def _pick_compute_type(device: str, compute_type: str) -> str:
    if compute_type != "default":
        return compute_type
    # int8 keeps tiny..large fast on CPU at ~no accuracy cost; GPUs are built for float16.
    return "float16" if device == "cuda" else "int8"
