"""Django's admin over identities and roles. Roles are read-only here: a grant, request or
revocation happens only through the actions below, which call `accounts.services.roles` as
the signed-in user under the same rules as everywhere else (the superuser flag counts for
nothing there)."""

from collections.abc import Callable
from typing import Any

from auditlog.context import set_actor
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from .errors import RoleError
from .models import Role, RoleGrant, RoleRequest, User
from .services import roles

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
    ]


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
