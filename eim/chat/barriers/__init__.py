"""Information barriers: policies that two segments (groups) may not communicate.

Enforced inside the chat services (conversations, messages, attachments, presence), so the
socket, the REST API, the console and commands all obey them. See docs/barriers.md.
"""
