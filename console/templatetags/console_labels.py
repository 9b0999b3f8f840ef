"""Labels the console's templates show for stored values."""

from django import template

from accounts.models import Role

register = template.Library()
ROLE_LABELS = dict(Role.choices)


@register.filter
def role_label(value: str) -> str:
    """compliance_officer → Compliance officer."""
    return str(ROLE_LABELS.get(value, value))
