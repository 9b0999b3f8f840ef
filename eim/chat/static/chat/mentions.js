// Autocomplete in a message box: "@" offers people (the conversation's members first, then
// the directory), "#" offers the reader's channels. Arrow keys move, Enter or Tab picks,
// Escape closes; the list is a listbox tied to the box with aria-activedescendant.

import { api } from "./api.js";
import { avatar, el } from "./render.js";
import { lockIcon } from "./sidebar.js";

const TRIGGER = /(^|[\s([{])([@#])([\p{L}\p{N}_.+-]*)$/u;
const MAX = 8;
let instances = 0;

export class Autocomplete {
  // hooks: members() → [user], channels() → [conversation], me
  constructor(form, hooks) {
    this.input = form.querySelector('[data-role="input"]');
    this.hooks = hooks;
    this.items = [];
    this.active = 0;
    this.match = null;
    this.run = 0;
    instances += 1;
    this.list = el("ul", { class: "autocomplete", role: "listbox", id: `autocomplete-${instances}`, hidden: true });
    form.querySelector(".composer-row").before(this.list);
    this.input.setAttribute("aria-autocomplete", "list");
    this.input.setAttribute("aria-controls", this.list.id);
    this.input.addEventListener("input", () => this.update());
    this.input.addEventListener("blur", () =>
      setTimeout(() => {
        if (document.activeElement !== this.input) this.close();
      }, 150),
    );
    form.addEventListener("keydown", (event) => this.keydown(event), { capture: true });
    this.list.addEventListener("mousedown", (event) => event.preventDefault()); // keep the focus
    this.list.addEventListener("click", (event) => {
      const option = event.target.closest("[data-index]");
      if (option) this.pick(Number(option.dataset.index));
    });
  }

  get isOpen() {
    return !this.list.hidden;
  }

  async update() {
    const before = this.input.value.slice(0, this.input.selectionStart);
    const found = TRIGGER.exec(before);
    if (!found) return this.close();
    const [, , kind, term] = found;
    this.match = { kind, term, start: before.length - term.length - 1 };
    const run = ++this.run;
    const items = kind === "@" ? await this.people(term) : this.channels(term);
    if (run !== this.run) return undefined;
    this.show(items);
    return undefined;
  }

  async people(term) {
    const wanted = term.toLowerCase();
    const fits = (u) => u.username.toLowerCase().startsWith(wanted) || u.name.toLowerCase().split(/\s+/).some((w) => w.startsWith(wanted));
    const members = this.hooks.members().filter((u) => u.id !== this.hooks.me.id && fits(u));
    const seen = new Set(members.map((u) => u.id).concat(this.hooks.me.id));
    let others = [];
    if (members.length < MAX && term) {
      try {
        others = (await api.users(term)).filter((u) => !seen.has(u.id));
      } catch {
        others = [];
      }
    }
    return [
      ...members.map((user) => ({ user, member: true })),
      ...others.map((user) => ({ user, member: false })),
    ].slice(0, MAX);
  }

  channels(term) {
    const wanted = term.toLowerCase();
    return this.hooks
      .channels()
      .filter((c) => c.name.startsWith(wanted))
      .sort((a, b) => a.name.localeCompare(b.name))
      .slice(0, MAX)
      .map((channel) => ({ channel }));
  }

  show(items) {
    this.items = items;
    this.active = 0;
    if (!items.length) return this.close();
    this.list.replaceChildren(...items.map((item, index) => this.option(item, index)));
    this.list.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
    this.highlight();
    return undefined;
  }

  option(item, index) {
    const id = `${this.list.id}-${index}`;
    if (item.channel) {
      return el(
        "li",
        { role: "option", id, class: "option", dataset: { index } },
        item.channel.kind === "private"
          ? el("span", { class: "option-mark" }, lockIcon())
          : el("span", { class: "option-mark", text: "#" }),
        el("span", { class: "person-name", text: item.channel.name }),
        el("span", { class: "person-username", text: item.channel.topic || "" }),
      );
    }
    const { user, member } = item;
    return el(
      "li",
      { role: "option", id, class: "option", dataset: { index } },
      avatar(user, "avatar avatar-small"),
      el("span", { class: "person-name", text: user.name }),
      el("span", { class: "person-username", text: `@${user.username}` }),
      member ? null : el("span", { class: "option-note", text: "not in this conversation" }),
    );
  }

  highlight() {
    for (const [index, option] of [...this.list.children].entries()) {
      option.setAttribute("aria-selected", String(index === this.active));
    }
    this.input.setAttribute("aria-activedescendant", `${this.list.id}-${this.active}`);
    this.list.children[this.active]?.scrollIntoView({ block: "nearest" });
  }

  close() {
    this.list.hidden = true;
    this.items = [];
    this.run += 1;
    this.input.removeAttribute("aria-activedescendant");
    this.input.setAttribute("aria-expanded", "false");
  }

  keydown(event) {
    if (!this.isOpen || event.target !== this.input || event.isComposing) return;
    const steps = { ArrowDown: 1, ArrowUp: -1 };
    if (event.key in steps) {
      this.active = (this.active + steps[event.key] + this.items.length) % this.items.length;
      this.highlight();
    } else if (event.key === "Enter" || event.key === "Tab") {
      this.pick(this.active);
    } else if (event.key === "Escape") {
      this.close();
    } else return;
    event.preventDefault();
    event.stopPropagation();
  }

  pick(index) {
    const item = this.items[index];
    if (!item || !this.match) return;
    const text = item.channel ? `#${item.channel.name} ` : `@${item.user.username} `;
    const value = this.input.value;
    const end = this.input.selectionStart;
    this.input.value = value.slice(0, this.match.start) + text + value.slice(end);
    const caret = this.match.start + text.length;
    this.input.setSelectionRange(caret, caret);
    this.close();
    this.input.dispatchEvent(new Event("input", { bubbles: true }));
    this.input.focus();
  }
}
