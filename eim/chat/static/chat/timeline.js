// One scrolling list of messages (the conversation pane or the thread panel): keeps messages in
// seq order, pending sends at the end, sticks to the bottom while the reader is there, and keeps
// the reader's place when older history is put above.

import { dayKey, dayLabel, el, findingLine, messageElement, pendingElement } from "./render.js";

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
    // The "New messages" line goes above the first message after this seq (null: no line).
    this.unreadAfter = null;
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
    if (!this.scrollToUnread()) this.scrollToBottom();
  }

  firstUnreadNode() {
    return this.list.querySelector("li.first-unread");
  }

  // Put the first unread message near the top of the pane, the line above it in view.
  scrollToUnread() {
    const node = this.firstUnreadNode();
    if (!node) return false;
    const offset = node.getBoundingClientRect().top - this.scroller.getBoundingClientRect().top;
    this.scroller.scrollTop = Math.max(0, this.scroller.scrollTop + offset - 24);
    this.stuck = this.atBottom;
    return true;
  }

  setUnreadAfter(seq) {
    this.unreadAfter = seq;
    this.regroup(this.list.firstElementChild, null);
  }

  // Highlight one message for a while (a search hit, a link to it) and bring it into view.
  highlight(id) {
    const node = this.nodeFor(id);
    if (!node) return false;
    for (const other of this.list.querySelectorAll("li.highlighted")) other.classList.remove("highlighted");
    node.classList.add("highlighted");
    node.scrollIntoView({ block: "center" });
    this.stuck = this.atBottom;
    setTimeout(() => node.classList.remove("highlighted"), 4000);
    return true;
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

  // Consecutive messages of one author within a few minutes share one header; a new day
  // starts with its date, and the first unread message with the "New messages" line.
  // Regroups the nodes from `first` through `last` (to the end when `last` is null).
  regroup(first, last) {
    for (let node = first; node; node = node.nextElementSibling) {
      const previous = node.previousElementSibling;
      const newDay = !previous || dayKey(Number(previous.dataset.time)) !== dayKey(Number(node.dataset.time));
      const firstUnread = this.isFirstUnread(node, previous);
      decorate(node, "day-separator", newDay ? dayLabel(Number(node.dataset.time)) : null);
      decorate(node, "unread-line", firstUnread ? "New messages" : null);
      node.classList.toggle("new-day", newDay);
      node.classList.toggle("first-unread", firstUnread);
      const continued =
        previous &&
        !newDay &&
        !firstUnread &&
        !node.classList.contains("thread-root") &&
        !previous.classList.contains("thread-root") &&
        previous.dataset.author === node.dataset.author &&
        Number(node.dataset.time) - Number(previous.dataset.time) < GROUP_WINDOW_MS;
      node.classList.toggle("continued", Boolean(continued));
      if (node === last) break;
    }
  }

  isFirstUnread(node, previous) {
    if (this.unreadAfter === null || !node.dataset.seq) return false;
    const after = (n) => n && n.dataset.seq && Number(n.dataset.seq) > this.unreadAfter;
    const fromOther = (n) => Number(n.dataset.author) !== this.context().me.id;
    if (!after(node) || !fromOther(node)) return false;
    // The first message after the read mark from someone else: nothing such above it.
    for (let n = previous; n; n = n.previousElementSibling) {
      if (after(n) && fromOther(n)) return false;
      if (n.dataset.seq && !after(n)) break;
    }
    return true;
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
    const notice = el("div", { class: "composer-notice", role: "alert", hidden: true });
    const hint = el("p", { class: "edit-hint", text: "Escape to cancel · Enter to save" });
    const editor = el("div", { class: "message-body editor" }, input, error, notice, hint);
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
    input.addEventListener("input", () => {
      autosize(input);
      this.clearEditNotice(); // the warning was about the text as it was
    });
    notice.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        this.keepEditing();
      }
    });
    this.editing = { id: message.id, editor, input, error, notice };
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
    this.clearEditNotice();
    this.editing.error.textContent = detail;
    this.editing.error.hidden = false;
  }

  // A content policy warns about the edited text: Keep editing (focused first; Esc) or Send
  // anyway (the same edit, confirmed). Nothing is saved until then.
  editWarning({ body, findings, sendAnyway }) {
    if (!this.editing) return;
    const keep = el("button", { type: "button", class: "button-quiet", text: "Keep editing" });
    const send = el("button", { type: "button", class: "button-primary", text: "Send anyway" });
    keep.addEventListener("click", () => this.keepEditing());
    send.addEventListener("click", () => {
      this.clearEditNotice();
      sendAnyway();
    });
    const hint = "The edit is not saved yet. Send it anyway, or keep editing (Esc).";
    this.fillEditNotice("warn", "Check before sending", body, findings, hint, [keep, send]);
    keep.focus();
  }

  // A content policy blocks the edited text: nothing changed; the editor stays open.
  editRefusal({ body, findings }) {
    if (!this.editing) return;
    const hint = "The message keeps its earlier text. Change the edit, or press Escape to cancel.";
    this.fillEditNotice("block", "Not saved", body, findings, hint, []);
    this.editing.input.focus();
  }

  fillEditNotice(kind, title, body, findings, hint, buttons) {
    const { notice, error } = this.editing;
    error.hidden = true;
    const lines = findings.map((finding) => findingLine(kind, finding, body));
    const actions = buttons.length ? el("div", { class: "notice-actions" }, ...buttons) : "";
    notice.replaceChildren(
      el("p", { class: "notice-title", text: title }),
      ...lines,
      el("p", { class: "notice-hint", text: hint }),
      actions,
    );
    notice.className = `composer-notice ${kind}`;
    notice.hidden = false;
  }

  keepEditing() {
    if (!this.editing) return;
    this.clearEditNotice();
    this.editing.input.focus();
  }

  clearEditNotice() {
    if (!this.editing || this.editing.notice.hidden) return;
    this.editing.notice.hidden = true;
    this.editing.notice.replaceChildren();
  }

  // Close the editor and redraw the message as the store has it.
  stopEdit() {
    if (!this.editing) return;
    const message = this.lookup(this.editing.id);
    this.editing = null;
    if (message) this.upsert(message);
  }
}

// A line inside a message's item (its day, "New messages"), added, relabelled or removed.
function decorate(node, className, label) {
  let line = node.querySelector(`:scope > .${className}`);
  if (!label) {
    line?.remove();
    return;
  }
  if (!line) {
    line = el("div", { class: className }, el("span"));
    const before = node.querySelector(":scope > .day-separator");
    if (className === "unread-line" && before) before.after(line);
    else node.prepend(line);
  }
  line.firstChild.textContent = label;
}

export function autosize(textarea) {
  textarea.style.height = "auto";
  textarea.style.height = `${Math.min(textarea.scrollHeight, 240)}px`;
}
