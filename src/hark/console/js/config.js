// The options panel as Google's RecognitionConfig (REST JSON, camelCase).

const $ = (id) => document.getElementById(id);

/** The RecognitionConfig the options describe, for audio `prepared` by audio.prepare. */
export function recognitionConfig(prepared) {
  const config = { languageCode: $("language").value.trim() || "en-US" };
  if (prepared.encoding) config.encoding = prepared.encoding;
  if (prepared.sampleRateHertz) config.sampleRateHertz = prepared.sampleRateHertz;
  const model = $("model").value;
  if (model) config.model = model;
  config.enableAutomaticPunctuation = $("punctuation").checked;
  if ($("profanity").checked) config.profanityFilter = true;
  if ($("word-times").checked) config.enableWordTimeOffsets = true;
  config.enableWordConfidence = true; // the transcript shades words by it
  const alternatives = Number($("alternatives").value) || 1;
  if (alternatives > 1) config.maxAlternatives = Math.min(alternatives, 10);
  const phrases = $("phrases").value.split("\n").map((p) => p.trim()).filter(Boolean);
  if (phrases.length) config.speechContexts = [{ phrases }];
  const channels = Number($("channels").value) || 1;
  if (channels > 1) config.audioChannelCount = channels;
  if ($("per-channel").checked && channels > 1) {
    config.enableSeparateRecognitionPerChannel = true;
  }
  const speakers = diarizationConfig();
  if (speakers) config.diarizationConfig = speakers;
  return config;
}

const MAX_SPEAKERS = 6; // the server's bound (README "Speaker diarization")

/** The Speakers option as Google's SpeakerDiarizationConfig; null when off. Auto leaves the
 * count to the server (2 to 6); a range is sent as given, ordered and within 1..6. */
function diarizationConfig() {
  const mode = $("speakers-mode").value;
  if (mode === "off") return null;
  const config = { enableSpeakerDiarization: true };
  if (mode === "range") {
    const count = (id) => Math.max(1, Math.min(Number($(id).value) || 2, MAX_SPEAKERS));
    const [low, high] = [count("speakers-min"), count("speakers-max")];
    config.minSpeakerCount = Math.min(low, high);
    config.maxSpeakerCount = Math.max(low, high);
  }
  return config;
}

/** Show the min/max fields only while the Speakers option asks for a range. */
export function setUpOptions() {
  const mode = $("speakers-mode");
  mode.addEventListener("change", () => {
    $("speakers-range").hidden = mode.value !== "range";
  });
}

/** The streaming config of the Live page (WebM Opus from MediaRecorder). */
export function streamingConfig() {
  const config = recognitionConfig({ encoding: "WEBM_OPUS", sampleRateHertz: 48000 });
  delete config.audioChannelCount;
  delete config.enableSeparateRecognitionPerChannel;
  delete config.diarizationConfig; // Google (and Hark) diarize whole files, not streams
  return { config, interimResults: true, enableVoiceActivityEvents: true };
}

/** Show the file's channel count in the options (the API wants it for multichannel audio). */
export function noteChannels(channels) {
  $("channels").value = String(Math.max(1, Math.min(channels || 1, 8)));
}
