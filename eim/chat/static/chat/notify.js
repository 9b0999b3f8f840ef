// Desktop notifications (opt-in) for mentions and direct messages, and muted conversations.
// Both choices are kept with the account (GET/PATCH /api/v1/me/preferences/): read at load,
// and a change made on another device or tab arrives as a `preferences` frame. Whether this
// browser may show notifications at all is its own permission, asked for here.
// A muted conversation shows no plain unread count in the tab title and raises no notification.

import { api } from "./api.js";

// Where earlier versions kept the choices, per browser: moved to the account once.
const OLD_ENABLED_KEY = "eim.notifications";
const OLD_MUTED_KEY = "eim.muted";

function takeOld(key) {
  try {
    const value = JSON.parse(localStorage.getItem(key));
    localStorage.removeItem(key);
    return value;
  } catch {
    return null;
  }
}

export class Notifier {
  // hooks: me, conversation(id), isChannel(id), activeId(), open(id), changed(), failed(detail)
  constructor(hooks, preferences) {
    this.hooks = hooks;
    this.adopt(preferences);
    this.moveOldChoices();
  }

  // The account's choices, from the page or a `preferences` frame.
  adopt({ notifications, muted }) {
    this.enabled = notifications === true;
    this.muted = new Set((muted || []).filter(Number.isInteger));
  }

  moveOldChoices() {
    const enabled = takeOld(OLD_ENABLED_KEY);
    const muted = takeOld(OLD_MUTED_KEY);
    if (enabled === true && !this.enabled) this.save({ notifications: true });
    for (const id of Array.isArray(muted) ? muted.filter(Number.isInteger) : []) {
      if (!this.muted.has(id)) this.save({ conversation: id, muted: true });
    }
  }

  async save(change) {
    try {
      this.adopt(await api.setPreferences(change));
      this.hooks.changed();
    } catch (error) {
      this.hooks.failed(error.detail);
    }
  }

  get supported() {
    return "Notification" in window;
  }

  get permission() {
    return this.supported ? Notification.permission : "denied";
  }

  get active() {
    return this.enabled && this.permission === "granted";
  }

  // On for the account but this browser has not been allowed yet (another device turned it on).
  get waitingForPermission() {
    return this.enabled && this.permission === "default";
  }

  // Turn on (asking this browser's permission) or off, for the account.
  async toggle() {
    if (this.active) {
      await this.save({ notifications: false });
      return;
    }
    if (!this.supported) return;
    const answer = this.permission === "default" ? await Notification.requestPermission() : this.permission;
    if (answer === "granted" && !this.enabled) await this.save({ notifications: true });
    else this.hooks.changed();
  }

  isMuted(id) {
    return this.muted.has(id);
  }

  // Shown at once; the account's answer (or its refusal) settles it.
  setMuted(id, muted) {
    if (muted) this.muted.add(id);
    else this.muted.delete(id);
    return this.save({ conversation: id, muted });
  }

  // A message arrived live: notify if it is for me and I am not looking at it.
  message(conversationId, message) {
    if (!this.active || message.author.id === this.hooks.me.id || this.isMuted(conversationId)) return;
    const mentioned = message.mentions.includes(this.hooks.me.id);
    const direct = !this.hooks.isChannel(conversationId);
    if (!mentioned && !direct) return;
    if (!document.hidden && document.hasFocus() && this.hooks.activeId() === conversationId) return;
    const conversation = this.hooks.conversation(conversationId);
    const where = direct ? "" : ` in #${conversation?.name ?? "a channel"}`;
    const note = new Notification(`${message.author.name}${where}`, {
      body: message.body.length > 160 ? `${message.body.slice(0, 157)}…` : message.body,
      tag: `eim-${conversationId}`,
    });
    note.onclick = () => {
      window.focus();
      this.hooks.open(conversationId);
      note.close();
    };
  }
}
