// What comes in on the socket (frames, the connection's state) and how a message or a pending
// send that changed in the store reaches the timelines. app.js wires it in.

const $ = (id) => document.getElementById(id);

// parts: store, view (the page's shared state), outbox, typing, notifier, mainTimeline,
// threadTimeline. hooks: socket(), scheduleReadMark(), showChoices(), showNotice(frame),
// refreshNotices().
export function socketFrames(parts, hooks) {
  const { store, view, outbox, typing, notifier, mainTimeline, threadTimeline } = parts;

  function receiveFrame(frame) {
    switch (frame.type) {
      case "message.ack":
        store.acknowledged(frame.message);
        break;
      case "error":
        if (frame.client_id) outbox.failed(frame);
        break;
      case "typing":
        typing.typing(frame.conversation, frame.user, frame.name);
        break;
      case "presence":
        store.setPresence(frame.user, frame.status);
        break;
      case "read.updated":
        store.markedRead(frame.conversation, frame.seq);
        break;
      case "notice.new": // a content policy's notice for this person (notices.js)
        hooks.showNotice(frame);
        break;
      case "preferences": // changed on another device or tab
        notifier.adopt(frame);
        hooks.showChoices();
        break;
      default:
        if (typeof frame.seq === "number" && typeof frame.conversation === "number") {
          const cursor = store.cursors.get(frame.conversation);
          store.applyEvent(frame);
          if (frame.type === "message.new" && cursor !== undefined && frame.seq > cursor && isRecent(frame.message)) {
            notifier.message(frame.conversation, frame.message);
          }
        }
    }
  }

  // A replay after a long absence is history, not news: no notification for it.
  function isRecent(message) {
    return Date.now() - Date.parse(message.created_at) < 2 * 60 * 1000;
  }

  function connectionChanged(state) {
    $("app").dataset.connection = state;
    const banner = $("connection-banner");
    const myDot = $("my-presence");
    if (state === "live") {
      banner.hidden = true;
      myDot.dataset.status = document.hidden ? "away" : "online";
      if (document.hidden) hooks.socket().send({ type: "presence.set", status: "away" });
      outbox.flush();
      hooks.scheduleReadMark();
      hooks.refreshNotices();
    } else if (state === "waiting") {
      banner.textContent = navigator.onLine
        ? "Reconnecting…"
        : "You are offline. Reconnecting… (messages you send now go out when you are back)";
      banner.hidden = false;
      myDot.dataset.status = "offline";
    } else if (state === "ended") {
      banner.textContent = "You have been signed out. Taking you to the sign-in page…";
      banner.hidden = false;
      setTimeout(() => location.assign(`/login/?next=${encodeURIComponent(location.pathname)}`), 1500);
    }
    refreshPendingNodes();
  }

  function refreshPendingNodes() {
    for (const pending of store.pending.values()) showPending(pending);
  }

  function showPending(pending) {
    if (pending.conversation !== view.activeId && pending.conversation !== view.thread?.conversation) return;
    if (pending.parent === null && pending.conversation === view.activeId && view.mainReady) {
      mainTimeline.upsertPending(pending);
      $("empty-state").hidden = true;
    }
    if (pending.parent !== null && pending.parent === view.thread?.root && view.threadReady) {
      threadTimeline.upsertPending(pending);
    }
  }

  function messageChanged({ conversation, message, known }) {
    if (conversation === view.activeId && view.mainReady && message.parent === null) {
      mainTimeline.upsert(message);
      $("empty-state").hidden = true;
      hooks.scheduleReadMark();
    }
    const thread = view.thread;
    if (thread?.conversation === conversation && view.threadReady) {
      if (message.id === thread.root || message.parent === thread.root) threadTimeline.upsert(message);
    }
    if (!known && conversation === view.activeId && message.author.id !== store.me.id) {
      const where = message.parent === null ? "" : " in a thread";
      $("announcer").textContent = `${message.author.name}${where}: ${message.body}`;
    }
  }

  return { receiveFrame, connectionChanged, showPending, messageChanged };
}
