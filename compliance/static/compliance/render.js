// DOM for results, context and versions. Message text only ever goes in as text; the
// API's highlights are rebuilt from their text and <mark> elements alone.

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Highlight HTML (escaped text with <mark>) as nodes: text and <mark> only, nothing else. */
export function markedText(html) {
  const template = document.createElement("template");
  template.innerHTML = html; // inert: template content runs and loads nothing
  const fragment = document.createDocumentFragment();
  for (const node of template.content.childNodes) {
    if (node.nodeName === "MARK") fragment.append(el("mark", {}, node.textContent));
    else fragment.append(document.createTextNode(node.textContent));
  }
  return fragment;
}

const TIME = new Intl.DateTimeFormat("en-GB", {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  timeZone: "UTC",
});

/** Archive times are shown in UTC, as the query language's dates are. */
export function timeEl(iso) {
  if (!iso) return el("span", { class: "time" }, "unknown time");
  const when = new Date(iso);
  return el("time", { class: "time", datetime: iso, title: iso }, `${TIME.format(when)} UTC`);
}

export function conversationLabel(conversation) {
  if (!conversation) return "";
  if (conversation.name) return `#${conversation.name}`;
  const people = (conversation.people || []).map((p) => p.name);
  if (people.length) return `${people.length > 2 ? "Group" : "Direct"} message · ${people.join(", ")}`;
  return `Direct message · conversation ${conversation.id}`;
}

function badges(result) {
  const list = [];
  if (result.version_kind === "edit") list.push(["edit", "Edited version"]);
  else if (result.is_edited) list.push(["edited", "Original, later edited"]);
  if (result.is_deleted) list.push(["deleted", "Deleted"]);
  if (result.has_attachment) list.push(["attachment", "Attachment"]);
  return list.map(([kind, text]) => el("span", { class: `badge badge-${kind}` }, text));
}

export function resultItem(result, index) {
  const author = result.author || {};
  const text = result.highlights?.length
    ? result.highlights.map((html, i) => [i ? el("span", { class: "gap" }, " … ") : null, markedText(html)])
    : [result.body];
  return el(
    "li",
    {
      class: "result",
      id: `result-${index}`,
      tabindex: index === 0 ? "0" : "-1",
      "aria-selected": "false",
      dataset: { index: String(index), seq: String(result.archive_seq) },
    },
    el(
      "div",
      { class: "result-head" },
      el("span", { class: "author", title: `@${author.username ?? ""}` }, author.name || author.username || "Unknown"),
      el("span", { class: "where" }, conversationLabel(result.conversation)),
      timeEl(result.occurred_at),
      badges(result),
      el("span", { class: "seq" }, `record ${result.archive_seq}`),
    ),
    el("p", { class: "result-body" }, text),
  );
}

// The filter panel: counts by person, conversation and day; each adds its operator.
export function facetList(title, items, { label, operator }) {
  const list = el("ul", { class: "facet-list" });
  for (const item of items) {
    list.append(
      el(
        "li",
        {},
        el(
          "button",
          { type: "button", class: "facet", dataset: { operator: operator(item) }, title: `${label(item)}: add ${operator(item)} to the search` },
          el("span", { class: "facet-label" }, label(item)),
          el("span", { class: "facet-count" }, item.count.toLocaleString("en")),
        ),
      ),
    );
  }
  return el("section", { class: "facet-group" }, el("h3", {}, title), items.length ? list : el("p", { class: "facet-none" }, "None"));
}

function versionKindLabel(kind) {
  return { original: "Original", edit: "Edit", deleted: "Deleted" }[kind] || kind;
}

export function contextItem(version, { current = false } = {}) {
  const author = version.author || {};
  return el(
    "li",
    { class: `context-message${current ? " current" : ""}`, "aria-current": current ? "true" : false },
    el(
      "div",
      { class: "context-head" },
      el("span", { class: "author" }, author.name || author.username || "Unknown"),
      timeEl(version.occurred_at),
      version.version_kind === "edit" ? el("span", { class: "badge badge-edit" }, "edited") : null,
    ),
    el("p", { class: "context-body" }, version.body),
  );
}

export function versionItem(version) {
  return el(
    "li",
    { class: `version version-${version.version_kind}` },
    el(
      "div",
      { class: "context-head" },
      el("span", { class: `badge badge-${version.version_kind}` }, versionKindLabel(version.version_kind)),
      timeEl(version.occurred_at),
      el("span", { class: "seq" }, `record ${version.archive_seq}`),
    ),
    version.version_kind === "deleted"
      ? el("p", { class: "context-body deleted-note" }, "Deleted. The text it had:", el("br"), el("span", { class: "quoted" }, version.body))
      : el("p", { class: "context-body" }, version.body),
  );
}

const VIA = {
  audience: "In the conversation when it was written",
  history: "Joined later and was given the history",
  recorded: "Named in the record's audience",
};

const UNTIL = { left: "left", removed: "was removed", deleted: "the message was deleted" };

/** One person's access to a message: who, how, from when, until when. */
export function exposureItem(access) {
  const user = access.user || {};
  const until = access.until
    ? [" until ", timeEl(access.until), access.until_reason ? ` (${UNTIL[access.until_reason] || access.until_reason})` : ""]
    : [" — can still read it"];
  return el(
    "li",
    { class: `exposure exposure-${access.via}` },
    el(
      "div",
      { class: "exposure-person" },
      el("span", { class: "author" }, `@${user.username || user.id}`),
      el("span", { class: `badge badge-${access.via}` }, VIA[access.via] || access.via),
    ),
    el("p", { class: "exposure-span" }, "From ", timeEl(access.since), until),
  );
}
