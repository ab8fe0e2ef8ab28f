// "Live": the microphone streamed over Hark's WebSocket (StreamingRecognize), interim words grey,
// finals black; voice activity from the server's events and a local level meter; latency as how
// far each result's end trails the audio captured so far.

import { ApiError, apiKey, askKey } from "./api.js";
import { streamingConfig } from "./config.js";
import { RequestView } from "./request_view.js";
import { streamingSnippets } from "./snippets.js";

const $ = (id) => document.getElementById(id);
const CHUNK_MS = 100;

let session = null;
let request = null;

export function setUp() {
  request = new RequestView($("live-request"));
  $("live-start").addEventListener("click", start);
  $("live-stop").addEventListener("click", stop);
}

async function start() {
  if (session) return;
  $("live-error").hidden = true;
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (error) {
    return fail(`The microphone is not available: ${error.message}`);
  }
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const key = apiKey.get() ? `?key=${encodeURIComponent(apiKey.get())}` : "";
  const socket = new WebSocket(`${scheme}://${location.host}/ws/v1/speech:streamingrecognize${key}`);
  const recorder = new MediaRecorder(stream, { mimeType: "audio/webm;codecs=opus" });
  session = { socket, recorder, stream, began: 0, meter: meter(stream), finals: [] };
  $("live-transcript").replaceChildren();
  setButtons(true);
  vad("idle", "Listening");
  const streaming = streamingConfig();
  request.show(streamingSnippets({ streaming, keyed: Boolean(apiKey.get()) }, location.origin));
  socket.onopen = () => {
    socket.send(JSON.stringify(streaming));
    recorder.ondataavailable = (e) => {
      if (e.data.size && socket.readyState === WebSocket.OPEN) socket.send(e.data);
    };
    recorder.onstop = () => socket.readyState === WebSocket.OPEN && socket.send(new ArrayBuffer(0));
    session.began = performance.now();
    recorder.start(CHUNK_MS);
  };
  socket.onmessage = (message) => receive(JSON.parse(message.data));
  socket.onclose = () => end();
}

function stop() {
  if (!session) return;
  if (session.recorder.state !== "inactive") session.recorder.stop(); // sends the half-close
  session.stream.getTracks().forEach((track) => track.stop());
  $("live-stop").disabled = true;
  vad("idle", "Finishing");
}

function receive(message) {
  if (message.error) {
    // Google's code 7 is PERMISSION_DENIED (a missing key); an invalid key says so in its text.
    const error = new ApiError(message.error.code === 7 ? 403 : 400, message);
    if (error.wantsKey) askKey(error.message).then((ok) => ok && fail("Key set: press Start microphone again."));
    return fail(error.message);
  }
  if (message.speechEventType === "SPEECH_ACTIVITY_BEGIN") vad("speech", "Speech");
  if (message.speechEventType === "SPEECH_ACTIVITY_END") vad("silence", "Silence");
  const captured = (performance.now() - session.began) / 1000;
  $("streamed").textContent = `${captured.toFixed(1)} s`;
  for (const result of message.results || []) {
    const text = result.alternatives?.[0]?.transcript || "";
    if (result.isFinal) session.finals.push(text.trim());
    session.interim = result.isFinal ? "" : text;
    const end = parseFloat(result.resultEndTime || "0");
    if (end) $("latency").textContent = `${Math.max(0, Math.round((captured - end) * 1000))} ms ${result.isFinal ? "final" : "interim"}`;
    if (!result.isFinal) vad("speech", "Speech");
  }
  draw();
}

function draw() {
  const finals = session.finals.filter(Boolean).map((text) => {
    const span = document.createElement("span");
    span.className = "final";
    span.textContent = `${text} `;
    return span;
  });
  const interim = document.createElement("span");
  interim.className = "interim";
  interim.textContent = session.interim || "";
  $("live-transcript").replaceChildren(...finals, interim);
}

function end() {
  if (!session) return;
  if (session.recorder.state !== "inactive") session.recorder.stop();
  session.stream.getTracks().forEach((track) => track.stop());
  session.meter.close();
  session.interim = "";
  draw();
  session = null;
  setButtons(false);
  vad("idle", "Idle");
}

/** A level meter over the microphone (RMS of the last frame, drawn each animation frame). */
function meter(stream) {
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  analyser.fftSize = 1024;
  context.createMediaStreamSource(stream).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  let running = true;
  const tick = () => {
    if (!running) return;
    analyser.getFloatTimeDomainData(samples);
    const rms = Math.sqrt(samples.reduce((sum, x) => sum + x * x, 0) / samples.length);
    $("level").style.width = `${Math.min(100, rms * 400)}%`;
    requestAnimationFrame(tick);
  };
  tick();
  return {
    close() {
      running = false;
      $("level").style.width = "0";
      context.close();
    },
  };
}

function vad(state, label) {
  $("vad").dataset.state = state;
  $("vad").textContent = label;
}

function setButtons(live) {
  $("live-start").disabled = live;
  $("live-stop").disabled = !live;
  (live ? $("live-stop") : $("live-start")).focus();
}

function fail(message) {
  $("live-error").hidden = false;
  $("live-error").textContent = message;
}
