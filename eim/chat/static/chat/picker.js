// The emoji picker (reactions and the message box): search by name, the reader's recent
// emoji first, then groups. Arrow keys move in the grid, Enter picks, Escape closes.
// Emoji render with the bundled colour font (fonts/eim-emoji.woff), not the system's.

import { EMOJI_GROUPS } from "./emoji-data.js";
import { el } from "./render.js";

const RECENT_KEY = "eim.recentEmoji";
const RECENT_MAX = 16;
const COLUMNS = 8;
const NAMES = new Map(EMOJI_GROUPS.flatMap((g) => g.emoji.map(([emoji, name]) => [emoji, name])));

function recentEmoji() {
  try {
    const stored = JSON.parse(localStorage.getItem(RECENT_KEY) || "[]");
    return Array.isArray(stored) ? stored.filter((e) => typeof e === "string").slice(0, RECENT_MAX) : [];
  } catch {
    return [];
  }
}

function rememberEmoji(emoji) {
  const recent = [emoji, ...recentEmoji().filter((e) => e !== emoji)].slice(0, RECENT_MAX);
  try {
    localStorage.setItem(RECENT_KEY, JSON.stringify(recent));
  } catch {
    // private browsing: recent emoji are not kept
  }
}

export class EmojiPicker {
  constructor() {
    this.search = el("input", {
      type: "search",
      class: "emoji-search",
      placeholder: "Search emoji",
      "aria-label": "Search emoji by name",
      autocomplete: "off",
    });
    this.grid = el("div", { class: "emoji-grid" });
    this.empty = el("p", { class: "emoji-empty", text: "No emoji by that name.", hidden: true });
    this.node = el("div", { class: "emoji-picker", role: "dialog", "aria-label": "Choose an emoji", hidden: true });
    this.node.append(this.search, this.grid, this.empty);
    document.body.append(this.node);
    this.opener = null;
    this.onPick = null;
    this.search.addEventListener("input", () => this.fill());
    this.node.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-emoji]");
      if (button) this.pick(button.dataset.emoji);
    });
    this.node.addEventListener("keydown", (event) => this.keydown(event));
    document.addEventListener("pointerdown", (event) => {
      if (this.isOpen && !this.node.contains(event.target) && !this.opener?.contains(event.target)) this.close(false);
    });
  }

  get isOpen() {
    return !this.node.hidden;
  }

  // label: what picking does, e.g. "React with" or "Insert".
  open(opener, onPick, { label = "React with" } = {}) {
    this.opener = opener;
    this.onPick = onPick;
    this.label = label;
    this.node.setAttribute("aria-label", label === "Insert" ? "Insert an emoji" : "Add a reaction");
    this.search.value = "";
    this.fill();
    this.node.hidden = false;
    this.place(opener);
    this.search.focus();
  }

  place(opener) {
    const box = opener.getBoundingClientRect();
    const width = this.node.offsetWidth;
    const height = this.node.offsetHeight;
    const left = Math.max(8, Math.min(box.right - width, window.innerWidth - width - 8));
    const above = box.top - height - 6;
    const top = above > 8 ? above : Math.min(box.bottom + 6, window.innerHeight - height - 8);
    this.node.style.left = `${left + window.scrollX}px`;
    this.node.style.top = `${Math.max(8, top) + window.scrollY}px`;
  }

  fill() {
    const wanted = this.search.value.trim().toLowerCase();
    const sections = [];
    if (wanted) {
      const words = wanted.split(/\s+/);
      const found = [...NAMES].filter(([, name]) => words.every((w) => name.split(" ").some((n) => n.startsWith(w))));
      sections.push(["Results", found.map(([emoji]) => emoji)]);
    } else {
      const recent = recentEmoji();
      if (recent.length) sections.push(["Recent", recent]);
      for (const group of EMOJI_GROUPS) sections.push([group.title, group.emoji.map(([emoji]) => emoji)]);
    }
    this.grid.replaceChildren();
    let count = 0;
    for (const [title, emoji] of sections) {
      if (!emoji.length) continue;
      const cells = el("div", { class: "emoji-cells", role: "group", "aria-label": title });
      for (const item of emoji) {
        const name = NAMES.get(item) || "emoji";
        cells.append(
          el("button", {
            type: "button",
            class: "emoji",
            text: item,
            title: name,
            "aria-label": `${this.label} ${name}`,
            tabindex: count === 0 ? "0" : "-1",
            dataset: { emoji: item },
          }),
        );
        count += 1;
      }
      this.grid.append(el("p", { class: "emoji-group", text: title, "aria-hidden": "true" }), cells);
    }
    this.empty.hidden = count > 0;
  }

  pick(emoji) {
    const onPick = this.onPick;
    rememberEmoji(emoji);
    this.close();
    onPick?.(emoji);
  }

  close(restoreFocus = true) {
    if (!this.isOpen) return;
    this.node.hidden = true;
    if (restoreFocus && this.opener?.isConnected) this.opener.focus();
    this.opener = null;
    this.onPick = null;
  }

  keydown(event) {
    const buttons = [...this.grid.querySelectorAll("button")];
    const index = buttons.indexOf(document.activeElement);
    const steps = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: COLUMNS, ArrowUp: -COLUMNS };
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      this.close();
    } else if (event.target === this.search && (event.key === "Enter" || event.key === "ArrowDown")) {
      event.preventDefault();
      if (event.key === "Enter" && buttons[0]) this.pick(buttons[0].dataset.emoji);
      else buttons[0]?.focus();
    } else if (index >= 0 && event.key in steps) {
      event.preventDefault();
      const next = index + steps[event.key];
      if (next < 0) this.search.focus();
      else buttons[Math.min(next, buttons.length - 1)].focus();
    } else if (event.key === "Tab" && !this.node.contains(event.relatedTarget)) {
      if (event.shiftKey ? event.target === this.search : index >= 0) this.close(false);
    }
  }
}
