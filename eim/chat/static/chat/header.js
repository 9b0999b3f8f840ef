// The open conversation's header (title, topic, members, mute), the bell's state, why a
// conversation is read-only, and the unread totals in the tab title and the menu badge.
// app.js wires it in.

import { el } from "./render.js";
import { conversationLabel, lockIcon, partnerOf } from "./sidebar.js";

const $ = (id) => document.getElementById(id);

// parts: store, view (the page's shared state), sidebar, notifier.
export function conversationHeader(parts) {
  const { store, view, sidebar, notifier } = parts;

  function updateUnreadTotals() {
    const total = sidebar.totalUnread();
    document.title = total ? `(${total}) eim` : "eim";
    const badge = $("menu-badge");
    badge.hidden = total === 0;
    badge.textContent = total > 99 ? "99+" : String(total);
  }

  function renderHeader() {
    const conversation = store.conversations.get(view.activeId);
    if (!conversation) return;
    const title = $("conversation-title");
    const partner = partnerOf(conversation);
    title.replaceChildren();
    if (conversation.kind === "private") title.append(lockIcon());
    if (partner) {
      title.append(el("span", { class: "presence-dot", dataset: { status: store.presence.get(partner.id) || "offline" }, "aria-hidden": "true" }));
    }
    title.append(conversation.kind === "public" ? `#${conversation.name}` : conversation.name);
    const parts = [];
    if (readOnlyReason(conversation)) parts.push(readOnlyReason(conversation));
    if (partner) parts.push(presenceWords(store.presence.get(partner.id)));
    if (conversation.topic) parts.push(conversation.topic);
    $("conversation-topic").textContent = parts.join(" · ");
    const members = $("members-button");
    const count = conversation.memberCount;
    members.hidden = !count || conversation.kind === "direct";
    members.textContent = count === 1 ? "1 member" : `${count} members`;
    members.setAttribute("aria-label", `${members.textContent}: see who is in ${conversationLabel(conversation)}`);
    members.classList.toggle("after-text", parts.length > 0);
    $("channel-settings-button").hidden = !store.isChannel(conversation.id);
    const mute = $("mute-button");
    const muted = notifier.isMuted(conversation.id);
    mute.hidden = false;
    mute.setAttribute("aria-pressed", String(muted));
    const words = muted ? "Muted: unmute this conversation" : "Mute this conversation";
    mute.setAttribute("aria-label", words);
    mute.title = words;
  }

  // The account's notification and mute choices, wherever they were made.
  function showChoices() {
    showNotifyState();
    if (view.activeId !== null) renderHeader();
    sidebar.render();
    updateUnreadTotals();
  }

  // Notifications are the account's choice; showing them is each browser's permission.
  function showNotifyState() {
    const button = $("notify-button");
    button.setAttribute("aria-pressed", String(notifier.active));
    // A dot on the bell: on for the account, not yet allowed in this browser.
    button.classList.toggle("needs-permission", notifier.waitingForPermission);
    const words = notifier.active
      ? "Desktop notifications are on for your account (mentions and direct messages): turn off"
      : notifier.permission === "denied" && notifier.enabled
        ? "Desktop notifications are on for your account but blocked by this browser for this site"
        : notifier.waitingForPermission
          ? "Desktop notifications are on for your account: allow them in this browser"
          : "Turn on desktop notifications for mentions and direct messages (this browser will ask to allow them)";
    button.setAttribute("aria-label", words);
    button.title = words;
  }

  // Why nobody may write here, or null: an archived channel, or an information barrier
  // between people in it (docs/barriers.md).
  function readOnlyReason(conversation) {
    if (conversation.archived) return "Archived: read-only";
    if (conversation.barrier_read_only) return "Read-only: an information barrier applies";
    return null;
  }

  function readOnlyPlaceholder(conversation) {
    if (conversation.archived) return "This channel is archived and read-only";
    if (conversation.barrier_read_only) return "This conversation is read-only: an information barrier applies";
    return null;
  }

  function presenceWords(status) {
    return { online: "Active", away: "Away" }[status] || "Offline";
  }

  return {
    updateUnreadTotals,
    renderHeader,
    showChoices,
    showNotifyState,
    readOnlyReason,
    readOnlyPlaceholder,
  };
}
