"""Shapes of the administrator's API, for input checking and the OpenAPI schema."""

from rest_framework import serializers

from accounts.models import IdentityProviderKind, Role


class AdminChangeOutput(serializers.Serializer):
    audit_events = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Sequence numbers of the audit events that record the change; empty when "
        "nothing needed changing.",
    )
    result = serializers.JSONField(help_text="What the change made, when it made something.")


class AdminPersonRowOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()
    active = serializers.BooleanField()
    last_login = serializers.DateTimeField(allow_null=True)
    last_seen_at = serializers.DateTimeField(
        allow_null=True,
        help_text="the latest sign-in, chat socket connection or API token use (to 5 minutes)",
    )
    roles = serializers.ListField(child=serializers.CharField())
    providers = serializers.ListField(child=serializers.CharField())


class AdminPeoplePageOutput(serializers.Serializer):
    results = AdminPersonRowOutput(many=True)
    next_after = serializers.CharField(
        allow_null=True, help_text="Pass as `after` for the next page; null on the last page."
    )


class AdminPeopleQueryInput(serializers.Serializer):
    q = serializers.CharField(required=False, default="", allow_blank=True, max_length=100)
    role = serializers.ChoiceField(choices=Role.choices, required=False, allow_blank=True)
    group = serializers.IntegerField(required=False)
    active = serializers.ChoiceField(choices=["yes", "no"], required=False, allow_blank=True)
    provider = serializers.IntegerField(required=False, help_text="0: local accounts only")
    seen = serializers.ChoiceField(
        choices=["7d", "30d", "90d+", "never"], required=False, allow_blank=True
    )
    after = serializers.CharField(required=False, default="", allow_blank=True, max_length=150)
    limit = serializers.IntegerField(required=False, default=50, min_value=1, max_value=200)


class AdminMfaOutput(serializers.Serializer):
    enabled = serializers.BooleanField(help_text="A TOTP app or a security key is set up.")
    required_by_role = serializers.BooleanField(help_text="A privileged role requires MFA.")
    totp = serializers.BooleanField()
    webauthn_keys = serializers.IntegerField()
    recovery_codes = serializers.BooleanField()


class AdminPersonOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()
    email = serializers.CharField()
    active = serializers.BooleanField()
    last_login = serializers.DateTimeField(allow_null=True)
    last_seen_at = serializers.DateTimeField(
        allow_null=True,
        help_text="the latest sign-in, chat socket connection or API token use (to 5 minutes)",
    )
    roles = serializers.ListField(child=serializers.CharField())
    pending_role_requests = serializers.ListField(child=serializers.JSONField())
    identities = serializers.ListField(child=serializers.JSONField())
    groups = serializers.ListField(child=serializers.JSONField())
    sessions = serializers.ListField(child=serializers.JSONField())
    sockets = serializers.ListField(child=serializers.JSONField())
    tokens = serializers.ListField(child=serializers.JSONField())
    mfa = AdminMfaOutput()


class AdminRoleRequestInput(serializers.Serializer):
    user = serializers.IntegerField()
    role = serializers.ChoiceField(choices=Role.choices)
    reason = serializers.CharField(required=False, default="", allow_blank=True, max_length=500)


class AdminReasonInput(serializers.Serializer):
    reason = serializers.CharField(required=False, default="", allow_blank=True, max_length=500)


class AdminRoleRevokeInput(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)
    reason = serializers.CharField(required=False, default="", allow_blank=True, max_length=500)


class AdminRoleRequestOutput(serializers.Serializer):
    id = serializers.IntegerField()
    user = serializers.IntegerField()
    username = serializers.CharField()
    role = serializers.CharField()
    status = serializers.CharField()
    reason = serializers.CharField()
    requested_by = serializers.IntegerField(allow_null=True)
    requested_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()


class AdminChannelQueryInput(serializers.Serializer):
    q = serializers.CharField(required=False, default="", allow_blank=True, max_length=80)
    kind = serializers.ChoiceField(
        choices=["public", "private", "direct", "group"], required=False, allow_blank=True
    )
    archived = serializers.ChoiceField(choices=["yes", "no"], required=False, allow_blank=True)
    before = serializers.IntegerField(required=False)


class AdminChannelRowOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    name = serializers.CharField()
    owners = serializers.ListField(child=serializers.CharField())
    member_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    archived = serializers.BooleanField()


class AdminChannelPageOutput(serializers.Serializer):
    results = AdminChannelRowOutput(many=True)
    next_before = serializers.IntegerField(allow_null=True)


class AdminChannelOutput(AdminChannelRowOutput):
    history_visible = serializers.BooleanField()
    members = serializers.ListField(child=serializers.JSONField())


class AdminUsersInput(serializers.Serializer):
    users = serializers.ListField(
        child=serializers.IntegerField(), min_length=1, max_length=1000, help_text="user ids"
    )


class AdminUserInput(serializers.Serializer):
    user = serializers.IntegerField(help_text="the member who becomes the owner")


class AdminGroupInput(serializers.Serializer):
    display_name = serializers.CharField(max_length=255)


class AdminGroupOutput(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField()
    source = serializers.CharField(  # type: ignore[assignment]
        help_text="local, scim or sso; only local groups change here"
    )
    provider = serializers.CharField(allow_null=True)
    external_id = serializers.CharField()
    member_count = serializers.IntegerField()


class AdminGroupsPageOutput(serializers.Serializer):
    results = AdminGroupOutput(many=True)
    next_after = serializers.IntegerField(
        allow_null=True, help_text="Pass as `after` for the next page; null on the last page."
    )


class AdminGroupsQueryInput(serializers.Serializer):
    q = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=100, help_text="name contains"
    )
    after = serializers.IntegerField(
        required=False, min_value=1, help_text="the last group id of the previous page"
    )
    limit = serializers.IntegerField(required=False, default=50, min_value=1, max_value=200)


class AdminGroupDetailOutput(AdminGroupOutput):
    members = serializers.ListField(child=serializers.JSONField())


class AdminProviderInput(serializers.Serializer):
    slug = serializers.SlugField(max_length=50, required=False)
    kind = serializers.ChoiceField(choices=IdentityProviderKind.choices, required=False)
    name = serializers.CharField(max_length=100, required=False)
    issuer = serializers.CharField(max_length=500, required=False)
    enabled = serializers.BooleanField(required=False)
    jit_provisioning = serializers.BooleanField(required=False)
    groups_claim = serializers.CharField(max_length=100, required=False, allow_blank=True)
    config = serializers.DictField(
        required=False,
        help_text="Kind-specific settings (client_id, client_secret, metadata_url, ...). "
        "Merged into what is stored; secrets are write-only and never returned.",
    )


class AdminProviderOutput(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    kind = serializers.CharField()
    name = serializers.CharField()
    issuer = serializers.CharField()
    enabled = serializers.BooleanField()
    jit_provisioning = serializers.BooleanField()
    groups_claim = serializers.CharField()
    config = serializers.DictField(help_text="Secrets shown only as (set) or (not set).")
    rules = serializers.ListField(child=serializers.JSONField())


class AdminRuleInput(serializers.Serializer):
    group_value = serializers.CharField(max_length=255)
    role = serializers.ChoiceField(choices=Role.choices)


class AdminSettingsOutput(serializers.Serializer):
    version = serializers.IntegerField()
    max_message_chars = serializers.IntegerField()
    max_attachment_bytes = serializers.IntegerField()
    send_rate = serializers.CharField()
    channel_creation = serializers.CharField()
    direct_messages = serializers.CharField()
    channel_visibility_change = serializers.CharField()
    history_visible_default = serializers.BooleanField()
    session_hours = serializers.IntegerField()
    local_sign_in = serializers.BooleanField()


class AdminSettingsInput(serializers.Serializer):
    max_message_chars = serializers.JSONField(required=False)
    max_attachment_bytes = serializers.JSONField(required=False)
    send_rate = serializers.JSONField(required=False)
    channel_creation = serializers.JSONField(required=False)
    direct_messages = serializers.JSONField(required=False)
    channel_visibility_change = serializers.JSONField(required=False)
    history_visible_default = serializers.JSONField(required=False)
    session_hours = serializers.JSONField(required=False)
    local_sign_in = serializers.JSONField(required=False)
    reason = serializers.CharField(required=False, default="", allow_blank=True, max_length=500)


class AdminScimTokenOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The secret's first characters, to tell it by.")
    provider = serializers.CharField(allow_null=True, help_text="The bound provider's slug.")
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class AdminScimTokenSecretOutput(AdminScimTokenOutput):
    secret = serializers.CharField(help_text="The bearer token: shown in this answer only.")


class AdminScimTokenCreatedOutput(serializers.Serializer):
    audit_events = serializers.ListField(child=serializers.IntegerField())
    result = AdminScimTokenSecretOutput()


class AdminScimTokenInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    provider = serializers.SlugField(
        required=False, default="", allow_blank=True, help_text="Bind to this provider (slug)."
    )
