// The conversation list: channels (# public, lock private), then direct messages with presence.

import { CHANNEL_KINDS } from "./store.js";
import { el } from "./render.js";

const LOCK_PATH = "M6 9V7a4 4 0 018 0v2M5 9h10v8H5z";

export function lockIcon() {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 20 20");
  svg.setAttribute("aria-hidden", "true");
  svg.classList.add("lock");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", LOCK_PATH);
  svg.append(path);
  return svg;
}

export function conversationLabel(conversation) {
  if (conversation.kind === "public") return `#${conversation.name}`;
  if (conversation.kind === "private") return `${conversation.name} (private)`;
  return conversation.name;
}

// The presence shown for a direct conversation: its partner's (group DMs show none).
export function partnerOf(conversation) {
  return conversation.kind === "direct" && conversation.people?.length === 1
    ? conversation.people[0]
    : null;
}

const byName = (a, b) => a.name.localeCompare(b.name);

export class Sidebar {
  constructor({ store, channelList, dmList, channelsEmpty, dmsEmpty, onOpen, isMuted = () => false }) {
    this.store = store;
    this.isMuted = isMuted;
    this.channelList = channelList;
    this.dmList = dmList;
    this.channelsEmpty = channelsEmpty;
    this.dmsEmpty = dmsEmpty;
    this.activeId = null;
    for (const list of [channelList, dmList]) {
      list.addEventListener("click", (event) => {
        const link = event.target.closest("a[data-conversation]");
        if (!link) return;
        event.preventDefault();
        onOpen(Number(link.dataset.conversation));
      });
    }
  }

  // Conversations in the order the sidebar shows them (for Alt+Up / Alt+Down).
  ordered() {
    const all = [...this.store.conversations.values()];
    const channels = all.filter((c) => CHANNEL_KINDS.has(c.kind)).sort(byName);
    const direct = all.filter((c) => !CHANNEL_KINDS.has(c.kind)).sort(byName);
    return { channels, direct, all: [...channels, ...direct] };
  }

  render() {
    const { channels, direct } = this.ordered();
    this.channelList.replaceChildren(...channels.map((c) => this.item(c)));
    this.dmList.replaceChildren(...direct.map((c) => this.item(c)));
    this.channelsEmpty.hidden = channels.length > 0;
    this.dmsEmpty.hidden = direct.length > 0;
  }

  item(conversation) {
    const active = conversation.id === this.activeId;
    const muted = this.isMuted(conversation.id);
    const mentions = active ? 0 : conversation.unread_mentions || 0;
    // A muted conversation counts only what mentions you.
    const unread = active || (muted && !mentions) ? 0 : conversation.unread || 0;
    const link = el("a", {
      href: `#/c/${conversation.id}`,
      class: `conversation-link${unread || mentions ? " unread" : ""}${muted ? " muted" : ""}`,
      "aria-current": active ? "page" : null,
      dataset: { conversation: conversation.id },
    });
    link.append(this.marker(conversation));
    link.append(el("span", { class: "conversation-name", text: conversation.name }));
    const described = [];
    if (conversation.kind === "private") described.push("private channel");
    const partner = partnerOf(conversation);
    if (partner) described.push(this.store.presence.get(partner.id) || "offline");
    // A mention in a thread reply counts though the reply is not an unread message itself.
    if (unread || mentions) {
      // Mentions, and every message of a direct conversation, are for you: a strong badge
      // with "@" for mentions; other unread messages in channels get a quiet one.
      const forMe = mentions > 0 || !CHANNEL_KINDS.has(conversation.kind);
      const shown = mentions || unread;
      const text = `${mentions ? "@" : ""}${shown > 99 ? "99+" : shown}`;
      link.append(el("span", { class: `badge${forMe ? " badge-strong" : ""}`, text }));
      if (unread) described.push(`${unread} unread`);
      if (mentions) described.push(mentions === 1 ? "1 mention" : `${mentions} mentions`);
    }
    if (conversation.archived) described.push("archived");
    if (muted) described.push("muted");
    if (described.length) {
      link.append(el("span", { class: "visually-hidden", text: `, ${described.join(", ")}` }));
    }
    return el("li", {}, link);
  }

  marker(conversation) {
    if (conversation.kind === "public") return el("span", { class: "marker", "aria-hidden": "true", text: "#" });
    if (conversation.kind === "private") return el("span", { class: "marker" }, lockIcon());
    const partner = partnerOf(conversation);
    const status = partner ? this.store.presence.get(partner.id) || "offline" : "group";
    return el("span", {
      class: "marker presence-dot",
      "aria-hidden": "true",
      dataset: { status, user: partner?.id ?? "" },
    });
  }

  setActive(id) {
    this.activeId = id;
    this.render();
  }

  totalUnread() {
    let total = 0;
    for (const conversation of this.store.conversations.values()) {
      if (conversation.id === this.activeId) continue;
      const mentions = conversation.unread_mentions || 0;
      total += this.isMuted(conversation.id) ? mentions : Math.max(conversation.unread || 0, mentions);
    }
    return total;
  }
}
