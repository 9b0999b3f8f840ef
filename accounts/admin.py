from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from knox.admin import AuthTokenAdmin
from knox.models import AuthToken

from .models import RoleGrant, User
from .services import api_token_revoke, user_deactivate


class RoleGrantInline(admin.TabularInline):
    model = RoleGrant
    fk_name = "user"
    extra = 0


@admin.register(User)
class EimUserAdmin(UserAdmin):
    inlines = [RoleGrantInline]
    fieldsets = (*(UserAdmin.fieldsets or ()), ("Profile", {"fields": ("display_name",)}))
    actions = ["deactivate_users"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """People are deactivated, never deleted (the archive refers to them)."""
        return False

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        """Unticking "active" is a deactivation: the service checks, ends access and audits."""
        deactivating = change and "is_active" in form.changed_data and not obj.is_active
        if deactivating:
            obj.is_active = True  # the other changes first; the service then deactivates
        super().save_model(request, obj, form, change)
        if deactivating:
            user_deactivate(user=obj, by=_administrator(request))

    @admin.action(description="Deactivate the selected users (their access ends at once)")
    def deactivate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        done = 0
        for user in queryset:
            try:
                done += user_deactivate(user=user, by=_administrator(request))
            except PermissionDenied as refusal:
                self.message_user(request, f"{user.username}: {refusal}", messages.ERROR)
        self.message_user(request, f"{done} user(s) deactivated.")


if admin.site.is_registered(AuthToken):
    admin.site.unregister(AuthToken)


@admin.register(AuthToken)
class ApiTokenAdmin(AuthTokenAdmin):
    """knox's token admin, with the last use shown and deletion as an audited revocation."""

    list_display = ("token_key", "user", "created", "expiry", "last_used")
    list_select_related = ("user", "activity")

    @admin.display(description="last used")
    def last_used(self, token: AuthToken) -> object:
        activity = getattr(token, "activity", None)
        return activity.last_used_at if activity is not None else None

    def delete_model(self, request: HttpRequest, obj: AuthToken) -> None:
        api_token_revoke(token=obj, by=_administrator(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[AuthToken]) -> None:
        for token in queryset:
            api_token_revoke(token=token, by=_administrator(request))


def _administrator(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user
