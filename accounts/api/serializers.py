"""Input and output shapes of the role API (outputs for the OpenAPI schema only: replies are
built by accounts.api.payloads, and tests/accounts/test_api.py checks that the two agree)."""

from rest_framework import serializers

from accounts.models import Role, RoleRequestStatus


class RoleRequestInput(serializers.Serializer):
    user = serializers.IntegerField(min_value=1, max_value=2**63 - 1)  # a bigint id
    # Any text: the service refuses an unknown role, and audits the attempt.
    role = serializers.CharField(max_length=32, help_text=", ".join(Role.values))
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class RoleDecisionInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class RoleRevokeInput(RoleRequestInput):
    pass


class PersonOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()


class RoleGrantOutput(serializers.Serializer):
    id = serializers.IntegerField()
    user = PersonOutput()
    role = serializers.ChoiceField(choices=Role.choices)
    granted_at = serializers.DateTimeField()
    granted_by = PersonOutput(allow_null=True)
    request = serializers.IntegerField(allow_null=True, help_text="the request it came from")


class RoleRequestOutput(serializers.Serializer):
    id = serializers.IntegerField()
    user = PersonOutput()
    role = serializers.ChoiceField(choices=Role.choices)
    status = serializers.ChoiceField(choices=RoleRequestStatus.values)
    reason = serializers.CharField()
    requested_by = PersonOutput(allow_null=True)
    requested_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    decided_by = PersonOutput(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_reason = serializers.CharField()


class RoleErrorOutput(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
