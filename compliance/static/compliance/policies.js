// Content policies: list, edit (each save is a new version), the test box and the back-test.

import { getJson, sendJson } from "./api.js";
import { el } from "./render.js";

const $ = (id) => document.getElementById(id);
const root = $("policies");
const config = {
  url: root.dataset.policiesUrl,
  testUrl: root.dataset.testUrl,
  backtestUrl: root.dataset.backtestUrl,
  groupsUrl: root.dataset.groupsUrl,
};
const state = { policies: [], editing: null, groups: [] };

const lines = (id) => $(id).value.split("\n").map((l) => l.trim()).filter(Boolean);
const ticked = (name) => [...document.querySelectorAll(`input[name=${name}]:checked`)].map((i) => i.value);

function conditions() {
  const result = {};
  const terms = lines("p-terms");
  if (terms.length) result.lexicons = [{ name: "terms", terms, exceptions: lines("p-exceptions") }];
  const near = lines("p-near").map((line, i) => {
    const match = line.match(/^(.+?)\s+NEAR\/(\d+)\s+(.+)$/);
    return match ? { name: `near ${i + 1}`, a: match[1], b: match[3], distance: Number(match[2]) } : { name: line, a: "", b: "", distance: 0 };
  });
  if (near.length) result.near = near;
  const patterns = lines("p-patterns").map((line) => {
    const at = line.indexOf(":");
    return at > 0 ? { name: line.slice(0, at).trim(), regex: line.slice(at + 1).trim() } : { name: line, regex: line };
  });
  if (patterns.length) result.patterns = patterns;
  const detectors = ticked("detector");
  if (detectors.length) result.detectors = detectors;
  return result;
}

function scope() {
  const result = {};
  const kinds = ticked("kind");
  if (kinds.length) result.kinds = kinds;
  const groups = ticked("group").map(Number);
  if (groups.length) result.groups = groups;
  const users = $("p-users").value.split(",").map((s) => s.trim()).filter(Boolean).map(Number);
  if (users.length) result.users = users;
  return result;
}

function notify() {
  if (!ticked("action").includes("notify")) return {};
  const result = {};
  if ($("p-notify-sender").checked) result.sender = true;
  if ($("p-notify-group").value) result.reviewers = Number($("p-notify-group").value);
  return result;
}

// Checked here so the officer hears at once; the server checks the same again.
function sampling() {
  const result = {};
  const percent = $("p-sample-percent").value.trim();
  const perPerson = $("p-sample-person").value.trim();
  if (percent !== "") {
    const value = Number(percent);
    if (!(value >= 0 && value <= 100)) throw new Error("Sample percent is a number from 0 to 100.");
    if (value) result.percent = value;
  }
  if (perPerson !== "") {
    const value = Number(perPerson);
    if (!(Number.isInteger(value) && value >= 0 && value <= 100)) {
      throw new Error("The sample per person is a whole number from 0 to 100.");
    }
    if (value) result.per_person = value;
  }
  return result;
}

function showNotify() {
  $("p-notify").hidden = !ticked("action").includes("notify");
}

function renderGroups() {
  const fieldset = $("p-groups");
  fieldset.querySelectorAll("label").forEach((label) => label.remove());
  $("p-groups-empty").hidden = state.groups.length > 0;
  const wanted = state.editing?.scope?.groups || [];
  for (const group of state.groups) {
    const box = el("input", { type: "checkbox", name: "group", value: String(group.id) });
    box.checked = wanted.includes(group.id);
    fieldset.append(el("label", {}, box, ` ${group.name} (${group.members})`));
  }
  const select = $("p-notify-group");
  select.replaceChildren(
    el("option", { value: "" }, "No reviewer group"),
    ...state.groups.map((g) => el("option", { value: String(g.id) }, `${g.name} (${g.members})`)),
  );
  select.value = String(state.editing?.notify?.reviewers || "");
}

function fill(policy) {
  state.editing = policy;
  $("form-title").textContent = policy ? `${policy.name} · version ${policy.version}` : "New policy";
  $("p-name").value = policy?.name || "";
  $("p-name").disabled = Boolean(policy);
  const c = policy?.conditions || {};
  const lexicons = c.lexicons || [];
  $("p-terms").value = lexicons.flatMap((l) => l.terms).join("\n");
  $("p-exceptions").value = lexicons.flatMap((l) => l.exceptions || []).join("\n");
  $("p-near").value = (c.near || []).map((n) => `${n.a} NEAR/${n.distance} ${n.b}`).join("\n");
  $("p-patterns").value = (c.patterns || []).map((p) => `${p.name}: ${p.regex}`).join("\n");
  for (const box of document.querySelectorAll("input[name=detector]")) box.checked = (c.detectors || []).includes(box.value);
  for (const box of document.querySelectorAll("input[name=action]")) box.checked = (policy?.actions || ["flag"]).includes(box.value);
  for (const box of document.querySelectorAll("input[name=kind]")) box.checked = (policy?.scope?.kinds || []).includes(box.value);
  $("p-users").value = (policy?.scope?.users || []).join(", ");
  $("p-notify-sender").checked = Boolean(policy?.notify?.sender);
  $("p-sample-percent").value = policy?.sampling?.percent ?? "";
  $("p-sample-person").value = policy?.sampling?.per_person ?? "";
  renderGroups();
  showNotify();
  $("p-enabled").checked = policy ? policy.enabled : true;
  $("p-note").value = "";
  $("policy-error").hidden = true;
  $("policy-saved").textContent = "";
  renderList();
}

function renderList() {
  $("policy-list").replaceChildren(...state.policies.map((policy) =>
    el("li", {}, el("button", { type: "button", "aria-current": String(state.editing?.id === policy.id), dataset: { id: String(policy.id) } },
      policy.name,
      el("span", { class: "meta" }, `v${policy.version} · ${policy.actions.join(", ")}${policy.enabled ? "" : " · disabled"}`)))));
}

async function load() {
  const [page, groups] = await Promise.all([getJson(config.url), getJson(config.groupsUrl)]);
  state.policies = page.policies;
  state.groups = groups.groups;
  if (!state.editing) renderGroups();
  renderList();
  root.dataset.state = "ready";
}

async function save(event) {
  event.preventDefault();
  $("policy-error").hidden = true;
  try {
    const body = {
      conditions: conditions(),
      scope: scope(),
      actions: ticked("action"),
      notify: notify(),
      sampling: sampling(),
      enabled: $("p-enabled").checked,
      note: $("p-note").value,
    };
    const saved = state.editing
      ? await sendJson(`${config.url}/${state.editing.id}`, body, "PUT")
      : await sendJson(config.url, { ...body, name: $("p-name").value });
    await load();
    fill(state.policies.find((p) => p.id === saved.id));
    $("policy-saved").textContent = `Saved as version ${saved.version}.`;
  } catch (error) {
    $("policy-error").textContent = error.detail || error.message;
    $("policy-error").hidden = false;
  }
}

async function runTest() {
  try {
    const result = await sendJson(config.testUrl, { conditions: conditions(), text: $("test-text").value });
    $("test-result").textContent = result.hits.length
      ? result.hits.map((h) => `${h.kind} · ${h.name}: “${h.text}” at ${h.start}–${h.end}`).join("\n")
      : "Nothing would be hit.";
  } catch (error) {
    $("test-result").textContent = error.detail;
  }
}

async function runBacktest() {
  $("backtest-result").textContent = "Scanning the archive…";
  try {
    const result = await sendJson(config.backtestUrl, { conditions: conditions(), scope: scope(), days: Number($("backtest-days").value) });
    const terms = Object.entries(result.terms).map(([term, n]) => `${term}: ${n}`).join(", ");
    $("backtest-result").textContent = `${result.items} item${result.items === 1 ? "" : "s"} would have been raised from ${result.records_scanned} archived message versions${result.complete ? "" : " (stopped at the limit)"}.${terms ? `\nHits per term: ${terms}` : ""}`;
  } catch (error) {
    $("backtest-result").textContent = error.detail;
  }
}

$("policy-list").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-id]");
  if (button) fill(state.policies.find((p) => p.id === Number(button.dataset.id)));
});
$("new-policy").addEventListener("click", () => fill(null));
for (const box of document.querySelectorAll("input[name=action]")) box.addEventListener("change", showNotify);
$("policy-form").addEventListener("submit", save);
$("run-test").addEventListener("click", runTest);
$("run-backtest").addEventListener("click", runBacktest);
load();
