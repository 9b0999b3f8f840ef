"""What the role commands share: finding people by username, reporting a refusal in one line."""

from collections.abc import Callable
from typing import TypeVar

from auditlog.context import set_actor
from django.core.management.base import CommandError

from accounts.errors import RoleError
from accounts.models import User

T = TypeVar("T")


def user_named(username: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"no user named {username!r}")
    return user


def as_actor(actor: User | None, change: Callable[[], T]) -> T:
    """Run one role service call; a refusal (already audited) becomes a one-line error."""
    try:
        with set_actor(actor):
            return change()
    except RoleError as refusal:
        raise CommandError(f"refused ({refusal.code.value}): {refusal.detail}") from refusal
