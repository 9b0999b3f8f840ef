"""Input shapes of the REST API; output is built by eim.chat.payloads."""

from rest_framework import serializers


class CommaSeparatedIds(serializers.Field):
    def to_internal_value(self, data: object) -> list[int]:
        parts = [p for p in str(data).split(",") if p.strip()]
        if len(parts) > 100 or not all(p.strip().isdigit() for p in parts):
            raise serializers.ValidationError("ids is a comma-separated list of at most 100 ids")
        return [int(p) for p in parts]


class DirectoryQueryInput(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, default="", max_length=150)
    ids = CommaSeparatedIds(required=False, default=list)


class ChannelCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    private = serializers.BooleanField(default=False)
    topic = serializers.CharField(max_length=250, required=False, allow_blank=True, default="")
    # Whether people who join later may read what was said before they joined.
    history_visible = serializers.BooleanField(default=True)


class DirectOpenInput(serializers.Serializer):
    users = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=8)


class ConversationUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=80, required=False)
    topic = serializers.CharField(max_length=250, required=False, allow_blank=True)
    history_visible = serializers.BooleanField(required=False)


class InviteInput(serializers.Serializer):
    users = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=100)


class MessagePageInput(serializers.Serializer):
    before = serializers.IntegerField(required=False, min_value=0)
    after = serializers.IntegerField(required=False, min_value=0)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200, default=50)
    thread = serializers.IntegerField(required=False, min_value=1)


class MessageSendInput(serializers.Serializer):
    # Length is checked by the service, so the socket and the API give the same error.
    body = serializers.CharField(allow_blank=True, trim_whitespace=False, default="")
    client_id = serializers.UUIDField()
    # "parent" shadows Field.parent for the type checker only; DRF moves fields off the class.
    parent = serializers.IntegerField(required=False, allow_null=True, default=None)  # type: ignore[assignment]
    attachments = serializers.ListField(
        child=serializers.IntegerField(), required=False, default=list, max_length=10
    )


class MessageEditInput(serializers.Serializer):
    body = serializers.CharField(allow_blank=True, trim_whitespace=False)


class ReactionInput(serializers.Serializer):
    emoji = serializers.CharField(max_length=32)


class ReadMarkInput(serializers.Serializer):
    seq = serializers.IntegerField(min_value=0)


class AttachmentUploadInput(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)


# Output shapes, for the OpenAPI schema only: responses are built by eim.chat.payloads, and
# tests/api/test_schema.py checks that the two agree.


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
    created_at = serializers.DateTimeField()
    archived = serializers.BooleanField()
    history_visible = serializers.BooleanField()
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
