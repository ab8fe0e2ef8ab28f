// Speaker diarization as Google returns it: the results as usual, then a last result that
// repeats every word with its speakerTag. These helpers turn that shape into speaker turns, so
// the transcript and the downloads show each word once, under its speaker.

/** {spoken, tagged, space} when `results` end with diarization's tagged result, else null:
 * `spoken` the results before it, `tagged` its words, `space` what joins two words. */
export function diarized(results) {
  const last = (results || []).at(-1);
  const tagged = last?.alternatives?.[0]?.words || [];
  if (!tagged.length || !tagged.every((word) => word.speakerTag)) return null;
  const spoken = results.slice(0, -1);
  // Unspaced scripts (Japanese, Chinese) have a word per token and no spaces between them.
  const spaced = spoken.some((r) => /\s/.test((r.alternatives?.[0]?.transcript || "").trim()));
  return { spoken, tagged, space: spaced || spoken.length === 0 ? " " : "" };
}

/** Runs of consecutive `words` of one speaker: [{speaker, words}]. */
export function turns(words) {
  const runs = [];
  for (const word of words) {
    if (runs.at(-1)?.speaker !== word.speakerTag) runs.push({ speaker: word.speakerTag, words: [] });
    runs.at(-1).words.push(word);
  }
  return runs;
}

/** Each spoken result with its own words as tagged (the tagged result repeats them in order). */
export function perResult({ spoken, tagged }) {
  let at = 0;
  return spoken.map((result) => {
    const count = (result.alternatives?.[0]?.words || []).length;
    const words = tagged.slice(at, at + count);
    at += count;
    return { result, words };
  });
}

export const speakerName = (speaker) => `Speaker ${speaker}`;
