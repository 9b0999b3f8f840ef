// A message box: Enter sends, Shift+Enter breaks the line, Up in an empty box edits your last
// message; typing notices at most every 3 s; attachments upload first, with progress. A send a
// content policy warns about is held in a notice (Send anyway / Edit message, Escape edits); a
// blocked one is refused there and its text put back in the box.

import { uploadAttachment } from "./api.js";
import { el, fileSize, findingLine } from "./render.js";
import { autosize } from "./timeline.js";

const TYPING_EVERY_MS = 3000;

export class Composer {
  // hooks: send({body, attachments}) → bool, typing(), editLast() → bool, conversation() → id
  constructor(form, { maxChars, maxBytes, hooks }) {
    this.form = form;
    this.maxChars = maxChars;
    this.maxBytes = maxBytes;
    this.hooks = hooks;
    this.input = form.querySelector('[data-role="input"]');
    this.label = form.querySelector('[data-role="label"]');
    this.sendButton = form.querySelector('[data-role="send"]');
    this.fileInput = form.querySelector('[data-role="file"]');
    this.uploadList = form.querySelector('[data-role="uploads"]');
    this.errorLine = form.querySelector('[data-role="error"]');
    this.notice = form.querySelector('[data-role="notice"]');
    this.held = null; // {body, attachments} of a warned send, until it is sent anyway or edited
    this.counter = form.querySelector('[data-role="counter"]');
    this.uploads = [];
    this.lastTypingAt = 0;
    this.bind();
  }

  bind() {
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.input.addEventListener("keydown", (event) => this.keydown(event));
    this.form.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.held !== null) {
        event.preventDefault();
        event.stopPropagation();
        this.editHeld();
      }
    });
    this.input.addEventListener("input", () => this.changed(true));
    this.form
      .querySelector('[data-role="attach"]')
      .addEventListener("click", () => this.fileInput.click());
    this.fileInput.addEventListener("change", () => {
      for (const file of this.fileInput.files) this.upload(file);
      this.fileInput.value = "";
    });
    this.input.addEventListener("paste", (event) => {
      const files = [...(event.clipboardData?.files || [])];
      if (!files.length) return;
      event.preventDefault();
      for (const file of files) this.upload(file);
    });
    this.form.addEventListener("dragover", (event) => {
      if (event.dataTransfer?.types.includes("Files")) event.preventDefault();
    });
    this.form.addEventListener("drop", (event) => {
      if (!event.dataTransfer?.files.length) return;
      event.preventDefault();
      for (const file of event.dataTransfer.files) this.upload(file);
    });
  }

  keydown(event) {
    if (event.isComposing) return;
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      this.submit();
    } else if (event.key === "ArrowUp" && !event.altKey && this.isEmpty()) {
      if (this.hooks.editLast()) event.preventDefault();
    }
  }

  isEmpty() {
    return this.input.value === "" && this.uploads.length === 0;
  }

  changed(byTyping) {
    autosize(this.input);
    const length = this.input.value.length;
    const near = length > this.maxChars * 0.9;
    this.counter.hidden = !near;
    this.counter.textContent = `${length.toLocaleString()} / ${this.maxChars.toLocaleString()}`;
    this.counter.classList.toggle("over", length > this.maxChars);
    this.sendButton.disabled =
      this.input.disabled || length > this.maxChars || (!this.input.value.trim() && !this.ready().length);
    this.sendButton.title = length > this.maxChars ? `At most ${this.maxChars.toLocaleString()} characters` : "";
    if (byTyping && this.input.value) {
      this.clearError();
      const now = Date.now();
      if (now - this.lastTypingAt >= TYPING_EVERY_MS) {
        this.lastTypingAt = now;
        this.hooks.typing();
      }
    }
  }

  ready() {
    return this.uploads.filter((u) => u.attachment);
  }

  submit() {
    const body = this.input.value;
    if (this.uploads.some((u) => !u.attachment && !u.failed)) {
      this.showError("Wait for the upload to finish, then send.");
      return;
    }
    if (body.length > this.maxChars) {
      this.showError(
        `A message is at most ${this.maxChars.toLocaleString()} characters (this one has ${body.length.toLocaleString()}).`,
      );
      return;
    }
    const attachments = this.ready().map((u) => u.attachment);
    if (!body.trim() && !attachments.length) return;
    if (!this.hooks.send({ body: body.trim() ? body : "", attachments })) return;
    if (this.held === null) this.clearNotice();
    this.input.value = "";
    this.uploads = [];
    this.uploadList.replaceChildren();
    this.lastTypingAt = 0;
    this.clearError();
    this.changed(false);
  }

  upload(file) {
    if (file.size > this.maxBytes) {
      this.showError(
        `${file.name} is ${fileSize(file.size)}; a file is at most ${fileSize(this.maxBytes)}.`,
      );
      return;
    }
    const progress = el("progress", { max: "100", value: "0", "aria-label": `Uploading ${file.name}` });
    const status = el("span", { class: "upload-status", text: "0%" });
    const { item, remove } = uploadItem(file.name, progress, status);
    const transfer = uploadAttachment(this.hooks.conversation(), file, (fraction) => {
      progress.value = Math.round(fraction * 100);
      status.textContent = `${Math.round(fraction * 100)}%`;
    });
    const upload = { file, item, transfer, attachment: null, failed: false };
    this.uploads.push(upload);
    this.uploadList.append(item);
    this.changed(false);
    remove.addEventListener("click", () => {
      transfer.abort();
      this.uploads = this.uploads.filter((u) => u !== upload);
      item.remove();
      this.changed(false);
      this.input.focus();
    });
    transfer.promise.then(
      (attachment) => {
        upload.attachment = attachment;
        progress.value = 100;
        status.textContent = fileSize(attachment.size);
        item.classList.add("done");
        this.changed(false);
      },
      (error) => {
        if (error.code === "aborted") return;
        upload.failed = true;
        item.classList.add("failed");
        status.textContent = "Failed";
        this.showError(`${file.name}: ${error.detail}`);
        this.changed(false);
      },
    );
  }

  showError(detail) {
    this.errorLine.textContent = detail;
    this.errorLine.hidden = false;
  }

  clearError() {
    this.errorLine.hidden = true;
    this.errorLine.textContent = "";
  }

  // A content policy warns: hold the message in a notice until Send anyway or Edit message.
  showWarning({ body, attachments = [], findings, sendAnyway }) {
    this.clearError();
    this.held = { body, attachments };
    const send = el("button", { type: "button", class: "button-primary", text: "Send anyway" });
    const edit = el("button", { type: "button", class: "button-quiet", text: "Edit message" });
    send.addEventListener("click", () => {
      this.held = null;
      this.clearNotice();
      sendAnyway();
      this.input.focus();
    });
    edit.addEventListener("click", () => this.editHeld());
    const hint = "Nothing has been sent yet. Send it anyway, or edit it (Esc).";
    this.fillNotice("warn", "Check before sending", body, findings, [edit, send], hint);
    edit.focus();
  }

  // A content policy blocks: nothing was delivered; the text and files go back in the box.
  showRefusal({ body, attachments = [], findings }) {
    this.clearError();
    this.held = null;
    const hint = attachments.length
      ? "Nothing was delivered. The text and the files are back in the box to edit."
      : "Nothing was delivered. The text is back in the box to edit.";
    this.fillNotice("block", "Not sent", body, findings, [], hint);
    this.restore(body, attachments);
  }

  fillNotice(kind, title, body, findings, buttons, hint) {
    const lines = findings.map((finding) => findingLine(kind, finding, body));
    lines.push(el("p", { class: "notice-hint", text: hint }));
    const actions = buttons.length ? el("div", { class: "notice-actions" }, ...buttons) : "";
    this.notice.replaceChildren(el("p", { class: "notice-title", text: title }), ...lines, actions);
    this.notice.className = `composer-notice ${kind}`;
    this.notice.hidden = false;
  }

  editHeld() {
    const held = this.held;
    this.held = null;
    this.clearNotice();
    if (held !== null) this.restore(held.body, held.attachments);
  }

  // Put a returned message back in the box: its text before anything typed since, and its
  // files (already uploaded: they are not sent again) before any added since.
  restore(body, attachments = []) {
    this.input.value = this.input.value ? `${body}\n${this.input.value}` : body;
    const have = new Set(this.uploads.map((u) => u.attachment?.id));
    const returned = attachments.filter((a) => !have.has(a.id)).map((a) => this.uploaded(a));
    this.uploads = [...returned, ...this.uploads];
    this.uploadList.prepend(...returned.map((u) => u.item));
    this.changed(false);
    this.input.focus();
    this.input.setSelectionRange(body.length, body.length);
  }

  // An attachment already on the server, shown as a finished upload that can be removed.
  uploaded(attachment) {
    const status = el("span", { class: "upload-status", text: fileSize(attachment.size) });
    const { item, remove } = uploadItem(attachment.filename, status);
    item.classList.add("done");
    const upload = { file: null, item, transfer: { abort() {} }, attachment, failed: false };
    remove.addEventListener("click", () => {
      this.uploads = this.uploads.filter((u) => u !== upload);
      item.remove();
      this.changed(false);
      this.input.focus();
    });
    return upload;
  }

  clearNotice() {
    this.notice.hidden = true;
    this.notice.replaceChildren();
  }

  // Point the composer at another conversation; returns the draft left behind.
  retarget({ label, placeholder, draft = "", enabled = true }) {
    if (this.held !== null) this.editHeld(); // a held warning becomes the draft left behind
    this.clearNotice();
    const left = this.input.value;
    for (const upload of this.uploads) upload.transfer.abort();
    this.uploads = [];
    this.uploadList.replaceChildren();
    this.label.textContent = label;
    this.input.placeholder = placeholder;
    this.input.value = draft;
    this.input.disabled = !enabled;
    this.form.querySelector('[data-role="attach"]').disabled = !enabled;
    this.form.querySelector('[data-role="emoji"]').disabled = !enabled;
    this.clearError();
    this.changed(false);
    return left;
  }

  focus() {
    this.input.focus();
  }

  // Focus the box once something slow (a history load) is done, unless the person has put
  // the focus elsewhere since it began (in the box, on a warning's buttons): never take it.
  focusAfterLoad(focusedBefore) {
    const now = document.activeElement;
    if (now === focusedBefore || now === document.body || now === null) this.input.focus();
  }

  // Put text where the caret is (an emoji from the picker).
  insert(text) {
    const { selectionStart: start, selectionEnd: end, value } = this.input;
    this.input.value = value.slice(0, start) + text + value.slice(end);
    this.input.setSelectionRange(start + text.length, start + text.length);
    this.input.focus();
    this.changed(true);
  }
}

// One file in the list under the box: its name, what is known of it, and a remove button.
function uploadItem(name, ...parts) {
  const remove = el("button", {
    type: "button",
    class: "icon-button upload-remove",
    "aria-label": `Remove ${name}`,
    text: "×",
  });
  const item = el("li", { class: "upload" }, el("span", { class: "upload-name", text: name }), ...parts, remove);
  return { item, remove };
}
