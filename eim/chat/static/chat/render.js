// DOM for messages. Every string goes in through textContent, except a message's `html`,
// which the server rendered from a safe markdown subset and sanitised.

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

export function icon(name) {
  const paths = {
    reply: "M8 5L3 10l5 5M3.5 10H12a5 5 0 015 5v1",
    edit: "M13.5 3.5l3 3L7 16H4v-3z",
    trash: "M4 6h12M8 6V4h4v2M6 6l1 10h6l1-10",
    smile: "M10 17a7 7 0 110-14 7 7 0 010 14zM7 11.5s1 1.5 3 1.5 3-1.5 3-1.5M7.5 8h0M12.5 8h0",
    file: "M5 2h7l4 4v12H5zM12 2v4h4",
  };
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 20 20");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", paths[name]);
  svg.append(path);
  return svg;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const dateFormat = new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long" });
const yearDateFormat = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "long", year: "numeric" });
export const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "medium" });

// "9:05 AM" or "9:05": the reader's locale, without a leading zero on the hour.
export function shortTime(iso) {
  return timeFormat
    .formatToParts(new Date(iso))
    .map((part) => (part.type === "hour" && part.value.length === 2 ? part.value.replace(/^0/, "") : part.value))
    .join("");
}

export function dayKey(time) {
  const date = new Date(time);
  return `${date.getFullYear()}-${date.getMonth()}-${date.getDate()}`;
}

// "Today", "Yesterday", "Monday 3 March", or with the year when it is not this year's.
export function dayLabel(time) {
  const date = new Date(time);
  const today = new Date();
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  if (dayKey(date) === dayKey(today)) return "Today";
  if (dayKey(date) === dayKey(yesterday)) return "Yesterday";
  return date.getFullYear() === today.getFullYear() ? dateFormat.format(date) : yearDateFormat.format(date);
}

// A time with its day, for lists that have no day separators (search results).
export function dayAndTime(iso) {
  const label = dayLabel(iso);
  return `${label}, ${shortTime(iso)}`;
}

export function fileSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1048576).toFixed(1)} MB`;
}

export function initials(name) {
  const parts = name.trim().split(/[\s._-]+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0][0] + parts[1][0] : name.slice(0, 2);
  return letters.toUpperCase();
}

// A stable colour per person, so a face is recognisable before the name is read.
export function hue(id) {
  return (id * 137) % 360;
}

export function avatar(user, className = "avatar") {
  const node = el("span", { class: className, "aria-hidden": "true", text: initials(user.name) });
  node.style.setProperty("--hue", hue(user.id));
  return node;
}

// The server's INLINE_CONTENT_TYPES (eim/chat/services/attachments.py): only these are shown
// in the page; anything else is a link that downloads.
const INLINE_CONTENT_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);

function attachmentList(attachments) {
  if (!attachments.length) return null;
  const list = el("ul", { class: "attachments" });
  for (const attachment of attachments) {
    const isImage = INLINE_CONTENT_TYPES.has(attachment.content_type);
    const link = el("a", {
      href: attachment.url,
      class: isImage ? "attachment attachment-image" : "attachment",
      target: isImage ? "_blank" : null,
      rel: "noopener",
      title: `${attachment.filename} (${fileSize(attachment.size)})`,
    });
    if (isImage) {
      link.append(el("img", { src: attachment.url, alt: attachment.filename, loading: "lazy" }));
    } else {
      link.append(
        icon("file"),
        el("span", { class: "attachment-name", text: attachment.filename }),
        el("span", { class: "attachment-size", text: fileSize(attachment.size) }),
      );
    }
    list.append(el("li", {}, link));
  }
  return list;
}

function reactionBar(message, ctx) {
  if (!message.reactions.length) return null;
  const bar = el("div", { class: "reactions", role: "group", "aria-label": "Reactions" });
  for (const reaction of message.reactions) {
    const mine = reaction.users.includes(ctx.me.id);
    const names = reaction.users.map((id) => ctx.userName(id)).join(", ");
    const button = el(
      "button",
      {
        type: "button",
        class: "reaction",
        "aria-pressed": mine ? "true" : "false",
        "aria-label": `${reaction.emoji} ${reaction.users.length}: ${names}. ${mine ? "Remove your reaction" : "React too"}`,
        title: names,
        dataset: { action: "toggle-reaction", emoji: reaction.emoji, focusKey: `r${reaction.emoji}` },
      },
      el("span", { class: "reaction-emoji", text: reaction.emoji }),
      el("span", { class: "reaction-count", text: String(reaction.users.length) }),
    );
    bar.append(button);
  }
  return bar;
}

function actionButton(action, label, iconName) {
  return el(
    "button",
    {
      type: "button",
      class: "action",
      "aria-label": label,
      title: label,
      dataset: { action, focusKey: action },
    },
    icon(iconName),
  );
}

function messageActions(message, ctx) {
  const actions = el("div", { class: "message-actions", role: "group", "aria-label": "Actions" });
  actions.append(actionButton("pick-reaction", "Add a reaction", "smile"));
  if (ctx.inThread === false) actions.append(actionButton("open-thread", "Reply in thread", "reply"));
  if (message.author.id === ctx.me.id) {
    actions.append(actionButton("edit", "Edit message", "edit"));
    actions.append(actionButton("delete", "Delete message", "trash"));
  }
  return actions;
}

// "#name" of a channel the reader is in becomes a link that opens it (text nodes outside
// links and code only; built as elements, never as HTML).
const CHANNEL_REFERENCE = /(^|[^\p{L}\p{N}_&/#-])#([\p{L}\p{N}_-]{1,80})/gu;

function linkChannels(body, channelByName) {
  const walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT, {
    acceptNode: (node) =>
      node.parentElement.closest("a, code, pre") ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT,
  });
  const texts = [];
  while (walker.nextNode()) if (walker.currentNode.nodeValue.includes("#")) texts.push(walker.currentNode);
  for (const text of texts) {
    const value = text.nodeValue;
    const pieces = [];
    let last = 0;
    for (const match of value.matchAll(CHANNEL_REFERENCE)) {
      const channel = channelByName(match[2].toLowerCase());
      if (!channel) continue;
      const start = match.index + match[1].length;
      pieces.push(value.slice(last, start));
      pieces.push(
        el("a", {
          href: `#/c/${channel.id}`,
          class: "channel-link",
          text: `#${match[2]}`,
          dataset: { action: "open-channel", conversation: channel.id },
        }),
      );
      last = start + match[2].length + 1;
    }
    if (!pieces.length) continue;
    pieces.push(value.slice(last));
    text.replaceWith(...pieces);
  }
}

// ctx: {me, userName(id), inThread, isRoot, channelByName(name)}
export function messageElement(message, ctx) {
  const own = message.author.id === ctx.me.id;
  const classes = ["message"];
  if (own) classes.push("own");
  if (message.deleted) classes.push("deleted");
  if (message.mentions.includes(ctx.me.id) && !own) classes.push("mentions-me");
  if (ctx.isRoot) classes.push("thread-root");
  const item = el("li", {
    class: classes.join(" "),
    dataset: {
      messageId: message.id,
      seq: message.seq,
      author: message.author.id,
      time: Date.parse(message.created_at),
    },
  });
  const meta = el(
    "div",
    { class: "message-meta" },
    el("span", { class: "author", text: message.author.name }),
    el("time", {
      datetime: message.created_at,
      title: fullFormat.format(new Date(message.created_at)),
      text: shortTime(message.created_at),
    }),
  );
  if (message.edited_at && !message.deleted) {
    meta.append(
      el("span", {
        class: "edited",
        title: `Edited ${fullFormat.format(new Date(message.edited_at))}`,
        text: "(edited)",
      }),
    );
  }
  const main = el("div", { class: "message-main" }, meta);
  if (message.deleted) {
    main.append(el("p", { class: "tombstone", text: "This message was deleted" }));
  } else {
    const body = el("div", { class: "message-body" });
    body.innerHTML = message.html; // sanitised server-side; the only innerHTML in the client
    for (const link of body.querySelectorAll("a[href]")) {
      link.target = "_blank";
      link.rel = "noopener noreferrer nofollow";
    }
    if (ctx.channelByName) linkChannels(body, ctx.channelByName);
    main.append(body);
    main.append(attachmentList(message.attachments) || "");
    main.append(reactionBar(message, ctx) || "");
  }
  if (!ctx.inThread && message.reply_count > 0) {
    const count = message.reply_count;
    main.append(
      el("button", {
        type: "button",
        class: "reply-count",
        text: count === 1 ? "1 reply" : `${count} replies`,
        dataset: { action: "open-thread", focusKey: "replies" },
      }),
    );
  }
  // Shown beside a continued message (its header is hidden) when the pointer is on it.
  const gutter = el("time", {
    class: "gutter-time",
    datetime: message.created_at,
    title: fullFormat.format(new Date(message.created_at)),
    text: shortTime(message.created_at),
  });
  item.append(avatar(message.author), gutter, main);
  if (!message.deleted) item.append(messageActions(message, ctx));
  return item;
}

// A message of ours the server has not acknowledged yet.
export function pendingElement(pending, ctx) {
  const item = el("li", {
    class: `message own pending${pending.state === "failed" ? " failed" : ""}`,
    dataset: { clientId: pending.client_id, author: ctx.me.id, time: pending.created },
  });
  const status =
    pending.state === "failed"
      ? el("span", { class: "pending-status", text: `Not sent: ${pending.error}` })
      : el("span", { class: "pending-status", text: ctx.live ? "Sending…" : "Waiting for connection…" });
  const meta = el(
    "div",
    { class: "message-meta" },
    el("span", { class: "author", text: ctx.me.name }),
    status,
  );
  const body = el("div", { class: "message-body" }, el("p", { class: "pending-text", text: pending.body }));
  const main = el("div", { class: "message-main" }, meta, body);
  main.append(attachmentList(pending.attachments) || "");
  if (pending.state === "failed") {
    main.append(
      el(
        "div",
        { class: "pending-actions" },
        el("button", { type: "button", class: "link-button", text: "Retry", dataset: { action: "retry-send" } }),
        el("button", { type: "button", class: "link-button", text: "Discard", dataset: { action: "discard-send" } }),
      ),
    );
  }
  item.append(avatar(ctx.me), main);
  return item;
}

// "Policy “No promises” warns about: …I <mark>guarantee</mark> it…", built from text nodes
// (never HTML). Span offsets count code points, as the server does.
export function findingLine(kind, finding, body) {
  const chars = Array.from(body);
  const verb = kind === "block" ? "blocks" : "warns about";
  const line = el("p", { class: "notice-finding" }, `Policy “${finding.policy}” ${verb}: `);
  const quote = el("q", { class: "notice-quote" });
  let at = 0;
  for (const span of [...(finding.spans || [])].sort((a, b) => a.start - b.start)) {
    if (span.start < at) continue;
    const from = Math.max(at, span.start - 30);
    if (from > at) quote.append(at > 0 ? " … " : "…");
    quote.append(chars.slice(from, span.start).join(""));
    quote.append(el("mark", { text: chars.slice(span.start, span.end).join("") }));
    at = span.end;
  }
  const tail = chars.slice(at, at + 30).join("");
  quote.append(tail + (at + 30 < chars.length ? "…" : ""));
  line.append(quote);
  return line;
}
