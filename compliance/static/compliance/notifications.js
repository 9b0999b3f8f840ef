// The officer's review notifications: newest first, unread ones marked; opening one marks it
// read and goes to its item in the review queue (where opening it is audited as a view).

import { getJson, sendJson } from "./api.js";
import { showUnread } from "./nav.js";
import { el, timeEl } from "./render.js";

const $ = (id) => document.getElementById(id);
const root = $("notifications");
const SOURCES = { message: "a message", attachment: "an attachment", blocked: "a blocked attempt" };

function row(n) {
  const open = el(
    "a",
    { href: `${root.dataset.reviewUrl}#item-${n.item}`, class: "notification-open", dataset: { id: String(n.id) } },
    `Policy “${n.policy}” (version ${n.policy_version}) raised item ${n.item}, from ${SOURCES[n.source] || "a message"}`,
  );
  return el(
    "li",
    { class: n.read ? "notification" : "notification unread", dataset: { id: String(n.id) } },
    n.read ? null : el("span", { class: "badge badge-policy" }, "Unread"),
    open,
    el("span", { class: "meta" }, "Written ", timeEl(n.occurred_at), " · notified ", timeEl(n.created_at)),
  );
}

async function load() {
  try {
    const page = await getJson(root.dataset.listUrl, { limit: 200 });
    $("notification-list").replaceChildren(...page.notifications.map(row));
    $("notifications-empty").hidden = page.notifications.length > 0;
    $("unread-summary").textContent = page.unread ? `${page.unread} unread` : "All read";
    $("mark-all").disabled = page.unread === 0;
    showUnread(page.unread);
    $("notifications-error").hidden = true;
  } catch (error) {
    $("notifications-error").textContent = error.detail;
    $("notifications-error").hidden = false;
  }
  root.dataset.state = "ready";
}

async function mark(body) {
  try {
    await sendJson(root.dataset.readUrl, body);
  } catch (error) {
    $("notifications-error").textContent = error.detail;
    $("notifications-error").hidden = false;
    return false;
  }
  return true;
}

$("mark-all").addEventListener("click", async () => {
  if (await mark({ all: true })) load();
});
$("notification-list").addEventListener("click", async (event) => {
  const link = event.target.closest("a.notification-open");
  if (!link) return;
  event.preventDefault();
  await mark({ ids: [Number(link.dataset.id)] });
  location.assign(link.href);
});
load();
