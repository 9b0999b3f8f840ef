"""Django's admin over identities and roles. Roles are read-only here: a grant, request or
revocation happens only through the actions below, which call `accounts.services.roles` as
the signed-in user under the same rules as everywhere else (the superuser flag counts for
nothing there)."""

from collections.abc import Callable
from typing import Any

from auditlog.context import set_actor
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from knox.admin import AuthTokenAdmin
from knox.models import AuthToken

from .errors import RoleError
from .models import Role, RoleGrant, RoleRequest, User
from .services import api_token_revoke, roles, user_deactivate
from .services.users import user_password_settable_by

RoleAction = Callable[[admin.ModelAdmin, HttpRequest, QuerySet[Any]], None]


class ReadOnly:
    """Viewable by staff with the view permission; never added, changed or deleted here."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


def _each(
    modeladmin: admin.ModelAdmin, request: HttpRequest, items: QuerySet[Any], change: Callable
) -> None:
    """Call the role service once per selected item; report each refusal (already audited)."""
    actor = request.user
    if not isinstance(actor, User):  # the admin site lets only signed-in staff this far
        return
    done = 0
    for item in items:
        try:
            with set_actor(actor):
                change(actor, item)
            done += 1
        except RoleError as refusal:
            modeladmin.message_user(
                request, f"{item}: refused ({refusal.code.value}): {refusal.detail}", messages.ERROR
            )
    if done:
        modeladmin.message_user(request, f"{done} done.", messages.SUCCESS)


def _request_action(role: Role) -> RoleAction:
    def action(modeladmin: admin.ModelAdmin, request: HttpRequest, users: QuerySet[User]) -> None:
        _each(
            modeladmin,
            request,
            users,
            lambda actor, user: roles.role_request(actor=actor, user_id=user.pk, role=role),
        )

    action.__name__ = f"request_{role.value}"
    return admin.action(description=f"Request the {role.label.lower()} role")(action)


def _revoke_action(role: Role) -> RoleAction:
    def action(modeladmin: admin.ModelAdmin, request: HttpRequest, users: QuerySet[User]) -> None:
        _each(
            modeladmin,
            request,
            users,
            lambda actor, user: roles.role_revoke(actor=actor, user_id=user.pk, role=role),
        )

    action.__name__ = f"revoke_{role.value}"
    return admin.action(description=f"Revoke the {role.label.lower()} role")(action)


class RoleGrantInline(ReadOnly, admin.TabularInline):
    model = RoleGrant
    fk_name = "user"
    extra = 0
    fields = ("role", "granted_at", "granted_by", "request")
    readonly_fields = fields


@admin.register(User)
class EimUserAdmin(UserAdmin):
    inlines = [RoleGrantInline]
    fieldsets = (*(UserAdmin.fieldsets or ()), ("Profile", {"fields": ("display_name",)}))
    actions = [
        *(_request_action(role) for role in Role),
        *(_revoke_action(role) for role in Role),
        "deactivate_users",
    ]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """People are deactivated, never deleted (the archive refers to them)."""
        return False

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        """The password form obeys the same rule as the service: nobody, a superuser included,
        sets the password of an administrator, compliance officer or auditor for them."""
        user = self.get_object(request, unquote(id))
        if user is not None:
            user_password_settable_by(by=_administrator(request), user=user)
        return super().user_change_password(request, id, form_url)

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


@admin.register(RoleRequest)
class RoleRequestAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("user", "role", "status", "requested_by", "requested_at", "expires_at")
    list_filter = ("status", "role")
    actions = ["approve", "refuse"]

    @admin.action(description="Approve (as a second administrator)")
    def approve(self, request: HttpRequest, pending: QuerySet[RoleRequest]) -> None:
        _each(
            self,
            request,
            pending,
            lambda actor, item: roles.role_request_approve(actor=actor, request_id=item.pk),
        )

    @admin.action(description="Refuse")
    def refuse(self, request: HttpRequest, pending: QuerySet[RoleRequest]) -> None:
        _each(
            self,
            request,
            pending,
            lambda actor, item: roles.role_request_refuse(actor=actor, request_id=item.pk),
        )


@admin.register(RoleGrant)
class RoleGrantAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("user", "role", "granted_at", "granted_by")
    list_filter = ("role",)
    actions = ["revoke"]

    @admin.action(description="Revoke")
    def revoke(self, request: HttpRequest, grants: QuerySet[RoleGrant]) -> None:
        _each(
            self,
            request,
            grants,
            lambda actor, grant: roles.role_revoke(
                actor=actor, user_id=grant.user_id, role=grant.role
            ),
        )


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
