"""Input shapes of the REST API; output is built by eim.chat.payloads."""

from typing import Any

from rest_framework import serializers

# Ids and seqs are PostgreSQL bigints: a larger number is refused as input, never sent on.
BIGINT_MAX = 2**63 - 1


def id_field(**kwargs: Any) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=BIGINT_MAX, **kwargs)


def seq_field(**kwargs: Any) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=0, max_value=BIGINT_MAX, **kwargs)


class CommaSeparatedIds(serializers.Field):
    def to_internal_value(self, data: object) -> list[int]:
        parts = [p for p in str(data).split(",") if p.strip()]
        if len(parts) > 100 or not all(p.strip().isdigit() for p in parts):
            raise serializers.ValidationError("ids is a comma-separated list of at most 100 ids")
        ids = [int(p) for p in parts]
        if any(i > BIGINT_MAX for i in ids):
            raise serializers.ValidationError("an id is out of range")
        return ids


class DirectoryQueryInput(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, default="", max_length=150)
    ids = CommaSeparatedIds(required=False, default=list)


class ChannelCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    private = serializers.BooleanField(default=False)
    topic = serializers.CharField(max_length=250, required=False, allow_blank=True, default="")
    purpose = serializers.CharField(
        max_length=250,
        required=False,
        allow_blank=True,
        default="",
        help_text="What the channel is for; the topic says what it is about now.",
    )
    # Whether people who join later may read what was said before they joined.
    history_visible = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Left out: the workspace's default (a setting of the administrator's console).",
    )


class DirectOpenInput(serializers.Serializer):
    users = serializers.ListField(child=id_field(), min_length=1, max_length=8)


class ConversationUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=80, required=False)
    topic = serializers.CharField(max_length=250, required=False, allow_blank=True)
    purpose = serializers.CharField(max_length=250, required=False, allow_blank=True)
    history_visible = serializers.BooleanField(required=False)


class VisibilityInput(serializers.Serializer):
    private = serializers.BooleanField(
        help_text="true: only members see it and join by invitation; false: anyone may join."
    )


class PreferencesInput(serializers.Serializer):
    notifications = serializers.BooleanField(
        required=False, help_text="Desktop notifications for mentions and direct messages."
    )
    conversation = id_field(required=False, help_text="With `muted`: the conversation.")
    muted = serializers.BooleanField(required=False, help_text="Mute or unmute `conversation`.")

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if ("conversation" in data) != ("muted" in data):
            raise serializers.ValidationError("conversation and muted go together")
        return data


class PreferencesOutput(serializers.Serializer):
    notifications = serializers.BooleanField()
    muted = serializers.ListField(child=serializers.IntegerField())


class InviteInput(serializers.Serializer):
    users = serializers.ListField(child=id_field(), min_length=1, max_length=100)


class OwnerInput(serializers.Serializer):
    user = serializers.IntegerField(help_text="The member who becomes an owner.")


class MessagePageInput(serializers.Serializer):
    before = seq_field(required=False)
    after = seq_field(required=False)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200, default=50)
    thread = id_field(required=False)


class MessageSendInput(serializers.Serializer):
    # Length is checked by the service, so the socket and the API give the same error.
    body = serializers.CharField(allow_blank=True, trim_whitespace=False, default="")
    client_id = serializers.UUIDField()
    # "parent" shadows Field.parent for the type checker only; DRF moves fields off the class.
    parent = id_field(required=False, allow_null=True, default=None)  # type: ignore[assignment]
    attachments = serializers.ListField(
        child=id_field(), required=False, default=list, max_length=10
    )
    # Tokens of content-policy warnings the sender read and goes ahead past.
    confirm_warnings = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, default=list, max_length=20
    )


class MessageEditInput(serializers.Serializer):
    body = serializers.CharField(allow_blank=True, trim_whitespace=False)
    confirm_warnings = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, default=list, max_length=20
    )


class ReactionInput(serializers.Serializer):
    emoji = serializers.CharField(max_length=32)


class ReadMarkInput(serializers.Serializer):
    seq = seq_field()


class AttachmentUploadInput(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)


# Output shapes, for the OpenAPI schema only: responses are built by eim.chat.payloads, and
# tests/api/test_schema.py checks that the two agree.


class NoticeDismissInput(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), min_length=1, max_length=200
    )


class NoticeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField(help_text="`policy`: a content policy notified the sender")
    created_at = serializers.DateTimeField()
    policy = serializers.CharField(help_text="the policy's name")
    source = serializers.CharField(  # type: ignore[assignment]  # the field, not Field.source
        help_text="`message`, `attachment` or `blocked` (an attempt)"
    )
    conversation = serializers.IntegerField()
    message = serializers.IntegerField(allow_null=True)
    spans = serializers.ListField(
        child=serializers.CharField(), help_text="the text the policy matched, as written"
    )


class NoticeListOutput(serializers.Serializer):
    notices = NoticeOutput(many=True)


class UserOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()


class MeOutput(UserOutput):
    roles = serializers.ListField(child=serializers.CharField())


class DirectoryUserOutput(UserOutput):
    presence = serializers.ChoiceField(choices=["online", "away", "offline"])


class MemberOutput(UserOutput):
    role = serializers.ChoiceField(choices=["owner", "member"])


class AttachmentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    filename = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    url = serializers.CharField()


class ReactionOutput(serializers.Serializer):
    emoji = serializers.CharField()
    users = serializers.ListField(child=serializers.IntegerField())


class MessageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    conversation = serializers.IntegerField()
    seq = serializers.IntegerField()
    author = UserOutput()
    parent = serializers.IntegerField(allow_null=True)  # type: ignore[assignment]
    client_id = serializers.UUIDField()
    body = serializers.CharField()
    html = serializers.CharField()
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)
    deleted = serializers.BooleanField()
    mentions = serializers.ListField(child=serializers.IntegerField())
    attachments = AttachmentOutput(many=True)
    reactions = ReactionOutput(many=True)
    reply_count = serializers.IntegerField()


class MessagePageOutput(serializers.Serializer):
    conversation = serializers.IntegerField()
    last_seq = serializers.IntegerField()
    has_more = serializers.BooleanField()
    results = MessageOutput(many=True)


class ConversationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=["public", "private", "direct", "group"])
    name = serializers.CharField()
    topic = serializers.CharField()
    purpose = serializers.CharField()
    created_at = serializers.DateTimeField()
    archived = serializers.BooleanField()
    history_visible = serializers.BooleanField()
    # Read-only because an information barrier applies (docs/barriers.md).
    barrier_read_only = serializers.BooleanField()
    last_seq = serializers.IntegerField()
    member = serializers.BooleanField()
    role = serializers.ChoiceField(choices=["owner", "member"], allow_null=True)
    last_read_seq = serializers.IntegerField(allow_null=True)
    unread = serializers.IntegerField()
    # Your own conversations: how many of the unread messages mention you.
    unread_mentions = serializers.IntegerField(required=False)
    # Direct and group conversations: the other people in it.
    people = UserOutput(many=True, required=False)
    # Browsing public channels: how many people are in each.
    member_count = serializers.IntegerField(required=False)


class ReadMarkOutput(serializers.Serializer):
    conversation = serializers.IntegerField()
    last_read_seq = serializers.IntegerField()


class ApiErrorOutput(serializers.Serializer):
    """The body of every refusal (docs/protocol.md, "Errors")."""

    code = serializers.CharField(help_text="machine-readable reason, e.g. not_found")
    detail = serializers.CharField(help_text="plain words for a person")
    # "fields" shadows Serializer.fields for the type checker only (DRF moves fields off).
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="invalid_input: what is wrong with each field",
    )
    position = serializers.IntegerField(
        required=False, help_text="invalid_query: where in the query text the problem is"
    )
    audit_events = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        help_text="the audit events that recorded a refused attempt (the administrator's API)",
    )
