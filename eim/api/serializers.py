"""Input shapes of the REST API; output is built by eim.chat.payloads."""

from rest_framework import serializers


class ChannelCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    private = serializers.BooleanField(default=False)
    topic = serializers.CharField(max_length=250, required=False, allow_blank=True, default="")


class DirectOpenInput(serializers.Serializer):
    users = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=8)


class ConversationUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=80, required=False)
    topic = serializers.CharField(max_length=250, required=False, allow_blank=True)


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
