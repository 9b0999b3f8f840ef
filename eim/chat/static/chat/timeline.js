// One scrolling list of messages (the conversation pane or the thread panel): keeps messages in
// seq order, pending sends at the end, sticks to the bottom while the reader is there, and keeps
// the reader's place when older history is put above.

import { el, messageElement, pendingElement } from "./render.js";

const STICK_PX = 48;
const GROUP_WINDOW_MS = 5 * 60 * 1000;

export class Timeline {
  constructor({ list, scroller, context, lookup, onNewBelow }) {
    this.list = list;
    this.scroller = scroller;
    this.context = context; // () => render ctx
    this.lookup = lookup; // id => the message as the store has it now
    this.onNewBelow = onNewBelow || (() => {});
    this.editing = null; // {id, editor}
    // Whether the reader is at the bottom; an image that loads later must not push them up.
    this.stuck = true;
    scroller.addEventListener("scroll", () => {
      this.stuck = this.atBottom;
    });
    list.addEventListener(
      "load",
      (event) => {
        if (event.target.tagName === "IMG" && this.stuck) this.scrollToBottom();
      },
      true,
    );
  }

  clear() {
    this.list.replaceChildren();
    this.editing = null;
  }

  get atBottom() {
    const { scrollTop, scrollHeight, clientHeight } = this.scroller;
    return scrollHeight - scrollTop - clientHeight < STICK_PX;
  }

  scrollToBottom() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
    this.stuck = true;
  }

  nodeFor(id) {
    return this.list.querySelector(`li[data-message-id="${id}"]`);
  }

  pendingNode(clientId) {
    return this.list.querySelector(`li[data-client-id="${CSS.escape(clientId)}"]`);
  }

  render(message) {
    const ctx = this.context();
    const node = messageElement(message, { ...ctx, isRoot: ctx.rootId === message.id });
    if (this.editing?.id === message.id) {
      node.querySelector(".message-body")?.replaceWith(this.editing.editor);
      node.classList.add("editing");
    }
    return node;
  }

  setMessages(messages, pending = []) {
    this.clear();
    const fragment = document.createDocumentFragment();
    for (const message of messages) fragment.append(this.render(message));
    const ctx = this.context();
    for (const item of pending) fragment.append(pendingElement(item, ctx));
    this.list.append(fragment);
    this.regroup(this.list.firstElementChild, null);
    this.scrollToBottom();
  }

  // Older messages above what is shown, keeping what the reader looks at in place.
  prepend(messages) {
    const before = this.scroller.scrollHeight - this.scroller.scrollTop;
    const fragment = document.createDocumentFragment();
    const fresh = messages.filter((m) => !this.nodeFor(m.id));
    for (const message of fresh) fragment.append(this.render(message));
    const first = this.list.firstElementChild;
    this.list.insertBefore(fragment, first);
    this.regroup(this.list.firstElementChild, first);
    this.scroller.scrollTop = this.scroller.scrollHeight - before;
  }

  // Insert or redraw one message, keeping the focus where it was.
  upsert(message) {
    const stick = this.atBottom;
    const existing = this.nodeFor(message.id);
    const node = this.render(message);
    if (existing) {
      const focusKey = existing.contains(document.activeElement)
        ? document.activeElement.dataset.focusKey
        : null;
      existing.replaceWith(node);
      if (focusKey) node.querySelector(`[data-focus-key="${CSS.escape(focusKey)}"]`)?.focus();
      this.regroup(node, node.nextElementSibling);
      if (stick) this.scrollToBottom();
      return;
    }
    this.insertInOrder(node, message.seq);
    this.regroup(node, node.nextElementSibling);
    if (stick || message.author.id === this.context().me.id) this.scrollToBottom();
    else if (!node.nextElementSibling) this.onNewBelow(message);
  }

  insertInOrder(node, seq) {
    let after = null;
    for (const child of this.list.children) {
      if (child.dataset.clientId || Number(child.dataset.seq) > seq) {
        after = child;
        break;
      }
    }
    this.list.insertBefore(node, after);
  }

  remove(id) {
    const node = this.nodeFor(id);
    if (!node) return;
    const next = node.nextElementSibling;
    node.remove();
    this.regroup(next, next);
  }

  upsertPending(pending) {
    const node = pendingElement(pending, this.context());
    const existing = this.pendingNode(pending.client_id);
    if (existing) existing.replaceWith(node);
    else {
      this.list.append(node);
      this.scrollToBottom();
    }
    this.regroup(node, node);
  }

  removePending(clientId) {
    this.pendingNode(clientId)?.remove();
  }

  // Consecutive messages of one author within a few minutes share one header. Regroups the
  // nodes from `first` through `last` (to the end when `last` is null).
  regroup(first, last) {
    for (let node = first; node; node = node.nextElementSibling) {
      const previous = node.previousElementSibling;
      const continued =
        previous &&
        !node.classList.contains("thread-root") &&
        !previous.classList.contains("thread-root") &&
        previous.dataset.author === node.dataset.author &&
        Number(node.dataset.time) - Number(previous.dataset.time) < GROUP_WINDOW_MS;
      node.classList.toggle("continued", Boolean(continued));
      if (node === last) break;
    }
  }

  // ----- editing a message in place

  startEdit(message, { onSave, onCancel }) {
    this.stopEdit();
    const input = el("textarea", {
      class: "edit-input",
      rows: "1",
      "aria-label": "Edit message",
    });
    input.value = message.body;
    const error = el("p", { class: "edit-error", role: "alert", hidden: true });
    const hint = el("p", { class: "edit-hint", text: "Escape to cancel · Enter to save" });
    const editor = el("div", { class: "message-body editor" }, input, error, hint);
    input.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        onCancel();
      } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        onSave(input.value);
      }
    });
    input.addEventListener("input", () => autosize(input));
    this.editing = { id: message.id, editor, input, error };
    const node = this.nodeFor(message.id);
    if (node) {
      node.querySelector(".message-body")?.replaceWith(editor);
      node.classList.add("editing");
    }
    autosize(input);
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
    if (this.atBottom || node === this.list.lastElementChild) node?.scrollIntoView({ block: "nearest" });
  }

  editError(detail) {
    if (!this.editing) return;
    this.editing.error.textContent = detail;
    this.editing.error.hidden = false;
  }

  // Close the editor and redraw the message as the store has it.
  stopEdit() {
    if (!this.editing) return;
    const message = this.lookup(this.editing.id);
    this.editing = null;
    if (message) this.upsert(message);
  }
}

export function autosize(textarea) {
  textarea.style.height = "auto";
  textarea.style.height = `${Math.min(textarea.scrollHeight, 240)}px`;
}
