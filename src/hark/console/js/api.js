// Hark's public API as the console uses it: REST JSON with the API key, asked for when needed.
// The key lives in sessionStorage only (this tab); it is sent as x-goog-api-key, as Google's
// clients do, and as ?key= on the WebSocket (browsers cannot set its headers).

const KEY = "hark.apiKey";

export const apiKey = {
  get: () => sessionStorage.getItem(KEY) || "",
  set: (value) => (value ? sessionStorage.setItem(KEY, value) : sessionStorage.removeItem(KEY)),
};

/** An error answered by Hark, with Google's code, status and message. */
export class ApiError extends Error {
  constructor(httpStatus, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${httpStatus}`);
    this.httpStatus = httpStatus;
    this.status = error.status || "";
  }

  /** Whether a (new) API key may help: missing, or not valid. */
  get wantsKey() {
    return this.httpStatus === 401 || this.httpStatus === 403 || /API key/i.test(this.message);
  }
}

let askForKey = async () => false;

/** Install the prompt shown when the server wants a key; it resolves true once one is set. */
export function onKeyNeeded(prompt) {
  askForKey = prompt;
}

/** Ask for a key now (the WebSocket learns it is wanted from an error message). */
export const askKey = (message) => askForKey(message);

/** Fetch `path` with the key; on a key error ask for one and retry, until the person gives up. */
export async function call(path, { method = "GET", body, headers = {} } = {}) {
  const json = body !== undefined && typeof body !== "string" && !(body instanceof Blob);
  const payload = json ? JSON.stringify(body) : body;
  for (;;) {
    const sent = { ...headers };
    if (json) sent["Content-Type"] = "application/json";
    if (apiKey.get()) sent["x-goog-api-key"] = apiKey.get();
    const response = await fetch(path, { method, body: payload, headers: sent });
    const text = await response.text();
    let parsed = {};
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      parsed = { error: { message: text.slice(0, 200) } };
    }
    if (response.ok) return parsed;
    const error = new ApiError(response.status, parsed);
    if (!(error.wantsKey && (await askForKey(error.message)))) throw error;
  }
}

/** Upload `blob` to the console's bucket (XHR, for upload progress); resolves {uri, bytes}. */
export function upload(blob, onProgress) {
  const attempt = () =>
    new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", "/console/uploads");
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      if (apiKey.get()) xhr.setRequestHeader("x-goog-api-key", apiKey.get());
      xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
      xhr.onerror = () => reject(new ApiError(0, { error: { message: "The upload failed." } }));
      xhr.onload = () => {
        let body = {};
        try {
          body = JSON.parse(xhr.responseText);
        } catch {
          body = {};
        }
        if (xhr.status >= 200 && xhr.status < 300) resolve(body);
        else reject(new ApiError(xhr.status, body));
      };
      xhr.send(blob);
    });
  const retry = async () => {
    try {
      return await attempt();
    } catch (error) {
      if (error instanceof ApiError && error.wantsKey && (await askForKey(error.message))) {
        return retry();
      }
      throw error;
    }
  };
  return retry();
}

/** The server's own origin, as the snippets name it. */
export const origin = () => window.location.origin;
