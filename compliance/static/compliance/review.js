// The review queue: list, open (a view), claim, decide with a comment, escalate, reopen,
// bulk decisions. Keyboard: j/k move, Enter open, c claim, x select, 1-4 decision,
// Ctrl+Enter decide. Configuration comes from data-* attributes on #review.

import { getJson, sendJson, withId } from "./api.js";
import { el, timeEl } from "./render.js";

const $ = (id) => document.getElementById(id);
const root = $("review");
const config = { queueUrl: root.dataset.queueUrl, itemUrl: root.dataset.itemUrl, bulkUrl: root.dataset.bulkUrl };
const DECISIONS = ["no_issue", "false_positive", "violation", "escalated"];
const LABELS = { no_issue: "No issue", false_positive: "False positive", violation: "Violation", escalated: "Escalated" };
const state = { queue: "first", filter: "open", items: [], selected: -1, opened: null, chosen: new Set() };

function itemUrl(id, action = "") {
  return withId(config.itemUrl, id) + (action ? `/${action}` : "");
}

async function loadQueue() {
  root.dataset.state = "loading";
  try {
    const page = await getJson(config.queueUrl, { queue: state.queue, state: state.filter });
    state.items = page.items;
    state.chosen.clear();
    renderQueue();
    root.dataset.state = state.items.length ? "results" : "empty";
  } catch (error) {
    $("queue-summary").textContent = error.detail;
    root.dataset.state = "error";
  }
}

function queueRow(item, index) {
  const chosen = state.chosen.has(item.id);
  return el(
    "li",
    { class: "result review-item", id: `item-${item.id}`, dataset: { index: String(index) },
      "aria-selected": String(index === state.selected) },
    el("div", { class: "result-head" },
      el("input", { type: "checkbox", class: "pick", "aria-label": `Select item ${item.id}`, checked: chosen || null }),
      el("span", { class: "author" }, item.author ? `@${item.author}` : "unknown author"),
      timeEl(item.occurred_at),
      el("span", { class: `badge state-${item.state}` }, item.decision ? LABELS[item.decision] : item.state),
      item.claimed_by ? el("span", { class: "badge" }, `claimed by ${item.claimed_by}`) : null,
      item.sampled ? el("span", { class: "badge badge-history" }, "sampled") : null,
      item.blocked ? el("span", { class: "badge badge-deleted" }, "blocked attempt") : null),
    el("p", { class: "result-body" }, item.preview || "(no text)"),
    el("div", { class: "result-foot" },
      ...item.policies.map((name) => el("span", { class: "badge badge-policy" }, name)),
      el("span", { class: "seq" }, `item ${item.id} · record ${item.archive_seq}`)),
  );
}

function renderQueue() {
  state.selected = Math.min(state.selected, state.items.length - 1);
  $("queue").replaceChildren(...state.items.map(queueRow));
  const n = state.items.length;
  $("queue-summary").textContent = n ? `${n} item${n === 1 ? "" : "s"}, oldest first` : "Nothing to review here.";
  renderBulk();
}

function renderBulk() {
  const n = state.chosen.size;
  $("bulk-bar").hidden = n === 0;
  $("bulk-count").textContent = `${n} selected`;
}

function select(index) {
  if (!state.items.length) return;
  state.selected = Math.max(0, Math.min(index, state.items.length - 1));
  for (const row of $("queue").children) {
    row.setAttribute("aria-selected", String(Number(row.dataset.index) === state.selected));
  }
  $("queue").children[state.selected]?.scrollIntoView({ block: "nearest" });
}

function highlighted(text, hits) {
  const spans = hits.map((h) => [h.start, h.end]).sort((a, b) => a[0] - b[0]);
  const parts = [];
  let at = 0;
  for (const [start, end] of spans) {
    if (start < at) continue;
    parts.push(text.slice(at, start), el("mark", {}, text.slice(start, end)));
    at = end;
  }
  parts.push(text.slice(at));
  return parts;
}

function contextRow(message) {
  return el("li", { class: "context-item" },
    el("div", { class: "context-head" }, el("span", { class: "author" }, `@${message.author || "?"}`), timeEl(message.occurred_at)),
    el("p", { class: "context-body" }, message.body));
}

function flagRow(flag) {
  const hits = flag.hits || [];
  return el("li", { class: "flag-item" },
    el("div", { class: "context-head" },
      el("span", { class: "badge badge-policy" }, flag.policy ? `${flag.policy} v${flag.policy_version}` : flag.source),
      el("span", { class: "seq" }, `record ${flag.archive_seq} · ${flag.source}`)),
    el("p", { class: "context-body flagged-text" }, ...highlighted(flag.text || "", hits)),
    flag.unscannable ? el("p", { class: "form-error" }, `Could not scan: ${flag.unscannable}`) : null,
    el("ul", { class: "hit-list" }, ...hits.map((h) => el("li", {}, `${h.kind} · ${h.name}: “${h.text}”`))));
}

function historyRow(step) {
  const what = step.kind === "decision" ? `${LABELS[step.decision] || step.decision}` : step.kind;
  return el("li", {}, timeEl(step.at), ` ${step.actor || "system"} · ${what}`, step.comment ? ` — ${step.comment}` : "");
}

// "#trading-desk", or a direct message's people: as the archive recorded them at the item.
function where(conversation) {
  if (conversation.name) return `#${conversation.name}`;
  const people = conversation.members.map((name) => `@${name}`).join(", ");
  return people ? `direct message: ${people}` : `conversation ${conversation.id}`;
}

function showItem(item) {
  state.opened = item;
  $("item-panel").hidden = false;
  $("item-title").textContent = item.blocked ? `Blocked attempt · item ${item.id}` : `Item ${item.id}`;
  $("item-where").textContent = `${where(item.conversation)} · ${item.queue === "escalated" ? "escalated queue" : "first level"} · ${item.state}`;
  $("item-before").replaceChildren(...item.context.before.map(contextRow));
  $("item-flags").replaceChildren(...item.flags.map(flagRow));
  $("item-after").replaceChildren(...item.context.after.map(contextRow));
  $("item-history").replaceChildren(...item.steps.map(historyRow));
  const closed = item.state === "closed";
  $("claim-button").hidden = closed || item.state === "claimed";
  $("release-button").hidden = item.state !== "claimed";
  $("decision-form").hidden = closed;
  $("reopen-form").hidden = !closed;
  $("item-status").textContent = "";
  $("decision-error").hidden = true;
}

async function openSelected() {
  const item = state.items[state.selected];
  if (!item) return;
  try {
    showItem(await getJson(itemUrl(item.id)));
  } catch (error) {
    $("item-panel").hidden = false;
    $("item-status").textContent = error.detail;
  }
}

async function act(action, body = null) {
  const item = state.opened || state.items[state.selected];
  if (!item) return;
  try {
    await sendJson(itemUrl(item.id, action), body || {});
    await loadQueue();
    const index = state.items.findIndex((i) => i.id === item.id);
    if (index >= 0) {
      select(index);
      showItem(await getJson(itemUrl(item.id)));
    } else {
      $("item-panel").hidden = true;
      state.opened = null;
    }
    $("queue-summary").textContent = `Item ${item.id}: ${action === "decide" ? "decided" : action + "ed"}.`;
  } catch (error) {
    $("decision-error").textContent = error.detail;
    $("decision-error").hidden = false;
    $("item-status").textContent = error.detail;
  }
}

function decide(event) {
  event?.preventDefault();
  const decision = new FormData($("decision-form")).get("decision");
  const comment = $("decision-comment").value.trim();
  if (!decision || !comment) {
    $("decision-error").textContent = !decision ? "Choose a decision." : "A decision needs a comment.";
    $("decision-error").hidden = false;
    return;
  }
  $("decision-comment").value = "";
  act("decide", { decision, comment });
}

async function bulkDecide(event) {
  event.preventDefault();
  const comment = $("bulk-comment").value.trim();
  if (!comment) {
    $("queue-summary").textContent = "A decision needs a comment.";
    return;
  }
  try {
    await sendJson(config.bulkUrl, { items: [...state.chosen], decision: $("bulk-decision").value, comment });
    $("bulk-comment").value = "";
    await loadQueue();
  } catch (error) {
    $("queue-summary").textContent = error.detail;
  }
}

function toggleChosen(index) {
  const item = state.items[index];
  if (!item) return;
  if (state.chosen.has(item.id)) state.chosen.delete(item.id);
  else state.chosen.add(item.id);
  const box = $("queue").children[index]?.querySelector(".pick");
  if (box) box.checked = state.chosen.has(item.id);
  renderBulk();
}

function onKey(event) {
  const typing = event.target.closest("textarea, input:not([type=checkbox]):not([type=radio]), select");
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && !$("decision-form").hidden) {
    decide(event);
    return;
  }
  if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
  const keys = {
    j: () => select(state.selected + 1),
    k: () => select(state.selected - 1),
    Enter: openSelected,
    c: () => act("claim"),
    x: () => toggleChosen(state.selected),
    Escape: () => { $("item-panel").hidden = true; state.opened = null; },
  };
  const digit = DECISIONS[Number(event.key) - 1];
  if (digit && !$("decision-form").hidden) {
    $("decision-form").querySelector(`input[value=${digit}]`).checked = true;
    $("decision-comment").focus();
    event.preventDefault();
    return;
  }
  if (keys[event.key]) {
    event.preventDefault();
    keys[event.key]();
  }
}

$("queue").addEventListener("click", (event) => {
  const row = event.target.closest("li.review-item");
  if (!row) return;
  const index = Number(row.dataset.index);
  if (event.target.classList.contains("pick")) {
    toggleChosen(index);
    return;
  }
  select(index);
  openSelected();
});
for (const tab of document.querySelectorAll(".queue-tabs [role=tab]")) {
  tab.addEventListener("click", () => {
    for (const other of document.querySelectorAll(".queue-tabs [role=tab]")) other.setAttribute("aria-selected", String(other === tab));
    state.queue = tab.dataset.queue;
    state.filter = tab.dataset.state;
    state.selected = -1;
    $("item-panel").hidden = true;
    loadQueue();
  });
}
$("claim-button").addEventListener("click", () => act("claim"));
$("release-button").addEventListener("click", () => act("release"));
$("decision-form").addEventListener("submit", decide);
$("reopen-form").addEventListener("submit", (event) => {
  event.preventDefault();
  act("reopen", { reason: $("reopen-reason").value });
});
$("bulk-bar").addEventListener("submit", bulkDecide);
$("item-close").addEventListener("click", () => { $("item-panel").hidden = true; state.opened = null; });
document.addEventListener("keydown", onKey);
// A link from a notification names its item (#item-12): open it, wherever its queue.
async function openFromLink() {
  const match = location.hash.match(/^#item-(\d+)$/);
  if (!match) return;
  try {
    showItem(await getJson(itemUrl(Number(match[1]))));
  } catch (error) {
    $("item-panel").hidden = false;
    $("item-status").textContent = error.detail;
  }
}

loadQueue().then(() => select(0)).then(openFromLink);
