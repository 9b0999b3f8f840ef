// The supervision report: choose a period, read the figures per queue, reviewer, policy and
// lexicon term, export the same report as CSV. Configuration: data-report-url on #report.

import { getJson } from "./api.js";
import { el } from "./render.js";

const $ = (id) => document.getElementById(id);
const root = $("report");
const QUEUES = { first: "First level", escalated: "Escalated" };
const AGE = (hours) => (hours === null || hours === undefined ? "—" : hours < 48 ? `${hours} h` : `${(hours / 24).toFixed(1)} d`);

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

function table(id, headings, rows) {
  const head = el("thead", {}, el("tr", {}, ...headings.map((h, i) => el("th", { scope: "col", class: i ? "num" : "" }, h))));
  const body = el(
    "tbody",
    {},
    ...rows.map((cells) => el("tr", {}, ...cells.map((c, i) => (i ? el("td", { class: "num" }, String(c)) : el("th", { scope: "row" }, String(c)))))),
  );
  $(id).replaceChildren(head, body);
  $(id).hidden = rows.length === 0;
  const empty = $(id.replace("-table", "-empty"));
  if (empty) empty.hidden = rows.length > 0;
}

function render(report) {
  table(
    "queues-table",
    ["Queue", "Raised", "Reviewed", "Open now", "Median age", "Oldest"],
    Object.entries(report.queues).map(([q, f]) => [QUEUES[q] || q, f.raised, f.reviewed, f.open, AGE(f.median_age_hours), AGE(f.oldest_age_hours)]),
  );
  table(
    "reviewers-table",
    ["Reviewer", "Reviewed", "No issue", "False positive", "Violation", "Escalated", "Claimed now", "Oldest claim"],
    Object.entries(report.reviewers).map(([name, f]) => [
      name, f.reviewed || 0, f.no_issue || 0, f.false_positive || 0, f.violation || 0, f.escalated || 0,
      f.claimed_open || 0, AGE(f.oldest_claimed_age_hours),
    ]),
  );
  table(
    "policies-table",
    ["Policy", "Flags", "Sampled", "Raised", "Reviewed", "Open now", "Oldest open"],
    Object.entries(report.policies).map(([name, f]) => [
      name === "sample" ? "Random sample" : name, f.flags || 0, f.sampled || 0, f.raised || 0, f.reviewed || 0, f.open || 0, AGE(f.oldest_age_hours),
    ]),
  );
  table("terms-table", ["Policy: term", "Hits"], Object.entries(report.terms));
  $("report-made").textContent = `Report for ${report.start} to ${report.end}, made ${new Date(report.made_at).toLocaleString()}.`;
}

function period() {
  return { start: $("period-start").value, end: $("period-end").value };
}

function csvLink() {
  const { start, end } = period();
  const url = new URL(root.dataset.reportUrl, location.origin);
  url.search = new URLSearchParams({ start, end, output: "csv" }).toString();
  $("report-csv").href = url.toString();
  $("report-csv").setAttribute("download", `review-report-${start}-${end}.csv`);
}

async function load(event) {
  event?.preventDefault();
  const { start, end } = period();
  $("report-error").hidden = true;
  if (!start || !end) {
    $("report-error").textContent = "Choose the first and the last day of the period.";
    $("report-error").hidden = false;
    return;
  }
  csvLink();
  root.dataset.state = "loading";
  try {
    render(await getJson(root.dataset.reportUrl, { start, end }));
    root.dataset.state = "ready";
  } catch (error) {
    $("report-error").textContent = error.detail;
    $("report-error").hidden = false;
    root.dataset.state = "error";
  }
}

const today = new Date();
$("period-end").value = isoDay(today);
$("period-start").value = isoDay(new Date(today.getTime() - 29 * 86_400_000));
$("period-form").addEventListener("submit", load);
for (const id of ["period-start", "period-end"]) $(id).addEventListener("change", csvLink);
load();
