"""Who may use the auditor's view: an active account holding the auditor role, nobody else.

Administrators, compliance officers and a superuser without the grant are refused: the
auditor checks what they did.
"""

from accounts.models import Role, User
from accounts.selectors import user_has_role


def is_auditor(*, user: User) -> bool:
    return user.is_active and user_has_role(user=user, role=Role.AUDITOR)
