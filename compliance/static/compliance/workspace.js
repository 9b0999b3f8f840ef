// The compliance workspace: search the archive, read a hit in its conversation, its
// version history and who could see it. Configuration comes from data-* attributes on #workspace.

import { ApiError, getJson, withId } from "./api.js";
import {
  contextItem,
  conversationLabel,
  el,
  exposureItem,
  facetList,
  resultItem,
  versionItem,
} from "./render.js";

const $ = (id) => document.getElementById(id);
const root = $("workspace");
const config = {
  searchUrl: root.dataset.searchUrl,
  versionsUrl: root.dataset.versionsUrl,
  exposureUrl: root.dataset.exposureUrl,
  contextUrl: root.dataset.contextUrl,
  pageSize: Number(root.dataset.pageSize) || 50,
};

const state = {
  query: "",
  order: "newest",
  results: [],
  count: 0,
  countExact: true, // false: the server stopped counting at `count` (10,000)
  next: null,
  selected: -1,
  opened: null, // the result shown in the side panel
  generation: 0, // a newer search makes older answers stale
};

// ----- searching

function setState(name) {
  root.dataset.state = name;
  $("results-pane").setAttribute("aria-busy", String(name === "loading"));
}

async function search({ more = false } = {}) {
  const generation = ++state.generation;
  if (!more) {
    state.query = $("q").value;
    state.order = $("order").value;
    syncUrl();
  }
  if (!state.query.trim()) {
    showIntro();
    return;
  }
  hideQueryError();
  $("more-error").hidden = true;
  if (more) {
    // What is shown stays; only the button says it is working.
    $("more-button").disabled = true;
    $("more-button").textContent = "Loading more…";
  } else {
    setState("loading");
    $("result-summary").textContent = "Searching…";
  }
  try {
    const page = await getJson(config.searchUrl, {
      q: state.query,
      order: state.order,
      cursor: more ? state.next : null,
      limit: config.pageSize,
      facets: more ? null : "true",
    });
    if (generation !== state.generation) return;
    showPage(page, { more });
  } catch (error) {
    if (generation !== state.generation) return;
    if (more) showMoreError(error);
    else showError(error);
  } finally {
    if (more && generation === state.generation) {
      $("more-button").disabled = false;
      $("more-button").textContent = "Show more results";
    }
  }
}

// A failed next page keeps every result already shown and says what went wrong beside the
// button, which stays to try again.
function showMoreError(error) {
  const detail = error instanceof ApiError && error.status === 403
    ? "Your account may no longer search the archive."
    : error.message || "The server did not answer.";
  $("more-error").textContent = `Couldn't load more results: ${detail} Try again.`;
  $("more-error").hidden = false;
  $("more-button").hidden = false;
}

function showPage(page, { more }) {
  if (!more) showFacets(page.facets);
  const list = $("results");
  if (!more) {
    list.replaceChildren();
    state.results = [];
    state.selected = -1;
  }
  const start = state.results.length;
  state.results.push(...page.results);
  state.count = page.count;
  state.countExact = page.count_exact !== false;
  state.next = page.next;
  list.append(...page.results.map((result, i) => resultItem(result, start + i)));
  $("more-button").hidden = !page.next;
  setState(state.results.length ? "results" : "empty");
  $("result-summary").textContent = summary();
  if (!state.results.length) showNoMatches();
  else $("empty-state").hidden = true;
  if (!more && state.results.length) select(0, { focus: false });
}

const wide = window.matchMedia("(min-width: 761px)");

// Counts over every match (the API's facets); choosing one narrows the query with its
// operator, as if typed.
function showFacets(facets) {
  const panel = $("facets");
  panel.hidden = !facets;
  if (!facets) return;
  const days = [...facets.days].sort((a, b) => b.date.localeCompare(a.date));
  $("facet-groups").replaceChildren(
    facetList("People", facets.authors, { label: (a) => `@${a.username}`, operator: (a) => `from:${a.username}` }),
    facetList("Conversations", facets.conversations, {
      label: (c) => conversationLabel(c),
      operator: (c) => `in:${c.id}`,
    }),
    facetList("Days (UTC)", days, { label: (d) => d.date, operator: (d) => `on:${d.date}` }),
  );
  panel.open = wide.matches;
}

function refine(operator) {
  const box = $("q");
  if (!box.value.split(/\s+/).includes(operator)) box.value = `${box.value.trim()} ${operator}`.trim();
  search();
}

function summary() {
  const n = state.count;
  const shown = state.results.length;
  if (!n) return "";
  // Past the cap the server reports the cap and count_exact false: "10,000+".
  const counted = `${n.toLocaleString("en")}${state.countExact ? "" : "+"}`;
  const found = `${counted} message version${n === 1 && state.countExact ? "" : "s"} found`;
  const order = state.order === "newest" ? "newest first" : "most relevant first";
  return shown < n ? `${found} · showing ${shown.toLocaleString("en")}, ${order}` : `${found}, ${order}`;
}

function showIntro() {
  setState("idle");
  $("facets").hidden = true;
  $("results").replaceChildren();
  state.results = [];
  state.selected = -1;
  $("more-button").hidden = true;
  $("result-summary").textContent = "";
  $("empty-title").textContent = "Search the archive";
  $("empty-hint").hidden = false;
  $("empty-state").hidden = false;
  hideQueryError();
}

function showNoMatches() {
  $("empty-title").textContent = `Nothing matches ${state.query.trim()}`;
  const hint = $("empty-hint");
  hint.hidden = false;
  hint.replaceChildren(
    el("p", {}, "Every version of every message was searched, deleted ones included. You could:"),
    el(
      "ul",
      { class: "empty-tips" },
      el("li", {}, "use fewer words, or OR between alternatives: ", el("code", {}, "buy OR sell")),
      el("li", {}, "match word beginnings with a prefix: ", el("code", {}, "confid*")),
      el("li", {}, "widen or drop a date, person or conversation filter"),
      el("li", {}, "check the spelling of names: ", el("code", {}, "from:"), " and ", el("code", {}, "participant:"), " take usernames"),
    ),
  );
  $("empty-state").hidden = false;
}

function showError(error) {
  $("facets").hidden = true;
  $("results").replaceChildren();
  state.results = [];
  state.selected = -1;
  $("more-button").hidden = true;
  $("empty-state").hidden = true;
  setState("error");
  $("result-summary").textContent = "";
  if (error instanceof ApiError && error.code === "invalid_query") {
    showQueryError(error.detail, error.position);
  } else if (error instanceof ApiError && error.status === 403) {
    showQueryError("Your account may no longer search the archive (the compliance officer role is needed).", null);
  } else {
    showQueryError(error.message || "The search failed. Please try again.", null);
  }
}

function showQueryError(message, position) {
  $("query-error-text").textContent = message;
  const where = $("query-error-where");
  const box = $("q");
  if (position !== null && position !== undefined) {
    // The query as sent, a caret under the character the server pointed at.
    const text = state.query;
    const at = Math.max(0, Math.min(position, text.length));
    where.textContent = `${text}\n${" ".repeat(at)}^`;
    where.hidden = false;
    box.setAttribute("aria-invalid", "true");
    box.focus();
    box.setSelectionRange(at, Math.min(at + 1, text.length));
  } else {
    where.textContent = "";
    where.hidden = true;
  }
  $("query-error").hidden = false;
}

function hideQueryError() {
  $("query-error").hidden = true;
  $("q").removeAttribute("aria-invalid");
}

function syncUrl() {
  const url = new URL(location.href);
  if (state.query) url.searchParams.set("q", state.query);
  else url.searchParams.delete("q");
  if (state.order !== "newest") url.searchParams.set("order", state.order);
  else url.searchParams.delete("order");
  history.replaceState(null, "", url);
}

// ----- selection and keyboard

function items() {
  return $("results").querySelectorAll("li.result");
}

function select(index, { focus = true } = {}) {
  const all = items();
  if (!all.length) return;
  const next = Math.max(0, Math.min(index, all.length - 1));
  for (const item of all) {
    item.setAttribute("aria-selected", "false");
    item.tabIndex = -1;
  }
  const item = all[next];
  item.setAttribute("aria-selected", "true");
  item.tabIndex = 0;
  state.selected = next;
  if (focus) {
    item.focus();
    item.scrollIntoView({ block: "nearest" });
  }
}

function typing(target) {
  return target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.metaKey || event.ctrlKey || event.altKey) return;
  if (event.key === "Escape") {
    if (!$("detail-panel").hidden) {
      closeDetail();
      event.preventDefault();
    } else if (!$("help-panel").hidden) {
      toggleHelp(false);
      event.preventDefault();
    }
    return;
  }
  if (typing(event.target)) {
    if (event.target === $("q") && event.key === "ArrowDown" && state.results.length) {
      select(Math.max(state.selected, 0));
      event.preventDefault();
    }
    return;
  }
  if (event.key === "/") {
    $("q").focus();
    $("q").select();
    event.preventDefault();
  } else if ((event.key === "j" || event.key === "ArrowDown") && state.results.length) {
    select(state.selected + 1);
    event.preventDefault();
  } else if ((event.key === "k" || event.key === "ArrowUp") && state.results.length) {
    select(state.selected - 1);
    event.preventDefault();
  } else if (event.key === "Enter" && event.target instanceof HTMLElement && event.target.matches("li.result")) {
    openDetail(Number(event.target.dataset.index));
    event.preventDefault();
  }
});

$("results").addEventListener("click", (event) => {
  const item = event.target.closest("li.result");
  if (!item || window.getSelection()?.toString()) return; // selecting text is not opening
  const index = Number(item.dataset.index);
  select(index, { focus: true });
  openDetail(index);
});

// ----- the side panel: the conversation around a hit, and the message's versions

async function openDetail(index) {
  const result = state.results[index];
  if (!result) return;
  state.opened = { result, index };
  const panel = $("detail-panel");
  panel.hidden = false;
  root.dataset.detail = "open";
  $("detail-title").textContent = `${result.author?.name || result.author?.username || "Message"}`;
  $("detail-where").replaceChildren(conversationLabel(result.conversation), " · message ", String(result.message_id));
  $("tab-versions").textContent = "Version history";
  $("tab-exposure").textContent = "Who could see it";
  showTab("context");
  $("detail-close").focus();
  $("exposure-list").replaceChildren();
  $("exposure-status").textContent = "";
  await Promise.all([loadContext(result), loadVersions(result)]);
}

function closeDetail({ refocus = true } = {}) {
  $("detail-panel").hidden = true;
  delete root.dataset.detail;
  const opened = state.opened;
  state.opened = null;
  if (opened && refocus) select(opened.index);
}

async function loadContext(result) {
  const list = $("context-list");
  const status = $("context-status");
  list.replaceChildren();
  status.textContent = "Loading the conversation…";
  try {
    const context = await getJson(withId(config.contextUrl, result.archive_seq), { before: 5, after: 5 });
    if (state.opened?.result !== result) return;
    status.textContent = `In ${conversationLabel(context.conversation)}, as it stood when this was written.`;
    list.replaceChildren(
      ...context.before.map((v) => contextItem(v)),
      contextItem(context.record, { current: true }),
      ...context.after.map((v) => contextItem(v)),
    );
    list.querySelector(".current")?.scrollIntoView({ block: "center" });
  } catch (error) {
    if (state.opened?.result === result) status.textContent = `The conversation could not be loaded: ${error.message}`;
  }
}

async function loadVersions(result) {
  const list = $("version-list");
  const status = $("versions-status");
  list.replaceChildren();
  status.textContent = "Loading the version history…";
  try {
    const history = await getJson(withId(config.versionsUrl, result.message_id));
    if (state.opened?.result !== result) return;
    const n = history.versions.length;
    status.textContent = `${n} record${n === 1 ? "" : "s"} in the archive for this message, oldest first.`;
    list.replaceChildren(...history.versions.map(versionItem));
    $("tab-versions").textContent = `Version history (${n})`;
  } catch (error) {
    if (state.opened?.result === result) status.textContent = `The version history could not be loaded: ${error.message}`;
  }
}

// Loaded when its tab is opened, not with the panel: reading who could see a message is an
// audited view of its own, recorded only when the officer asks for it.
async function loadExposure(result) {
  if (state.opened?.exposureLoaded) return;
  state.opened.exposureLoaded = true;
  const list = $("exposure-list");
  const status = $("exposure-status");
  list.replaceChildren();
  status.textContent = "Loading who could see it…";
  try {
    const exposure = await getJson(withId(config.exposureUrl, result.message_id));
    if (state.opened?.result !== result) return;
    const n = exposure.people.length;
    status.textContent = `${n} ${n === 1 ? "person" : "people"} could read this message, in the order their access began.`;
    list.replaceChildren(...exposure.people.map(exposureItem));
    $("tab-exposure").textContent = `Who could see it (${n})`;
  } catch (error) {
    if (state.opened?.result !== result) return;
    state.opened.exposureLoaded = false; // the next click on the tab tries again
    status.textContent = `Who could see it could not be loaded: ${error.message}`;
  }
}

const TABS = [
  ["tab-context", "context-view"],
  ["tab-versions", "versions-view"],
  ["tab-exposure", "exposure-view"],
];

function showTab(name) {
  for (const [tab, view] of TABS) {
    const active = view.startsWith(name);
    $(tab).setAttribute("aria-selected", String(active));
    $(tab).tabIndex = active ? 0 : -1;
    $(view).hidden = !active;
  }
}

$("tab-context").addEventListener("click", () => showTab("context"));
$("tab-versions").addEventListener("click", () => showTab("versions"));
$("tab-exposure").addEventListener("click", () => {
  showTab("exposure");
  if (state.opened) loadExposure(state.opened.result);
});
$("detail-panel").querySelector("[role=tablist]").addEventListener("keydown", (event) => {
  if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
  const current = TABS.findIndex(([tab]) => $(tab).getAttribute("aria-selected") === "true");
  const step = event.key === "ArrowRight" ? 1 : TABS.length - 1;
  const next = TABS[(current + step) % TABS.length][0];
  $(next).click();
  $(next).focus();
  event.preventDefault();
});
$("detail-close").addEventListener("click", () => closeDetail());

// ----- the form, the operators panel, the examples

function toggleHelp(open) {
  $("help-panel").hidden = !open;
  $("help-toggle").setAttribute("aria-expanded", String(open));
}

$("help-toggle").addEventListener("click", () => toggleHelp($("help-panel").hidden));

document.addEventListener("click", (event) => {
  const example = event.target.closest("button.example");
  if (!example) return;
  $("q").value = example.dataset.example;
  toggleHelp(false);
  closeDetail({ refocus: false });
  search();
  $("q").focus();
});

$("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  closeDetail({ refocus: false });
  search();
});
$("order").addEventListener("change", () => {
  if ($("q").value.trim()) search();
});
$("q").addEventListener("input", () => {
  if (!$("query-error").hidden) hideQueryError();
});
$("more-button").addEventListener("click", () => search({ more: true }));
$("facet-groups").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-operator]");
  if (button) refine(button.dataset.operator);
});

// ----- start: a query in the address bar runs at once

const initial = new URL(location.href).searchParams;
$("q").value = initial.get("q") || "";
$("order").value = initial.get("order") === "relevance" ? "relevance" : "newest";
if ($("q").value.trim()) search();
else showIntro();
