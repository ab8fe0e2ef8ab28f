"""The sans-IO streaming policy with scripted voice activity and scripted hypotheses."""

from __future__ import annotations

from hark.engine import Word
from hark.engine.vad import FRAME_SECONDS
from hark.speech.streaming.agreement import agreed, new_words
from hark.speech.streaming.outputs import Event, Final, Interim, SpeechEvent
from hark.speech.streaming.policy import DecodeWindow, PolicyOptions, StreamingPolicy


def frames(seconds: float) -> int:
    return round(seconds / FRAME_SECONDS)


def speak(policy: StreamingPolicy, seconds: float) -> None:
    policy.advance([0.9] * frames(seconds))


def pause(policy: StreamingPolicy, seconds: float) -> None:
    policy.advance([0.05] * frames(seconds))


def timed(text: str, start: float = 0.5, step: float = 0.4) -> list[Word]:
    return [
        Word(start + i * step, start + i * step + 0.3, f" {w}", 0.9)
        for i, w in enumerate(text.split())
    ]


def decode(policy: StreamingPolicy, text: str) -> DecodeWindow:
    window = policy.next_window()
    assert window is not None
    policy.hypothesis(window, timed(text))
    return window


def texts(words: tuple[Word, ...]) -> str:
    return "".join(w.text for w in words).strip()


def test_local_agreement_commits_what_two_hypotheses_share() -> None:
    policy = StreamingPolicy(PolicyOptions(interim_results=True))
    pause(policy, 0.5)
    speak(policy, 1.0)
    decode(policy, "the cat")
    first = policy.take()
    assert [type(o) for o in first] == [Interim]
    assert isinstance(first[0], Interim) and not first[0].committed
    speak(policy, 0.5)
    decode(policy, "the cat sat on")
    (interim,) = policy.take()
    assert isinstance(interim, Interim)
    assert texts(interim.committed) == "the cat"
    assert texts(interim.tentative) == "sat on"


def test_final_is_read_whole_from_the_first_quiet_frame() -> None:
    policy = StreamingPolicy(PolicyOptions(interim_results=True))
    pause(policy, 0.5)
    speak(policy, 1.0)
    decode(policy, "the cat")
    speak(policy, 1.0)
    decode(policy, "the cat sat on")
    policy.take()
    pause(policy, FRAME_SECONDS)
    assert policy.urgent  # one quiet frame may be the end: read it carefully now
    window = policy.next_window()
    assert window is not None and window.final and window.whole
    assert window.speech_end is not None and window.end == window.speech_end
    assert abs(window.start - 0.3) < 0.05  # the whole utterance, speech_pad before its start
    # The careful reading corrects a word the greedy hypotheses had agreed on.
    policy.hypothesis(window, timed("the cap sat on the mat"))
    assert not any(isinstance(o, Final) for o in policy.take())  # not the endpoint yet
    pause(policy, 0.15)
    assert not policy.wants_decode  # interim decodes hold while quiet may be the endpoint
    pause(policy, 0.25)
    (final,) = policy.take()
    assert isinstance(final, Final) and texts(final.words) == "the cap sat on the mat"
    assert policy.next_window() is None


def test_speech_resuming_after_a_final_reading_asks_for_another() -> None:
    policy = StreamingPolicy(PolicyOptions())
    speak(policy, 1.0)
    pause(policy, 0.3)
    first = decode(policy, "the cat")
    assert first.final
    speak(policy, 1.0)
    pause(policy, 0.6)
    assert not policy.take()  # the reading stopped before the speech did
    window = policy.next_window()
    assert window is not None and window.final and window.end > first.end + 1.0
    policy.hypothesis(window, timed("the cat sat on the mat", start=0.1, step=0.35))
    (final,) = policy.take()
    assert isinstance(final, Final) and texts(final.words) == "the cat sat on the mat"


def test_final_asks_an_urgent_decode_when_no_hypothesis_covers_the_end() -> None:
    policy = StreamingPolicy(PolicyOptions(interim_results=True, voice_events=True))
    pause(policy, 0.5)
    speak(policy, 1.0)
    decode(policy, "hello")
    speak(policy, 1.0)
    pause(policy, 0.6)
    assert policy.urgent
    window = policy.next_window()
    assert window is not None and window.final and window.end >= 2.0
    policy.hypothesis(window, timed("hello world"))
    outputs = policy.take()
    kinds = [o.kind if isinstance(o, Event) else type(o) for o in outputs]
    kinds = [kind for kind in kinds if kind is not Interim]
    assert kinds == [SpeechEvent.SPEECH_ACTIVITY_BEGIN, SpeechEvent.SPEECH_ACTIVITY_END, Final]
    begin = outputs[0]
    assert isinstance(begin, Event) and abs(begin.time - 0.5) < 0.05


def test_single_utterance_stops_taking_audio_then_delivers_the_final() -> None:
    policy = StreamingPolicy(PolicyOptions(single_utterance=True))
    speak(policy, 1.0)
    pause(policy, 0.6)
    assert not policy.accepting and not policy.done
    outputs = policy.take()
    assert outputs == [Event(SpeechEvent.END_OF_SINGLE_UTTERANCE, outputs[0].time)]  # type: ignore[union-attr]
    now = policy.now
    speak(policy, 1.0)
    assert policy.now == now  # audio after the end is not taken
    window = policy.next_window()
    assert window is not None
    policy.hypothesis(window, timed("yes"))
    assert isinstance(policy.take()[0], Final)
    assert policy.done


def test_speech_start_timeout() -> None:
    policy = StreamingPolicy(PolicyOptions(voice_events=True, speech_start_timeout=1.0))
    pause(policy, 0.9)
    assert policy.accepting
    pause(policy, 0.2)
    assert [o.kind for o in policy.take()] == [SpeechEvent.SPEECH_ACTIVITY_TIMEOUT]  # type: ignore[union-attr]
    assert policy.done


def test_speech_end_timeout_counts_from_the_end_of_speech() -> None:
    policy = StreamingPolicy(PolicyOptions(speech_end_timeout=1.0))
    speak(policy, 1.0)
    pause(policy, 0.5)
    decode(policy, "hi")
    pause(policy, 0.4)
    assert policy.accepting
    pause(policy, 0.2)
    assert not policy.accepting


def test_half_close_ends_the_utterance_in_progress() -> None:
    policy = StreamingPolicy(PolicyOptions())
    speak(policy, 1.0)
    policy.finish()
    window = policy.next_window()
    assert window is not None and window.final
    policy.hypothesis(window, timed("bye"))
    assert isinstance(policy.take()[0], Final)
    assert policy.done


def test_silence_is_never_decoded_and_not_kept() -> None:
    policy = StreamingPolicy(PolicyOptions())
    pause(policy, 30.0)
    assert policy.next_window() is None
    assert policy.keep_from > 29.0


def test_long_utterances_trim_the_buffer_and_prompt_with_committed_text() -> None:
    policy = StreamingPolicy(PolicyOptions(interim_results=True, trim_after=4.0))
    text = "one two three four five six seven eight nine ten eleven twelve"
    for n in range(2, 13):
        speak(policy, 0.5)
        window = policy.next_window()
        assert window is not None
        policy.hypothesis(window, timed(" ".join(text.split()[:n]), step=0.5))
    assert policy.keep_from > 3.0
    window = policy.next_window()
    assert window is None or window.start == policy.keep_from
    speak(policy, 0.5)
    window = policy.next_window()
    assert window is not None and window.prompt.startswith("one two")
    policy.hypothesis(window, timed(text, step=0.5))
    pause(policy, 0.6)
    final_window = policy.next_window()
    assert final_window is not None and final_window.final and not final_window.whole
    assert final_window.start > 3.0
    # The final is the committed words plus the careful reading of the rest.
    policy.hypothesis(final_window, timed("ten eleven twelve", start=5.0, step=0.5))
    (final,) = [o for o in policy.take() if isinstance(o, Final)]
    assert texts(final.words) == text


def test_new_words_drops_repeats_of_the_committed_tail() -> None:
    committed = timed("a b c")
    again = [Word(1.25, 1.4, " c", 0.9), *timed("d e", start=1.7)]
    assert [w.text for w in new_words(again, committed)] == [" d", " e"]
    assert agreed(timed("x y z"), timed("x y w")) == 2


def test_a_late_final_reading_is_waited_for_never_settled_from_a_guess() -> None:
    """Issue 12: decoding slower than speech. The first utterance's final reading is still
    running when the second utterance ends; both finals come whole, in order."""
    policy = StreamingPolicy(PolicyOptions())
    pause(policy, 0.3)
    speak(policy, 2.0)
    pause(policy, FRAME_SECONDS)
    first = policy.next_window()  # the early final reading, asked at the first quiet frame
    assert first is not None and first.final and first.utterance == 1
    pause(policy, 0.6)
    speak(policy, 2.0)
    pause(policy, 0.6)  # the second utterance ends while the first is still being read
    speak(policy, 1.0)  # and a third begins
    assert not [o for o in policy.take() if isinstance(o, Final)]
    policy.hypothesis(first, timed("unless a system is established"))
    second = policy.next_window()
    assert second is not None and second.final and second.utterance == 2
    assert policy.keep_from <= second.start  # its audio was kept while it waited
    policy.hypothesis(second, timed("for the frequent formal review", start=second.start + 0.3))
    finals = [texts(o.words) for o in policy.take() if isinstance(o, Final)]
    assert finals == ["unless a system is established", "for the frequent formal review"]


def test_finals_stay_in_order_when_a_later_reading_arrives_first() -> None:
    """The current utterance's early reading may finish while older finals still wait."""
    policy = StreamingPolicy(PolicyOptions(interim_results=True))
    speak(policy, 1.0)
    pause(policy, 0.6)
    speak(policy, 1.0)
    pause(policy, FRAME_SECONDS)
    older = policy.next_window()
    assert older is not None and older.utterance == 1
    policy.cancel(older)  # e.g. the engine failed; it is asked again, first
    again = policy.next_window()
    assert again is not None and again.utterance == 1 and again.final
    policy.hypothesis(again, timed("one"))
    assert [texts(o.words) for o in policy.take() if isinstance(o, Final)] == ["one"]
    probe = policy.next_window()
    assert probe is not None and probe.utterance == 2 and probe.final
    policy.hypothesis(probe, timed("two", start=probe.start + 0.2))
    pause(policy, 0.6)
    assert [texts(o.words) for o in policy.take() if isinstance(o, Final)] == ["two"]
    assert policy.next_window() is None


def test_without_interim_results_a_short_utterance_costs_one_decode() -> None:
    policy = StreamingPolicy(PolicyOptions())
    speak(policy, 3.0)
    assert policy.next_window() is None  # nobody sees interims: only the final is read
    speak(policy, 4.0)
    window = policy.next_window()  # a long one commits words so its buffer can be trimmed
    assert window is not None and not window.final
