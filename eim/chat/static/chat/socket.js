// The chat socket (docs/protocol.md): hello → sync with our cursors → replay → sync.done → live.
// After a drop it reconnects with backoff and resyncs from the cursors, so the frames it hands
// on are every event once, in seq order.

const PING_EVERY_MS = 25_000;
const PONG_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 15_000;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 15_000;

export const CLOSE_UNAUTHENTICATED = 4401;
export const CLOSE_FORBIDDEN = 4403;

export class ChatSocket {
  // onHello(hello) returns the cursors to sync from; onFrame(frame) gets every other frame;
  // onState(state, detail) hears "connecting", "syncing", "live", "waiting", "ended".
  constructor({ url, onHello, onFrame, onState }) {
    this.url = url;
    this.onHello = onHello;
    this.onFrame = onFrame;
    this.onState = onState;
    this.ws = null;
    this.state = "idle";
    this.attempt = 0;
    this.nextRef = 1;
    this.requests = new Map();
    this.retryTimer = null;
    this.pingTimer = null;
    this.pongTimer = null;
    window.addEventListener("online", () => this.reconnectNow());
    window.addEventListener("offline", () => this.drop());
  }

  get live() {
    return this.state === "live";
  }

  start() {
    this.connect();
  }

  connect() {
    clearTimeout(this.retryTimer);
    this.setState("connecting");
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.addEventListener("message", (event) => {
      if (this.ws === ws) this.receive(event.data);
    });
    ws.addEventListener("close", (event) => {
      if (this.ws === ws) this.closed(event.code);
    });
  }

  // Close the current socket and let the backoff reconnect it (the network went away).
  drop() {
    if (this.ws && this.state !== "ended") this.ws.close();
  }

  // The network is back: try at once (an attempt already under way retries quickly).
  reconnectNow() {
    this.attempt = 0;
    if (this.state === "waiting") this.connect();
  }

  setState(state, detail = {}) {
    this.state = state;
    this.onState(state, detail);
  }

  receive(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    switch (frame.type) {
      case "hello":
        this.setState("syncing");
        this.sendRaw({ type: "sync", cursors: this.onHello(frame) });
        return;
      case "sync.done":
        this.attempt = 0;
        this.startPings();
        this.setState("live");
        return;
      case "pong":
        clearTimeout(this.pongTimer);
        return;
      case "ok":
      case "error":
        if (this.settle(frame)) return;
        break;
      default:
        break;
    }
    this.onFrame(frame);
  }

  // Resolve or reject the request a reply belongs to; false if it belongs to none.
  settle(frame) {
    const pending = frame.ref === undefined ? null : this.requests.get(frame.ref);
    if (!pending) return false;
    this.requests.delete(frame.ref);
    clearTimeout(pending.timer);
    if (frame.type === "ok") pending.resolve(frame);
    else pending.reject(Object.assign(new Error(frame.detail), frame));
    return true;
  }

  closed(code) {
    this.ws = null;
    this.stopPings();
    this.failRequests("The connection was lost before the server answered. Try again.");
    if (code === CLOSE_UNAUTHENTICATED || code === CLOSE_FORBIDDEN) {
      this.setState("ended", { code });
      return;
    }
    // Full jitter: a random wait up to a ceiling that doubles with each failed attempt (1 s,
    // 2 s, 4 s ... 15 s). After a server restart every client drops at the same moment; spread
    // over the whole window they come back as a stream the server can take, not a wall.
    const ceiling = Math.min(BACKOFF_MAX_MS, 2 * BACKOFF_FIRST_MS * 2 ** this.attempt);
    const delay = Math.random() * ceiling;
    this.attempt += 1;
    this.setState("waiting", { delay, attempt: this.attempt });
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  startPings() {
    this.stopPings();
    this.pingTimer = setInterval(() => {
      this.sendRaw({ type: "ping" });
      clearTimeout(this.pongTimer);
      // A socket that no longer answers is dead even if the browser has not noticed.
      this.pongTimer = setTimeout(() => this.drop(), PONG_TIMEOUT_MS);
    }, PING_EVERY_MS);
  }

  stopPings() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
  }

  failRequests(detail) {
    for (const [ref, pending] of this.requests) {
      clearTimeout(pending.timer);
      pending.reject(Object.assign(new Error(detail), { code: "disconnected", detail }));
      this.requests.delete(ref);
    }
  }

  sendRaw(frame) {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  // Send a frame when live; false if it could not go out (the caller keeps it for later).
  send(frame) {
    return this.live && this.sendRaw(frame);
  }

  // Send a frame with a ref and wait for its ok / error.
  request(frame) {
    if (!this.live) {
      const detail = "Not connected right now. Try again in a moment.";
      return Promise.reject(Object.assign(new Error(detail), { code: "disconnected", detail }));
    }
    const ref = this.nextRef++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.requests.delete(ref);
        const detail = "The server did not answer in time. Try again.";
        reject(Object.assign(new Error(detail), { code: "timeout", detail }));
      }, REQUEST_TIMEOUT_MS);
      this.requests.set(ref, { resolve, reject, timer });
      this.sendRaw({ ...frame, ref });
    });
  }
}
