// Notices from compliance (a content policy's notify action, docs/chat.md "Notices"): shown
// under the header until dismissed. They arrive live as `notice.new` frames and are read
// from the API at every (re)connection, so one written while this page was closed shows too.
// Text goes in through text nodes only: the matched span is the sender's own words.

import { api } from "./api.js";
import { el } from "./render.js";

const SOURCES = {
  message: "Your message",
  attachment: "An attachment you sent",
  blocked: "A message you tried to send",
};

export class PolicyNotices {
  // hooks: where({id}) → the conversation's label, onReveal(conversationId, messageId)
  constructor(root, hooks) {
    this.root = root;
    this.hooks = hooks;
    this.shown = new Map(); // notice id -> its element
  }

  async refresh() {
    try {
      const { notices } = await api.notices();
      for (const notice of notices.reverse()) this.show(notice);
    } catch {
      // Shown at the next connection; nothing here is lost by waiting.
    }
  }

  show(notice) {
    if (this.shown.has(notice.id)) return;
    const quoted = notice.spans.map((span) => `“${span}”`).join(", ");
    const where = notice.conversation ? ` in ${this.hooks.where({ id: notice.conversation })}` : "";
    const dismiss = el("button", { type: "button", class: "button-secondary" }, "Dismiss");
    const reveal = this.revealButton(notice);
    const node = el(
      "div",
      { class: "policy-notice", role: "status", "data-notice": String(notice.id) },
      el("p", { class: "notice-title" }, "Compliance notice"),
      el(
        "p",
        {},
        `${SOURCES[notice.source] || "Your message"}${where} matched the policy “${notice.policy}”` +
          (quoted ? `: ${quoted}.` : "."),
      ),
      el("p", { class: "notice-hint" }, "Your compliance team may review it. Nothing else is needed from you."),
      el("div", { class: "notice-actions" }, reveal, dismiss),
    );
    dismiss.addEventListener("click", () => this.dismiss(notice.id));
    this.shown.set(notice.id, node);
    this.root.prepend(node);
    this.root.hidden = false;
  }

  // "Show message" for a message that was sent (a blocked attempt has none to show).
  revealButton(notice) {
    if (!notice.conversation || !notice.message) return "";
    const button = el("button", { type: "button", class: "button-secondary" }, "Show message");
    button.addEventListener("click", () => this.hooks.onReveal(notice.conversation, notice.message));
    return button;
  }

  async dismiss(id) {
    const node = this.shown.get(id);
    try {
      await api.dismissNotices([id]);
    } catch {
      return; // it stays; the button works again once the server answers
    }
    node?.remove();
    this.shown.delete(id);
    this.root.hidden = this.shown.size === 0;
  }
}
