// The compliance API (same origin, the session cookie). Errors keep the server's code,
// detail and, for a query that cannot be read, the position in the query.

export class ApiError extends Error {
  constructor(status, { code = "error", detail = "", position = null } = {}) {
    super(detail || `The server answered ${status}.`);
    this.status = status;
    this.code = code;
    this.detail = this.message;
    this.position = Number.isInteger(position) ? position : null;
  }
}

export async function getJson(url, params = {}) {
  const target = new URL(url, location.origin);
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") target.searchParams.set(key, value);
  }
  let response;
  try {
    response = await fetch(target, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
  } catch {
    throw new ApiError(0, { code: "offline", detail: "The server could not be reached. Check your connection and try again." });
  }
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    payload = null;
  }
  if (!response.ok) {
    const detail = typeof payload?.detail === "string" ? payload.detail : "";
    throw new ApiError(response.status, { ...payload, detail });
  }
  return payload;
}

/** `/api/.../{id}/...` with the id filled in. */
export function withId(template, id) {
  return template.replace("{id}", encodeURIComponent(String(id)));
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

/** POST or PUT JSON with the session's CSRF token; errors as getJson's. */
export async function sendJson(url, body = {}, method = "POST") {
  let response;
  try {
    response = await fetch(new URL(url, location.origin), {
      method,
      headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      credentials: "same-origin",
      body: JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, { code: "offline", detail: "The server could not be reached. Check your connection and try again." });
  }
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    payload = null;
  }
  if (!response.ok) {
    const detail = typeof payload?.detail === "string" ? payload.detail : "The request was refused.";
    throw new ApiError(response.status, { ...payload, detail });
  }
  return payload;
}
