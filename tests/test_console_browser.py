"""The web console in a real browser: Debian's Chromium driven by Playwright.

One Hark (default flags, plus an API key so the key prompt is exercised) serves the module.
The microphone is Chromium's fake device playing a corpus WAV. Screenshots go to
``artifacts/console/`` (git-ignored; CI keeps them as artifacts).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import wave
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from audio_samples import encode
from conftest import REPO, Server, corpus_file, reference, start_server
from diarization_audio import conversation
from wer import wer

pytest.importorskip("playwright")
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

pytestmark = [pytest.mark.slow, pytest.mark.corpus]

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = REPO / "artifacts" / "console"
NODE_MODULES = REPO / "tests" / "node" / "node_modules"
KEY = "console-key"
SHORT = "en_librispeech_1272-128104-0000.wav"
LONG = "long_en_multispeaker_16k.wav"  # 80 s: past the one-minute inline limit
LONGER = "long_en_combined_3min.opus"  # long enough to be cancelled while it runs
HANG_GUARD_MS = 240_000
expect.set_options(timeout=HANG_GUARD_MS)  # a hang guard: waits end as soon as they hold


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("console"), "--api-key", KEY)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def microphone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A corpus utterance then 3 s of silence, as the 16-bit PCM WAV Chromium's fake device
    wants (the silence ends the utterance, so a final follows the interims)."""
    source = corpus_file(SHORT)
    target = tmp_path_factory.mktemp("mic") / "microphone.wav"
    with wave.open(str(source), "rb") as reader, wave.open(str(target), "wb") as writer:
        writer.setparams(reader.getparams())
        writer.writeframes(reader.readframes(reader.getnframes()))
        silence = reader.getframerate() * 3 * reader.getsampwidth() * reader.getnchannels()
        writer.writeframes(b"\0" * silence)
    return target


@pytest.fixture(scope="module")
def browser(microphone: Path) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={microphone}",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, console_server: Server) -> Iterator[Page]:
    """A tab on the console with the API key already given (as after the prompt)."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.grant_permissions(["microphone"], origin=console_server.url)
    context.add_init_script(f"sessionStorage.setItem('hark.apiKey', '{KEY}')")
    opened = context.new_page()
    opened.set_default_timeout(HANG_GUARD_MS)
    opened.goto(console_server.url + "/")
    yield opened
    context.close()


RECORD_TRANSCRIPT_STATES = """
window.transcriptStates = [];
new MutationObserver(() => {
  const box = document.getElementById("live-transcript");
  const interim = box.querySelector(".interim");
  window.transcriptStates.push({
    interim: Boolean(interim && interim.textContent.trim()),
    finals: box.querySelectorAll(".final").length,
  });
}).observe(document.getElementById("live-transcript"), { childList: true, subtree: true });
"""
"""Notes each state of the live transcript: whether grey (interim) words show, how many finals."""

INTERIM_THEN_FINAL = """
() => window.transcriptStates.some(
  (seen, i) => seen.interim && window.transcriptStates.slice(i + 1).some(
    (later) => later.finals > seen.finals))
"""
"""True once grey words were shown and a final came after them. Not "before the very first
final": on a loaded machine the first utterance may be read final before any interim."""


def words(transcript: Locator) -> str:
    """The transcript's words (not its times and language tags)."""
    return " ".join(transcript.locator(".word").all_inner_texts())


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_upload_asks_for_the_key_and_shows_the_transcript(
    browser: Browser, console_server: Server
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(HANG_GUARD_MS)
    page.goto(console_server.url + "/")
    expect(page.get_by_role("button", name="Operations")).to_be_visible()
    page.get_by_label("Upload audio").set_input_files(str(corpus_file(SHORT)))
    dialog = page.get_by_role("dialog", name="API key")
    expect(dialog).to_be_visible()
    shot(page, "api-key")
    dialog.get_by_label("Key").fill(KEY)
    dialog.get_by_role("button", name="Use key").click()
    transcript = page.get_by_role("region", name="Transcript", exact=True)
    expect(transcript.locator(".word").first).to_be_visible()
    assert wer(reference(SHORT), words(transcript)) < 0.3
    assert page.evaluate("sessionStorage.getItem('hark.apiKey')") == KEY
    with page.expect_download() as download:
        page.get_by_role("button", name="srt").click()
    subtitles = Path(download.value.path()).read_text()
    assert subtitles.startswith("1\n00:00:0") and " --> " in subtitles
    assert wer(reference(SHORT), subtitles.split("\n", 2)[2]) < 0.3
    page.locator("#show-request summary").click()
    assert (
        "x-goog-api-key: $HARK_API_KEY"
        in page.get_by_label("Request snippet", exact=True).inner_text()
    )
    shot(page, "try-it")
    context.close()


@pytest.mark.parametrize("name", ["en_jfk_inaugural.flac", "en_librispeech_1272-128104-0000.m4a"])
def test_any_file_the_cli_reads(page: Page, name: str) -> None:
    """FLAC goes as it is (stereo: two channels declared); M4A, which the API does not name,
    is decoded by the browser and sent as 16 kHz WAV."""
    page.get_by_label("Upload audio").set_input_files(str(corpus_file(name)))
    transcript = page.get_by_role("region", name="Transcript", exact=True)
    expect(transcript.locator(".word").first).to_be_visible()
    assert wer(reference(name), words(transcript)) < 0.3


def test_show_request_snippets_run_as_shown(
    page: Page, console_server: Server, tmp_path: Path
) -> None:
    """The curl, Python and Node snippets, run in a folder holding the file, get the words."""
    page.get_by_label("Upload audio").set_input_files(str(corpus_file(SHORT)))
    transcript = page.get_by_role("region", name="Transcript", exact=True)
    expect(transcript.locator(".word").first).to_be_visible()
    page.locator("#show-request summary").click()
    shutil.copy(corpus_file(SHORT), tmp_path / SHORT)
    env = {"HARK_API_KEY": KEY, "PATH": "/usr/bin:/bin"}
    snippet = page.get_by_label("Request snippet", exact=True)
    curl = snippet.inner_text()
    assert f"{console_server.url}/v1/speech:recognize" in curl
    done = subprocess.run(
        ["bash", "-c", curl],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert '"transcript"' in done.stdout, done.stderr
    page.get_by_role("tab", name="Python").click()
    python = snippet.inner_text()
    done = subprocess.run(
        [sys.executable, "-c", python],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert wer(reference(SHORT), done.stdout) < 0.3, done.stderr
    page.get_by_role("tab", name="Node.js").click()
    (tmp_path / "snippet.mjs").write_text(snippet.inner_text())
    (tmp_path / "node_modules").symlink_to(NODE_MODULES)  # Google's client, as tests/node has it
    done = subprocess.run(
        ["node", "snippet.mjs"],
        cwd=tmp_path,
        env={**env, "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert wer(reference(SHORT), done.stdout) < 0.3, done.stderr


def test_microphone_streams_interim_then_final_text(page: Page) -> None:
    page.get_by_role("button", name="Live").click()
    page.evaluate(RECORD_TRANSCRIPT_STATES)
    page.get_by_role("button", name="Start microphone").click()
    live = page.get_by_role("region", name="Live transcript")
    expect(live.locator(".interim")).not_to_be_empty()
    shot(page, "live-interim")
    page.wait_for_function(INTERIM_THEN_FINAL, timeout=180_000)  # grey words, then a final
    expect(live.locator(".final").first).not_to_be_empty()
    expect(page.locator("#latency")).to_contain_text("ms")
    page.get_by_role("button", name="Stop microphone").click()
    expect(page.get_by_role("button", name="Start microphone")).to_be_enabled()
    # The fake device plays the utterance, then silence: the first final is the utterance.
    assert wer(reference(SHORT), live.locator(".final").first.inner_text()) < 0.5
    shot(page, "live")


def test_live_show_request_streams_the_same_over_grpc(
    page: Page, console_server: Server, tmp_path: Path
) -> None:
    """The Python and Node streaming snippets, pointed at this server's gRPC port, stream a
    WebM Opus recording and print finals."""
    page.get_by_role("button", name="Live").click()
    page.get_by_role("button", name="Start microphone").click()
    page.get_by_role("button", name="Stop microphone").click()
    expect(page.get_by_role("button", name="Start microphone")).to_be_enabled()
    page.locator("#live-request summary").click()
    snippet = page.get_by_label("Streaming request snippet")
    assert f"{console_server.url.replace('http', 'ws')}/ws/v1/" in snippet.inner_text()
    (tmp_path / "recording.webm").write_bytes(encode(corpus_file(SHORT), "WEBM_OPUS", 48000))
    (tmp_path / "node_modules").symlink_to(NODE_MODULES)
    env = {"HARK_API_KEY": KEY, "PATH": os.environ["PATH"]}
    port = str(console_server.grpc_port)
    for tab, command in (
        ("Python", [sys.executable, "snippet.py"]),
        ("Node.js", ["node", "snippet.mjs"]),
    ):
        page.locator("#live-request").get_by_role("tab", name=tab).click()
        code = snippet.inner_text()
        assert ":50051" in code or "port: 50051" in code  # the documented default
        (tmp_path / command[1]).write_text(code.replace("50051", port))
        done = subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        finals = " ".join(
            line[6:] for line in done.stdout.splitlines() if line.startswith("final ")
        )
        assert wer(reference(SHORT), finals) < 0.3, (tab, done.stdout, done.stderr)
    shot(page, "live")


def test_a_recording_is_recognised(page: Page) -> None:
    """Record (MediaRecorder's WebM Opus) from the fake microphone, then recognise it."""
    page.get_by_role("button", name="Record").click()
    stop = page.get_by_role("button", name="Stop recording")
    expect(stop).to_be_focused()
    page.wait_for_timeout(7000)  # the utterance (5.9 s) and a little silence
    stop.click()
    expect(page.locator("#try-meta")).to_contain_text("WebM Opus")
    transcript = page.get_by_role("region", name="Transcript", exact=True)
    expect(transcript.locator(".word").first).to_be_visible()
    assert wer(reference(SHORT), words(transcript)) < 0.5


def test_long_file_runs_as_an_operation_to_done(page: Page) -> None:
    page.get_by_label("Upload audio").set_input_files(str(corpus_file(LONG)))
    bar = page.locator("#try-progress .progress")
    expect(page.locator("#try-progress-text")).to_contain_text("operation")
    shot(page, "long-running")
    expect(bar).to_have_attribute("aria-valuenow", "100")
    transcript = page.get_by_role("region", name="Transcript", exact=True)
    expect(transcript.locator(".word").first).to_be_visible()
    assert wer(reference(LONG), words(transcript)) < 0.5
    shot(page, "long-running-done")


def test_speakers_label_the_turns_of_a_long_conversation(page: Page, tmp_path: Path) -> None:
    """Two corpus voices taking turns, a little over the inline limit so that the long-running
    path carries the diarizationConfig too; the last result's repeated words show once."""
    talk = conversation(["lj", "ls1089"], seed=1, seconds=56)
    audio = tmp_path / "two_speakers.wav"
    audio.write_bytes(talk.wav())
    page.locator("#speakers-mode").select_option("range")
    page.get_by_label("Max").fill("2")
    page.get_by_label("Upload audio").set_input_files(str(audio))
    expect(page.locator("#try-progress-text")).to_contain_text("operation")
    transcript = page.get_by_role("region", name="Transcript", exact=True)
    labels = transcript.locator(".turn .speaker")
    expect(labels.first).to_be_visible()
    assert set(labels.all_inner_texts()) == {"Speaker 1", "Speaker 2"}
    # Every block is a turn: the tagged repeat is not rendered as a result of its own.
    assert transcript.locator(".result:not(.turn)").count() == 0
    shot(page, "speakers")
    page.locator("#show-request").evaluate("details => { details.open = true; }")
    request = page.get_by_label("Request snippet", exact=True)
    expect(request).to_contain_text("diarizationConfig")
    snippet = request.inner_text()
    assert '"diarizationConfig":{"enableSpeakerDiarization":true' in snippet.replace(" ", "")


def test_operations_page_opens_cancels_and_deletes(page: Page, console_server: Server) -> None:
    finished = _submit(console_server, SHORT)
    running = _submit(console_server, LONGER)
    page.get_by_role("button", name="Operations").click()
    table = page.get_by_role("table", name="Operations")
    expect(table.get_by_text(running, exact=True)).to_be_visible()
    page.get_by_role("button", name=f"Cancel operation {running}").click()
    row = table.locator("tr", has=page.get_by_text(running, exact=True))
    expect(row.locator(".badge")).to_have_text("cancelled")
    page.get_by_role("button", name=f"Open operation {finished}").click()
    result = page.get_by_role("region", name="Operation transcript")
    expect(result.locator(".word").first).to_be_visible()
    assert wer(reference(SHORT), words(result)) < 0.3
    shot(page, "operations")
    page.get_by_role("button", name=f"Delete operation {running}").click()
    expect(table.get_by_text(running, exact=True)).to_have_count(0)


def _submit(server: Server, name: str) -> str:
    """An operation submitted as the console does: the file uploaded, then its URI."""
    headers = {"x-goog-api-key": KEY}
    uploaded = httpx.post(
        server.url + "/console/uploads",
        content=corpus_file(name).read_bytes(),
        headers={**headers, "Content-Type": "application/octet-stream"},
        timeout=60,
    )
    assert uploaded.status_code == 200, uploaded.text
    config = {"languageCode": "en-US", "enableWordTimeOffsets": True}
    if name.endswith(".opus"):
        config |= {"encoding": "OGG_OPUS", "sampleRateHertz": 48000}
    body = {"config": config, "audio": {"uri": uploaded.json()["uri"]}}
    submitted = httpx.post(
        server.url + "/v1/speech:longrunningrecognize", json=body, headers=headers, timeout=60
    )
    assert submitted.status_code == 200, submitted.text
    return str(submitted.json()["name"])
