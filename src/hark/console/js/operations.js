// "Operations": GET /v1/operations as a table (state, progress, duration, created), each row
// opening its result, cancelling or deleting it through the operations routes.

import { call } from "./api.js";
import { clock, download, format, render } from "./transcript.js";

const $ = (id) => document.getElementById(id);
const REFRESH_MS = 2000;

let timer = 0;
let opened = { results: [], response: null, name: "" };

export function setUp() {
  $("ops-refresh").addEventListener("click", refresh);
  for (const button of $("op-downloads").querySelectorAll("[data-format]")) {
    button.addEventListener("click", () => {
      const kind = button.dataset.format;
      download(`operation-${opened.name}.${kind}`, format(opened.results, kind, opened.response));
    });
  }
}

/** Show the page: list now, and again every few seconds while it is shown. */
export function show() {
  refresh();
  clearInterval(timer);
  timer = setInterval(refresh, REFRESH_MS);
}

export function hide() {
  clearInterval(timer);
}

async function refresh() {
  try {
    const { operations = [] } = await call("/v1/operations?pageSize=100");
    $("ops-error").hidden = true;
    $("ops-empty").hidden = operations.length > 0;
    $("ops-rows").replaceChildren(...operations.map(row));
  } catch (error) {
    $("ops-error").hidden = false;
    $("ops-error").textContent = error.message;
  }
}

function state(operation) {
  if (!operation.done) return (operation.metadata?.progressPercent ?? 0) > 0 ? "running" : "queued";
  if (!operation.error) return "done";
  return operation.error.code === 1 ? "cancelled" : "failed";
}

function row(operation) {
  const tr = document.createElement("tr");
  const meta = operation.metadata || {};
  const current = state(operation);
  const percent = operation.done && !operation.error ? 100 : meta.progressPercent || 0;
  const started = meta.startTime ? new Date(meta.startTime) : null;
  const updated = meta.lastUpdateTime ? new Date(meta.lastUpdateTime) : null;
  const duration = started && updated ? clock(Math.max(0, (updated - started) / 1000), 0) : "–";
  const cells = [
    cell("mono", operation.name),
    badge(current, operation.error?.message),
    progress(percent, current),
    cell("mono", duration),
    cell("", started ? started.toLocaleString() : "–"),
  ];
  const actions = cell("actions");
  if (operation.done && !operation.error) actions.append(button("Open", `Open operation ${operation.name}`, () => open(operation)));
  if (!operation.done) actions.append(button("Cancel", `Cancel operation ${operation.name}`, () => act(operation, "cancel")));
  actions.append(button("Delete", `Delete operation ${operation.name}`, () => act(operation, "delete"), "danger"));
  tr.append(...cells, actions);
  return tr;
}

async function act(operation, what) {
  const path = `/v1/operations/${encodeURIComponent(operation.name)}`;
  try {
    if (what === "cancel") await call(`${path}:cancel`, { method: "POST" });
    else await call(path, { method: "DELETE" });
    if (what === "delete" && opened.name === operation.name) $("op-result").hidden = true;
  } catch (error) {
    $("ops-error").hidden = false;
    $("ops-error").textContent = error.message;
  }
  refresh();
}

async function open(operation) {
  const full = await call(`/v1/operations/${encodeURIComponent(operation.name)}`);
  const response = full.response || {};
  opened = { results: response.results || [], response, name: operation.name };
  $("op-result").hidden = false;
  $("op-title").textContent = `Operation ${operation.name}`;
  render($("op-transcript"), opened.results, null);
  $("op-transcript").focus();
}

function cell(className, text) {
  const td = document.createElement("td");
  if (className) td.className = className;
  if (text !== undefined) td.textContent = text;
  return td;
}

function badge(current, message) {
  const td = cell();
  const span = document.createElement("span");
  span.className = "badge";
  span.dataset.state = current;
  span.textContent = current;
  if (message) span.title = message;
  td.append(span);
  return td;
}

function progress(percent, current) {
  const td = cell();
  const bar = document.createElement("div");
  bar.className = `progress${current === "done" ? " done" : ""}`;
  bar.setAttribute("role", "progressbar");
  bar.setAttribute("aria-valuemin", "0");
  bar.setAttribute("aria-valuemax", "100");
  bar.setAttribute("aria-valuenow", String(percent));
  const fill = document.createElement("div");
  fill.className = "bar";
  fill.style.width = `${percent}%`;
  bar.append(fill);
  td.append(bar);
  return td;
}

function button(label, name, onClick, extra = "") {
  const node = document.createElement("button");
  node.type = "button";
  node.className = `button small ${extra}`.trim();
  node.textContent = label;
  node.setAttribute("aria-label", name);
  node.addEventListener("click", onClick);
  return node;
}
