// What the client knows: conversations, cursors, loaded messages, presence, pending sends.
//
// Cursors: the last event seq applied per conversation. They start from the REST load of the
// conversation list and only socket events move them on, so a resync from them misses nothing.
// Each loaded message remembers the seq of the newest event it reflects (`_v`); an event at or
// below it is already in the message (a REST page can be newer than the socket), so applying
// events is idempotent.
//
// A conversation we learn of from the socket (added to it, or new since the list was loaded)
// is fetched; its unread count comes with it, counted up to its `last_seq`. Until it arrives,
// the conversation's frames are held, then applied from that seq on, so none counts twice or
// is lost.

export const CHANNEL_KINDS = new Set(["public", "private"]);

export class Store {
  constructor(me) {
    this.me = me;
    this.conversations = new Map();
    this.cursors = new Map();
    this.timelines = new Map();
    this.users = new Map([[me.id, { ...me }]]);
    this.presence = new Map();
    this.pending = new Map();
    this.fetching = new Map();
    this.listeners = new Set();
  }

  subscribe(listener) {
    this.listeners.add(listener);
  }

  emit(change) {
    for (const listener of this.listeners) listener(change);
  }

  rememberUser(user) {
    if (user?.id) this.users.set(user.id, { ...this.users.get(user.id), ...user });
  }

  // ----- conversations

  addConversation(conversation) {
    const known = this.conversations.get(conversation.id);
    const merged = { ...known, ...conversation };
    if (known && conversation.unread === undefined) merged.unread = known.unread;
    this.conversations.set(conversation.id, merged);
    const held = this.fetching.get(conversation.id);
    this.fetching.delete(conversation.id);
    if (held || !this.cursors.has(conversation.id)) this.cursors.set(conversation.id, conversation.last_seq);
    for (const person of conversation.people || []) this.rememberUser(person);
    this.emit({ type: "conversations" });
    for (const frame of held || []) this.applyEvent(frame);
    return merged;
  }

  // A conversation we do not have yet is being fetched: hold its frames until it arrives.
  fetchingConversation(id) {
    if (!this.conversations.has(id) && !this.fetching.has(id)) this.fetching.set(id, []);
  }

  // The fetch failed (the conversation is not visible to us any more): drop what was held.
  fetchFailed(id) {
    this.fetching.delete(id);
  }

  removeConversation(id) {
    this.conversations.delete(id);
    this.cursors.delete(id);
    this.timelines.delete(id);
    this.emit({ type: "conversations" });
    this.emit({ type: "removed", conversation: id });
  }

  isChannel(id) {
    return CHANNEL_KINDS.has(this.conversations.get(id)?.kind);
  }

  // Cursors for `sync`; conversations the server knows and we don't are added by the caller.
  syncCursors(helloCursors) {
    const cursors = {};
    const unknown = [];
    for (const [key, serverSeq] of Object.entries(helloCursors)) {
      const id = Number(key);
      if (this.cursors.has(id)) cursors[id] = this.cursors.get(id);
      else {
        this.cursors.set(id, serverSeq);
        unknown.push(id);
      }
    }
    const gone = [...this.conversations.keys()].filter((id) => !(id in helloCursors));
    return { cursors, unknown, gone };
  }

  // ----- timelines (loaded messages of one conversation)

  timeline(id) {
    if (!this.timelines.has(id)) {
      this.timelines.set(id, {
        messages: new Map(),
        loadedSeq: null,
        hasMore: true,
        loads: 0,
        held: [],
      });
    }
    return this.timelines.get(id);
  }

  // Merge a REST page: it reflects at least every event up to page.last_seq.
  mergePage(conversationId, page, { initial = false } = {}) {
    const timeline = this.timeline(conversationId);
    if (initial) {
      timeline.loadedSeq = Math.max(timeline.loadedSeq ?? 0, page.last_seq);
      timeline.hasMore = page.has_more;
    }
    for (const message of page.results) {
      this.rememberUser(message.author);
      const known = timeline.messages.get(message.id);
      if (!known || known._v <= page.last_seq) {
        timeline.messages.set(message.id, { ...message, _v: page.last_seq });
      }
    }
    return timeline;
  }

  // Fetch a page while holding back this conversation's events, then apply them on top: an
  // event that overtakes the REST answer is neither lost nor applied twice.
  async load(conversationId, fetchPage, options = {}) {
    const timeline = this.timeline(conversationId);
    timeline.loads += 1;
    try {
      const page = await fetchPage();
      this.mergePage(conversationId, page, options);
      return page;
    } finally {
      timeline.loads -= 1;
      if (timeline.loads === 0) {
        const held = timeline.held.splice(0);
        for (const frame of held) this.handle(frame);
      }
    }
  }

  topLevelMessages(conversationId) {
    const timeline = this.timelines.get(conversationId);
    if (!timeline) return [];
    return [...timeline.messages.values()]
      .filter((m) => m.parent === null)
      .sort((a, b) => a.seq - b.seq);
  }

  threadMessages(conversationId, rootId) {
    const timeline = this.timelines.get(conversationId);
    if (!timeline) return [];
    return [...timeline.messages.values()]
      .filter((m) => m.id === rootId || m.parent === rootId)
      .sort((a, b) => a.seq - b.seq);
  }

  message(conversationId, messageId) {
    return this.timelines.get(conversationId)?.messages.get(messageId);
  }

  lastOwnMessage(conversationId, { thread = null } = {}) {
    const messages =
      thread === null
        ? this.topLevelMessages(conversationId)
        : this.threadMessages(conversationId, thread).filter((m) => m.id !== thread);
    return messages.reverse().find((m) => m.author.id === this.me.id && !m.deleted);
  }

  // Put a message version in the timeline if it is newer than what we hold.
  putMessage(conversationId, message, version) {
    const timeline = this.timelines.get(conversationId);
    if (!timeline) return null;
    const known = timeline.messages.get(message.id);
    if (known && version <= known._v) return null;
    if (!known && timeline.loadedSeq !== null && message.seq <= timeline.loadedSeq) return null;
    // Edit and delete payloads carry no reply count: keep the one we have.
    const replyCount = known ? known.reply_count : message.reply_count;
    const stored = { ...message, reply_count: replyCount, _v: version };
    timeline.messages.set(message.id, stored);
    this.rememberUser(message.author);
    this.emit({ type: "message", conversation: conversationId, message: stored, known });
    return stored;
  }

  // Change a loaded message in place for an event at `seq` (reactions, attachments, replies).
  touchMessage(conversationId, messageId, seq, change) {
    const message = this.message(conversationId, messageId);
    if (!message || seq <= message._v) return;
    change(message);
    message._v = seq;
    this.emit({ type: "message", conversation: conversationId, message, known: message });
  }

  // ----- events from the socket, in seq order

  applyEvent(frame) {
    const id = frame.conversation;
    const held = this.fetching.get(id);
    if (held) {
      held.push(frame);
      return;
    }
    const cursor = this.cursors.get(id);
    if (cursor !== undefined && frame.seq <= cursor) return;
    this.cursors.set(id, frame.seq);
    const timeline = this.timelines.get(id);
    if (timeline?.loads) timeline.held.push(frame);
    else this.handle(frame);
  }

  handle(frame) {
    const handler = EVENT_HANDLERS[frame.type];
    if (handler) handler.call(this, frame);
  }

  // The unread count is of top-level messages; the mention badge counts a mention of me
  // anywhere, a thread reply included (as the server counts them).
  countUnread(conversationId, message, delta) {
    const conversation = this.conversations.get(conversationId);
    if (!conversation || message.author.id === this.me.id) return;
    if (message.seq <= (conversation.last_read_seq ?? 0)) return;
    const reply = message.parent !== null;
    const mentioned = Boolean(message.mentions?.includes(this.me.id));
    if (reply && !mentioned) return;
    if (!reply) conversation.unread = Math.max(0, (conversation.unread || 0) + delta);
    if (mentioned) {
      conversation.unread_mentions = Math.max(0, (conversation.unread_mentions || 0) + delta);
    }
    this.emit({ type: "unread", conversation: conversationId });
  }

  // Our read marker moved (here or on another device).
  markedRead(conversationId, seq) {
    const conversation = this.conversations.get(conversationId);
    if (!conversation) return;
    conversation.last_read_seq = Math.max(conversation.last_read_seq ?? 0, seq);
    const cursor = this.cursors.get(conversationId) ?? 0;
    const timeline = this.timelines.get(conversationId);
    if (seq >= cursor) {
      conversation.unread = 0;
      conversation.unread_mentions = 0;
    } else if (timeline && !timeline.hasMore) {
      const unread = [...timeline.messages.values()].filter(
        (m) => m.seq > seq && !m.deleted && m.author.id !== this.me.id,
      );
      conversation.unread = unread.filter((m) => m.parent === null).length;
      const mentions = unread.filter((m) => m.mentions.includes(this.me.id)).length;
      // A mention in a thread reply we never loaded is not here to count: ask the server.
      const unsure = mentions < (conversation.unread_mentions || 0);
      conversation.unread_mentions = mentions;
      if (unsure) this.emit({ type: "unread-stale", conversation: conversationId });
    } else {
      this.emit({ type: "unread-stale", conversation: conversationId });
      return;
    }
    this.emit({ type: "unread", conversation: conversationId });
  }

  // ----- sends waiting for their ack

  addPending(pending) {
    this.pending.set(pending.client_id, pending);
    this.emit({ type: "pending", pending });
  }

  settlePending(clientId, message) {
    const pending = this.pending.get(clientId);
    if (!pending) return;
    this.pending.delete(clientId);
    this.emit({ type: "pending-settled", pending, message });
  }

  failPending(clientId, error) {
    const pending = this.pending.get(clientId);
    if (!pending) return;
    pending.state = "failed";
    pending.error = error.detail;
    this.emit({ type: "pending", pending });
  }

  // The ack of our own send: the message as committed.
  acknowledged(message) {
    this.putMessage(message.conversation, message, message.seq);
    this.settlePending(message.client_id, message);
  }

  conversationChanged(frame) {
    const conversation = this.conversations.get(frame.conversation);
    if (!conversation || !frame.details) return;
    const { topic, purpose, archived, barrier_read_only, history_visible: historyVisible } = frame.details;
    Object.assign(conversation, { topic, purpose, archived, barrier_read_only, history_visible: historyVisible });
    // A direct conversation's name is its people, as the list named it for us.
    if (CHANNEL_KINDS.has(conversation.kind)) {
      conversation.name = frame.details.name;
      conversation.kind = frame.details.kind; // made private or public
    }
    // Ownership handed over: the frame names the owners now.
    if (Array.isArray(frame.owners) && conversation.role) {
      conversation.role = frame.owners.includes(this.me.id) ? "owner" : "member";
    }
    this.emit({ type: "conversations" });
    this.emit({ type: "conversation", conversation: frame.conversation });
  }

  setPresence(userId, status) {
    this.presence.set(userId, status);
    this.emit({ type: "presence", user: userId });
  }
}

const EVENT_HANDLERS = {
  "conversation.created"(frame) {
    this.conversationChanged(frame);
  },
  "conversation.updated"(frame) {
    this.conversationChanged(frame);
  },
  "member.joined"(frame) {
    this.rememberUser(frame.user);
    if (frame.user.id === this.me.id && !this.conversations.has(frame.conversation)) {
      this.emit({ type: "joined", conversation: frame.conversation });
    }
    this.emit({ type: "members", conversation: frame.conversation });
  },
  "member.left"(frame) {
    if (frame.user.id === this.me.id) this.removeConversation(frame.conversation);
    else this.emit({ type: "members", conversation: frame.conversation });
  },
  "message.new"(frame) {
    const { message } = frame;
    this.countUnread(frame.conversation, message, +1);
    this.putMessage(frame.conversation, message, frame.seq);
    if (message.parent !== null) {
      this.touchMessage(frame.conversation, message.parent, frame.seq, (root) => {
        root.reply_count += 1;
      });
    }
    if (message.author.id === this.me.id) this.settlePending(message.client_id, message);
    this.emit({ type: "typing-stopped", conversation: frame.conversation, user: message.author.id });
  },
  "message.edited"(frame) {
    this.putMessage(frame.conversation, frame.message, frame.seq);
  },
  "message.deleted"(frame) {
    const { message } = frame;
    // A deleted message's frame names no mentions: the version we hold says whom it mentioned.
    const mentions = this.message(frame.conversation, message.id)?.mentions ?? [];
    this.countUnread(frame.conversation, { ...message, mentions }, -1);
    this.putMessage(frame.conversation, message, frame.seq);
    if (message.parent !== null) {
      this.touchMessage(frame.conversation, message.parent, frame.seq, (root) => {
        root.reply_count = Math.max(0, root.reply_count - 1);
      });
    }
  },
  "reaction.added"(frame) {
    this.rememberUser(frame.user);
    this.touchMessage(frame.conversation, frame.message_id, frame.seq, (message) => {
      const reaction = message.reactions.find((r) => r.emoji === frame.emoji);
      if (!reaction) message.reactions.push({ emoji: frame.emoji, users: [frame.user.id] });
      else if (!reaction.users.includes(frame.user.id)) reaction.users.push(frame.user.id);
    });
  },
  "reaction.removed"(frame) {
    this.touchMessage(frame.conversation, frame.message_id, frame.seq, (message) => {
      message.reactions = message.reactions
        .map((r) =>
          r.emoji === frame.emoji ? { ...r, users: r.users.filter((u) => u !== frame.user.id) } : r,
        )
        .filter((r) => r.users.length > 0);
    });
  },
  "attachment.added"(frame) {
    this.touchMessage(frame.conversation, frame.message_id, frame.seq, (message) => {
      if (!message.attachments.some((a) => a.id === frame.attachment.id)) {
        message.attachments.push(frame.attachment);
      }
    });
  },
};
