// The REST API under /api/v1/, with the session cookie and Django's CSRF header.

const BASE = "/api/v1";

export class ApiError extends Error {
  constructor(status, code, detail) {
    super(detail);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

// DRF validation errors arrive as {field: [messages]}; people read one plain sentence.
function plainDetail(detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return detail.map(plainDetail).join(" ");
  if (detail && typeof detail === "object") {
    return Object.entries(detail)
      .map(([field, value]) => {
        const text = plainDetail(value);
        return field === "non_field_errors" || field === "detail" ? text : `${field}: ${text}`;
      })
      .join(" ");
  }
  return "Something went wrong. Please try again.";
}

function errorFrom(status, payload) {
  if (status === 401 || status === 403) {
    if (payload?.code === "not_authenticated") {
      return new ApiError(status, "not_authenticated", "Your session has ended. Sign in again.");
    }
  }
  if (payload && typeof payload === "object" && "detail" in payload) {
    const error = new ApiError(status, payload.code || "error", plainDetail(payload.detail));
    if (typeof payload.position === "number") error.position = payload.position;
    return error;
  }
  return new ApiError(status, "error", `The server answered ${status}. Please try again.`);
}

async function request(method, path, { body, query } = {}) {
  const url = new URL(BASE + path, location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch {
    throw new ApiError(0, "network", "Can't reach the server. Check your connection.");
  }
  const payload = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw errorFrom(response.status, payload);
  return payload;
}

export const api = {
  notices: () => request("GET", "/notices/"),
  dismissNotices: (ids) => request("POST", "/notices/dismiss/", { body: { ids } }),
  users: (q) => request("GET", "/users/", { query: { q } }),
  usersById: (ids) => request("GET", "/users/", { query: { ids: ids.join(",") } }),
  setPreferences: (change) => request("PATCH", "/me/preferences/", { body: change }),
  conversations: () => request("GET", "/conversations/"),
  browseChannels: () => request("GET", "/conversations/", { query: { browse: 1 } }),
  conversation: (id) => request("GET", `/conversations/${id}/`),
  createChannel: (data) => request("POST", "/conversations/", { body: data }),
  openDirect: (userIds) => request("POST", "/conversations/direct/", { body: { users: userIds } }),
  join: (id) => request("POST", `/conversations/${id}/join/`),
  members: (id) => request("GET", `/conversations/${id}/members/`),
  invite: (id, userIds) => request("POST", `/conversations/${id}/members/`, { body: { users: userIds } }),
  removeMember: (id, userId) => request("DELETE", `/conversations/${id}/members/${userId}/`),
  leave: (id) => request("POST", `/conversations/${id}/leave/`),
  updateConversation: (id, changes) => request("PATCH", `/conversations/${id}/`, { body: changes }),
  archive: (id) => request("POST", `/conversations/${id}/archive/`),
  setVisibility: (id, isPrivate) => request("POST", `/conversations/${id}/visibility/`, { body: { private: isPrivate } }),
  handOwnership: (id, userId) => request("POST", `/conversations/${id}/owner/`, { body: { user: userId } }),
  messages: (id, { before, thread, limit = 50 } = {}) =>
    request("GET", `/conversations/${id}/messages/`, { query: { before, thread, limit } }),
  message: (id) => request("GET", `/messages/${id}/`),
  search: (q, cursor) => request("GET", "/search", { query: { q, cursor, limit: 30 } }),
  markRead: (id, seq) => request("POST", `/conversations/${id}/read/`, { body: { seq } }),
};

// Multipart upload through XMLHttpRequest: fetch() reports no upload progress.
export function uploadAttachment(conversationId, file, onProgress) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open("POST", `${BASE}/conversations/${conversationId}/attachments/`);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr.response);
      else reject(errorFrom(xhr.status, xhr.response));
    });
    xhr.addEventListener("error", () =>
      reject(new ApiError(0, "network", "The upload failed: the connection was lost.")),
    );
    xhr.addEventListener("abort", () => reject(new ApiError(0, "aborted", "Upload cancelled.")));
    const form = new FormData();
    form.append("file", file, file.name);
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}
