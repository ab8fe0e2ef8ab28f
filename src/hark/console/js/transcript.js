// Google's results rendered for people: words shaded by confidence, each a button that plays the
// audio from its start; alternatives and per-result language; txt/json/srt/vtt downloads. With
// diarization, speaker turns instead of results (speakers.js), in the page and the downloads.

import { diarized, perResult, speakerName, turns } from "./speakers.js";

/** Google's Duration JSON ("1.500s") in seconds. */
export const seconds = (value) => (value ? parseFloat(String(value)) : 0);

/** 75.4 -> "1:15.4" */
export function clock(value, decimals = 1) {
  const minutes = Math.floor(value / 60);
  const rest = (value - minutes * 60).toFixed(decimals).padStart(decimals ? 3 + decimals : 2, "0");
  return `${minutes}:${rest}`;
}

/** Render `results` (RecognizeResponse.results) into `container`; `player` may be null. */
export function render(container, results, player) {
  container.replaceChildren();
  const speech = diarized(results);
  if (speech) {
    renderTurns(container, speech, player);
    return;
  }
  let start = 0;
  for (const result of results || []) {
    const best = (result.alternatives || [])[0];
    if (!best) continue;
    const row = element("div", "result");
    const words = best.words || [];
    const from = words.length ? seconds(words[0].startTime) : start;
    const when = element("div", "when", clock(from));
    if (result.channelTag) when.append(element("div", "", `channel ${result.channelTag}`));
    if (result.languageCode) when.append(element("span", "lang", result.languageCode));
    const body = element("div", "text");
    body.append(words.length ? wordSpans(words, player) : document.createTextNode(best.transcript || ""));
    const others = (result.alternatives || []).slice(1);
    if (others.length) {
      const list = element("ol", "alts");
      list.setAttribute("aria-label", "Alternatives");
      for (const alt of others) {
        const confidence = alt.confidence ? ` (${Math.round(alt.confidence * 100)}%)` : "";
        list.append(element("li", "", `${alt.transcript}${confidence}`));
      }
      body.append(list);
    }
    row.append(when, body);
    container.append(row);
    start = seconds(result.resultEndTime) || start;
  }
  if (!container.childElementCount) {
    container.append(element("p", "muted", "No speech was recognised."));
  }
}

/** Each speaker turn its own block: its time, "Speaker N" in the speaker's colour, its words. */
function renderTurns(container, speech, player) {
  for (const turn of turns(speech.tagged)) {
    const row = element("div", "result turn");
    row.dataset.speaker = String(turn.speaker % SPEAKER_COLOURS || SPEAKER_COLOURS);
    const when = element("div", "when", clock(seconds(turn.words[0].startTime)));
    when.append(element("div", "speaker", speakerName(turn.speaker)));
    const body = element("div", "text");
    body.append(wordSpans(turn.words, player));
    row.append(when, body);
    container.append(row);
  }
}

const SPEAKER_COLOURS = 6; // console.css has one per speaker the server tells apart

function wordSpans(words, player) {
  const fragment = document.createDocumentFragment();
  for (const word of words) {
    const span = element("span", "word", word.word);
    const confidence = word.confidence ?? 1;
    // Darker is surer: 1.0 is full ink, 0.3 and below as light as stays readable.
    span.style.opacity = String(0.45 + 0.55 * Math.max(0, Math.min(1, (confidence - 0.3) / 0.7)));
    const at = seconds(word.startTime);
    span.title = `${clock(at, 2)} · confidence ${Math.round(confidence * 100)}%`;
    span.tabIndex = 0;
    span.setAttribute("role", "button");
    const play = () => {
      if (!player || !player.src) return;
      player.currentTime = at;
      player.play().catch(() => {});
    };
    span.addEventListener("click", play);
    span.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        play();
      }
    });
    fragment.append(span, " ");
  }
  return fragment;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The transcript as a file: txt, json (Google's response), srt or vtt; with speakers, as the
 * CLI writes them: "Speaker 1: " lines in txt and srt, `<v Speaker 1>` voice spans in vtt. */
export function format(results, kind, response) {
  if (kind === "json") return JSON.stringify(response ?? { results }, null, 2);
  const speech = diarized(results);
  const cues = speech ? speakerCues(speech) : resultCues(results);
  if (kind === "txt") {
    const lines = speech
      ? turns(speech.tagged).map((t) => `${speakerName(t.speaker)}: ${joined(t.words, speech.space)}`)
      : cues.map((c) => c.text);
    return lines.join("\n") + "\n";
  }
  const stamp = (value, comma) => {
    const ms = Math.round(value * 1000);
    const pad = (n, w = 2) => String(n).padStart(w, "0");
    const h = Math.floor(ms / 3600000);
    const m = Math.floor(ms / 60000) % 60;
    const s = Math.floor(ms / 1000) % 60;
    return `${pad(h)}:${pad(m)}:${pad(s)}${comma ? "," : "."}${pad(ms % 1000, 3)}`;
  };
  if (kind === "srt") {
    const text = (c) => (c.speaker ? `${speakerName(c.speaker)}: ${c.text}` : c.text);
    return cues.map((c, i) => `${i + 1}\n${stamp(c.from, true)} --> ${stamp(c.to, true)}\n${text(c)}\n`).join("\n");
  }
  const text = (c) => (c.speaker ? `<v ${speakerName(c.speaker)}>${c.text}` : c.text);
  return "WEBVTT\n\n" + cues.map((c) => `${stamp(c.from)} --> ${stamp(c.to)}\n${text(c)}\n`).join("\n");
}

/** A cue per result: {from, to, text}. */
function resultCues(results) {
  const cues = [];
  let start = 0;
  for (const result of results || []) {
    const best = (result.alternatives || [])[0];
    if (!best || !best.transcript) continue;
    const words = best.words || [];
    const end = seconds(result.resultEndTime) || (words.length ? seconds(words.at(-1).endTime) : start);
    const from = words.length ? seconds(words[0].startTime) : start;
    cues.push({ from, to: Math.max(end, from), text: best.transcript.trim() });
    start = end;
  }
  return cues;
}

/** A cue per speaker turn within each result (a cue never spans two speakers): {from, to, text, speaker}. */
function speakerCues(speech) {
  return perResult(speech).flatMap(({ words }) =>
    turns(words).map((turn) => ({
      from: seconds(turn.words[0].startTime),
      to: seconds(turn.words.at(-1).endTime),
      text: joined(turn.words, speech.space),
      speaker: turn.speaker,
    })),
  );
}

const joined = (words, space) => words.map((w) => w.word).join(space).trim();

/** Offer `text` as a download named `name`. */
export function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
