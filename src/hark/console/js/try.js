// "Try it": a file (dropped, picked or recorded) through Recognize, or, past a minute, through an
// upload and LongRunningRecognize with its progress polled, then the transcript.

import { apiKey, call, origin, upload } from "./api.js";
import { base64, prepare } from "./audio.js";
import { noteChannels, recognitionConfig } from "./config.js";
import { RequestView } from "./request_view.js";
import { snippets } from "./snippets.js";
import { clock, download, format, render } from "./transcript.js";

const $ = (id) => document.getElementById(id);
// Recognize takes about a minute; a little under it leaves room for container rounding.
const INLINE_MAX_SECONDS = 55;
const POLL_MS = 1000;

let last = { results: [], response: null, name: "transcript" };
let request = null;
let busy = false;

export function setUp() {
  const drop = $("drop");
  $("file").addEventListener("change", () => {
    const [file] = $("file").files;
    if (file) run(file, file.name);
    $("file").value = "";
  });
  for (const type of ["dragenter", "dragover"]) {
    drop.addEventListener(type, (e) => {
      e.preventDefault();
      drop.classList.add("over");
    });
  }
  for (const type of ["dragleave", "drop"]) drop.addEventListener(type, () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    const [file] = e.dataTransfer.files;
    if (file) run(file, file.name);
  });
  setUpRecorder();
  for (const button of $("try-downloads").querySelectorAll("[data-format]")) {
    button.addEventListener("click", () => {
      const kind = button.dataset.format;
      download(`${last.name}.${kind}`, format(last.results, kind, last.response));
    });
  }
  request = new RequestView($("show-request"));
}

function setUpRecorder() {
  let recorder = null;
  $("record").addEventListener("click", async () => {
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      recorder = new MediaRecorder(stream, { mimeType: "audio/webm;codecs=opus" });
      const chunks = [];
      recorder.ondataavailable = (e) => chunks.push(e.data);
      recorder.onstop = () => {
        stream.getTracks().forEach((track) => track.stop());
        run(new Blob(chunks, { type: "audio/webm" }), "recording.webm");
      };
      recorder.start(250);
      $("record").hidden = true;
      $("record-stop").hidden = false;
      $("record-stop").focus();
    } catch (error) {
      fail(`The microphone is not available: ${error.message}`);
    }
  });
  $("record-stop").addEventListener("click", () => {
    recorder?.stop();
    $("record-stop").hidden = true;
    $("record").hidden = false;
  });
}

async function run(blob, name) {
  if (busy) {
    $("try-error").hidden = false;
    $("try-error").textContent = `Still recognising the last file: ${name} was not sent.`;
    return;
  }
  busy = true;
  $("try-result").hidden = false;
  $("try-error").hidden = true;
  $("try-downloads").hidden = true;
  $("try-progress").hidden = true;
  $("transcript").replaceChildren();
  $("try-name").textContent = name;
  $("try-meta").textContent = "Reading the audio…";
  const player = $("player");
  if (player.src) URL.revokeObjectURL(player.src);
  player.src = URL.createObjectURL(blob);
  let action = null;
  try {
    const prepared = await prepare(blob);
    noteChannels(prepared.channels);
    const config = recognitionConfig(prepared);
    const file = prepared.converted ? name.replace(/\.[^.]*$/, "") + ".wav" : name;
    const channels = prepared.channels ? ` · ${prepared.channels} channel${prepared.channels > 1 ? "s" : ""}` : "";
    const meta = `${prepared.label} · ${clock(prepared.duration)}${channels}`;
    const started = performance.now();
    let response;
    if (prepared.duration > INLINE_MAX_SECONDS) {
      $("try-meta").textContent = `${meta} · long-running recognition`;
      const { uri } = await upload(prepared.blob, (part) => progress(part * 100, "Uploading"));
      action = { kind: "longrunning", config, file, uri };
      showSnippets(action);
      response = await longRunning(config, uri);
    } else {
      $("try-meta").textContent = `${meta} · recognising…`;
      action = { kind: "recognize", config, file };
      const audio = { content: await base64(prepared.blob) };
      response = await call("/v1/speech:recognize", { method: "POST", body: { config, audio } });
    }
    const took = ((performance.now() - started) / 1000).toFixed(1);
    $("try-meta").textContent = `${meta} · recognised in ${took} s`;
    last = { results: response.results || [], response, name: name.replace(/\.[^.]*$/, "") };
    render($("transcript"), last.results, player);
    $("try-downloads").hidden = false;
  } catch (error) {
    fail(error.message);
  } finally {
    busy = false;
    // After the request: by then the person has given a key if the server asked for one.
    if (action) showSnippets(action);
  }
}

async function longRunning(config, uri) {
  let operation = await call("/v1/speech:longrunningrecognize", {
    method: "POST", body: { config, audio: { uri } },
  });
  progress(0, "Queued");
  while (!operation.done) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    operation = await call(`/v1/operations/${encodeURIComponent(operation.name)}`);
    const percent = operation.metadata?.progressPercent || 0;
    progress(percent, `Recognising · operation ${operation.name}`);
  }
  if (operation.error) throw new Error(operation.error.message || "The operation failed.");
  progress(100, `Done · operation ${operation.name}`);
  return operation.response || {};
}

function progress(percent, label) {
  $("try-progress").hidden = false;
  const bar = $("try-progress").querySelector(".progress");
  bar.setAttribute("aria-valuenow", String(Math.round(percent)));
  bar.classList.toggle("done", percent >= 100);
  bar.querySelector(".bar").style.width = `${percent}%`;
  $("try-progress-text").textContent = `${label} · ${Math.round(percent)}%`;
}

function fail(message) {
  $("try-result").hidden = false;
  $("try-error").hidden = false;
  $("try-error").textContent = message;
  $("try-meta").textContent = "";
}

function showSnippets(action) {
  request.show(snippets({ ...action, keyed: Boolean(apiKey.get()) }, origin()));
}
