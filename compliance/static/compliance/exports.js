// Evidence exports in the compliance workspace: export the current search (or a conversation)
// with its options, follow each export's progress live, download or delete it.
// Everything goes through /api/v1/compliance/exports/, which checks the role and audits.

import { ApiError, getJson } from "./api.js";
import { el } from "./render.js";

const $ = (id) => document.getElementById(id);
const root = $("workspace");
const listUrl = root.dataset.exportsUrl;
const POLL_MS = 1000;
const FORMAT_NAMES = { jsonl: "JSON Lines", csv: "CSV", eml: "EML", rsmf: "RSMF", pdf: "PDF" };
const STATE_NAMES = {
  queued: "Queued",
  running: "Running",
  signing: "Signing the manifest",
  packaging: "Packaging",
  done: "Ready",
  failed: "Failed",
  cancelled: "Cancelled",
  expired: "Expired",
  deleted: "Deleted",
};
const ACTIVE = new Set(["queued", "running", "signing", "packaging"]);
let timer = null;

function csrfToken() {
  return document.querySelector("input[name=csrfmiddlewaretoken]")?.value || "";
}

async function send(method, url, body) {
  let response;
  try {
    response = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch {
    throw new ApiError(0, { code: "offline", detail: "The server could not be reached. Try again." });
  }
  const payload = await response.json().catch(() => null);
  if (!response.ok) {
    const detail = typeof payload?.detail === "string" ? payload.detail : firstFieldError(payload);
    throw new ApiError(response.status, { ...payload, detail });
  }
  return payload;
}

function firstFieldError(payload) {
  if (!payload || typeof payload !== "object") return "";
  const [field, messages] = Object.entries(payload)[0] || [];
  return field ? `${field}: ${[].concat(messages).join(" ")}` : "";
}

function utc(iso) {
  return `${new Date(iso).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  if (seconds < 60) return `${Math.ceil(seconds)} s left`;
  return `${Math.ceil(seconds / 60)} min left`;
}

function progressText(job) {
  const { done, total, rate_per_second: rate, seconds_left: left } = job.progress;
  if (job.state === "queued") return "Waiting for a worker…";
  const parts = [`${done.toLocaleString()} of ${total.toLocaleString()} records`];
  if (rate) parts.push(`${Math.round(rate).toLocaleString()}/s`);
  if (left !== null && job.state === "running") parts.push(duration(left));
  return parts.join(" · ");
}

function exportItem(job) {
  const url = `${listUrl}${job.id}/`;
  const percent = job.progress.total ? Math.floor((100 * job.progress.done) / job.progress.total) : 0;
  const what = job.query ? job.query : `conversations ${job.scope.conversation_ids.join(", ")}`;
  const formats = job.options.formats.map((f) => FORMAT_NAMES[f] || f).join(", ");
  const actions = el("div", { class: "export-actions" });
  if (job.downloadable) {
    actions.append(el("a", { class: "button-primary", href: `${url}download/`, download: "" }, "Download"));
  }
  if (ACTIVE.has(job.state)) {
    actions.append(el("button", { type: "button", class: "button-quiet", dataset: { cancel: url } }, "Cancel"));
  } else if (!["deleted", "expired"].includes(job.state)) {
    actions.append(el("button", { type: "button", class: "button-quiet", dataset: { remove: url } }, "Delete"));
  }
  const item = el(
    "li",
    { class: "export-item", dataset: { state: job.state, id: job.id } },
    el(
      "div",
      { class: "export-line" },
      el("span", { class: "export-what" }, what),
      el("span", { class: `export-state state-${job.state}` }, STATE_NAMES[job.state] || job.state),
    ),
    el("p", { class: "export-meta" }, `${formats} · requested ${utc(job.created_at)}`),
  );
  if (ACTIVE.has(job.state) || job.state === "done") {
    item.append(
      el("progress", { max: "100", value: String(job.state === "done" ? 100 : percent), "aria-label": "Progress" }),
      el("p", { class: "export-progress" }, progressText(job)),
    );
  }
  if (job.state === "done" && job.manifest_sha256) {
    item.append(el("p", { class: "export-hash" }, "Manifest SHA-256 ", el("code", {}, job.manifest_sha256)));
  }
  if (job.error) item.append(el("p", { class: "export-error", role: "alert" }, job.error));
  item.append(actions);
  return item;
}

async function refresh() {
  clearTimeout(timer);
  try {
    const jobs = await getJson(listUrl);
    $("export-list").replaceChildren(...jobs.map(exportItem));
    $("export-empty").hidden = jobs.length > 0;
    if (jobs.some((job) => ACTIVE.has(job.state)) && !$("exports-panel").hidden) {
      timer = setTimeout(refresh, POLL_MS);
    }
  } catch (error) {
    $("export-status").textContent = error.detail || "The exports could not be loaded.";
  }
}

function togglePanel(open) {
  $("exports-panel").hidden = !open;
  $("exports-toggle").setAttribute("aria-expanded", String(open));
  if (open) {
    $("export-query").value = $("q").value;
    refresh();
  } else {
    clearTimeout(timer);
  }
}

async function start(event) {
  event.preventDefault();
  const form = $("export-form");
  const data = new FormData(form);
  const body = {
    query: data.get("query") || "",
    formats: data.getAll("formats"),
    include_attachments: data.get("include_attachments") === "on",
    versions: data.get("versions") || "all",
  };
  const kind = data.get("context_kind");
  if (kind) body.context = { [kind]: Number(data.get("context_amount")) };
  if (data.get("since")) body.since = data.get("since");
  if (data.get("until")) body.until = data.get("until");
  $("export-status").textContent = "";
  try {
    await send("POST", listUrl, body);
    $("export-status").textContent = "Export requested. Its progress shows below.";
    refresh();
  } catch (error) {
    $("export-status").textContent = error.detail || "The export could not be requested.";
  }
}

$("exports-toggle").addEventListener("click", () => togglePanel($("exports-panel").hidden));
$("exports-close").addEventListener("click", () => togglePanel(false));
$("export-form").addEventListener("submit", start);
$("export-context-kind").addEventListener("change", (event) => {
  const kind = event.target.value;
  $("export-context-amount-label").hidden = !kind;
  $("export-context-amount").max = kind === "messages" ? "100" : "10080";
});
$("export-list").addEventListener("click", async (event) => {
  const cancel = event.target.closest("[data-cancel]");
  const remove = event.target.closest("[data-remove]");
  try {
    if (cancel) await send("POST", `${cancel.dataset.cancel}cancel/`);
    if (remove) await send("DELETE", remove.dataset.remove);
  } catch (error) {
    $("export-status").textContent = error.detail;
  }
  if (cancel || remove) refresh();
});
