// The workspace navigation's unread count of review notifications (a policy's notify action).
// Read when the page opens and every minute; the notifications page updates it as it marks.

import { getJson } from "./api.js";

const nav = document.getElementById("ws-nav");
const badge = document.getElementById("nav-unread");

export function showUnread(count) {
  badge.hidden = !count;
  badge.textContent = count > 99 ? "99+" : String(count);
  document.getElementById("nav-notifications").setAttribute(
    "aria-label",
    count ? `Notifications, ${count} unread` : "Notifications",
  );
}

async function refresh() {
  try {
    const page = await getJson(nav.dataset.notificationsUrl, { unread: "true", limit: 1 });
    showUnread(page.unread);
  } catch {
    // The count waits for the next minute; the list itself is one click away.
  }
}

refresh();
setInterval(refresh, 60_000);
