"""Who may use the compliance workspace: compliance officers, by role grant only.

A Django superuser or an administrator without the grant is refused: separation of duties.
"""

from accounts.models import Role, User
from accounts.selectors import user_has_role

from .errors import ComplianceError, ComplianceErrorCode


def require_compliance_officer(*, user: User) -> None:
    if not user.is_active or not user_has_role(user=user, role=Role.COMPLIANCE_OFFICER):
        raise ComplianceError(
            ComplianceErrorCode.FORBIDDEN, "only compliance officers may use the archive"
        )
