"""Counts for the console's landing page (estimates where an exact count would scan)."""

from dataclasses import dataclass

from django.utils import timezone

from accounts.models import Group, IdentityProvider, RoleRequest, RoleRequestStatus, User
from eim.chat.models import Conversation


@dataclass(frozen=True)
class ConsoleOverview:
    people_active: int
    people_inactive: int
    pending_roles: int
    groups: int
    providers: int
    channels: int


def console_overview() -> ConsoleOverview:
    return ConsoleOverview(
        people_active=User.objects.filter(is_active=True).count(),
        people_inactive=User.objects.filter(is_active=False).count(),
        pending_roles=RoleRequest.objects.filter(
            status=RoleRequestStatus.PENDING, expires_at__gt=timezone.now()
        ).count(),
        groups=Group.objects.count(),
        providers=IdentityProvider.objects.count(),
        channels=Conversation.objects.filter(kind__in=["public", "private"]).count(),
    )
