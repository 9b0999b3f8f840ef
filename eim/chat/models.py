import uuid

from django.conf import settings
from django.db import models


class ConversationKind(models.TextChoices):
    PUBLIC = "public", "Public channel"
    PRIVATE = "private", "Private channel"
    DIRECT = "direct", "Direct message"
    GROUP = "group", "Group direct message"


class MemberRole(models.TextChoices):
    OWNER = "owner", "Owner"
    MEMBER = "member", "Member"


class EventType(models.TextChoices):
    """Every conversation event; the value is also the frame type on the socket."""

    CONVERSATION_CREATED = "conversation.created"
    CONVERSATION_UPDATED = "conversation.updated"
    MEMBER_JOINED = "member.joined"
    MEMBER_LEFT = "member.left"
    MESSAGE_NEW = "message.new"
    MESSAGE_EDITED = "message.edited"
    MESSAGE_DELETED = "message.deleted"
    REACTION_ADDED = "reaction.added"
    REACTION_REMOVED = "reaction.removed"
    ATTACHMENT_ADDED = "attachment.added"
    # A send or edit a content policy stopped: archived (what was attempted, which policy),
    # never delivered (its audience is empty). docs/chat.md, "Content policies at send time".
    MESSAGE_BLOCKED = "message.blocked"


class PresenceStatus(models.TextChoices):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


class Conversation(models.Model):
    kind = models.CharField(max_length=16, choices=ConversationKind.choices)
    name = models.CharField(max_length=80, blank=True)
    topic = models.CharField(max_length=250, blank=True)
    # What the channel is for; the topic says what it is about now (docs/chat.md).
    purpose = models.CharField(max_length=250, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    # Sorted member ids of a direct or group DM, so the same people share one conversation.
    direct_key = models.CharField(max_length=255, null=True, blank=True, unique=True)
    # Counter for the per-conversation event sequence; bumped under the row lock.
    last_seq = models.BigIntegerField(default=0)
    # Whether a member who joins later may read what was said before they joined. Read at
    # each join and fixed in that membership (history_from_seq), so changing it never
    # changes what an existing member can read (docs/adr/0005-channel-history-visibility.md).
    history_visible = models.BooleanField(default=True)
    # Read-only because an information barrier policy bars people in it from each other
    # (eim.chat.barriers); read with the seq bump, so the send path pays no extra query.
    barrier_restricted = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["name"],
                condition=models.Q(kind__in=["public", "private"]),
                name="unique_channel_name",
            ),
        ]

    def __str__(self) -> str:
        return self.name or f"{self.kind}:{self.pk}"

    @property
    def is_channel(self) -> bool:
        return self.kind in (ConversationKind.PUBLIC, ConversationKind.PRIVATE)


class Membership(models.Model):
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=MemberRole.choices, default=MemberRole.MEMBER)
    joined_at = models.DateTimeField(auto_now_add=True)
    # Seq of the member.joined event: a socket replays the conversation from here.
    joined_seq = models.BigIntegerField(default=0)
    # The first conversation seq this member may read: 1 when they were given the history
    # on joining, their joined_seq when not. Their member.joined event records the same.
    history_from_seq = models.BigIntegerField(default=1)
    last_read_seq = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="unique_membership")
        ]
        indexes = [models.Index(fields=["user", "conversation"])]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.conversation_id}"


class Message(models.Model):
    conversation = models.ForeignKey(
        Conversation, on_delete=models.PROTECT, related_name="messages"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replies"
    )
    body = models.TextField()
    client_id = models.UUIDField()
    # Sequence number of the message.new event that created it.
    seq = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    mentions = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["author", "client_id"], name="unique_client_id"),
            models.UniqueConstraint(fields=["conversation", "seq"], name="unique_message_seq"),
        ]
        indexes = [models.Index(fields=["parent", "seq"])]

    def __str__(self) -> str:
        return f"message {self.pk}"


class Reaction(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    emoji = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "user", "emoji"], name="unique_reaction")
        ]

    def __str__(self) -> str:
        return f"{self.emoji} on {self.message_id}"


class Attachment(models.Model):
    """A file uploaded into a conversation; staged until a message carries it."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.PROTECT, related_name="attachments"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.PROTECT, related_name="attachments"
    )
    file = models.FileField(upload_to="attachments/%Y/%m/")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=127)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.filename


class ConversationEvent(models.Model):
    """The outbox: one row per event, written in the same transaction as the change.

    Its content is never updated; only `archived_seq` is set, once, by the archiving
    transaction that records the event. `seq` orders a conversation's events gaplessly in
    commit order, so it is also the stream a reconnecting client resumes from. `audience`
    holds the ids of the members at that moment: who could see the event.
    """

    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    conversation = models.ForeignKey(Conversation, on_delete=models.PROTECT, related_name="events")
    seq = models.BigIntegerField()
    type = models.CharField(max_length=32, choices=EventType.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    payload = models.JSONField()
    audience = models.JSONField()
    occurred_at = models.DateTimeField()
    # The archive record's sequence number, set in the transaction that archives the event.
    archived_seq = models.BigIntegerField(null=True, blank=True, unique=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="unique_event_seq")
        ]
        indexes = [
            models.Index(
                fields=["id"],
                condition=models.Q(archived_seq__isnull=True),
                name="event_pending_archive",
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.conversation_id}#{self.seq}"


class PresenceSession(models.Model):
    """One open socket of one user; a user's presence is derived from their sessions."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="presence_sessions"
    )
    channel_name = models.CharField(max_length=255, unique=True)
    status = models.CharField(
        max_length=8, choices=PresenceStatus.choices, default=PresenceStatus.ONLINE
    )
    last_seen = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["user", "last_seen"])]

    def __str__(self) -> str:
        return f"{self.user_id} {self.status}"


class UserNotice(models.Model):
    """A notice for one person outside the conversation stream (a content policy's notify
    action, docs/scanning.md "Notify"). Kept until the person dismisses it, so a client that
    was offline when it was written sees it at its next start. `key` says who wrote it about
    what (one notice per key: a redelivered writer changes nothing)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=32)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "dismissed_at", "created_at"])]

    def __str__(self) -> str:
        return f"notice {self.kind} for {self.user_id}"


class ChatPreferences(models.Model):
    """One person's chat choices, kept with their account so every browser and device they
    use follows them (docs/chat.md, "Notifications and mute"). Whether a browser may show
    desktop notifications at all stays that browser's own permission."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="chat_preferences",
    )
    # Desktop notifications for mentions and direct messages.
    notifications = models.BooleanField(default=False)
    # Ids of the conversations the person muted: no plain unread count, no notification.
    muted = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"chat preferences of {self.user_id}"


# The information barriers' models live in their capability's package, in this app.
from .barriers.models import (  # noqa: E402,F401
    BarrierGeneration,
    BarrierPolicy,
    BarrierPolicyVersion,
    BarrierRestriction,
)
