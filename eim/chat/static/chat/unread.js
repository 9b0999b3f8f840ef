// Where unread messages start: the bar over the messages while the "New messages" line is
// above the view ("12 new messages since 9:05 · Jump · Mark as read"), and its buttons.

import { shortTime } from "./render.js";

export class UnreadBar {
  constructor({ bar, timeline, onMarkRead }) {
    this.bar = bar;
    this.text = bar.querySelector('[data-role="text"]');
    this.timeline = timeline;
    this.count = 0;
    this.jump = bar.querySelector('[data-role="jump"]');
    this.jump.addEventListener("click", () => {
      this.timeline.scrollToUnread();
      this.update();
    });
    bar.querySelector('[data-role="mark-read"]').addEventListener("click", () => {
      onMarkRead();
      this.dismiss();
    });
    timeline.scroller.addEventListener("scroll", () => this.update(), { passive: true });
  }

  // Opening a conversation: the line goes after `readSeq` if `count` messages are unread.
  start(readSeq, count) {
    this.count = count;
    this.timeline.unreadAfter = count > 0 ? readSeq : null;
    this.bar.hidden = true;
  }

  // Everything was read (the reader reached the bottom): the line stays, the bar goes.
  read() {
    this.count = 0;
    this.bar.hidden = true;
  }

  dismiss() {
    this.count = 0;
    this.timeline.setUnreadAfter(null);
    this.bar.hidden = true;
  }

  update() {
    const line = this.timeline.firstUnreadNode();
    if (!line || !this.count) {
      this.bar.hidden = true;
      return;
    }
    const box = line.getBoundingClientRect();
    const view = this.timeline.scroller.getBoundingClientRect();
    const above = box.top < view.top;
    const outOfView = above || box.top > view.bottom;
    this.jump.hidden = !outOfView;
    const words = this.count === 1 ? "1 new message" : `${this.count > 99 ? "99+" : this.count} new messages`;
    const since = line.querySelector("time")?.getAttribute("datetime");
    this.text.textContent = since ? `${words} since ${shortTime(since)}` : words;
    this.bar.hidden = this.timeline.atBottom && !outOfView;
  }
}
