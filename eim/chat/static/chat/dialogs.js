// Browse and join channels, create a channel, start a direct message, confirm a delete.

import { api } from "./api.js";
import { avatar, el } from "./render.js";

function showError(dialog, detail) {
  const line = dialog.querySelector('[data-role="error"]');
  line.textContent = detail || "";
  line.hidden = !detail;
}

// The server's rule (eim/chat/services/conversations.py): 1 to 80 lowercase letters, digits,
// hyphens or underscores. Applied as the name is typed, so "History Test" becomes
// "history-test" before anyone is refused.
export function channelSlug(text) {
  return text
    .toLowerCase()
    .replace(/^#/, "")
    .replace(/\s+/g, "-")
    .replace(/[^\p{L}\p{N}_-]/gu, "")
    .slice(0, 80);
}

export function slugAsTyped(input) {
  input.addEventListener("input", () => {
    const slug = channelSlug(input.value);
    if (slug === input.value) return;
    const caret = input.selectionStart ?? input.value.length;
    const kept = channelSlug(input.value.slice(0, caret)).length;
    input.value = slug;
    input.setSelectionRange(kept, kept);
  });
}

function closeButtons(dialog) {
  for (const button of dialog.querySelectorAll('[data-role="close"]')) {
    button.addEventListener("click", () => dialog.close());
  }
}

export function setupBrowseDialog(dialog, { onJoined }) {
  const list = dialog.querySelector("#browse-list");
  const empty = dialog.querySelector("#browse-empty");

  async function join(channel, button) {
    button.disabled = true;
    try {
      const conversation = await api.join(channel.id);
      dialog.close();
      onJoined(conversation);
    } catch (error) {
      button.disabled = false;
      showError(dialog, error.detail);
    }
  }

  return async function open() {
    showError(dialog, "");
    list.replaceChildren(el("li", { class: "dialog-loading", text: "Loading channels…" }));
    empty.hidden = true;
    dialog.showModal();
    try {
      const channels = await api.browseChannels();
      list.replaceChildren();
      empty.hidden = channels.length > 0;
      for (const channel of channels) {
        const button = el("button", {
          type: "button",
          class: "button-secondary",
          text: "Join",
          "aria-label": `Join #${channel.name}`,
        });
        button.addEventListener("click", () => join(channel, button));
        const members = channel.member_count === 1 ? "1 member" : `${channel.member_count} members`;
        list.append(
          el(
            "li",
            { class: "browse-item" },
            el(
              "div",
              { class: "browse-text" },
              el("span", { class: "browse-name", text: `#${channel.name}` }),
              el("span", {
                class: "browse-meta",
                text: channel.purpose || channel.topic ? `${members} · ${channel.purpose || channel.topic}` : members,
              }),
            ),
            button,
          ),
        );
      }
      list.querySelector("button")?.focus();
    } catch (error) {
      list.replaceChildren();
      showError(dialog, error.detail);
    }
  };
}

export function setupCreateDialog(dialog, { onCreated }) {
  const form = dialog.querySelector("form");
  closeButtons(dialog);
  slugAsTyped(form.elements.name);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const name = String(data.get("name") || "").trim();
    if (!name) {
      showError(dialog, "Give the channel a name.");
      return;
    }
    const submit = form.querySelector('[type="submit"]');
    submit.disabled = true;
    try {
      const conversation = await api.createChannel({
        name,
        topic: String(data.get("topic") || ""),
        private: data.get("private") === "on",
        history_visible: data.get("history_visible") === "on",
      });
      dialog.close();
      onCreated(conversation);
    } catch (error) {
      showError(dialog, error.detail);
    } finally {
      submit.disabled = false;
    }
  });
  return function open() {
    form.reset();
    showError(dialog, "");
    dialog.showModal();
    form.elements.name.focus();
  };
}

export function setupDirectDialog(dialog, { me, presence, onOpened }) {
  const form = dialog.querySelector("form");
  const search = form.elements.q;
  const results = dialog.querySelector("#dm-results");
  const selection = dialog.querySelector("#dm-selection");
  const start = dialog.querySelector("#dm-start");
  const chosen = new Map();
  let searchTimer = null;
  let searchRun = 0;
  closeButtons(dialog);

  function refreshSelection() {
    const names = [...chosen.values()].map((u) => u.name);
    selection.textContent = names.length ? `To: ${names.join(", ")}` : "";
    start.disabled = names.length === 0;
  }

  function personRow(user) {
    const button = el(
      "button",
      {
        type: "button",
        class: "person",
        "aria-pressed": chosen.has(user.id) ? "true" : "false",
      },
      avatar(user, "avatar avatar-small"),
      el("span", { class: "person-name", text: user.name }),
      el("span", { class: "person-username", text: `@${user.username}` }),
      el("span", {
        class: "presence-dot",
        dataset: { status: presence(user) },
        title: presence(user),
      }),
    );
    button.addEventListener("click", () => {
      if (chosen.has(user.id)) chosen.delete(user.id);
      else chosen.set(user.id, user);
      button.setAttribute("aria-pressed", chosen.has(user.id) ? "true" : "false");
      refreshSelection();
    });
    return el("li", {}, button);
  }

  async function find() {
    const run = ++searchRun;
    try {
      const users = await api.users(search.value.trim());
      if (run !== searchRun) return;
      const others = users.filter((u) => u.id !== me.id);
      results.replaceChildren(...others.map(personRow));
      if (!others.length) results.append(el("li", { class: "dialog-empty", text: "Nobody found." }));
    } catch (error) {
      showError(dialog, error.detail);
    }
  }

  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(find, 200);
  });
  search.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      results.querySelector("button")?.click();
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!chosen.size) return;
    start.disabled = true;
    try {
      const conversation = await api.openDirect([...chosen.keys()]);
      dialog.close();
      onOpened(conversation);
    } catch (error) {
      showError(dialog, error.detail);
      start.disabled = false;
    }
  });

  return function open() {
    chosen.clear();
    form.reset();
    results.replaceChildren();
    showError(dialog, "");
    refreshSelection();
    dialog.showModal();
    search.focus();
    find();
  };
}

const DELETE_WORDS = {
  title: "Delete this message?",
  text: "It disappears for everyone in the conversation. The compliance archive keeps it.",
  confirm: "Delete",
};

export function confirmDelete(dialog) {
  return confirmAction(dialog, DELETE_WORDS);
}

// The one confirmation dialog, with its words for this action.
export function confirmAction(dialog, { title, text, confirm }) {
  dialog.querySelector('[data-role="title"]').textContent = title;
  dialog.querySelector('[data-role="text"]').textContent = text;
  dialog.querySelector('[data-role="confirm"]').textContent = confirm;
  return new Promise((resolve) => {
    dialog.returnValue = "";
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true });
    dialog.showModal();
    dialog.querySelector('button[value="cancel"]').focus();
  });
}
