// The add-reaction popover: a small fixed set of emoji, keyboard-friendly.

import { REACTION_EMOJI, el } from "./render.js";

export class EmojiPicker {
  constructor() {
    this.node = el("div", {
      class: "emoji-picker",
      role: "dialog",
      "aria-label": "Add a reaction",
      hidden: true,
    });
    for (const [emoji, name] of REACTION_EMOJI) {
      this.node.append(
        el("button", { type: "button", class: "emoji", "aria-label": `React with ${name}`, title: name, text: emoji, dataset: { emoji } }),
      );
    }
    document.body.append(this.node);
    this.opener = null;
    this.onPick = null;
    this.node.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-emoji]");
      if (!button) return;
      const pick = this.onPick;
      this.close();
      pick(button.dataset.emoji);
    });
    this.node.addEventListener("keydown", (event) => this.keydown(event));
    document.addEventListener("pointerdown", (event) => {
      if (this.isOpen && !this.node.contains(event.target) && event.target !== this.opener) this.close(false);
    });
  }

  get isOpen() {
    return !this.node.hidden;
  }

  open(opener, onPick) {
    this.opener = opener;
    this.onPick = onPick;
    this.node.hidden = false;
    const box = opener.getBoundingClientRect();
    const width = this.node.offsetWidth;
    const height = this.node.offsetHeight;
    const left = Math.max(8, Math.min(box.right - width, window.innerWidth - width - 8));
    const above = box.top - height - 6;
    const top = above > 8 ? above : box.bottom + 6;
    this.node.style.left = `${left + window.scrollX}px`;
    this.node.style.top = `${top + window.scrollY}px`;
    this.node.querySelector("button").focus();
  }

  close(restoreFocus = true) {
    if (!this.isOpen) return;
    this.node.hidden = true;
    if (restoreFocus && this.opener?.isConnected) this.opener.focus();
    this.opener = null;
    this.onPick = null;
  }

  keydown(event) {
    const buttons = [...this.node.querySelectorAll("button")];
    const index = buttons.indexOf(document.activeElement);
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      this.close();
    } else if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
      event.preventDefault();
      const step = event.key === "ArrowRight" ? 1 : -1;
      buttons[(index + step + buttons.length) % buttons.length].focus();
    } else if (event.key === "Tab") {
      this.close(false);
    }
  }
}
