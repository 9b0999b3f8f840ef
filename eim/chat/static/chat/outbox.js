// Sending: a message is shown at once as pending, sent with a fresh client_id, and sent again
// with the same client_id after every resync until its ack (or its own message.new) settles
// it; the server answers a repeat with the first message. Refusals go to the right box: a
// content policy's warning is held there until the sender sends anyway (the same client_id,
// with confirm_warnings) or edits; a block puts the text back in the box (docs/ui.md).

export class Outbox {
  // socket: send(frame); errorsFor(pending) → the composer that shows its errors
  constructor({ store, errorsFor }) {
    this.store = store;
    this.errorsFor = errorsFor;
    this.socket = null; // set once the socket exists (it is built after the composers)
  }

  // Returns false when nothing can be sent there (unknown, archived, or read-only under an
  // information barrier).
  send(conversationId, parent, body, attachments) {
    const conversation = this.store.conversations.get(conversationId);
    if (!conversation || conversation.archived || conversation.barrier_read_only) return false;
    this.store.addPending({
      client_id: crypto.randomUUID(),
      conversation: conversationId,
      parent,
      body,
      attachments,
      created: Date.now(),
      state: "sending",
    });
    return true;
  }

  transmit(pending) {
    this.socket?.send({
      type: "message.send",
      conversation: pending.conversation,
      body: pending.body,
      client_id: pending.client_id,
      parent: pending.parent,
      attachments: pending.attachments.map((a) => a.id),
      ...(pending.confirm ? { confirm_warnings: pending.confirm } : {}),
    });
  }

  // After every (re)connect: everything not yet acknowledged goes again.
  flush() {
    for (const pending of this.store.pending.values()) {
      if (pending.state === "sending") this.transmit(pending);
    }
  }

  // An error frame answering one of our sends.
  failed(frame) {
    const pending = this.store.pending.get(frame.client_id);
    if (!pending) return;
    const target = this.errorsFor(pending);
    if (frame.code === "rate_limited") {
      const seconds = Math.max(1, Math.ceil(frame.retry_after || 1));
      target.showError(`${frame.detail} Sending again in ${seconds} s.`);
      setTimeout(() => this.store.pending.has(pending.client_id) && this.transmit(pending), seconds * 1000);
      return;
    }
    if (frame.code === "warning_unconfirmed" || frame.code === "message_blocked") {
      if (this.refused(pending, frame, target)) return;
    }
    target.showError(frame.detail);
    this.store.failPending(frame.client_id, frame);
  }

  // A content policy stopped the send: nothing was delivered, so the pending bubble goes and
  // the composer takes over. False when that composer now shows another conversation.
  refused(pending, frame, target) {
    if (target.hooks.conversation() !== pending.conversation) return false;
    this.store.settlePending(pending.client_id, null);
    const findings = frame.findings || [];
    if (frame.code === "message_blocked") {
      target.showRefusal({ body: pending.body, attachments: pending.attachments, findings });
      return true;
    }
    target.showWarning({
      body: pending.body,
      attachments: pending.attachments,
      findings,
      sendAnyway: () => {
        const tokens = findings.filter((f) => f.action === "warn").map((f) => f.token);
        const confirm = [...new Set([...(pending.confirm || []), ...tokens])];
        this.store.addPending({ ...pending, confirm, state: "sending", created: Date.now() });
      },
    });
    return true;
  }
}
