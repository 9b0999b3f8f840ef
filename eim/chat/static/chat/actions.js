// What a click on a message does: reactions (toggle, pick), reply in thread, edit in place,
// delete after confirming, retry or discard a failed send, and #channel links.

import { confirmDelete } from "./dialogs.js";

export class MessageActions {
  // panes: [{timeline, composer, conversation: () => id}] (the conversation, the thread);
  // socket is set once it exists; openConversation(id, options), openThread(id, root, opener)
  constructor({ store, picker, confirmDialog, panes, openConversation, openThread }) {
    Object.assign(this, { store, picker, confirmDialog, panes, openConversation, openThread });
    this.socket = null;
    for (const pane of panes) {
      pane.timeline.list.addEventListener("click", (event) => this.click(event, pane));
    }
  }

  // Up in an empty box: edit your last message there.
  editLast(pane, thread) {
    const message = this.store.lastOwnMessage(pane.conversation(), { thread });
    if (!message) return false;
    this.startEdit(pane, message);
    return true;
  }

  startEdit(pane, message) {
    const { timeline, composer } = pane;
    for (const other of this.panes) other.timeline.stopEdit();
    const done = () => {
      timeline.stopEdit();
      composer.focus();
    };
    // A content policy may warn (Send anyway resends the edit with the warnings' tokens, as a
    // new message does) or block (the editor stays open with the text).
    const save = async (body, confirm = []) => {
      if (body === message.body) return done();
      const frame = { type: "message.edit", message: message.id, body };
      if (confirm.length) frame.confirm_warnings = confirm;
      try {
        await this.socket.request(frame);
        done();
      } catch (error) {
        const findings = error.findings || [];
        if (error.code === "warning_unconfirmed") {
          const tokens = findings.filter((f) => f.action === "warn").map((f) => f.token);
          const confirmed = [...new Set([...confirm, ...tokens])];
          timeline.editWarning({ body, findings, sendAnyway: () => save(body, confirmed) });
        } else if (error.code === "message_blocked") {
          timeline.editRefusal({ body, findings });
        } else {
          timeline.editError(error.detail);
        }
      }
      return undefined;
    };
    timeline.startEdit(message, { onCancel: done, onSave: (body) => save(body) });
  }

  async click(event, pane) {
    const channelLink = event.target.closest("a[data-action='open-channel']");
    if (channelLink) {
      event.preventDefault();
      this.openConversation(Number(channelLink.dataset.conversation), { focus: true });
      return;
    }
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const item = button.closest("li.message");
    const action = button.dataset.action;
    if (action === "retry-send" || action === "discard-send") {
      this.settleFailed(item, action);
      return;
    }
    const message = this.store.message(pane.conversation(), Number(item.dataset.messageId));
    if (!message) return;
    try {
      await this.run(action, button, message, pane);
    } catch (error) {
      pane.composer.showError(error.detail || String(error));
    }
  }

  settleFailed(item, action) {
    const pending = this.store.pending.get(item.dataset.clientId);
    if (!pending) return;
    if (action === "discard-send") this.store.settlePending(pending.client_id, null);
    else {
      pending.state = "sending";
      this.store.addPending(pending);
    }
  }

  async run(action, button, message, pane) {
    const mine = (emoji) => message.reactions.find((r) => r.emoji === emoji)?.users.includes(this.store.me.id);
    if (action === "toggle-reaction") {
      await this.react(message, button.dataset.emoji, !mine(button.dataset.emoji));
    } else if (action === "pick-reaction") {
      this.picker.open(button, (emoji) => {
        if (!mine(emoji)) this.react(message, emoji, true).catch((error) => pane.composer.showError(error.detail));
      });
    } else if (action === "open-thread") {
      this.openThread(pane.conversation(), message.id, button);
    } else if (action === "edit") {
      this.startEdit(pane, message);
    } else if (action === "delete" && (await confirmDelete(this.confirmDialog))) {
      await this.socket.request({ type: "message.delete", message: message.id });
    }
  }

  react(message, emoji, add) {
    return this.socket.request({ type: add ? "reaction.add" : "reaction.remove", message: message.id, emoji });
  }
}
