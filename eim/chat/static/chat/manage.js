// A conversation's details: About (name, topic, purpose, history, private or public, archive,
// leave) and Members (who is in it, add people, remove them, hand ownership over). Everything
// goes through the REST API, so the services' rules apply and their refusals are shown as they
// are worded. A channel's last owner who tries to leave is led to hand ownership over first.

import { api } from "./api.js";
import { confirmAction, slugAsTyped } from "./dialogs.js";
import { avatar, el } from "./render.js";
import { CHANNEL_KINDS } from "./store.js";

// The answer to a change describes the channel, not our membership (no role, no unread):
// take only the channel's own fields from it.
function adopt(conversation, answer) {
  const { name, topic, purpose, kind, archived, history_visible: historyVisible } = answer;
  Object.assign(conversation, { name, topic, purpose, kind, archived, history_visible: historyVisible });
}

export class ChannelDialog {
  // hooks: conversation(id), me, presence(user), confirmDialog, onLeft(id), onMembers(id, members),
  // ownersChangeVisibility (the workspace lets owners make channels private or public)
  constructor(dialog, hooks) {
    this.dialog = dialog;
    this.hooks = hooks;
    this.id = null;
    this.members = [];
    this.chosen = new Map();
    this.searchRun = 0;
    this.about = dialog.querySelector("#channel-about-form");
    this.invite = dialog.querySelector("#invite-form");
    this.results = dialog.querySelector("#invite-results");
    this.memberList = dialog.querySelector("#member-list");
    this.error = dialog.querySelector('[data-role="error"]');
    this.note = dialog.querySelector('[data-role="note"]');
    this.bind();
  }

  role(name) {
    return this.dialog.querySelector(`[data-role="${name}"]`);
  }

  bind() {
    for (const button of this.dialog.querySelectorAll('[data-role="close"]')) {
      button.addEventListener("click", () => this.dialog.close());
    }
    for (const tab of this.dialog.querySelectorAll('[role="tab"]')) {
      tab.addEventListener("click", () => this.showTab(tab.id === "channel-tab-members" ? "members" : "about"));
    }
    slugAsTyped(this.about.elements.name);
    this.about.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
    this.role("archive").addEventListener("click", () => this.archive());
    this.role("visibility").addEventListener("click", () => this.switchVisibility());
    this.role("leave").addEventListener("click", () => this.leave());
    let timer = null;
    this.invite.elements.q.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.findPeople(), 200);
    });
    this.invite.addEventListener("submit", (event) => {
      event.preventDefault();
      this.addChosen();
    });
    this.memberList.addEventListener("click", (event) => {
      const remove = event.target.closest("button[data-remove]");
      if (remove) this.remove(Number(remove.dataset.remove), remove.dataset.name);
      const owner = event.target.closest("button[data-owner]");
      if (owner) this.handOver(Number(owner.dataset.owner), owner.dataset.name);
    });
  }

  get conversation() {
    return this.hooks.conversation(this.id);
  }

  get isOwner() {
    return this.conversation?.role === "owner";
  }

  // tab: "about" or "members"; invite: the first step of a new private channel.
  async open(id, { tab = "about", invite = false } = {}) {
    this.id = id;
    const conversation = this.conversation;
    const channel = CHANNEL_KINDS.has(conversation.kind);
    this.showTitle();
    this.dialog.querySelector("#channel-tab-about").hidden = !channel;
    this.showError("");
    this.showNote(
      invite ? `Invite people to ${conversation.name}: only people you invite can see a private channel.` : "",
    );
    this.fillAbout();
    this.chosen.clear();
    this.invite.reset();
    this.results.replaceChildren();
    this.refreshChosen();
    this.showTab(channel ? tab : "members");
    if (!this.dialog.open) this.dialog.showModal();
    await this.loadMembers();
    if (tab === "members" && this.canInvite()) this.invite.elements.q.focus();
  }

  showTitle() {
    const conversation = this.conversation;
    this.dialog.querySelector("#channel-dialog-title").textContent =
      conversation.kind === "public" ? `#${conversation.name}` : conversation.name;
  }

  showTab(name) {
    for (const tab of this.dialog.querySelectorAll('[role="tab"]')) {
      const selected = (tab.id === "channel-tab-members") === (name === "members");
      tab.setAttribute("aria-selected", String(selected));
      this.dialog.querySelector(`#${tab.getAttribute("aria-controls")}`).hidden = !selected;
    }
  }

  showError(detail) {
    this.error.textContent = detail || "";
    this.error.hidden = !detail;
    if (detail) this.showNote("");
  }

  showNote(text) {
    this.note.textContent = text || "";
    this.note.hidden = !text;
  }

  fillAbout() {
    const conversation = this.conversation;
    const form = this.about.elements;
    form.name.value = conversation.name;
    form.topic.value = conversation.topic || "";
    form.purpose.value = conversation.purpose || "";
    form.history_visible.checked = conversation.history_visible !== false;
    const editable = this.isOwner && !conversation.archived;
    for (const field of [form.name, form.topic, form.purpose, form.history_visible]) field.disabled = !editable;
    this.role("save").hidden = !editable;
    this.role("owner-note").hidden = editable;
    this.role("owner-note").textContent = conversation.archived
      ? "This channel is archived and read-only."
      : "Only the channel's owners can change these.";
    this.role("archive-row").hidden = !this.isOwner || conversation.archived;
    this.fillVisibility();
    this.role("leave-hint").textContent =
      conversation.kind === "private"
        ? "You need an owner's invitation to come back."
        : "You can join again from Browse channels.";
  }

  // Owners make a channel private or public unless the workspace leaves it to administrators.
  fillVisibility() {
    const conversation = this.conversation;
    const row = this.role("visibility-row");
    row.hidden = !this.isOwner || conversation.archived || !CHANNEL_KINDS.has(conversation.kind);
    const toPrivate = conversation.kind === "public";
    this.role("visibility-title").textContent = toPrivate ? "Make the channel private" : "Make the channel public";
    const button = this.role("visibility");
    button.textContent = toPrivate ? "Make private" : "Make public";
    button.disabled = !this.hooks.ownersChangeVisibility;
    this.role("visibility-hint").textContent = !this.hooks.ownersChangeVisibility
      ? "In this workspace only administrators make channels private or public."
      : toPrivate
        ? "Its members stay; others no longer find it or join it."
        : "Anyone can then find it and join it, unless an information barrier keeps them apart.";
  }

  async switchVisibility() {
    const conversation = this.conversation;
    const toPrivate = conversation.kind === "public";
    const sure = await confirmAction(this.hooks.confirmDialog, {
      title: toPrivate ? `Make #${conversation.name} private?` : `Make ${conversation.name} public?`,
      text: toPrivate
        ? "Everyone in it stays. Others no longer see it in Browse channels and need an owner's invitation to join."
        : `Anyone can find it in Browse channels and join${
            conversation.history_visible ? ", and read what was said before" : ""
          }. Everyone in it stays.`,
      confirm: toPrivate ? "Make private" : "Make public",
    });
    if (!sure) return;
    await this.run(async () => {
      adopt(conversation, await api.setVisibility(this.id, toPrivate));
      this.hooks.onChanged(this.id);
      this.showTitle();
      this.fillAbout();
      this.showNote(toPrivate ? "The channel is private now." : "The channel is public now.");
    });
  }

  canInvite() {
    const conversation = this.conversation;
    if (!CHANNEL_KINDS.has(conversation.kind) || conversation.archived) return false;
    return conversation.kind === "public" || this.isOwner;
  }

  async save() {
    const form = this.about.elements;
    const conversation = this.conversation;
    const changes = {};
    if (form.name.value !== conversation.name) changes.name = form.name.value;
    if (form.topic.value !== (conversation.topic || "")) changes.topic = form.topic.value;
    if (form.purpose.value !== (conversation.purpose || "")) changes.purpose = form.purpose.value;
    if (form.history_visible.checked !== conversation.history_visible) {
      changes.history_visible = form.history_visible.checked;
    }
    if (!Object.keys(changes).length) {
      this.showNote("Nothing to save: nothing was changed.");
      return;
    }
    await this.run(async () => {
      adopt(conversation, await api.updateConversation(this.id, changes));
      this.hooks.onChanged(this.id);
      this.showTitle();
      this.fillAbout();
      this.showNote("Saved.");
    });
  }

  async archive() {
    const sure = await confirmAction(this.hooks.confirmDialog, {
      title: `Archive ${this.conversation.name}?`,
      text: "Nobody can write in it any more; everyone can still read it. The archive keeps everything.",
      confirm: "Archive",
    });
    if (!sure) return;
    await this.run(async () => {
      adopt(this.conversation, await api.archive(this.id));
      this.hooks.onChanged(this.id);
      this.fillAbout();
      this.showNote("Archived: the channel is read-only now.");
    });
  }

  // The last owner cannot leave: say so and offer the way out instead of a refusal.
  async leave() {
    const conversation = this.conversation;
    if (this.isOwner && !conversation.archived && (await this.soleOwner())) {
      this.leadToHandOver();
      return;
    }
    const sure = await confirmAction(this.hooks.confirmDialog, {
      title: `Leave ${conversation.kind === "public" ? "#" : ""}${conversation.name}?`,
      text:
        conversation.kind === "private"
          ? "It disappears from your list; you need an owner's invitation to come back."
          : "It disappears from your list; you can join again from Browse channels.",
      confirm: "Leave",
    });
    if (!sure) return;
    // Our own member.left may arrive on the socket before the answer: it is expected.
    this.hooks.onLeaving(this.id);
    try {
      await api.leave(this.id);
      this.hooks.onLeft(this.id);
    } catch (error) {
      this.hooks.onLeaving(null);
      if (error.code === "last_owner") this.leadToHandOver();
      else this.showError(error.detail);
    }
  }

  async soleOwner() {
    if (!this.members.length) await this.loadMembers();
    return !this.members.some((m) => m.role === "owner" && m.id !== this.hooks.me.id);
  }

  leadToHandOver() {
    const others = this.members.filter((m) => m.id !== this.hooks.me.id);
    this.showTab("members");
    this.showNote(
      others.length
        ? "You are the channel's only owner: choose a new owner with “Make owner” below, then you can leave."
        : "You are the only one here: archive the channel instead (About), or add someone and make them owner.",
    );
    this.memberList.querySelector("button[data-owner]")?.focus();
  }

  async handOver(userId, name) {
    const sure = await confirmAction(this.hooks.confirmDialog, {
      title: `Make ${name} the owner?`,
      text: "They can rename the channel, manage its members and archive it. You stay in it as a member and can then leave.",
      confirm: "Make owner",
    });
    if (!sure) return;
    await this.run(async () => {
      await api.handOwnership(this.id, userId);
      this.conversation.role = "member";
      this.hooks.onChanged(this.id);
      this.fillAbout();
      await this.loadMembers();
      this.showNote(`${name} is the owner now; you are a member.`);
    });
  }

  async run(work) {
    this.showError("");
    try {
      await work();
    } catch (error) {
      this.showError(error.detail);
    }
  }

  // ----- members

  async loadMembers() {
    const id = this.id;
    try {
      const members = await api.members(id);
      if (id !== this.id) return;
      this.members = members;
      this.hooks.onMembers(id, members);
      this.renderMembers();
    } catch (error) {
      this.showError(error.detail);
    }
  }

  renderMembers() {
    const n = this.members.length;
    this.role("member-heading").textContent = n === 1 ? "1 member" : `${n} members`;
    this.invite.hidden = !this.canInvite();
    const me = this.hooks.me;
    const rows = [...this.members]
      .sort((a, b) => (a.role === b.role ? a.name.localeCompare(b.name) : a.role === "owner" ? -1 : 1))
      .map((member) => {
        const row = el(
          "li",
          { class: "member" },
          avatar(member, "avatar avatar-small"),
          el(
            "span",
            { class: "member-text" },
            el("span", { class: "person-name", text: member.id === me.id ? `${member.name} (you)` : member.name }),
            el("span", { class: "person-username", text: `@${member.username}` }),
          ),
        );
        if (member.role === "owner") row.append(el("span", { class: "role-tag", text: "Owner" }));
        if (this.isOwner && member.id !== me.id && CHANNEL_KINDS.has(this.conversation.kind) && !this.conversation.archived) {
          if (member.role !== "owner") {
            row.append(
              el("button", {
                type: "button",
                class: "button-quiet member-owner",
                text: "Make owner",
                "aria-label": `Make ${member.name} the owner`,
                dataset: { owner: member.id, name: member.name },
              }),
            );
          }
          row.append(
            el("button", {
              type: "button",
              class: "button-quiet member-remove",
              text: "Remove",
              "aria-label": `Remove ${member.name} from the channel`,
              dataset: { remove: member.id, name: member.name },
            }),
          );
        }
        return row;
      });
    this.memberList.replaceChildren(...rows);
  }

  async remove(userId, name) {
    const sure = await confirmAction(this.hooks.confirmDialog, {
      title: `Remove ${name}?`,
      text: "They stop seeing the channel at once. What they wrote stays.",
      confirm: "Remove",
    });
    if (!sure) return;
    await this.run(async () => {
      await api.removeMember(this.id, userId);
      this.showNote(`${name} was removed.`);
      await this.loadMembers();
    });
  }

  async findPeople() {
    const run = ++this.searchRun;
    const q = this.invite.elements.q.value.trim();
    if (!q) {
      this.results.replaceChildren();
      return;
    }
    try {
      const users = await api.users(q);
      if (run !== this.searchRun) return;
      const present = new Set(this.members.map((m) => m.id));
      const rows = users.filter((u) => !present.has(u.id)).map((user) => this.personRow(user));
      this.results.replaceChildren(...rows);
      if (!rows.length) this.results.append(el("li", { class: "dialog-empty", text: "Nobody else found." }));
    } catch (error) {
      this.showError(error.detail);
    }
  }

  personRow(user) {
    const button = el(
      "button",
      { type: "button", class: "person", "aria-pressed": String(this.chosen.has(user.id)) },
      avatar(user, "avatar avatar-small"),
      el("span", { class: "person-name", text: user.name }),
      el("span", { class: "person-username", text: `@${user.username}` }),
    );
    button.addEventListener("click", () => {
      if (this.chosen.has(user.id)) this.chosen.delete(user.id);
      else this.chosen.set(user.id, user);
      button.setAttribute("aria-pressed", String(this.chosen.has(user.id)));
      this.refreshChosen();
    });
    return el("li", {}, button);
  }

  refreshChosen() {
    const names = [...this.chosen.values()].map((u) => u.name);
    this.role("invite-selection").textContent = names.length ? `Adding ${names.join(", ")}` : "";
    this.role("invite").disabled = names.length === 0;
  }

  async addChosen() {
    if (!this.chosen.size) return;
    const names = [...this.chosen.values()].map((u) => u.name);
    await this.run(async () => {
      this.members = await api.invite(this.id, [...this.chosen.keys()]);
      this.hooks.onMembers(this.id, this.members);
      this.chosen.clear();
      this.invite.reset();
      this.results.replaceChildren();
      this.refreshChosen();
      this.renderMembers();
      this.showNote(`Added ${names.join(", ")}.`);
    });
  }
}
