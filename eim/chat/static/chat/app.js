// The employee chat: boots from the REST API, then lives on the socket.

import { MessageActions } from "./actions.js";
import { ApiError, api } from "./api.js";
import { Composer } from "./composer.js";
import { setupBrowseDialog, setupCreateDialog, setupDirectDialog } from "./dialogs.js";
import { ChannelDialog } from "./manage.js";
import { Autocomplete } from "./mentions.js";
import { PolicyNotices } from "./notices.js";
import { Notifier } from "./notify.js";
import { Outbox } from "./outbox.js";
import { PhoneLayout, phone } from "./phone.js";
import { EmojiPicker } from "./picker.js";
import { Sidebar, conversationLabel } from "./sidebar.js";
import { SearchPanel } from "./search.js";
import { ChatSocket } from "./socket.js";
import { Store } from "./store.js";
import { conversationHeader } from "./header.js";
import { socketFrames } from "./frames.js";
import { historyPane } from "./history.js";
import { Timeline } from "./timeline.js";
import { selectOnTouch } from "./touch.js";
import { UnreadBar } from "./unread.js";
import { TypingIndicator } from "./typing.js";

const config = JSON.parse(document.getElementById("eim-config").textContent);
const $ = (id) => document.getElementById(id);

const store = new Store(config.me);
const picker = new EmojiPicker();
const view = {
  activeId: null,
  mainReady: false,
  loadingOlder: false,
  thread: null, // {conversation, root, opener}
  threadReady: false,
  drafts: new Map(),
  readTimer: null,
};

// ----- the pieces of the page

const layout = new PhoneLayout({
  app: $("app"),
  sidebar: $("sidebar"),
  backdrop: $("sidebar-backdrop"),
  menu: $("menu-button"),
  covered: [$("conversation"), $("thread-panel"), $("search-panel")],
});

const outbox = new Outbox({
  store,
  errorsFor: (pending) => (pending.parent === null ? composer : threadComposer),
});

const notifier = new Notifier(
  {
    me: store.me,
    conversation: (id) => store.conversations.get(id),
    isChannel: (id) => store.isChannel(id),
    activeId: () => view.activeId,
    open: (id) => openConversation(id, { focus: true }),
    changed: () => showChoices(),
    failed: (detail) => {
      composer.showError(`Couldn't save that choice: ${detail}`);
      showChoices();
    },
  },
  config.preferences,
);

const sidebar = new Sidebar({
  store,
  isMuted: (id) => notifier.isMuted(id),
  channelList: $("channel-list"),
  dmList: $("dm-list"),
  channelsEmpty: $("channels-empty"),
  dmsEmpty: $("dms-empty"),
  onOpen: (id) => openConversation(id, { focus: true }),
});

// The header, the bell, read-only reasons and the unread totals (header.js).
const { updateUnreadTotals, renderHeader, showChoices, showNotifyState, readOnlyReason, readOnlyPlaceholder } =
  conversationHeader({ store, view, sidebar, notifier });

function renderContext(inThread) {
  return () => ({
    me: store.me,
    userName: (id) => store.users.get(id)?.name ?? "Someone",
    inThread,
    rootId: inThread ? view.thread?.root : null,
    live: socket.live,
    channelByName,
  });
}

function channelByName(name) {
  for (const conversation of store.conversations.values()) {
    if (store.isChannel(conversation.id) && conversation.name === name) return conversation;
  }
  return null;
}

// People to offer after "@": the conversation's members as far as we know them.
function membersOf(conversationId) {
  const conversation = store.conversations.get(conversationId);
  if (!conversation) return [];
  const ids = conversation.memberIds || (conversation.people || []).map((p) => p.id);
  return ids.map((id) => store.users.get(id)).filter(Boolean);
}

const mainTimeline = new Timeline({
  list: $("message-list"),
  scroller: $("message-scroll"),
  context: renderContext(false),
  lookup: (id) => store.message(view.activeId, id),
  onNewBelow: () => {
    $("jump-button").hidden = false;
  },
});

const unreadBar = new UnreadBar({
  bar: $("unread-bar"),
  timeline: mainTimeline,
  onMarkRead: () => markRead({ force: true }),
});

const threadTimeline = new Timeline({
  list: $("thread-list"),
  scroller: $("thread-scroll"),
  context: renderContext(true),
  lookup: (id) => store.message(view.thread?.conversation, id),
});

const typing = new TypingIndicator((conversationId) => {
  if (conversationId === view.activeId) $("typing-line").textContent = typing.line(conversationId);
});

const composer = new Composer($("composer"), {
  maxChars: config.maxMessageChars,
  maxBytes: config.maxAttachmentBytes,
  hooks: {
    conversation: () => view.activeId,
    send: ({ body, attachments }) => outbox.send(view.activeId, null, body, attachments),
    typing: () => socket.send({ type: "typing", conversation: view.activeId }),
    editLast: () => actions.editLast(actions.panes[0], null),
  },
});

const threadComposer = new Composer($("thread-composer"), {
  maxChars: config.maxMessageChars,
  maxBytes: config.maxAttachmentBytes,
  hooks: {
    conversation: () => view.thread?.conversation,
    send: ({ body, attachments }) =>
      outbox.send(view.thread.conversation, view.thread.root, body, attachments),
    typing: () => socket.send({ type: "typing", conversation: view.thread.conversation }),
    editLast: () => actions.editLast(actions.panes[1], view.thread.root),
  },
});

const channelsOf = () => [...store.conversations.values()].filter((c) => store.isChannel(c.id));
new Autocomplete($("composer"), { me: store.me, members: () => membersOf(view.activeId), channels: channelsOf });
new Autocomplete($("thread-composer"), {
  me: store.me,
  members: () => membersOf(view.thread?.conversation),
  channels: channelsOf,
});

// Socket frames and the connection's state (frames.js).
const { receiveFrame, connectionChanged, showPending, messageChanged } = socketFrames(
  { store, view, outbox, typing, notifier, mainTimeline, threadTimeline },
  {
    socket: () => socket,
    scheduleReadMark: () => scheduleReadMark(),
    showChoices: () => showChoices(),
    showNotice: (frame) => policyNotices.show(frame),
    refreshNotices: () => policyNotices.refresh(),
  },
);

const socket = new ChatSocket({
  url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/`,
  onHello: (hello) => {
    const { cursors, unknown, gone } = store.syncCursors(hello.cursors);
    for (const id of gone) store.removeConversation(id);
    for (const id of unknown) fetchConversation(id);
    return cursors;
  },
  onFrame: receiveFrame,
  onState: connectionChanged,
});
outbox.socket = socket;
const policyNotices = new PolicyNotices($("policy-notices"), {
  where: (hit) => {
    const conversation = store.conversations.get(hit.id);
    if (!conversation) return "a conversation you left";
    return store.isChannel(hit.id) ? conversationLabel(conversation) : `your direct message with ${conversation.name}`;
  },
  onReveal: (conversationId, messageId) => revealMessage(conversationId, messageId),
});

// The history, reading and the thread panel (history.js).
const {
  showMessages,
  loadOlder,
  showNoConversation,
  revealMessage,
  scheduleReadMark,
  markRead,
  openThread,
  closeThread,
} = historyPane(
  { store, view, mainTimeline, threadTimeline, unreadBar, composer, threadComposer, sidebar },
  {
    socket: () => socket,
    openConversation: (id) => openConversation(id),
    closeSearch: () => searchPanel.close(),
    readOnlyReason: (conversation) => readOnlyReason(conversation),
    updateUnreadTotals: () => updateUnreadTotals(),
  },
);

// ----- store changes → the page

store.subscribe((change) => {
  switch (change.type) {
    case "conversations":
      sidebar.render();
      updateUnreadTotals();
      if (view.activeId !== null && store.conversations.has(view.activeId)) renderHeader();
      break;
    case "unread":
      sidebar.render();
      updateUnreadTotals();
      if (change.conversation === view.activeId) scheduleReadMark();
      break;
    case "unread-stale":
      api.conversation(change.conversation).then((c) => store.addConversation(c), () => {});
      break;
    case "message":
      messageChanged(change);
      break;
    case "pending":
      if (socket.live && change.pending.state === "sending") outbox.transmit(change.pending);
      showPending(change.pending);
      break;
    case "pending-settled":
      mainTimeline.removePending(change.pending.client_id);
      threadTimeline.removePending(change.pending.client_id);
      break;
    case "presence":
      sidebar.render();
      if (view.activeId !== null) renderHeader();
      break;
    case "typing-stopped":
      typing.stopped(change.conversation, change.user);
      break;
    case "joined":
      fetchConversation(change.conversation);
      break;
    case "members":
      if (change.conversation === view.activeId) loadMembers(change.conversation);
      break;
    case "removed":
      conversationRemoved(change.conversation);
      break;
    case "conversation":
      if (change.conversation === view.activeId) retargetComposer(store.conversations.get(view.activeId));
      break;
    default:
      break;
  }
});

// ----- conversations

async function fetchConversation(id) {
  store.fetchingConversation(id);
  try {
    store.addConversation(await api.conversation(id));
    fetchPresence();
  } catch {
    store.fetchFailed(id); // not visible to us (any more): nothing to show
  }
}

async function openConversation(id, { focus = false } = {}) {
  const conversation = store.conversations.get(id);
  if (!conversation) return;
  const focusedBefore = document.activeElement;
  if (view.activeId !== null && view.activeId !== id) view.drafts.set(view.activeId, composer.input.value);
  const switching = view.activeId !== id;
  view.activeId = id;
  $("app").dataset.state = "conversation";
  history.replaceState(null, "", `#/c/${id}`);
  sidebar.setActive(id);
  updateUnreadTotals();
  renderHeader();
  layout.closeSidebar();
  if (switching) {
    retargetComposer(conversation, view.drafts.get(id) || "");
    $("typing-line").textContent = typing.line(id);
    if (view.thread && view.thread.conversation !== id) closeThread();
    unreadBar.start(conversation.last_read_seq ?? 0, conversation.unread || 0);
    await showMessages(id, { unread: conversation.unread || 0 });
  }
  if (focus && !phone.matches) composer.focusAfterLoad(focusedBefore);
  if (conversation.kind !== "direct" && conversation.kind !== "group") loadMembers(id);
}

function retargetComposer(conversation, draft = composer.input.value) {
  composer.retarget({
    label: `Message ${conversationLabel(conversation)}`,
    placeholder: readOnlyPlaceholder(conversation)
      || `Message ${conversation.kind === "public" ? "#" : ""}${conversation.name}`,
    draft,
    enabled: !readOnlyReason(conversation),
  });
}

async function loadMembers(id) {
  try {
    membersLoaded(id, await api.members(id));
  } catch {
    // the header simply shows no count
  }
}

function membersLoaded(id, members) {
  for (const member of members) store.rememberUser(member);
  const conversation = store.conversations.get(id);
  if (!conversation) return;
  conversation.memberCount = members.length;
  conversation.memberIds = members.map((m) => m.id);
  if (id === view.activeId) renderHeader();
}

function conversationRemoved(id) {
  if (view.thread?.conversation === id) closeThread();
  const left = view.leaving === id;
  if (channelDialog.id === id && $("channel-dialog").open) $("channel-dialog").close();
  if (view.activeId !== id) return;
  view.activeId = null;
  view.mainReady = false;
  const next = sidebar.ordered().all[0];
  if (next) openConversation(next.id);
  else showNoConversation();
  if (!left) composer.showError("You are no longer a member of that conversation.");
}

// ----- search, and showing one message in its conversation

const searchPanel = new SearchPanel($("search-panel"), {
  where: (hit) => {
    const conversation = store.conversations.get(hit.id);
    if (!conversation) return hit.name ? `#${hit.name}` : "a conversation you left";
    return store.isChannel(hit.id) ? conversationLabel(conversation) : `Direct message with ${conversation.name}`;
  },
  onOpen: () => {
    closeThread();
    $("app").classList.add("search-open");
    layout.closeSidebar();
  },
  onClose: () => $("app").classList.remove("search-open"),
  onPick: (hit) => {
    if (phone.matches) searchPanel.close();
    revealMessage(hit.conversation.id, hit.message_id);
  },
});

// ----- a conversation's details and members

const channelDialog = new ChannelDialog($("channel-dialog"), {
  me: store.me,
  conversation: (id) => store.conversations.get(id),
  confirmDialog: $("confirm-dialog"),
  ownersChangeVisibility: config.ownersChangeVisibility,
  onMembers: membersLoaded,
  onChanged: (id) => {
    store.emit({ type: "conversations" });
    if (id === view.activeId) retargetComposer(store.conversations.get(id));
  },
  onLeaving: (id) => {
    view.leaving = id;
  },
  onLeft: (id) => {
    if ($("channel-dialog").open) $("channel-dialog").close();
    if (store.conversations.has(id)) store.removeConversation(id);
  },
});

// ----- message actions (edit, delete, reactions, thread)

const actions = new MessageActions({
  store,
  picker,
  confirmDialog: $("confirm-dialog"),
  panes: [
    { timeline: mainTimeline, composer, conversation: () => view.activeId },
    { timeline: threadTimeline, composer: threadComposer, conversation: () => view.thread?.conversation },
  ],
  openConversation: (id, options) => openConversation(id, options),
  openThread: (id, root, opener) => openThread(id, root, opener),
});
actions.socket = socket;

// ----- presence

async function fetchPresence() {
  const partners = new Map();
  for (const conversation of store.conversations.values()) {
    for (const person of conversation.people || []) partners.set(person.id, person);
  }
  if (!partners.size) return;
  try {
    const ids = [...partners.keys()];
    for (let start = 0; start < ids.length; start += 100) {
      for (const user of await api.usersById(ids.slice(start, start + 100))) {
        store.presence.set(user.id, user.presence);
      }
    }
  } catch {
    return;
  }
  sidebar.render();
  if (view.activeId !== null) renderHeader();
}

// ----- keyboard

function switchConversation(step) {
  const all = sidebar.ordered().all;
  if (!all.length) return;
  const index = all.findIndex((c) => c.id === view.activeId);
  const next = all[(index + step + all.length) % all.length];
  openConversation(next.id, { focus: true });
}

function keydown(event) {
  if (event.altKey && (event.key === "ArrowUp" || event.key === "ArrowDown")) {
    event.preventDefault();
    switchConversation(event.key === "ArrowUp" ? -1 : 1);
  } else if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "k") {
    event.preventDefault();
    searchPanel.open($("search-button"));
  } else if (event.key === "Escape" && !event.defaultPrevented) {
    if (picker.isOpen) picker.close();
    else if (document.querySelector("dialog[open]")) return;
    else if ($("app").classList.contains("sidebar-open")) {
      layout.setSidebarOpen(false);
      $("menu-button").focus();
    } else if (view.thread) closeThread();
    else if (searchPanel.isOpen) searchPanel.close();
  }
}

// ----- wiring and start

function bindPage() {
  $("thread-close").addEventListener("click", closeThread);
  selectOnTouch($("message-list"));
  selectOnTouch($("thread-list"));
  $("message-scroll").addEventListener("scroll", () => {
    if ($("message-scroll").scrollTop < 120) loadOlder();
    if (mainTimeline.atBottom) {
      $("jump-button").hidden = true;
      scheduleReadMark();
    }
  });
  $("jump-button").addEventListener("click", () => {
    mainTimeline.scrollToBottom();
    $("jump-button").hidden = true;
    composer.focus();
  });
  document.addEventListener("keydown", keydown);
  document.addEventListener("visibilitychange", () => {
    socket.send({ type: "presence.set", status: document.hidden ? "away" : "online" });
    if (socket.live) $("my-presence").dataset.status = document.hidden ? "away" : "online";
    if (!document.hidden) scheduleReadMark();
  });
  window.addEventListener("focus", scheduleReadMark);

  const opened = (conversation) => {
    store.addConversation(conversation);
    fetchPresence();
    openConversation(conversation.id, { focus: true });
  };
  const openBrowse = setupBrowseDialog($("browse-dialog"), { onJoined: opened });
  // A new private channel starts with its invite step, not an empty room.
  const openCreate = setupCreateDialog($("create-dialog"), {
    onCreated: (conversation) => {
      opened(conversation);
      if (conversation.kind === "private") channelDialog.open(conversation.id, { tab: "members", invite: true });
    },
  });
  $("members-button").addEventListener("click", () => channelDialog.open(view.activeId, { tab: "members" }));
  $("channel-settings-button").addEventListener("click", () => channelDialog.open(view.activeId));
  const openDirect = setupDirectDialog($("dm-dialog"), {
    me: store.me,
    presence: (user) => store.presence.get(user.id) || user.presence || "offline",
    onOpened: opened,
  });
  $("browse-channels-button").addEventListener("click", openBrowse);
  $("search-button").addEventListener("click", () => searchPanel.open($("search-button")));
  $("notify-button").addEventListener("click", async () => {
    await notifier.toggle();
    showNotifyState();
  });
  showNotifyState();
  $("mute-button").addEventListener("click", () => {
    notifier.setMuted(view.activeId, !notifier.isMuted(view.activeId));
    showChoices();
  });
  for (const box of [composer, threadComposer]) {
    const button = box.form.querySelector('[data-role="emoji"]');
    button.addEventListener("click", () => picker.open(button, (emoji) => box.insert(emoji), { label: "Insert" }));
  }
  $("create-channel-button").addEventListener("click", openCreate);
  $("new-dm-button").addEventListener("click", openDirect);
}

function initialConversation() {
  const wanted = Number(location.hash.match(/^#\/c\/(\d+)$/)?.[1]);
  if (store.conversations.has(wanted)) return wanted;
  return sidebar.ordered().all[0]?.id ?? null;
}

async function start() {
  bindPage();
  let conversations;
  try {
    conversations = await api.conversations();
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) location.assign("/login/");
    $("connection-banner").textContent = `Couldn't load your conversations: ${error.detail} Reload to try again.`;
    $("connection-banner").hidden = false;
    return;
  }
  for (const conversation of conversations) store.addConversation(conversation);
  sidebar.render();
  const first = initialConversation();
  if (first === null) showNoConversation();
  else openConversation(first, { focus: true });
  socket.start();
  fetchPresence();
}

start();
