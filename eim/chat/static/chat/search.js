// Message search in the chat: the employee search API (the archive's query language, scoped
// to what the reader can read), results with their highlights, and a jump to the message.
// Highlights arrive as escaped text with <mark>; only text and <mark> are rebuilt from them.

import { api } from "./api.js";
import { avatar, dayAndTime, el, fullFormat } from "./render.js";

function markedText(html) {
  const template = document.createElement("template");
  template.innerHTML = html; // inert: nothing in a template runs or loads
  const fragment = document.createDocumentFragment();
  for (const node of template.content.childNodes) {
    if (node.nodeName === "MARK") fragment.append(el("mark", { text: node.textContent }));
    else fragment.append(document.createTextNode(node.textContent));
  }
  return fragment;
}

export class SearchPanel {
  // hooks: where(conversationId) → label, onOpen(), onClose(), onPick(result)
  constructor(panel, hooks) {
    this.panel = panel;
    this.hooks = hooks;
    this.input = panel.querySelector("#search-input");
    this.list = panel.querySelector("#search-results");
    this.summary = panel.querySelector("#search-summary");
    this.error = panel.querySelector("#search-error");
    this.more = panel.querySelector("#search-more");
    this.query = "";
    this.next = null;
    this.run = 0;
    this.opener = null;
    panel.querySelector("#search-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.search();
    });
    panel.querySelector("#search-close").addEventListener("click", () => this.close());
    this.more.addEventListener("click", () => this.search({ more: true }));
    this.list.addEventListener("click", (event) => {
      const item = event.target.closest("button[data-index]");
      if (item) this.hooks.onPick(this.results[Number(item.dataset.index)]);
    });
    this.results = [];
  }

  get isOpen() {
    return !this.panel.hidden;
  }

  open(opener) {
    this.opener = opener || document.activeElement;
    this.hooks.onOpen();
    this.panel.hidden = false;
    this.input.focus();
    this.input.select();
  }

  close() {
    if (!this.isOpen) return;
    this.panel.hidden = true;
    this.hooks.onClose();
    if (this.opener?.isConnected) this.opener.focus();
  }

  async search({ more = false } = {}) {
    if (!more) this.query = this.input.value.trim();
    if (!this.query) return;
    const run = ++this.run;
    this.error.hidden = true;
    this.more.disabled = true;
    if (!more) {
      this.summary.textContent = "Searching…";
      this.list.replaceChildren();
      this.results = [];
    }
    try {
      const page = await api.search(this.query, more ? this.next : null);
      if (run !== this.run) return;
      this.show(page);
    } catch (error) {
      if (run !== this.run) return;
      // A query that cannot be read says where; a failed next page keeps what is shown.
      const where = typeof error.position === "number" ? ` (at character ${error.position + 1})` : "";
      this.error.textContent = more ? `Couldn't load more results: ${error.detail}` : `${error.detail}${where}`;
      this.error.hidden = false;
      if (!more) this.summary.textContent = "";
    } finally {
      this.more.disabled = false;
    }
  }

  show(page) {
    const start = this.results.length;
    this.results.push(...page.results);
    this.next = page.next;
    this.more.hidden = !page.next;
    const n = page.count;
    const counted = `${n.toLocaleString()}${page.count_exact === false ? "+" : ""}`;
    this.summary.textContent = n
      ? `${counted} message${n === 1 ? "" : "s"} found, newest first`
      : `Nothing matches ${this.query}. Try fewer words, word* for word beginnings, or drop a filter.`;
    this.list.append(...page.results.map((result, i) => this.item(result, start + i)));
  }

  item(result, index) {
    const text = result.highlights?.length
      ? result.highlights.flatMap((html, i) => [i ? el("span", { class: "gap", text: " … " }) : null, markedText(html)])
      : [document.createTextNode(result.body)];
    const body = el("p", { class: "search-text" });
    for (const piece of text) if (piece) body.append(piece);
    const where = this.hooks.where(result.conversation);
    const button = el(
      "button",
      {
        type: "button",
        class: "search-result",
        dataset: { index },
        "aria-label": `${result.author.name} in ${where}, ${dayAndTime(result.created_at)}: ${result.body}. Show it in the conversation`,
      },
      avatar({ id: result.author.id, name: result.author.name }, "avatar avatar-small"),
      el(
        "span",
        { class: "search-main" },
        el(
          "span",
          { class: "search-meta" },
          el("span", { class: "author", text: result.author.name }),
          el("span", { class: "search-where", text: where }),
          el("time", {
            datetime: result.created_at,
            title: fullFormat.format(new Date(result.created_at)),
            text: dayAndTime(result.created_at),
          }),
        ),
        body,
      ),
    );
    return el("li", {}, button);
  }
}
