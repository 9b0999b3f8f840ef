// Desktop notifications (opt-in) for mentions and direct messages, and muted conversations.
// Both are this browser's choices, kept in localStorage: a muted conversation shows no
// plain unread count in the tab title and raises no notification.

const ENABLED_KEY = "eim.notifications";
const MUTED_KEY = "eim.muted";

function load(key, fallback) {
  try {
    return JSON.parse(localStorage.getItem(key)) ?? fallback;
  } catch {
    return fallback;
  }
}

function save(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // private browsing: the choice lasts for this page only
  }
}

export class Notifier {
  // hooks: me, conversation(id), isChannel(id), activeId(), open(id)
  constructor(hooks) {
    this.hooks = hooks;
    this.enabled = load(ENABLED_KEY, false) === true;
    this.muted = new Set(load(MUTED_KEY, []).filter(Number.isInteger));
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

  // Turn on (asking the browser's permission) or off; returns what is now the case.
  async toggle() {
    if (this.active) {
      this.enabled = false;
    } else if (this.supported) {
      const answer = this.permission === "default" ? await Notification.requestPermission() : this.permission;
      this.enabled = answer === "granted";
    }
    save(ENABLED_KEY, this.enabled);
    return this.active;
  }

  isMuted(id) {
    return this.muted.has(id);
  }

  setMuted(id, muted) {
    if (muted) this.muted.add(id);
    else this.muted.delete(id);
    save(MUTED_KEY, [...this.muted]);
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
