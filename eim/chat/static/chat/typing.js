// Who is typing where. A notice lasts a few seconds unless renewed (senders renew every 3 s).

const SHOWN_FOR_MS = 6000;

export class TypingIndicator {
  constructor(onChange) {
    this.onChange = onChange;
    this.byConversation = new Map();
  }

  typing(conversationId, userId, name) {
    const people = this.byConversation.get(conversationId) || new Map();
    clearTimeout(people.get(userId)?.timer);
    const timer = setTimeout(() => this.stopped(conversationId, userId), SHOWN_FOR_MS);
    people.set(userId, { name, timer });
    this.byConversation.set(conversationId, people);
    this.onChange(conversationId);
  }

  stopped(conversationId, userId) {
    const people = this.byConversation.get(conversationId);
    if (!people?.has(userId)) return;
    clearTimeout(people.get(userId).timer);
    people.delete(userId);
    this.onChange(conversationId);
  }

  line(conversationId) {
    const names = [...(this.byConversation.get(conversationId)?.values() || [])].map((p) => p.name);
    if (names.length === 0) return "";
    if (names.length === 1) return `${names[0]} is typing…`;
    if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
    return "Several people are typing…";
  }
}
