"""The streaming policy, sans-IO: audio time, voice activity and hypotheses in; events out.

A driver (``session.py``) feeds it speech probabilities as audio arrives, asks it what
to decode (``next_window``) whenever it has no decode running, and hands back the words the
engine found (``hypothesis``). The policy owns every decision:

* **Endpointing** from voice activity with hysteresis: speech starts after ``min_speech`` of
  frames above ``speech_threshold``; an utterance ends after ``endpoint_silence`` below
  ``silence_threshold``. Only audio inside an utterance is ever decoded.
* **LocalAgreement-2**: each hypothesis re-reads the utterance's buffer; the words two
  consecutive hypotheses agree on (after what is already committed) are committed, and
  committed words never change again, so a final never contradicts stable interim text.
* **Accurate, early finals**: at the first quiet frame after speech (or once ``tail_pad`` of
  quiet follows it), the policy asks an urgent *final* decode (the driver decodes it carefully,
  with beam search) of the audio up to ``tail_pad`` after the quiet began (0: up to the quiet
  onset, which Silero reports 0.1-0.3 s after the last word), while the endpoint silence is
  still running. If the quiet lasts to the endpoint, that reading is the final; if speech
  resumes it is just one more hypothesis. An utterance that ended waits, whatever follows,
  until a final window of it has been read: finals come in order, late if decoding falls
  behind, but never from a guess (issue 12: settling a final from the newest interim guess
  when the next utterance ended first lost the words no interim had read yet).
  A short utterance (buffer never trimmed) is re-read whole, so the final is as good as a
  batch transcription of it; a long one is its committed words plus the re-read of the
  buffer after them. Greedy interim hypotheses can thus be corrected by the final
  (Google's interim stability is a hint too). Re-reading only the words after the
  committed ones would be cheaper, but costs accuracy: 1.5-1.9x the batch WER on the bench
  clips, since tiny.en reads a sentence's tail poorly without its start.
* **Interim decodes only when they serve**: with interim results off they start only once
  the buffer is ``trim_after / 2`` long, to commit words so the buffer can be trimmed; a
  shorter utterance costs one decode, its final.
* **Bounded buffers**: once the buffer passes ``trim_after`` seconds, audio before the last
  committed words is dropped (their text becomes the prompt); ``keep_from`` tells the driver.

Times are seconds of stream audio. Words carry absolute times.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from hark.engine import Word
from hark.engine.vad import FRAME_SECONDS
from hark.speech.streaming.agreement import agreed, new_words
from hark.speech.streaming.outputs import Event, Final, Interim, Output, SpeechEvent


@dataclass(frozen=True)
class PolicyOptions:
    """What the client asked for, and the policy's tuning (defaults measured in bench/)."""

    interim_results: bool = False
    single_utterance: bool = False
    voice_events: bool = False
    speech_start_timeout: float | None = None
    speech_end_timeout: float | None = None
    speech_threshold: float = 0.5
    silence_threshold: float = 0.35
    min_speech: float = 0.1
    endpoint_silence: float = 0.4
    speech_pad: float = 0.2
    tail_pad: float = 0.0
    interim_hold: float = 0.1
    interim_every: float = 1.0
    """Audio between interim readings a driver fed faster than real time waits for."""
    min_step: float = 0.25
    trim_after: float = 12.0
    max_buffer: float = 20.0
    context_characters: int = 200
    utterance_context: bool = False
    """Prompt each utterance with the previous ones' text. Off: with tiny.en the prompt made
    the model repeat the previous utterance ("You can call me Abigail Klafflin")."""


@dataclass(frozen=True)
class DecodeWindow:
    """Audio ``[start, end)`` to decode, with the text said before ``start`` as prompt.

    A ``final`` window reads speech that ended at ``speech_end`` (as far as is known yet);
    ``whole`` when it covers the whole utterance, so its words replace the committed ones.
    """

    start: float
    end: float
    prompt: str
    final: bool
    utterance: int
    speech_end: float | None = None
    whole: bool = False


@dataclass
class _Utterance:
    number: int
    start: float
    buffer_start: float
    origin: float
    committed: list[Word] = field(default_factory=list)
    previous: list[Word] = field(default_factory=list)
    covered: float = 0.0
    """End of the audio the newest hypothesis read."""
    speech_end: float | None = None
    probed: float | None = None
    """Speech end (quiet onset) the newest final window was asked for."""
    reading: tuple[DecodeWindow, list[Word]] | None = None
    """The newest final window's result."""


class StreamingPolicy:
    """One stream's policy. See the module docstring for the contract."""

    def __init__(self, options: PolicyOptions) -> None:
        self.options = options
        self.now = 0.0
        self._frames = 0
        self._loud = 0
        self._quiet = 0
        self._current: _Utterance | None = None
        self._endings: deque[_Utterance] = deque()
        """Utterances that ended, oldest first, each waiting for its final reading."""
        self._pending: DecodeWindow | None = None
        self._last_decoded_end = 0.0
        self._utterances = 0
        self._context = ""
        self._heard_speech = False
        self._last_speech_end = 0.0
        self._accepting = True
        self._finished = False
        self._outputs: list[Output] = []
        self._last_interim: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())

    # -- what the driver asks ------------------------------------------------------------

    @property
    def accepting(self) -> bool:
        """False once no more audio is wanted (single utterance ended, timeout, half-close)."""
        return self._accepting

    @property
    def done(self) -> bool:
        """True when nothing more will be emitted."""
        return not self._accepting and self._current is None and not self._endings

    @property
    def keep_from(self) -> float:
        """Audio before this time will never be asked for again."""
        starts = [u.buffer_start for u in (*self._endings, self._current) if u is not None]
        if starts:
            return min(starts)
        return max(0.0, self.now - self.options.speech_pad - self.options.min_speech)

    @property
    def urgent(self) -> bool:
        """True when a final window is wanted (the driver should prefer it)."""
        return bool(self._endings) or self._probe_at() is not None

    @property
    def wants_decode(self) -> bool:
        """True when ``next_window`` would hand out a window now."""
        if self._pending is not None:
            return False
        if self.urgent:
            return True
        current = self._current
        return (
            current is not None
            and self._quiet * FRAME_SECONDS < self.options.interim_hold
            and self.now - self._last_decoded_end >= self.options.min_step
            and (
                self.options.interim_results
                or self.now - current.buffer_start >= self.options.trim_after / 2
            )
        )

    @property
    def interim_overdue(self) -> bool:
        """True when interim results are on and no reading has started for ``interim_every``
        of the utterance's audio. A driver fed faster than real time waits for one before
        feeding more; otherwise a file sent at once would end every utterance before its
        first interim decode ran, and get no interim results at all (issue 12)."""
        current = self._current
        return (
            self.options.interim_results
            and current is not None
            and not self._endings
            and self._quiet * FRAME_SECONDS < self.options.interim_hold
            and self.now - max(self._last_decoded_end, current.start) >= self.options.interim_every
        )

    def _probe_at(self) -> float | None:
        """The quiet onset to ask a final window for, if the current utterance wants one."""
        current = self._current
        if (
            current is None
            or not self._quiet
            or self._quiet * FRAME_SECONDS < self.options.tail_pad
        ):
            return None
        onset = self._quiet_onset()
        return None if current.probed == onset else onset

    def _quiet_onset(self) -> float:
        # From frame counts, so the same onset always gives the same float.
        return (self._frames - self._quiet) * FRAME_SECONDS

    def take(self) -> list[Output]:
        """Outputs since the last call, in order."""
        outputs, self._outputs = self._outputs, []
        return outputs

    # -- what the driver tells -----------------------------------------------------------

    def advance(self, probabilities: Sequence[float]) -> None:
        """Audio moved on by one VAD frame per probability."""
        for probability in probabilities:
            if not self._accepting:
                return
            self._frames += 1
            self.now = self._frames * FRAME_SECONDS
            self._frame(probability)

    def finish(self) -> None:
        """The client half-closed: the utterance in progress ends where the audio ends."""
        if self._current is not None:
            self._end_utterance(self.now)
        self._accepting = False

    def next_window(self) -> DecodeWindow | None:
        """What to decode now (the driver has no decode running), or None for nothing."""
        if self._pending is not None:
            raise RuntimeError("next_window() while a decode is outstanding")
        if not self.wants_decode:
            return None
        current, onset = self._current, self._probe_at()
        if self._endings:  # finals in order: the oldest is never read by now (see _settle)
            ending = self._endings[0]
            assert ending.speech_end is not None
            window = self._final_window(ending, ending.speech_end)
        elif onset is not None:
            assert current is not None
            window = self._final_window(current, onset)
        else:
            assert current is not None
            window = self._window(current, self.now, final=False)
        self._pending = window
        self._last_decoded_end = window.end
        return window

    def hypothesis(self, window: DecodeWindow, words: Sequence[Word]) -> None:
        """The engine read ``window`` as ``words`` (absolute times, in order)."""
        if window is not self._pending:
            raise RuntimeError("hypothesis() for a window that is not outstanding")
        self._pending = None
        utterance = self._utterance(window.utterance)
        if utterance is None:
            return
        if window.final:
            utterance.reading = (window, list(words))
        if utterance is self._current:
            self._commit(utterance, window, words)
        elif not _read_to_end(utterance):
            # Read before its speech ended: progress; its final needs another decode.
            utterance.previous = new_words(words, utterance.committed)
        self._settle()

    def cancel(self, window: DecodeWindow) -> None:
        """The decode of ``window`` failed or was dropped; the window may be asked again."""
        if window is self._pending:
            self._pending = None
            utterance = self._utterance(window.utterance)
            if window.final and utterance is not None:
                utterance.probed = None

    def _utterance(self, number: int) -> _Utterance | None:
        """The utterance in progress or waiting for its final with that ``number``."""
        for utterance in (*self._endings, self._current):
            if utterance is not None and utterance.number == number:
                return utterance
        return None

    # -- voice activity --------------------------------------------------------------------

    def _frame(self, probability: float) -> None:
        options = self.options
        if self._current is None:
            self._loud = self._loud + 1 if probability >= options.speech_threshold else 0
            if self._loud * FRAME_SECONDS >= options.min_speech:
                self._begin(self.now - self._loud * FRAME_SECONDS)
            else:
                self._check_timeouts()
            return
        self._quiet = self._quiet + 1 if probability < options.silence_threshold else 0
        if self._quiet * FRAME_SECONDS >= options.endpoint_silence:
            self._end_utterance(self._quiet_onset())

    def _begin(self, start: float) -> None:
        self._utterances += 1
        buffer_start = max(0.0, start - self.options.speech_pad)
        if self._endings and self._endings[-1].speech_end is not None:
            buffer_start = max(buffer_start, self._endings[-1].speech_end)
        self._current = _Utterance(self._utterances, start, buffer_start, buffer_start)
        self._heard_speech = True
        self._loud = self._quiet = 0
        if self.options.voice_events:
            self._outputs.append(Event(SpeechEvent.SPEECH_ACTIVITY_BEGIN, round(start, 3)))

    def _end_utterance(self, speech_end: float) -> None:
        current = self._current
        assert current is not None
        current.speech_end = speech_end
        self._current, self._quiet = None, 0
        self._last_speech_end = speech_end
        if self.options.voice_events:
            self._outputs.append(Event(SpeechEvent.SPEECH_ACTIVITY_END, round(speech_end, 3)))
        if self.options.single_utterance and self._accepting:
            self._outputs.append(Event(SpeechEvent.END_OF_SINGLE_UTTERANCE, round(self.now, 3)))
            self._accepting = False
        self._endings.append(current)
        self._settle()

    def _settle(self) -> None:
        """Emit the finals of the oldest ended utterances that have been read to their end."""
        while self._endings and _read_to_end(self._endings[0]):
            ending = self._endings.popleft()
            assert ending.reading is not None
            self._emit_final(ending, *ending.reading)

    def _check_timeouts(self) -> None:
        options = self.options
        if self._endings:
            return
        if self._heard_speech:
            limit, since = options.speech_end_timeout, self._last_speech_end
        else:
            limit, since = options.speech_start_timeout, 0.0
        if limit is not None and self.now - since >= limit:
            self._outputs.append(Event(SpeechEvent.SPEECH_ACTIVITY_TIMEOUT, round(self.now, 3)))
            self._accepting = False

    # -- hypotheses ------------------------------------------------------------------------

    def _window(self, utterance: _Utterance, end: float, *, final: bool) -> DecodeWindow:
        before = [w.text for w in utterance.committed if w.end <= utterance.buffer_start]
        prompt = (self._context + "".join(before)).strip()[-self.options.context_characters :]
        return DecodeWindow(utterance.buffer_start, end, prompt, final, utterance.number)

    def _final_window(self, utterance: _Utterance, speech_end: float) -> DecodeWindow:
        """The careful reading of ``utterance`` up to ``tail_pad`` after ``speech_end``."""
        utterance.probed = speech_end
        end = max(speech_end, min(self.now, speech_end + self.options.tail_pad))
        window = self._window(utterance, end, final=True)
        whole = utterance.buffer_start == utterance.origin
        return replace(window, speech_end=speech_end, whole=whole)

    def _commit(self, utterance: _Utterance, window: DecodeWindow, words: Sequence[Word]) -> None:
        latest = new_words(words, utterance.committed)
        count = agreed(utterance.previous, latest)
        if window.end - utterance.buffer_start >= self.options.max_buffer:
            count = max(count, len(latest) - 2)  # no agreement for too long: force progress
        utterance.committed += latest[:count]
        utterance.previous = latest[count:]
        utterance.covered = window.end
        self._trim(utterance)
        self._interim(utterance)

    def _trim(self, utterance: _Utterance) -> None:
        """Drop audio before the second-to-last committed word once the buffer is long."""
        committed = utterance.committed
        if self.now - utterance.buffer_start < self.options.trim_after or len(committed) < 2:
            return
        # Cut in the gap between two committed words; the later one stays as overlap.
        cut = (committed[-2].end + committed[-1].start) / 2
        utterance.buffer_start = max(utterance.buffer_start, cut)

    def _interim(self, utterance: _Utterance) -> None:
        if not self.options.interim_results or self._endings:
            return  # an earlier utterance's final comes first: its interims would be stale
        committed, tentative = tuple(utterance.committed), tuple(utterance.previous)
        shown = (tuple(w.text for w in committed), tuple(w.text for w in tentative))
        if shown == self._last_interim or not (committed or tentative):
            return
        self._last_interim = shown
        self._outputs.append(Interim(committed, tentative))

    def _emit_final(self, utterance: _Utterance, window: DecodeWindow, read: list[Word]) -> None:
        """Emit ``utterance``'s final from ``read``, a final ``window``'s words (after the
        committed words, unless the window read the utterance whole)."""
        assert utterance.speech_end is not None
        if window.whole:
            head: list[Word] = []
        else:
            head = utterance.committed
            read = new_words(read, head)
        limit = utterance.speech_end + self.options.endpoint_silence / 2
        words = tuple(head + [w for w in read if w.start < limit])
        self._last_interim = ((), ())
        if words and self.options.utterance_context:
            self._context = (self._context + "".join(w.text for w in words))[
                -self.options.context_characters :
            ]
        if words:
            self._outputs.append(Final(words))


def _read_to_end(utterance: _Utterance) -> bool:
    """Whether a final window read ``utterance`` to where its speech ended."""
    reading = utterance.reading
    return (
        utterance.speech_end is not None
        and reading is not None
        and reading[0].speech_end == utterance.speech_end
    )
