// A conversation's history and its thread: loading pages by `seq`, the timeline's status
// line and empty state, loading older pages as the reader scrolls up, showing one message in
// its place (search), reading (the read marker), and the thread panel. app.js wires it in.

import { api } from "./api.js";
import { el } from "./render.js";
import { conversationLabel } from "./sidebar.js";

const $ = (id) => document.getElementById(id);

// parts: store, view (the page's shared state), mainTimeline, threadTimeline, unreadBar,
// composer, threadComposer, sidebar.
// hooks: socket(), openConversation(id), closeSearch(), readOnlyReason(conversation),
// updateUnreadTotals().
export function historyPane(parts, hooks) {
  const { store, view, mainTimeline, threadTimeline, unreadBar, composer, threadComposer, sidebar } = parts;

  async function showMessages(id, { unread = 0 } = {}) {
    view.mainReady = false;
    mainTimeline.clear();
    $("jump-button").hidden = true;
    $("empty-state").hidden = true;
    const status = $("history-status");
    const timeline = store.timelines.get(id);
    if (!timeline || timeline.loadedSeq === null) {
      status.textContent = "Loading messages…";
      status.hidden = false;
      $("message-scroll").setAttribute("aria-busy", "true");
      try {
        // Enough to reach the first unread message, so the reader lands on it.
        const limit = Math.min(200, Math.max(50, unread + 10));
        await store.load(id, () => api.messages(id, { limit }), { initial: true });
      } catch (error) {
        if (view.activeId === id) {
          showLoadError(id, error);
          $("message-scroll").setAttribute("aria-busy", "false");
        }
        return;
      }
      if (view.activeId !== id) return;
    }
    renderMessages(id);
    $("message-scroll").setAttribute("aria-busy", "false");
  }

  function renderMessages(id) {
    const messages = store.topLevelMessages(id);
    const pending = [...store.pending.values()].filter((p) => p.conversation === id && p.parent === null);
    mainTimeline.setMessages(messages, pending);
    view.mainReady = true;
    renderHistoryStatus(id);
    renderEmptyState(id, messages.length + pending.length === 0);
    markRead();
    unreadBar.update();
    fillScreen(id);
  }

  function showLoadError(id, error) {
    const status = $("history-status");
    status.replaceChildren(`Couldn't load the messages: ${error.detail} `);
    const retry = el("button", { type: "button", class: "link-button", text: "Try again" });
    retry.addEventListener("click", () => showMessages(id));
    status.append(retry);
    status.hidden = false;
  }

  function renderHistoryStatus(id) {
    const status = $("history-status");
    const timeline = store.timelines.get(id);
    const conversation = store.conversations.get(id);
    if (view.loadingOlder) status.textContent = "Loading earlier messages…";
    else if (!timeline.hasMore && store.topLevelMessages(id).length) {
      status.textContent = store.isChannel(id)
        ? `This is the very beginning of ${conversationLabel(conversation)}.`
        : `This is the very beginning of your conversation with ${conversation.name}.`;
    } else status.textContent = "";
    status.hidden = !status.textContent;
  }

  function renderEmptyState(id, empty) {
    $("empty-state").hidden = !empty;
    if (!empty) return;
    const conversation = store.conversations.get(id);
    $("empty-title").textContent = "No messages yet — say hello";
    $("empty-hint").textContent =
      conversation.kind === "direct" || conversation.kind === "group"
        ? `This is the start of your conversation with ${conversation.name}.`
        : `This is the start of ${conversationLabel(conversation)}.${
            conversation.purpose ? ` Its purpose: ${conversation.purpose}` : ""
          }`;
  }

  // Load older pages until the pane can scroll, so scrolling up can ask for more.
  function fillScreen(id) {
    const scroller = $("message-scroll");
    const timeline = store.timelines.get(id);
    if (timeline?.hasMore && scroller.scrollHeight <= scroller.clientHeight) loadOlder();
  }

  // Returns whether a page was added.
  async function loadOlder({ limit = 50 } = {}) {
    const id = view.activeId;
    const timeline = store.timelines.get(id);
    if (view.loadingOlder || !view.mainReady || !timeline?.hasMore) return false;
    const oldest = store.topLevelMessages(id)[0];
    if (!oldest) return false;
    view.loadingOlder = true;
    renderHistoryStatus(id);
    try {
      const page = await store.load(id, () => api.messages(id, { before: oldest.seq, limit }));
      timeline.hasMore = page.has_more;
      if (view.activeId === id) mainTimeline.prepend(page.results.filter((m) => m.parent === null).map((m) => store.message(id, m.id)));
      return true;
    } catch (error) {
      composer.showError(`Couldn't load earlier messages: ${error.detail}`);
      return false;
    } finally {
      view.loadingOlder = false;
      if (view.activeId === id) {
        renderHistoryStatus(id);
        fillScreen(id);
      }
    }
  }

  function showNoConversation() {
    $("app").dataset.state = "empty";
    $("conversation-title").textContent = "Welcome to eim";
    $("conversation-topic").textContent = "";
    mainTimeline.clear();
    $("history-status").hidden = true;
    $("empty-state").hidden = false;
    $("empty-title").textContent = "No channels yet";
    $("empty-hint").textContent = "Browse the channels of your organisation or create one for your team.";
    composer.retarget({ label: "Message", placeholder: "Open a conversation to write", enabled: false });
  }

  // Open the conversation (or the thread) of a message, load history back to it, highlight it.
  async function revealMessage(conversationId, messageId) {
    if (!store.conversations.has(conversationId)) {
      composer.showError("You are no longer in that conversation.");
      return;
    }
    let message;
    try {
      message = await api.message(messageId);
    } catch (error) {
      composer.showError(`Couldn't show that message: ${error.detail}`);
      return;
    }
    if (view.activeId !== conversationId) await hooks.openConversation(conversationId);
    if (message.parent !== null) {
      await openThread(conversationId, message.parent, null);
      threadTimeline.highlight(messageId);
      return;
    }
    for (let page = 0; page < 20 && !store.message(conversationId, messageId); page += 1) {
      if (!(await loadOlder({ limit: 200 }))) break;
    }
    if (!mainTimeline.highlight(messageId)) {
      composer.showError("That message is too far back to show here; scroll up to read it.");
    }
  }

  function scheduleReadMark() {
    clearTimeout(view.readTimer);
    view.readTimer = setTimeout(markRead, 150);
  }

  function markRead({ force = false } = {}) {
    const id = view.activeId;
    const conversation = store.conversations.get(id);
    if (!conversation || !view.mainReady) return;
    if (!force && (document.hidden || !mainTimeline.atBottom)) return;
    const seq = store.cursors.get(id) ?? 0;
    if (seq <= (conversation.last_read_seq ?? 0) && !conversation.unread) return;
    conversation.last_read_seq = Math.max(conversation.last_read_seq ?? 0, seq);
    conversation.unread = 0;
    conversation.unread_mentions = 0;
    unreadBar.read();
    sidebar.render();
    hooks.updateUnreadTotals();
    if (!hooks.socket().send({ type: "read.mark", conversation: id, seq })) api.markRead(id, seq).catch(() => {});
  }

  async function openThread(conversationId, rootId, opener) {
    const focusedBefore = document.activeElement;
    hooks.closeSearch();
    view.thread = { conversation: conversationId, root: rootId, opener };
    view.threadReady = false;
    const panel = $("thread-panel");
    panel.hidden = false;
    $("app").classList.add("thread-open");
    const conversation = store.conversations.get(conversationId);
    $("thread-where").textContent = conversationLabel(conversation);
    threadComposer.retarget({
      label: `Reply in thread in ${conversationLabel(conversation)}`,
      placeholder: "Reply…",
      enabled: !hooks.readOnlyReason(conversation),
    });
    threadTimeline.clear();
    $("thread-scroll").setAttribute("aria-busy", "true");
    try {
      await store.load(conversationId, () => api.messages(conversationId, { thread: rootId, limit: 200 }));
    } catch (error) {
      threadComposer.showError(`Couldn't load the thread: ${error.detail}`);
      return;
    }
    if (view.thread?.root !== rootId) return;
    const pending = [...store.pending.values()].filter((p) => p.parent === rootId);
    threadTimeline.setMessages(store.threadMessages(conversationId, rootId), pending);
    view.threadReady = true;
    $("thread-scroll").setAttribute("aria-busy", "false");
    threadComposer.focusAfterLoad(focusedBefore);
  }

  function closeThread() {
    if (!view.thread) return;
    const { opener } = view.thread;
    view.thread = null;
    view.threadReady = false;
    threadTimeline.clear();
    $("thread-panel").hidden = true;
    $("app").classList.remove("thread-open");
    if (opener?.isConnected) opener.focus();
  }

  return {
    showMessages,
    loadOlder,
    showNoConversation,
    revealMessage,
    scheduleReadMark,
    markRead,
    openThread,
    closeThread,
  };
}
