"""Input and output shapes of the compliance API (outputs for the OpenAPI schema only)."""

from rest_framework import serializers

from compliance.search.results import COUNT_CAP


class SearchInput(serializers.Serializer):
    q = serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=4000)
    order = serializers.ChoiceField(choices=["newest", "relevance"], default="newest")
    cursor = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200, default=50)
    facets = serializers.BooleanField(
        required=False,
        default=False,
        help_text="also count the matches by author, conversation and day (slower)",
    )


class ContextInput(serializers.Serializer):
    before = serializers.IntegerField(required=False, min_value=0, max_value=50, default=5)
    after = serializers.IntegerField(required=False, min_value=0, max_value=50, default=5)


class SearchErrorOutput(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    position = serializers.IntegerField(required=False)


class NamedOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class AuthorOutput(NamedOutput):
    username = serializers.CharField()


class ParticipantOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()


class HitConversationOutput(NamedOutput):
    people = ParticipantOutput(
        many=True, required=False, help_text="direct and group messages: who is in it"
    )


class SearchResultOutput(serializers.Serializer):
    archive_seq = serializers.IntegerField()
    message_id = serializers.IntegerField()
    conversation = HitConversationOutput()
    author = AuthorOutput()
    body = serializers.CharField()
    created_at = serializers.DateTimeField()
    occurred_at = serializers.DateTimeField()
    version_kind = serializers.ChoiceField(choices=["original", "edit"])
    is_edited = serializers.BooleanField()
    is_deleted = serializers.BooleanField()
    has_attachment = serializers.BooleanField()
    highlights = serializers.ListField(
        child=serializers.CharField(), help_text="HTML: the text escaped, matches in <mark>"
    )


class AuthorFacetOutput(serializers.Serializer):
    username = serializers.CharField()
    count = serializers.IntegerField()


class ConversationFacetOutput(HitConversationOutput):
    count = serializers.IntegerField()


class DayFacetOutput(serializers.Serializer):
    date = serializers.DateField()
    count = serializers.IntegerField()


class FacetsOutput(serializers.Serializer):
    authors = AuthorFacetOutput(many=True)
    conversations = ConversationFacetOutput(many=True)
    days = DayFacetOutput(many=True)


class SearchPageOutput(serializers.Serializer):
    count = serializers.IntegerField(
        help_text=f"matches, counted up to {COUNT_CAP:,}: with count_exact false there are more"
    )
    count_exact = serializers.BooleanField(
        help_text=f"false when the count stopped at {COUNT_CAP:,} (show it as {COUNT_CAP:,}+)"
    )
    results = SearchResultOutput(many=True)
    next = serializers.CharField(allow_null=True)
    facets = FacetsOutput(required=False, help_text="only when asked for (facets=true)")


class VersionOutput(serializers.Serializer):
    archive_seq = serializers.IntegerField()
    message_id = serializers.IntegerField()
    version_kind = serializers.ChoiceField(choices=["original", "edit", "deleted"])
    author = AuthorOutput()
    actor_id = serializers.IntegerField(allow_null=True)
    body = serializers.CharField()
    created_at = serializers.DateTimeField()
    occurred_at = serializers.DateTimeField()
    audience = serializers.ListField(
        child=serializers.IntegerField(), help_text="who the record says could see it then"
    )
    readers = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="everyone who could read this version, later joiners given the history "
        "included (on version history; the audience elsewhere)",
    )
    is_deleted = serializers.BooleanField()


class VersionsOutput(serializers.Serializer):
    message_id = serializers.IntegerField()
    conversation = NamedOutput()
    versions = VersionOutput(many=True)


class ContextOutput(serializers.Serializer):
    conversation = NamedOutput()
    record = VersionOutput()
    before = VersionOutput(many=True)
    after = VersionOutput(many=True)


class ExposurePersonOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class AccessOutput(serializers.Serializer):
    user = ExposurePersonOutput()
    via = serializers.ChoiceField(
        choices=["audience", "history", "recorded"],
        help_text="audience: a member when it was written; history: joined later and was "
        "given the history; recorded: named by a record's audience, by no join",
    )
    since = serializers.DateTimeField()
    until = serializers.DateTimeField(allow_null=True, help_text="null: can still read it")
    until_reason = serializers.ChoiceField(choices=["left", "removed", "deleted"], allow_null=True)
    joined_at = serializers.DateTimeField(allow_null=True)
    version_seqs = serializers.ListField(
        child=serializers.IntegerField(), help_text="archive seqs of the versions they could read"
    )


class ExposureVersionOutput(serializers.Serializer):
    archive_seq = serializers.IntegerField()
    occurred_at = serializers.DateTimeField()
    replaced_at = serializers.DateTimeField(allow_null=True)


class ExposureOutput(serializers.Serializer):
    message_id = serializers.IntegerField()
    conversation = NamedOutput()
    written_at = serializers.DateTimeField()
    versions = ExposureVersionOutput(many=True)
    people = AccessOutput(many=True)
