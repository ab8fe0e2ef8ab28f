// The console's entry: tabs, the API key dialog, the server status, and each page's set-up.

import { apiKey, call, onKeyNeeded } from "./api.js";
import { setUpOptions } from "./config.js";
import * as live from "./live.js";
import * as operations from "./operations.js";
import * as tryIt from "./try.js";

const $ = (id) => document.getElementById(id);

function showTab(name) {
  for (const tab of document.querySelectorAll("[data-tab]")) {
    const current = tab.dataset.tab === name;
    if (current) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  for (const panel of ["try", "live", "operations"]) $(`panel-${panel}`).hidden = panel !== name;
  // Options apply to Try it and Live; Operations uses the whole width.
  $("options").hidden = name === "operations";
  document.querySelector(".layout").classList.toggle("full", name === "operations");
  if (name === "operations") operations.show();
  else operations.hide();
  if (location.hash !== `#${name}`) history.replaceState(null, "", `#${name}`);
}

/** The key dialog; resolves true when a key was entered. */
function askKey(reason) {
  const dialog = $("key-dialog");
  const input = $("key-input");
  input.value = apiKey.get();
  dialog.querySelector("p").textContent = `${reason || "This server requires an API key."} It is kept in this tab only.`;
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        const ok = dialog.returnValue === "ok" && input.value.trim() !== "";
        if (ok) apiKey.set(input.value.trim());
        resolve(ok);
      },
      { once: true },
    );
    dialog.returnValue = "";
    dialog.showModal();
    input.focus();
  });
}

async function status() {
  const pill = $("server-status");
  try {
    const health = await call("/healthz");
    pill.textContent = `${health.model} · ready`;
    pill.dataset.state = "ok";
  } catch {
    pill.textContent = "Server unreachable";
    pill.dataset.state = "bad";
  }
}

onKeyNeeded(askKey);
for (const tab of document.querySelectorAll("[data-tab]")) {
  tab.addEventListener("click", () => showTab(tab.dataset.tab));
}
$("key-button").addEventListener("click", () => askKey("Set the API key this tab sends."));
setUpOptions();
tryIt.setUp();
live.setUp();
operations.setUp();
showTab(["try", "live", "operations"].includes(location.hash.slice(1)) ? location.hash.slice(1) : "try");
status();
